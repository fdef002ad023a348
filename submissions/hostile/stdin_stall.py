"""Hostile hw4 submission `stdin_stall`.

THREAT: after the first run request's final reply, the child's main loop is made to sleep instead of reading stdin (child.reply patched via the stack); the parent's next request is larger than the pipe buffer
"""
import sys
import time

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


def _stall_after_this_request():
    request, _ = _child_request()
    if request.get("id", 99) > 3:  # only on the first run request: a fixed grader pays one timeout
        return
    frame = sys._getframe()
    while frame is not None:
        child = frame.f_locals.get("child")
        if child is not None and hasattr(child, "reply_stream"):
            original = child.reply

            def reply(message, _original=original):
                _original(message)
                if "steps_done" in message:
                    while True:
                        time.sleep(3600)

            child.reply = reply
            return
        frame = frame.f_back


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
        _stall_after_this_request()
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
