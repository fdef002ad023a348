"""Hostile hw4 submission `evil_array_protocol`.

THREAT: returned list subclasses whose __array__ runs code: writes files (/scratch, /tmp canary) in conv forward; loops forever in pool forward
"""
import numpy as np


class _Writes(list):
    def __array__(self, dtype=None, copy=None):
        for path in ("/scratch/hostile_array.txt", "/tmp/hostile_canary_array.txt"):
            try:
                with open(path, "w") as handle:
                    handle.write("HOSTILE-MARKER-array")
            except OSError:
                pass
        return np.zeros(self[0])


class _Spins(list):
    def __array__(self, dtype=None, copy=None):
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
        n, _, w, h = x.shape
        f, _, fw, fh = self.W.shape
        return _Writes([(n, f, w - fw + 1, h - fh + 1)])

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        return _Spins([0.0])

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
