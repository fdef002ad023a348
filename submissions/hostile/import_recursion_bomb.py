"""Hostile hw4 submission `import_recursion_bomb`.

THREAT: recursion bomb at import: recursion limit raised to 10**6, then a C-level recursion (repr of a 10**6-deep list) overflows the C stack
"""
import sys

import numpy as np


class nn_convolutional_layer:
    sys.setrecursionlimit(10 ** 6)
    _deep = []
    for _ in range(10 ** 6):
        _deep = [_deep]
    repr(_deep)

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
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
