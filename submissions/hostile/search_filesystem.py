"""Hostile hw4 submission `search_filesystem`.

THREAT: walk the whole visible filesystem for reference/conv.py, expected.json, gradebook.csv, report.json and other hw4_nn.py files; import the reference and return its results if found
"""
import os
import sys
import time

import numpy as np


_FOUND = {}
SKIP = {"proc", "sys", "dev", "site-packages", "dist-packages", "share", "include", "locale", "__pycache__"}


def _search():
    if not _FOUND:
        deadline, files = time.monotonic() + 4.0, 0
        _FOUND["complete"] = True
        for root, dirs, names in os.walk("/"):
            dirs[:] = [d for d in dirs if d not in SKIP]
            files += len(names)
            if time.monotonic() > deadline:
                _FOUND["complete"] = False
                break
            for name in names:
                path = os.path.join(root, name)
                if path.endswith("reference/conv.py"):
                    _FOUND.setdefault("reference", []).append(os.path.dirname(os.path.dirname(path)))
                elif name in ("expected.json", "gradebook.csv", "report.json") or (
                        name == "hw4_nn.py" and root != "/submission"):
                    _FOUND.setdefault("files", []).append(path)
        _FOUND["count"] = files
    return _FOUND


def _reference():
    found = _search()
    for folder in found.get("reference", []):
        sys.path.insert(0, folder)
        import reference
        return reference
    raise LookupError(f"search_filesystem: nothing found in {found['count']} files "
                      f"(complete={found['complete']}, other files={found.get('files', [])[:5]})")


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
        ref = _reference()
        return ref.conv2d_forward(x, self.W, self.b.reshape(-1))

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
