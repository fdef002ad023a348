"""Hostile hw4 submission `evil_dunder_objects`.

THREAT: returned objects whose __float__ loops forever (float subclass, pool forward), whose __eq__/__hash__ raise and whose __del__ writes a /tmp canary and raises (tuple of them, conv forward)
"""
import numpy as np


class _Sneaky:
    def __eq__(self, other):
        raise RuntimeError("__eq__ called")

    __hash__ = None

    def __float__(self):
        while True:
            pass

    def __del__(self):
        try:
            with open("/tmp/hostile_canary_del.txt", "w") as handle:
                handle.write("HOSTILE-MARKER-del")
        except OSError:
            pass
        raise RuntimeError("__del__ ran")


class _SpinFloat(float):
    def __float__(self):
        while True:
            pass


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
        return (_Sneaky(), _Sneaky())

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        return _SpinFloat(0.0)

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
