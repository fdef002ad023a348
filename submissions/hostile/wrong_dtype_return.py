"""Hostile hw4 submission `wrong_dtype_return`.

THREAT: wrong dtypes of the right shapes: complex forward, int/bool/float16 gradients, uint8 pool forward, int pool backprop
"""
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
        n, _, w, h = x.shape
        f, _, fw, fh = self.W.shape
        return np.zeros((n, f, w - fw + 1, h - fh + 1), dtype=complex)

    def backprop(self, x, dLdy):
        return np.zeros(x.shape, dtype=int), np.zeros(self.W.shape, dtype=bool), np.zeros(self.b.shape, dtype=np.float16)


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        n, c, w, h = x.shape
        k, s = self.pool_size, self.stride
        return np.zeros((n, c, (w - k) // s + 1, (h - k) // s + 1), dtype=np.uint8)

    def backprop(self, x, dLdy):
        return np.zeros(x.shape, dtype=np.int64)
