"""Flatten ``(N, C, H, W)`` → ``(N, C*H*W)`` in C order, and back.

Both directions return fresh arrays: a result that aliased its input (an
``np.reshape`` view) would let a later in-place update of one silently change
the other, which is the mistake the EEE598 lab warns about.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def flatten_forward(x: np.ndarray) -> np.ndarray:
    """``(N, ...)`` → ``(N, prod(...))``, a copy."""
    return np.array(x.reshape(x.shape[0], -1), copy=True)


def flatten_backward(upstream_grad: np.ndarray, input_shape: Sequence[int]) -> np.ndarray:
    """``(N, prod(...))`` → ``input_shape``, a copy."""
    return np.array(upstream_grad.reshape(tuple(input_shape)), copy=True)


def flatten_forward_naive(x: np.ndarray) -> np.ndarray:
    """Specification of :func:`flatten_forward`: C order, one element at a time."""
    n = x.shape[0]
    rest = int(np.prod(x.shape[1:]))
    y = np.empty((n, rest), dtype=x.dtype)
    for b in range(n):
        for k, value in enumerate(np.nditer(x[b], order="C")):
            y[b, k] = value
    return y
