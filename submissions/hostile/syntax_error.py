"""Hostile hw4 submission `syntax_error`.

THREAT: a syntax error (the module cannot even be parsed; nothing may run)
"""
import os

import numpy as np

os.system("touch /tmp/hostile_canary_syntax.txt")


class nn_convolutional_layer:
    def __init__(self, filter_width, filter_height, input_size, in_ch_size, num_filters, std=1e0)
        self.W = np.zeros((num_filters, in_ch_size, filter_width, filter_height))

    def forward(self x):
        return x
