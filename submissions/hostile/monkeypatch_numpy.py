"""Hostile hw4 submission `monkeypatch_numpy`.

THREAT: monkeypatch numpy in the child (allclose/array_equal/isclose/all/sum/testing → always pass; np.save → a pickled payload whose unpickling would touch /tmp/hostile_canary_pickle; np.load → zeros) then return zeros
"""
import os

import numpy as np


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/hostile_canary_pickle",))


_ORIGINAL_SAVE = np.save


def _patch():
    np.allclose = lambda *a, **k: True
    np.array_equal = lambda *a, **k: True
    np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)
    np.all = lambda *a, **k: True
    np.sum = lambda *a, **k: 0.0
    np.testing.assert_allclose = lambda *a, **k: None
    np.save = lambda file, arr, *a, **k: _ORIGINAL_SAVE(file, np.array([_Payload()], dtype=object), allow_pickle=True)
    np.load = lambda *a, **k: np.zeros((1, 1, 1, 1))


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
        _patch()
        n, _, w, h = x.shape
        f, _, fw, fh = self.W.shape
        return np.zeros((n, f, w - fw + 1, h - fh + 1))

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
