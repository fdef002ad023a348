"""Hostile hw4 submission `missing_class`.

THREAT: no nn_max_pooling_layer at all (the conv layer is correct and earns its points)
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


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
        fw, fh = self.W.shape[2], self.W.shape[3]
        y = np.einsum("ncijpq,fcpq->nfij", sliding_window_view(x, (fw, fh), axis=(2, 3)), self.W)
        return y + self.b

    def backprop(self, x, dLdy):
        fw, fh = self.W.shape[2], self.W.shape[3]
        dLdW = np.einsum("nfij,ncijpq->fcpq", dLdy, sliding_window_view(x, (fw, fh), axis=(2, 3)))
        dLdb = np.sum(dLdy, axis=(0, 2, 3), keepdims=True)
        padded = np.pad(dLdy, ((0, 0), (0, 0), (fw - 1, fw - 1), (fh - 1, fh - 1)))
        dLdx = np.einsum("nfijpq,fcpq->ncij", sliding_window_view(padded, (fw, fh), axis=(2, 3)), self.W[:, :, ::-1, ::-1])
        return dLdx, dLdW, dLdb
