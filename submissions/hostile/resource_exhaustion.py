"""Hostile hw4 submission `resource_exhaustion`.

THREAT: fill the scratch tmpfs, write one file past the 64 MB file-size limit, exhaust file descriptors; conv forward
"""
import os
import signal

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
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        notes = []
        chunk = b"F" * (1 << 20)
        for target in ("/scratch/fill.bin", "/dev/shm/fill.bin"):
            try:
                with open(target, "wb") as handle:
                    for _ in range(200):
                        handle.write(chunk)
            except OSError as exc:
                notes.append(f"{target}: {type(exc).__name__}")
            finally:
                try:
                    os.remove(target)
                except OSError:
                    pass
        handles = []
        try:
            while True:
                handles.append(open("/dev/null", "rb"))
        except OSError as exc:
            notes.append(f"fds: {type(exc).__name__} after {len(handles)}")
        for handle in handles:
            handle.close()
        raise RuntimeError("; ".join(notes))

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
