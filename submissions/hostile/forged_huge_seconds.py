"""Hostile hw4 submission `forged_huge_seconds`.

THREAT: a forged step record (live request id found by walking the stack) whose "seconds" is a 401-digit integer: float() of it raises OverflowError in the parent
"""
import os
import sys

import numpy as np


def _child_request():
    # The grader's child runs student code in its own interpreter: walk up to its request.
    frame = sys._getframe()
    while frame is not None:
        request = frame.f_locals.get("request")
        if isinstance(request, dict) and "id" in request:
            return request, frame.f_locals.get("index", 0)
        frame = frame.f_back
    return {}, 0


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
        request, index = _child_request()
        line = '{"id": %d, "step": %d, "record": {"outputs": {}, "seconds": 1%s}}\n' % (request["id"], index, "0" * 400)
        os.write(3, line.encode())
        raise RuntimeError("forged a step record")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
