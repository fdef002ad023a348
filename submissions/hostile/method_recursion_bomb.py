"""Hostile hw4 submission `method_recursion_bomb`.

THREAT: recursion bomb inside conv backprop: limit 10**7 and unbounded Python recursion, then a C-level one
"""
import sys

import numpy as np


def _down(n):
    return _down(n + 1) + 1


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
        n, _, w, h = x.shape
        f, _, fw, fh = self.W.shape
        return np.zeros((n, f, w - fw + 1, h - fh + 1))

    def backprop(self, x, dLdy):
        sys.setrecursionlimit(10 ** 7)
        try:
            _down(0)
        except RecursionError:
            pass
        deep = []
        for _ in range(10 ** 6):
            deep = [deep]
        return repr(deep)


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
