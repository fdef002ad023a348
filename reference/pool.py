"""2-D max and average pooling, NCHW.

Shapes (all functions):
    x   (N, C, H, W)
    y   (N, C, OH, OW)   OH = floor((H + 2*PH - DH*(KH-1) - 1) / SH) + 1, likewise OW

``kernel_size``, ``stride`` (default: the kernel size), ``padding`` and
``dilation`` are ints or ``(h, w)`` pairs. Positions left over at the
bottom/right edge are dropped (floor mode) and get a zero gradient.
Max pooling pads with ``-inf`` (a pad never wins), average pooling with zeros.

Tie policy of the max-pool backward (``ties``):
    ``"first"``  one maximum per window receives the gradient: the first in
                 row-major window order (lowest row, then lowest column). This
                 is the element ``torch.nn.functional.max_pool2d`` picks on the
                 CPU (its kernel keeps the running max and replaces it only on a
                 strictly greater value), and the tests hold us to it.
    ``"all"``    every element equal to its window's maximum receives the full
                 upstream gradient (what the EEE598 lab's tie test demands).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from reference._windows import IntOrPair, as_pair, output_size, pad_hw, scatter_windows, unpad_hw, window_offsets, windows

TIE_POLICIES = ("first", "all")


def _geometry(x_shape, kernel_size, stride, padding, dilation):
    kernel = as_pair(kernel_size, "kernel_size")
    stride_p = kernel if stride is None else as_pair(stride, "stride")
    pad_p = as_pair(padding, "padding")
    dilation_p = as_pair(dilation, "dilation")
    for k, p in zip(kernel, pad_p):
        if p > k // 2:
            raise ValueError(f"padding {pad_p} must be at most half the kernel {kernel} (as in torch)")
    _, _, h, w = x_shape
    oh = output_size(h, kernel[0], stride_p[0], pad_p[0], dilation_p[0])
    ow = output_size(w, kernel[1], stride_p[1], pad_p[1], dilation_p[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"pooling window {kernel} does not fit the input {(h, w)}")
    return kernel, stride_p, pad_p, dilation_p, (oh, ow)


def maxpool2d_forward(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> np.ndarray:
    """``y[n,c,i,j] = max`` of the window at ``(i*SH, j*SW)`` → ``(N, C, OH, OW)``."""
    kernel, stride_p, pad_p, dilation_p, out_hw = _geometry(x.shape, kernel_size, stride, padding, dilation)
    return _window_max(pad_hw(x, pad_p, -np.inf), window_offsets(kernel, stride_p, dilation_p, out_hw))


def _window_max(x_padded: np.ndarray, offsets) -> np.ndarray:
    """Maximum of every window, NaN-propagating like ``ndarray.max``: one elementwise
    ``np.maximum`` per kernel offset (a reduction over the two short trailing axes of
    the 6-D window view is an order of magnitude slower)."""
    best = x_padded[offsets[0]].copy()
    for index in offsets[1:]:
        np.maximum(best, x_padded[index], out=best)
    return best


def maxpool2d_backward(
    upstream_grad: np.ndarray,
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ties: str = "first",
) -> np.ndarray:
    """Gradient w.r.t. ``x`` of ``sum(upstream_grad * maxpool2d_forward(x, ...))`` → ``(N, C, H, W)``.

    Overlapping windows (stride < kernel) accumulate into a shared maximum.
    """
    if ties not in TIE_POLICIES:
        raise ValueError(f"ties must be one of {TIE_POLICIES}, got {ties!r}")
    kernel, stride_p, pad_p, dilation_p, out_hw = _geometry(x.shape, kernel_size, stride, padding, dilation)
    x_padded = pad_hw(x, pad_p, -np.inf)
    offsets = window_offsets(kernel, stride_p, dilation_p, out_hw)
    best = _window_max(x_padded, offsets)
    # "first" is np.argmax over the window in row-major order: the first maximum,
    # or the first NaN when there is one (then ``best`` is NaN and nothing equals it)
    nan_wins = ties == "first" and np.issubdtype(best.dtype, np.inexact) and bool(np.isnan(best).any())
    taken = np.zeros(best.shape, dtype=bool)
    dtype = np.result_type(upstream_grad, x)
    # Window gradients laid out (KH*KW, N, C, OH, OW), one kernel offset at a time,
    # so scatter_windows reads them in contiguous blocks.
    window_grads = np.empty((len(offsets),) + best.shape, dtype=dtype)
    for k, index in enumerate(offsets):
        winners = x_padded[index] == best
        if ties == "first":
            if nan_wins:
                winners |= np.isnan(x_padded[index])
            winners &= ~taken
            taken |= winners
        window_grads[k] = winners * upstream_grad
    window_grads = window_grads.reshape(kernel + best.shape).transpose(2, 3, 4, 5, 0, 1)
    dx_padded = scatter_windows(window_grads, x_padded.shape, stride_p, dilation_p)
    return np.ascontiguousarray(unpad_hw(dx_padded, pad_p))


def avgpool2d_forward(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Mean of each window (zero padding counted unless ``count_include_pad=False``) → ``(N, C, OH, OW)``."""
    kernel, stride_p, pad_p, dilation_p, out_hw = _geometry(x.shape, kernel_size, stride, padding, 1)
    cols = windows(pad_hw(x, pad_p), kernel, stride_p, dilation_p, out_hw)
    counts = _window_counts(x.shape, kernel, stride_p, pad_p, out_hw, count_include_pad)
    # Divide in the input's float type (float32 stays float32), as the naive spec does.
    return cols.sum(axis=(4, 5)) / counts.astype(np.result_type(x, 1.0))


