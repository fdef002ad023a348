"""Hostile hw4 submission `import_grader`.

THREAT: import the grader (checks, reference, grade, runner) at module top and, with guessed sys.path entries, inside forward; return the reference's results if it imports
"""
import importlib
import sys

import numpy as np

try:
    import reference
    import checks
    import grade
except ImportError:
    reference = None


GUESSES = ["/work/main", "/grader", "/grader/..", "/submission/..", "/opt/cnn-grade", "/app", "/srv/cnn-grade", ".."]


_TRIED = []


def _reference():
    global reference
    if reference is None and not _TRIED:
        _TRIED.append(1)
        errors = []
        for folder in GUESSES:
            sys.path.insert(0, folder)
            for name in ("reference", "checks.expected", "runner.sandbox", "grade"):
                try:
                    module = importlib.import_module(name)
                except ImportError as exc:
                    errors.append(type(exc).__name__)
                    continue
                if name == "reference":
                    reference = module
        _TRIED.append(len(errors))
    if reference is None:
        raise ImportError(f"import_grader: the grader is not importable ({_TRIED[-1]} attempts failed)")
    return reference


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
        return _reference().conv2d_forward(x, self.W, self.b.reshape(-1))

    def backprop(self, x, dLdy):
        dx, dW, db = _reference().conv2d_backward(dLdy, x, self.W)
        return dx, dW, db.reshape(1, -1, 1, 1)


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        return _reference().maxpool2d_forward(x, self.pool_size, self.stride)

    def backprop(self, x, dLdy):
        return _reference().maxpool2d_backward(dLdy, x, self.pool_size, self.stride)
