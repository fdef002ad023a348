"""Strided window views shared by the fast conv and pooling paths.

Everything here is a pure function of arrays. The views are read-only: the
reference never writes through a strided view (a write through overlapping
windows would silently corrupt neighbouring windows).
"""
from __future__ import annotations

from typing import Tuple, Union

import numpy as np

IntPair = Tuple[int, int]
IntOrPair = Union[int, Tuple[int, int]]


def as_pair(value: IntOrPair, name: str) -> IntPair:
    """Normalise an int or a 2-sequence to an ``(h, w)`` pair of ints."""
    if isinstance(value, (int, np.integer)):
        pair = (int(value), int(value))
    else:
        try:
            first, second = value  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}") from None
        pair = (int(first), int(second))
    return pair


def output_size(n: int, kernel: int, stride: int, pad: int, dilation: int = 1) -> int:
    """``floor((n + 2*pad - dilation*(kernel-1) - 1) / stride) + 1`` (floor mode)."""
    return (n + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def pad_hw(x: np.ndarray, padding: IntPair, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of an ``(N, C, H, W)`` array symmetrically."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="constant", constant_values=value)


def windows(
    x_padded: np.ndarray, kernel: IntPair, stride: IntPair, dilation: IntPair, out_hw: IntPair
) -> np.ndarray:
    """Read-only view ``(N, C, OH, OW, KH, KW)`` of the dilated, strided windows of ``x_padded``.

    ``out_hw`` must already be the floor-mode output size, so positions left
    over at the bottom/right edge are never part of any window.
    """
    n, c, _, _ = x_padded.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    oh, ow = out_hw
    s_n, s_c, s_h, s_w = x_padded.strides
    return np.lib.stride_tricks.as_strided(
        x_padded,
        shape=(n, c, oh, ow, kh, kw),
        strides=(s_n, s_c, s_h * sh, s_w * sw, s_h * dh, s_w * dw),
        writeable=False,
    )


def window_offsets(
    kernel: IntPair, stride: IntPair, dilation: IntPair, out_hw: IntPair
) -> Tuple[Tuple[slice, slice, slice, slice], ...]:
    """Index of window element ``(i, j)`` in every window at once, in row-major window order.

    ``x_padded[window_offsets(...)[i * KW + j]]`` is the ``(N, C, OH, OW)`` strided
    view ``windows(x_padded, ...)[:, :, :, :, i, j]``, without the 6-D view.
    """
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    oh, ow = out_hw
    return tuple(
        (slice(None), slice(None), slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))
        for i in range(kh)
        for j in range(kw)
    )


def scatter_windows(
    window_grads: np.ndarray,
    padded_shape: Tuple[int, int, int, int],
    stride: IntPair,
    dilation: IntPair,
) -> np.ndarray:
    """Adjoint of :func:`windows`: add ``(N, C, OH, OW, KH, KW)`` values back into a padded input.

    The loop runs over kernel offsets (KH*KW iterations), never over output
    positions: each iteration is one strided slice-add of a whole ``(N, C, OH, OW)``
    block, which is how overlapping windows accumulate without a scatter.
    """
    _, _, oh, ow, kh, kw = window_grads.shape
    sh, sw = stride
    dh, dw = dilation
    grad = np.zeros(padded_shape, dtype=window_grads.dtype)
    for i in range(kh):
        for j in range(kw):
            row0, col0 = i * dh, j * dw
            grad[:, :, row0 : row0 + sh * (oh - 1) + 1 : sh, col0 : col0 + sw * (ow - 1) + 1 : sw] += (
                window_grads[:, :, :, :, i, j]
            )
    return grad


def unpad_hw(x_padded: np.ndarray, padding: IntPair) -> np.ndarray:
    """Inverse of :func:`pad_hw` (returns a view)."""
    ph, pw = padding
    h, w = x_padded.shape[2], x_padded.shape[3]
    return x_padded[:, :, ph : h - ph, pw : w - pw]
