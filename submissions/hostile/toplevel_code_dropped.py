"""Hostile hw4 submission `toplevel_code_dropped`.

THREAT: a correct submission whose module-level test section is hostile (os._exit, infinite loop, file writes, numpy patches, os.system): it must not run, the classes earn full marks
"""
import os

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


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        k, s = self.pool_size, self.stride
        return sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s].max(axis=(4, 5))

    def backprop(self, x, dLdy):
        k, s = self.pool_size, self.stride
        win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
        n, c, oh, ow = win.shape[:4]
        r, q = np.divmod(win.reshape(n, c, oh, ow, k * k).argmax(axis=-1), k)
        rows = np.arange(oh)[None, None, :, None] * s + r
        cols = np.arange(ow)[None, None, None, :] * s + q
        dLdx = np.zeros(x.shape)
        np.add.at(dLdx, (np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols), dLdy)
        return dLdx


##########
#   test code (hostile): none of this may run when the grader loads the module
##########

filter_width = 3  # a literal constant: kept
DTYPE = np.float64  # an attribute of a kept name: kept
np.allclose = lambda *a, **k: True
open("/tmp/hostile_canary_toplevel.txt", "w").write("HOSTILE-MARKER-toplevel")
os.system("touch /tmp/hostile_canary_toplevel_system.txt")
hidden = os.system("touch /tmp/hostile_canary_toplevel_assign.txt")
if True:
    os._exit(1)
while True:
    pass
