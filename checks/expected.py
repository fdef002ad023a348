"""What a correct layer returns, and how far rounding alone may move it.

For every reference quantity we also compute a componentwise *magnitude*: the
same computation on absolute values (``|W| ⋆ |x| + |b|`` for a convolution).
Any summation order of ``K`` products in floating point is off by at most
``γ_K · magnitude`` with ``γ_K ≈ K·eps`` (Higham, *Accuracy and Stability of
Numerical Algorithms*, §3.1), so :func:`rounding_bound` separates a correct
implementation in any style — loops, im2col, einsum, float32 — from a wrong
one, whose error is a sizeable fraction of the magnitude itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

import reference as ref
from checks.model import LayerConfig

SAFETY = 8  # headroom over the first-order bound (inputs cast to float32 count as extra terms)
FLOOR = 64  # normwise floor, in eps × max magnitude: FFT-based convolutions round normwise, not componentwise


@dataclass(frozen=True)
class Expected:
    value: np.ndarray  # NCHW, float64
    magnitude: np.ndarray  # same shape: the computation on absolute values
    terms: int  # products summed into one element (K)


def rounding_bound(expected: Expected, eps: float) -> np.ndarray:
    """Componentwise tolerance for a result computed in a precision with unit roundoff ``eps``.

    Uses the probabilistic bound ``λ·sqrt(K)·u·magnitude`` (Higham & Mary, SIAM J. Sci.
    Comput. 41(5), 2019): rounding errors of a K-term sum grow like sqrt(K), and the
    worst-case ``K·u`` would be so loose in float32 for the K ≈ 57,600-term sums of a
    course-size dL/dW that a wrong gradient could hide inside it. λ = SAFETY makes a
    correct result fall outside with probability far below 1e-12 per element.
    """
    gamma = SAFETY * np.sqrt(expected.terms + 4) * eps
    floor = FLOOR * eps * (float(np.max(expected.magnitude)) if expected.magnitude.size else 0.0)
    return gamma * expected.magnitude + floor + np.finfo(np.float64).tiny


def conv_expected(cfg: LayerConfig, x, weight, bias, upstream) -> Dict[str, Expected]:
    args = dict(stride=cfg.stride, padding=cfg.padding)
    y = ref.conv2d_forward(x, weight, bias, **args)
    y_mag = ref.conv2d_forward(np.abs(x), np.abs(weight), np.abs(bias), **args)
    dx, dw, db = ref.conv2d_backward(upstream, x, weight, **args)
    dx_mag, dw_mag, db_mag = ref.conv2d_backward(np.abs(upstream), np.abs(x), np.abs(weight), **args)
    n, f, oh, ow = y.shape
    kh, kw = weight.shape[2:]
    return {
        "y": Expected(y, y_mag, cfg.in_channels * kh * kw + 1),
        "dx": Expected(dx, dx_mag, f * kh * kw),
        "dW": Expected(dw, dw_mag, n * oh * ow),
        "db": Expected(db, db_mag, n * oh * ow),
    }


def maxpool_expected(cfg: LayerConfig, x, upstream, ties: str = "first") -> Dict[str, Expected]:
    args = dict(kernel_size=cfg.kernel, stride=cfg.stride, padding=cfg.padding)
    y = ref.maxpool2d_forward(x, **args)
    dx = ref.maxpool2d_backward(upstream, x, ties=ties, **args)
    # Routing is exact; the only rounding is a float32 cast of x or of the upstream gradient,
    # and overlapping windows add up to ceil(k/s)^2 contributions into one element.
    overlaps = int(np.ceil(cfg.kernel[0] / cfg.stride[0]) * np.ceil(cfg.kernel[1] / cfg.stride[1]))
    return {
        "y": Expected(y, np.abs(y), 1),
        "dx": Expected(dx, ref.maxpool2d_backward(np.abs(upstream), x, ties=ties, **args), overlaps),
    }


def forward_magnitude(cfg: LayerConfig, x, weight=None, bias=None) -> np.ndarray:
    """Magnitude of the forward output at one point, for the directional-derivative bound."""
    if cfg.kind == "conv":
        return ref.conv2d_forward(np.abs(x), np.abs(weight), np.abs(bias), stride=cfg.stride, padding=cfg.padding)
    if cfg.kind == "maxpool":
        return np.abs(ref.maxpool2d_forward(x, cfg.kernel, cfg.stride, cfg.padding))
    raise ValueError(cfg.kind)


def forward_terms(cfg: LayerConfig) -> int:
    return cfg.in_channels * cfg.kernel[0] * cfg.kernel[1] + 1 if cfg.kind == "conv" else 1


def compare(got: np.ndarray, expected: Expected, eps: float) -> Optional[str]:
    """``None`` if ``got`` is within the rounding bound everywhere, else a got/expected message."""
    bound = rounding_bound(expected, eps)
    error = np.abs(got - expected.value)
    excess = error - bound
    if not np.any(excess > 0) and np.all(np.isfinite(got)):
        return None
    if not np.all(np.isfinite(got)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
    else:
        index = tuple(int(i) for i in np.unravel_index(np.argmax(error / bound), error.shape))
    wrong = int(np.sum(~(error <= bound)))
    return (f"{wrong} of {got.size} elements wrong; worst at {list(index)}: got {got[index]:.6g}, "
            f"expected {expected.value[index]:.6g} (tolerance {bound[index]:.2g})")


def unit_roundoff(dtype_name: str) -> float:
    """Unit roundoff of the precision the student computed in (float32 at worst for the profiles that allow it)."""
    if dtype_name in ("float16",):
        return float(np.finfo(np.float16).eps)
    if dtype_name in ("float32",):
        return float(np.finfo(np.float32).eps)
    return float(np.finfo(np.float64).eps)
