"""Hostile hw4 submission `network_loopback`.

THREAT: network: TCP connect + UDP send to 127.0.0.1:47231 and [::1]:47231 (the test listens there), DNS lookups; conv forward
"""
import socket

import numpy as np


class nn_convolutional_layer:
    def __init__(self, filter_width, filter_height, input_size, in_ch_size, num_filters, std=1e0):
        self.W = np.random.normal(0, std, (num_filters, in_ch_size, filter_width, filter_height))
        self.b = 0.01 + np.zeros((1, num_filters, 1, 1))

    def update_weights(self, dW, db):
        self.W += dW
        self.b += db

    def get_weights(self):
        return self.W, self.b

    def set_weights(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        results = []
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            try:
                with socket.socket(family, socket.SOCK_STREAM) as tcp:
                    tcp.settimeout(2)
                    tcp.connect((host, 47231))
                    tcp.sendall(b"HOSTILE-MARKER-network tcp\n")
                results.append(f"tcp {host} connected")
            except OSError as exc:
                results.append(f"tcp {host} {type(exc).__name__}")
            try:
                with socket.socket(family, socket.SOCK_DGRAM) as udp:
                    udp.sendto(b"HOSTILE-MARKER-network udp\n", (host, 47231))
                results.append(f"udp {host} sent")
            except OSError as exc:
                results.append(f"udp {host} {type(exc).__name__}")
        for name in ("hostile-dns-canary.invalid", "example.com", "localhost"):
            try:
                results.append(f"dns {name} -> {socket.getaddrinfo(name, 80)[0][4][0]}")
            except OSError as exc:
                results.append(f"dns {name} {type(exc).__name__}")
        raise ConnectionError("network_loopback: " + "; ".join(results))

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
