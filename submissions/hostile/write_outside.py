"""Hostile hw4 submission `write_outside`.

THREAT: write outside scratch: HOME, /tmp canaries, the test's victim file, guessed --out folders and gradebooks, other students' files, the repo, the grader's own child/adapter; conv forward
"""
import glob
import os

import numpy as np


TARGETS = [
    "~/hostile_canary_home.txt", "/root/hostile_canary_home.txt",
    "/tmp/hostile_canary_tmp.txt", "/tmp/hostile_canary_dir/victim.txt", "/hostile_canary_root.txt",
    "/work/main/submissions/hw4/correct_einsum.py", "/work/main/reference/conv.py",
    "/work/main/gradebook.csv", "/work/main/out/gradebook.csv", "/submission/hw4_nn.py",
    "/grader/adapter.py", "/grader/child.py", "../hostile_canary_up.txt", "/opt/hostile_canary_opt.txt",
]
PATTERNS = ["/tmp/pytest-of-*/pytest-*/*/gradebook.csv", "/tmp/pytest-of-*/pytest-*/*/*/report.json",
            "/tmp/*/gradebook.csv", "/work/*/out*/gradebook.csv", "/tmp/cnn-grade-*/*/*.py",
            "/home/*/hostile_canary_home.txt", "/root/hostile_canary_victim.txt"]


def _attack():
    wrote, denied = [], 0
    paths = [os.path.expanduser(p) for p in TARGETS] + [p for pattern in PATTERNS for p in glob.glob(pattern)]
    for path in paths:
        try:
            with open(path, "a") as handle:
                handle.write("\nHOSTILE-MARKER-write_outside\n")
            wrote.append(path)
        except OSError:
            denied += 1
        if "hostile_canary" in path:  # delete only the test's own canaries, never real files
            try:
                os.remove(path)
            except OSError:
                pass
    return wrote, denied


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
            raise RuntimeError("write_outside refuses to run outside the sandbox (uid %d)" % os.getuid())
        wrote, denied = _attack()
        wrote = [p for p in wrote if not os.path.realpath(p).startswith("/scratch/")]
        raise PermissionError(f"write_outside: wrote={wrote} denied={denied}")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride, self.pool_size = stride, pool_size

    def forward(self, x):
        raise NotImplementedError("inert part of a hostile test case")

    def backprop(self, x, dLdy):
        raise NotImplementedError("inert part of a hostile test case")
