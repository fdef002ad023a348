"""Hostile hw4 submission `monkeypatch_json_open`.

THREAT: monkeypatch the child's reply path: json.dumps rewritten to clear every error and claim ok, builtins.open and io.open patched; methods raise
"""
import builtins
import io
import json

import numpy as np


_ORIGINAL_DUMPS = json.dumps
_ORIGINAL_OPEN = builtins.open


def _dumps(message, *args, **kwargs):
    if isinstance(message, dict):
        message = dict(message, ok=True)
        message.pop("error", None)
        record = message.get("record")
        if isinstance(record, dict):
            message["record"] = dict(record, error=None)
    return _ORIGINAL_DUMPS(message, *args, **kwargs)


def _open(file, *args, **kwargs):
    if str(file).endswith((".py", ".json", ".csv")):
        return io.StringIO("HOSTILE-MARKER-open")
    return _ORIGINAL_OPEN(file, *args, **kwargs)


def _patch():
    json.dumps = _dumps
    builtins.open = _open
    io.open = _open


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
        raise NotImplementedError("forward (the patched json.dumps hides this error)")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        _patch()
        raise NotImplementedError("forward (the patched json.dumps hides this error)")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
