"""Named diagnoses of common mistakes: the documented vocabulary, and the detectors.

A detector recomputes, with the reference, what a specific well-known mistake
would have returned, and says whether the student's result matches it within
the rounding bound. A diagnosis is therefore evidence, not a guess from a
message. Codes are stable: reports, tests and instructors' scripts use them.
"""
from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional

import numpy as np

import reference as ref
from checks.expected import Expected, compare

# code → (what it means, what to try)
VOCABULARY: Dict[str, tuple] = {
    "kernel_not_rotated_in_dx": (
        "dL/dx matches a full correlation of dL/dy with the kernel NOT rotated by 180°.",
        "Flip the kernel on both spatial axes (W[:, :, ::-1, ::-1]) when you spread dL/dy back onto x.",
    ),
    "kernel_flipped_in_forward": (
        "forward matches a true convolution (kernel flipped); this layer is a cross-correlation.",
        "Do not flip W in forward: y[i,j] = sum W[p,q] * x[i+p, j+q].",
    ),
    "bias_gradient_not_summed_over_batch": (
        "dL/db matches the gradient of one sample (or the batch mean), not the sum over the batch.",
        "Sum dL/dy over the batch axis as well as the spatial axes.",
    ),
    "weight_gradient_not_summed_over_batch": (
        "dL/dW matches the gradient of the first sample only.",
        "Accumulate dL/dW over every sample of the batch.",
    ),
    "output_squeezed": (
        "a result lost its size-1 axes (np.squeeze without an axis, or reshape with fixed sizes).",
        "Keep 4-D shapes; squeeze only a named axis, e.g. np.squeeze(a, axis=2).",
    ),
    "hardcoded_course_sizes": (
        "passes on the course's own configuration but fails or crashes on other legal ones: something only holds at "
        "the course's sizes (a hard-coded size, padding or stride, a module-level constant, a squeezed size-1 axis).",
        "Derive every size from the layer's own parameters and x.shape, and test with batch 1, one channel, 1×1 filters.",
    ),
    "pool_argmax_transposed": (
        "the pooling gradient goes to the transposed position of each window's maximum (row and column swapped).",
        "Unravel the flat argmax with np.unravel_index(idx, (pool_h, pool_w)).",
    ),
    "pool_stride_ignored": (
        "max pooling matches windows moved by the pool size instead of the stride.",
        "Move the window by `stride`, and compute the output size as (n - pool) // stride + 1.",
    ),
    "stateful_backward": (
        "backward depends on the input of the previous forward call instead of its own x argument.",
        "Use the x passed to backprop (or re-cache it there); do not rely on state from forward.",
    ),
    "mutates_input": (
        "a call changed the caller's array in place (x or dL/dy).",
        "Work on copies (x = x.copy(), or out-of-place arithmetic such as a = a * mask).",
    ),
    "python2_division": (
        "a size computed with '/' is a float under Python 3 (Python 2 integer division).",
        "Use '//' for sizes, paddings and indices.",
    ),
    "python2_code": (
        "the file uses Python 2 constructs (xrange, print statements).",
        "Port it to Python 3: range instead of xrange, print(...) as a function, // for integer division.",
    ),
    "forbidden_import": (
        "the submission imports a library this assignment forbids (torch, tensorflow, keras).",
        "Implement the layers with NumPy (and the libraries the assignment allows) only.",
    ),
    "nonfinite_output": (
        "a result contains NaN or infinity.",
        "Look for divisions by zero, uninitialised arrays (np.empty) or overflow.",
    ),
    "timeout": (
        "a call did not finish within the time limit.",
        "Look for an infinite loop; vectorise loops over pixels.",
    ),
    "crash": (
        "the student's code killed its interpreter (exit, signal, memory limit).",
        "Do not call sys.exit/os._exit; keep memory use proportional to the layer's size.",
    ),
}


def known(code: str) -> str:
    if code not in VOCABULARY:
        raise KeyError(f"diagnosis {code!r} is not in the documented vocabulary")
    return code


def _matches(got: Optional[np.ndarray], candidate: np.ndarray, magnitude: np.ndarray, terms: int, eps: float) -> bool:
    if got is None or got.shape != candidate.shape:
        return False
    return compare(got, Expected(candidate, magnitude, terms), eps) is None


def conv_forward_mistakes(cfg, x, weight, bias, y_got, eps) -> List[str]:
    flipped = weight[:, :, ::-1, ::-1]
    if cfg.kernel == (1, 1) or np.allclose(flipped, weight):
        return []
    candidate = ref.conv2d_forward(x, flipped, bias, stride=cfg.stride, padding=cfg.padding)
    magnitude = ref.conv2d_forward(np.abs(x), np.abs(weight), np.abs(bias), stride=cfg.stride, padding=cfg.padding)
    return ["kernel_flipped_in_forward"] if _matches(y_got, candidate, magnitude, weight[0].size + 1, eps) else []


