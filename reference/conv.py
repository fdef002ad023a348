"""2-D convolution (cross-correlation, as in every deep-learning course), NCHW.

Shapes (all functions):
    x        (N, C, H, W)      input
    weight   (F, C, KH, KW)    filters, applied without a flip
    bias     (F,) or None      one bias per output channel
    y        (N, F, OH, OW)    OH = floor((H + 2*PH - DH*(KH-1) - 1) / SH) + 1, likewise OW

``stride``, ``padding`` and ``dilation`` are ints or ``(h, w)`` pairs; padding
is zero padding on both sides, or ``"same"`` (odd effective kernels only, stride 1).
Positions left over at the bottom/right edge are dropped (floor mode), as in
``torch.nn.functional.conv2d``.

The fast path (:func:`conv2d_forward`, :func:`conv2d_backward`) builds a strided
window view and contracts it with one GEMM; the loop versions
(:func:`conv2d_forward_naive`, :func:`conv2d_backward_naive`) are the
specification, written to be read, and the tests hold the fast path to them.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import numpy as np

from reference._windows import (
    IntOrPair,
    IntPair,
    as_pair,
    output_size,
    pad_hw,
    scatter_windows,
    unpad_hw,
    windows,
)

Padding = Union[int, Tuple[int, int], str]


def resolve_padding(padding: Padding, kernel: IntPair, dilation: IntPair, stride: IntPair) -> IntPair:
    """Turn ``padding`` (int, pair or ``"same"``/``"valid"``) into an ``(ph, pw)`` pair."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0)
        if padding != "same":
            raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        if stride != (1, 1):
            raise ValueError("padding='same' needs stride 1")
        pads = []
        for k, d in zip(kernel, dilation):
            span = d * (k - 1)
            if span % 2:
                raise ValueError("padding='same' needs an odd effective kernel size (dilation*(k-1) even)")
            pads.append(span // 2)
        return (pads[0], pads[1])
    return as_pair(padding, "padding")


def _geometry(x_shape, w_shape, stride, padding, dilation):
    n, c, h, w = x_shape
    f, c_w, kh, kw = w_shape
    if c != c_w:
        raise ValueError(f"input has {c} channels but the weight expects {c_w}")
    stride_p = as_pair(stride, "stride")
    dilation_p = as_pair(dilation, "dilation")
    pad_p = resolve_padding(padding, (kh, kw), dilation_p, stride_p)
    oh = output_size(h, kh, stride_p[0], pad_p[0], dilation_p[0])
    ow = output_size(w, kw, stride_p[1], pad_p[1], dilation_p[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"kernel {(kh, kw)} (dilation {dilation_p}) does not fit the padded input {(h, w)}")
    return stride_p, pad_p, dilation_p, (oh, ow)


def conv2d_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: Optional[np.ndarray] = None,
    stride: IntOrPair = 1,
    padding: Padding = 0,
    dilation: IntOrPair = 1,
) -> np.ndarray:
    """``y[n,f,i,j] = bias[f] + sum_{c,p,q} weight[f,c,p,q] * xpad[n,c,i*SH+p*DH, j*SW+q*DW]`` → ``(N, F, OH, OW)``."""
    stride_p, pad_p, dilation_p, out_hw = _geometry(x.shape, weight.shape, stride, padding, dilation)
    cols = _im2col(windows(pad_hw(x, pad_p), weight.shape[2:], stride_p, dilation_p, out_hw))
    # (F, C*KH*KW) @ (C*KH*KW, N*OH*OW): one GEMM, output laid out (F, N, OH, OW)
    y = (weight.reshape(weight.shape[0], -1) @ cols).reshape((weight.shape[0], x.shape[0]) + out_hw)
    if bias is not None:
        y = y + bias.reshape(-1, 1, 1, 1)
    return np.ascontiguousarray(y.transpose(1, 0, 2, 3))


def _im2col(cols: np.ndarray) -> np.ndarray:
    """``(N, C, OH, OW, KH, KW)`` window view → contiguous ``(C*KH*KW, N*OH*OW)`` matrix.

    Copied in this order the innermost axis is OW, so the copy reads rows of the
    input with unit stride; the ``(N*OH*OW, C*KH*KW)`` order reads runs of KW
    elements and costs several times more.
    """
    n, c, oh, ow, kh, kw = cols.shape
    return np.ascontiguousarray(cols.transpose(1, 4, 5, 0, 2, 3)).reshape(c * kh * kw, n * oh * ow)


def conv2d_backward(
    upstream_grad: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    stride: IntOrPair = 1,
    padding: Padding = 0,
    dilation: IntOrPair = 1,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``sum(upstream_grad * conv2d_forward(x, weight, bias, ...))``.

    ``upstream_grad`` is ``(N, F, OH, OW)``. Returns ``(dx, dweight, dbias)`` with
    shapes ``(N, C, H, W)``, ``(F, C, KH, KW)`` and ``(F,)``. Input rows/columns that
    no window reaches (floor-mode leftovers) get a zero gradient.
    """
    stride_p, pad_p, dilation_p, out_hw = _geometry(x.shape, weight.shape, stride, padding, dilation)
    if upstream_grad.shape != (x.shape[0], weight.shape[0]) + out_hw:
        raise ValueError(f"upstream_grad has shape {upstream_grad.shape}, expected {(x.shape[0], weight.shape[0]) + out_hw}")
    x_padded = pad_hw(x, pad_p)
    cols = _im2col(windows(x_padded, weight.shape[2:], stride_p, dilation_p, out_hw))  # (C*KH*KW, N*OH*OW)
    n_filt = weight.shape[0]
    dy = upstream_grad.transpose(1, 0, 2, 3).reshape(n_filt, -1)  # (F, N*OH*OW)
    # dW[f,c,p,q] = sum_{n,i,j} dy[n,f,i,j] * window[n,c,i,j,p,q]: correlation of x with dy
    dweight = (dy @ cols.T).reshape(weight.shape)
    dbias = upstream_grad.sum(axis=(0, 2, 3))
    # Each window's gradient is dy[n,:,i,j] @ W; adding the windows back is the
    # "full convolution with the rotated kernel" of the textbook, done as a scatter.
    # Computed as W^T dy, laid out (C, KH, KW, N, OH, OW), so the scatter reads unit-stride rows.
    window_grads = (weight.reshape(n_filt, -1).T @ dy).reshape(weight.shape[1:] + (x.shape[0],) + out_hw)
    dx_padded = scatter_windows(window_grads.transpose(3, 0, 4, 5, 1, 2), x_padded.shape, stride_p, dilation_p)
    dx = np.ascontiguousarray(unpad_hw(dx_padded, pad_p))
    return dx, dweight, dbias


def conv2d_forward_naive(
    x: np.ndarray,
    weight: np.ndarray,
    bias: Optional[np.ndarray] = None,
    stride: IntOrPair = 1,
    padding: Padding = 0,
    dilation: IntOrPair = 1,
) -> np.ndarray:
    """Specification of :func:`conv2d_forward`: one loop iteration per output element."""
    (sh, sw), pad_p, (dh, dw), (oh, ow) = _geometry(x.shape, weight.shape, stride, padding, dilation)
    x_padded = pad_hw(x, pad_p)
    n_batch, n_filt = x.shape[0], weight.shape[0]
    kh, kw = weight.shape[2:]
    y = np.zeros((n_batch, n_filt, oh, ow), dtype=np.result_type(x, weight))
    for n in range(n_batch):
        for f in range(n_filt):
            for i in range(oh):
                for j in range(ow):
                    patch = x_padded[n, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
                    y[n, f, i, j] = np.sum(patch * weight[f])
                    if bias is not None:
                        y[n, f, i, j] += bias[f]
    return y


def conv2d_backward_naive(
    upstream_grad: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    stride: IntOrPair = 1,
    padding: Padding = 0,
    dilation: IntOrPair = 1,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Specification of :func:`conv2d_backward`: each output element sends its gradient back to its window."""
    (sh, sw), pad_p, (dh, dw), (oh, ow) = _geometry(x.shape, weight.shape, stride, padding, dilation)
    x_padded = pad_hw(x, pad_p)
    dtype = np.result_type(upstream_grad, x, weight)
    dx_padded = np.zeros(x_padded.shape, dtype=dtype)
    dweight = np.zeros(weight.shape, dtype=dtype)
    kh, kw = weight.shape[2:]
    for n in range(x.shape[0]):
        for f in range(weight.shape[0]):
            for i in range(oh):
                for j in range(ow):
                    rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                    g = upstream_grad[n, f, i, j]
                    dx_padded[n, :, rows, cols] += g * weight[f]
                    dweight[f] += g * x_padded[n, :, rows, cols]
    dbias = upstream_grad.sum(axis=(0, 2, 3)).astype(dtype)
    return np.ascontiguousarray(unpad_hw(dx_padded, pad_p)), dweight, dbias