def avgpool2d_backward(
    upstream_grad: np.ndarray,
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Gradient w.r.t. ``x``: each window's upstream gradient divided evenly over its elements → ``(N, C, H, W)``."""
    kernel, stride_p, pad_p, dilation_p, out_hw = _geometry(x.shape, kernel_size, stride, padding, 1)
    counts = _window_counts(x.shape, kernel, stride_p, pad_p, out_hw, count_include_pad)
    share = upstream_grad / counts.astype(np.result_type(upstream_grad, 1.0))
    padded_shape = x.shape[:2] + (x.shape[2] + 2 * pad_p[0], x.shape[3] + 2 * pad_p[1])
    window_grads = np.broadcast_to(share[..., None, None], share.shape + kernel)
    dx_padded = scatter_windows(window_grads, padded_shape, stride_p, dilation_p)
    return np.ascontiguousarray(unpad_hw(dx_padded, pad_p))


def _window_counts(x_shape, kernel, stride_p, pad_p, out_hw, count_include_pad) -> np.ndarray:
    """Divisor per output position, ``(OH, OW)``: the window area, or its part inside the input."""
    if count_include_pad or pad_p == (0, 0):
        return np.full(out_hw, float(kernel[0] * kernel[1]))
    ones = np.ones((1, 1) + tuple(x_shape[2:]))
    cols = windows(pad_hw(ones, pad_p), kernel, stride_p, (1, 1), out_hw)
    return cols.sum(axis=(4, 5))[0, 0]


# ---------------------------------------------------------------------------
# Specifications: one loop iteration per output element.


def maxpool2d_forward_naive(x, kernel_size, stride=None, padding=0, dilation=1) -> np.ndarray:
    """Specification of :func:`maxpool2d_forward`."""
    (kh, kw), (sh, sw), pad_p, (dh, dw), (oh, ow) = _geometry(x.shape, kernel_size, stride, padding, dilation)
    x_padded = pad_hw(x, pad_p, -np.inf)
    y = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(oh):
                for j in range(ow):
                    y[n, c, i, j] = x_padded[n, c, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw].max()
    return y


def maxpool2d_backward_naive(upstream_grad, x, kernel_size, stride=None, padding=0, dilation=1, ties="first") -> np.ndarray:
    """Specification of :func:`maxpool2d_backward`."""
    if ties not in TIE_POLICIES:
        raise ValueError(f"ties must be one of {TIE_POLICIES}, got {ties!r}")
    (kh, kw), (sh, sw), pad_p, (dh, dw), (oh, ow) = _geometry(x.shape, kernel_size, stride, padding, dilation)
    x_padded = pad_hw(x, pad_p, -np.inf)
    dx_padded = np.zeros(x_padded.shape, dtype=np.result_type(upstream_grad, x))
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(oh):
                for j in range(ow):
                    best = x_padded[n, c, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw].max()
                    for p in range(kh):
                        for q in range(kw):
                            r, s = i * sh + p * dh, j * sw + q * dw
                            if x_padded[n, c, r, s] == best:
                                dx_padded[n, c, r, s] += upstream_grad[n, c, i, j]
                                if ties == "first":
                                    break
                        else:
                            continue
                        break
    return np.ascontiguousarray(unpad_hw(dx_padded, pad_p))


def avgpool2d_forward_naive(x, kernel_size, stride=None, padding=0, count_include_pad=True) -> np.ndarray:
    """Specification of :func:`avgpool2d_forward`."""
    (kh, kw), (sh, sw), (ph, pw), _, (oh, ow) = _geometry(x.shape, kernel_size, stride, padding, 1)
    x_padded = pad_hw(x, (ph, pw))
    h, w = x.shape[2:]
    y = np.empty(x.shape[:2] + (oh, ow), dtype=np.result_type(x, 1.0))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh, j * sw
            if count_include_pad:
                count = kh * kw
            else:
                rows = min(r0 + kh, h + ph) - max(r0, ph)
                cols = min(c0 + kw, w + pw) - max(c0, pw)
                count = rows * cols
            y[:, :, i, j] = x_padded[:, :, r0 : r0 + kh, c0 : c0 + kw].sum(axis=(2, 3)) / count
    return y


def avgpool2d_backward_naive(upstream_grad, x, kernel_size, stride=None, padding=0, count_include_pad=True) -> np.ndarray:
    """Specification of :func:`avgpool2d_backward`."""
    (kh, kw), (sh, sw), (ph, pw), _, (oh, ow) = _geometry(x.shape, kernel_size, stride, padding, 1)
    h, w = x.shape[2:]
    dx_padded = np.zeros(x.shape[:2] + (h + 2 * ph, w + 2 * pw), dtype=np.result_type(upstream_grad, 1.0))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh, j * sw
            if count_include_pad:
                count = kh * kw
            else:
                count = (min(r0 + kh, h + ph) - max(r0, ph)) * (min(c0 + kw, w + pw) - max(c0, pw))
            dx_padded[:, :, r0 : r0 + kh, c0 : c0 + kw] += upstream_grad[:, :, i, j][..., None, None] / count
    return np.ascontiguousarray(unpad_hw(dx_padded, (ph, pw)))