def conv_backward_mistakes(cfg, x, weight, upstream, grads: Dict[str, Optional[np.ndarray]], eps) -> List[str]:
    found = []
    args = dict(stride=cfg.stride, padding=cfg.padding)
    dx_mag, dw_mag, db_mag = ref.conv2d_backward(np.abs(upstream), np.abs(x), np.abs(weight), **args)
    if cfg.kernel != (1, 1):
        # Not rotating the kernel in dx is the same as the exact dx of the flipped kernel, flipped back.
        dx_wrong = ref.conv2d_backward(upstream, x, weight[:, :, ::-1, ::-1], **args)[0]
        if _matches(grads.get("dx"), dx_wrong, dx_mag, weight.shape[0] * weight[0, 0].size, eps):
            found.append("kernel_not_rotated_in_dx")
    if cfg.batch > 1:
        one = upstream[0].sum(axis=(1, 2))
        mean = upstream.sum(axis=(0, 2, 3)) / cfg.batch
        if any(_matches(grads.get("db"), c, db_mag, upstream[0].size, eps) for c in (one, mean)):
            found.append("bias_gradient_not_summed_over_batch")
        dw_one = ref.conv2d_backward(upstream[:1], x[:1], weight, **args)[1]
        if _matches(grads.get("dW"), dw_one, dw_mag, upstream[0].size, eps):
            found.append("weight_gradient_not_summed_over_batch")
    return found


def maxpool_forward_mistakes(cfg, x, y_got, eps) -> List[str]:
    if cfg.stride == cfg.kernel or y_got is None:
        return []
    try:
        candidate = ref.maxpool2d_forward(x, cfg.kernel, cfg.kernel, cfg.padding)
    except ValueError:
        return []
    if y_got.shape == candidate.shape and _matches(y_got, candidate, np.abs(candidate), 1, eps):
        return ["pool_stride_ignored"]
    return []


def maxpool_backward_mistakes(cfg, x, upstream, dx_got, eps) -> List[str]:
    kh, kw = cfg.kernel
    if kh != kw or kh == 1 or dx_got is None or cfg.padding != (0, 0):
        return []
    # Route each window's gradient to the transposed offset of its maximum.
    cols = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, :: cfg.stride[0], :: cfg.stride[1]]
    cols = cols[:, :, : upstream.shape[2], : upstream.shape[3]]
    flat = cols.reshape(cols.shape[:4] + (kh * kw,)).argmax(axis=4)
    rows, columns = np.divmod(flat, kw)
    candidate = np.zeros_like(x)
    n, c, oh, ow = upstream.shape
    ni, ci, ii, jj = np.meshgrid(np.arange(n), np.arange(c), np.arange(oh), np.arange(ow), indexing="ij")
    np.add.at(candidate, (ni, ci, ii * cfg.stride[0] + columns, jj * cfg.stride[1] + rows), upstream)
    truth = ref.maxpool2d_backward(upstream, x, cfg.kernel, cfg.stride)
    if np.allclose(candidate, truth):
        return []
    magnitude = ref.maxpool2d_backward(np.abs(upstream), x, cfg.kernel, cfg.stride)
    return ["pool_argmax_transposed"] if _matches(dx_got, candidate, magnitude + np.abs(candidate), 4, eps) else []


def shape_mistakes(problem: Optional[str], raw_shape, expected_shape) -> List[str]:
    if not problem or not problem.startswith("shape"):
        return []
    squeezed = tuple(d for d in expected_shape if d != 1)
    if tuple(raw_shape) == squeezed and squeezed != tuple(expected_shape):
        return ["output_squeezed"]
    return []


_PY2_DIVISION = re.compile(r"'float' object cannot be interpreted as an integer|slice indices must be integers"
                           r"|only integers, slices|must be int|integer argument expected, got float")


def error_mistakes(error: Optional[str]) -> List[str]:
    if not error:
        return []
    found = []
    if _PY2_DIVISION.search(error):
        found.append("python2_division")
    if "forbidden by this assignment" in error or _FORBIDDEN_MISSING.search(error):
        found.append("forbidden_import")
    if "xrange" in error:
        found.append("python2_code")
    return found


# The student runtime does not install these, so an import that slipped past the blocker still fails here.
_FORBIDDEN_MISSING = re.compile(r"No module named '(torch|tensorflow|keras|jax)[.']")

Detector = Callable[..., List[str]]
