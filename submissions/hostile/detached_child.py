"""Hostile hw4 submission `detached_child`.

THREAT: a detached grandchild (double fork + setsid, marked HOSTILE-MARKER-detached) spawned at import and in conv forward; it sleeps 600 s then writes /tmp/hostile_canary_detached_*
"""
import os
import sys

import numpy as np


SLEEPER = ("import sys, time\n"
           "time.sleep(600)\n"
           "open('/tmp/hostile_canary_detached_' + sys.argv[1].rsplit('-', 1)[1], 'w').write('escaped')\n")


def _spawn_detached(tag):
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", SLEEPER, "HOSTILE-MARKER-detached-" + tag])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


class nn_convolutional_layer:
    _spawn_detached('import')  # class body: runs at import

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
        _spawn_detached("forward")
        raise RuntimeError("spawned a detached sleeper")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
