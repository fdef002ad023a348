"""Hostile hw4 submission `import_infinite_loop`.

THREAT: infinite loop at import (in the class body, which runs when the module loads)
"""
import numpy as np


class nn_convolutional_layer:
    while True:  # runs at import time: class bodies execute when the module is loaded
        pass

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
