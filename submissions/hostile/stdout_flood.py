"""Hostile hw4 submission `stdout_flood`.

THREAT: 200 MB written to stdout (fd 1) on the first conv forward of each process
"""
import os

import numpy as np


_DONE = []


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
        if not _DONE:
            _DONE.append(1)
            chunk = b"O" * (1 << 20)
            for _ in range(200):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(1, view):]
        raise RuntimeError("flooded stdout")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
