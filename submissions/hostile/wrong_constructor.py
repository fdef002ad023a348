"""Hostile hw4 submission `wrong_constructor`.

THREAT: constructors with the wrong signatures (conv takes 2 arguments, pool none)
"""
import numpy as np


class nn_convolutional_layer:
    def __init__(self, filter_width, filter_height):
        self.W = np.zeros((1, 1, filter_width, filter_height))
        self.b = np.zeros((1, 1, 1, 1))

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
        return np.zeros(x.shape), np.zeros(self.W.shape), np.zeros(self.b.shape)


class nn_max_pooling_layer:
    def __init__(self):
        self.stride, self.pool_size = 2, 2

    def forward(self, x):
        n, c, w, h = x.shape
        k, s = self.pool_size, self.stride
        return np.zeros((n, c, (w - k) // s + 1, (h - k) // s + 1))

    def backprop(self, x, dLdy):
        return np.zeros(x.shape)
