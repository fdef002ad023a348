"""Hostile hw4 submission `del_hang_after_reply`.

THREAT: __del__ of the pool layer sleeps forever: every pool call returns (NaN arrays), then the child hangs while freeing the layer, after the last step's record was streamed and before its final reply
"""
import time

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
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __del__(self):
        while True:
            time.sleep(1)

    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        n, c, w, h = x.shape
        k, s = self.pool_size, self.stride
        return np.full((n, c, (w - k) // s + 1, (h - k) // s + 1), np.nan)

    def backprop(self, x, dLdy):
        return np.full(x.shape, np.nan)
