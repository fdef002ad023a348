"""Hostile hw4 submission `ndarray_subclass_return`.

THREAT: returned ndarray subclasses (hostile __array_finalize__/__reduce__/tobytes/__array_function__), np.matrix and a masked array
"""
import numpy as np


class _Evil(np.ndarray):
    def __array_finalize__(self, obj):
        if isinstance(obj, _Evil):  # a view of a view: only the consumer makes those
            raise RuntimeError("__array_finalize__ ran in the consumer")

    def __reduce__(self):
        raise RuntimeError("__reduce__ ran")

    def tobytes(self, *args, **kwargs):
        raise RuntimeError("tobytes ran")

    def __array_function__(self, func, types, args, kwargs):
        raise RuntimeError(f"__array_function__({func.__name__}) ran")


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
        return np.full((n, f, w - fw + 1, h - fh + 1), 7.0).view(_Evil)

    def backprop(self, x, dLdy):
        return np.matrix(np.ones((2, 2))), np.ma.masked_all(self.W.shape), np.zeros(self.b.shape).view(_Evil)


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        return np.matrix(np.ones((2, 2)))

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
