"""Shared Hypothesis strategies, test inputs and the one comparison primitive.

Every test of ``reference/`` draws its layer configuration from here, so the
edge cases the issue asks for are generated in one place:

* batch 1..3, channels 1..4, spatial sizes 1..12 (kept small: the naive loop
  specifications run on every example);
* 1x1 kernels, kernels exactly as large as the (padded) input, stride larger
  than the kernel, odd sizes whose last rows/columns no window reaches (floor
  mode leftovers), non-square inputs / kernels / strides / paddings /
  dilations, every geometric argument passed either as an int or as a pair
  (and conv padding also as ``"valid"``), pooling ``stride=None``;
* inputs in three memory layouts (C order, Fortran order, a strided view), as
  students hand in whatever they have.

Arrays are not drawn element by element (slow, and useless for shrinking);
each case carries a seed and builds its arrays from ``numpy.random.default_rng``,
so a failing example is still fully reproducible from the printed case.

Tolerances: every floating-point comparison in the suite goes through
:func:`assert_close` with an *elementwise* bound derived from the standard
rounding-error analysis of sums (Higham, "Accuracy and Stability of Numerical
Algorithms", Lemma 3.1 / eq. 3.5): for any summation order, a computed sum of
``n`` rounded products satisfies ``|fl(s) - s| <= gamma(n) * sum(|terms|)`` with
``gamma(n) = n*u / (1 - n*u)`` and ``u`` the unit roundoff (2**-53 for float64,
2**-24 for float32). ``sum(|terms|)`` is obtained by running the oracle on
absolute values (conv of |x| with |W| plus |b|, etc.). Two correct
implementations that only sum in a different order (BLAS blocking, scatter
order, torch's im2col) can therefore differ by at most ``2*gamma(n)*magnitude``
and a real bug (wrong index, missing stride, flipped kernel) produces errors of
the order of the values themselves, some 10^12 times larger in float64.
"""
from __future__ import annotations

import dataclasses
from typing import Tuple

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st

U64 = 2.0**-53  # unit roundoff of float64
U32 = 2.0**-24  # unit roundoff of float32


def gamma(n: int, unit: float) -> float:
    """Higham's ``gamma_n = n*u/(1-n*u)``: relative error bound of an ``n``-term sum of products."""
    n = max(int(n), 1)
    assert n * unit < 0.5, "bound is meaningless for this many terms"
    return n * unit / (1.0 - n * unit)


def assert_close(actual, expected, tol, what: str) -> None:
    """``|actual - expected| <= tol`` elementwise (``tol`` scalar or array), same shape.

    Infinities must match exactly (max pooling of an all-padding window is
    ``-inf`` in torch and in the reference); NaN is never accepted.
    The message names the worst element, so a failure is diagnosable.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    assert not np.isnan(actual).any(), f"{what}: NaN in the result"
    assert not np.isnan(expected).any(), f"{what}: NaN in the expectation"
    tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), expected.shape)
    a64 = actual.astype(np.float64)
    e64 = expected.astype(np.float64)
    inf = np.isinf(e64) | np.isinf(a64)
    assert np.array_equal(a64[inf], e64[inf]), f"{what}: infinities differ"
    err = np.abs(np.where(inf, 0.0, a64) - np.where(inf, 0.0, e64))
    bad = err > tol
    if bad.any():
        excess = np.where(bad, err - tol, -np.inf)
        idx = np.unravel_index(int(np.argmax(excess)), excess.shape)
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} elements out of tolerance; worst at {idx}: "
            f"got {a64[idx]!r}, expected {e64[idx]!r}, |diff| {err[idx]:.3e} > tol {tol[idx]:.3e}"
        )


# ---------------------------------------------------------------------------
# Geometry (written independently of reference/_windows.py: the tests must not
# borrow the formula they are checking).


def out_len(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def pair(v) -> Tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _windows_touch_input(size: int, k: int, s: int, p: int, d: int) -> bool:
    """Every (dilated) window along this axis has at least one non-padding element."""
    return all(
        any(p <= i * s + q * d < size + p for q in range(k)) for i in range(out_len(size, k, s, p, d))
    )


def _layout(rng: np.random.Generator, a: np.ndarray, layout: str) -> np.ndarray:
    """Same values, different memory layout: ``"C"``, ``"F"`` (Fortran) or ``"strided"`` (a view)."""
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided":
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    return np.ascontiguousarray(a)


LAYOUTS = st.sampled_from(["C", "F", "strided"])
SEEDS = st.integers(0, 2**32 - 1)


def spaced_values(rng: np.random.Generator, shape) -> np.ndarray:
    """A random permutation of a grid spaced 1 apart, plus jitter in [-0.25, 0.25]: all values differ by >= 0.5.

    Max-pool gradients are only well defined away from ties; with this input
    every window has a unique maximum with a margin of at least 0.5, so any
    perturbation smaller than 0.25 keeps the argmax. The grid is centred on 0
    (about half the values negative), so padding with 0 instead of -inf
    would change results.
    """
    size = int(np.prod(shape))
    return (rng.permutation(size) - size // 2 + rng.uniform(-0.25, 0.25, size)).reshape(shape)


def tie_values(rng: np.random.Generator, shape, kind: str) -> np.ndarray:
    """Inputs full of exact ties: ``"int3"`` integers in -1..1, ``"binary"`` -1/0, ``"const"`` all -1.5.

    Mostly negative on purpose: a zero pad would win (or tie) if the
    reference padded max pooling with 0 instead of -inf.
    """
    if kind == "const":
        return np.full(shape, -1.5)
    lo = -1
    hi = 2 if kind == "int3" else 1
    return rng.integers(lo, hi, size=shape).astype(np.float64)


TIE_KINDS = st.sampled_from(["int3", "binary", "const"])


# ---------------------------------------------------------------------------
# Cases


@dataclasses.dataclass(frozen=True)
class ConvCase:
    n: int
    c: int
    f: int
    h: int
    w: int
    kernel: Tuple[int, int]
    stride: object
    padding: object  # int, pair, "valid" or "same"
    dilation: object
    bias: bool
    layout: str
    seed: int

    def kwargs(self) -> dict:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation)

    def pads(self) -> Tuple[int, int]:
        if self.padding == "valid":
            return (0, 0)
        if self.padding == "same":
            return tuple(d * (k - 1) // 2 for k, d in zip(self.kernel, pair(self.dilation)))
        return pair(self.padding)

    @property
    def out_hw(self) -> Tuple[int, int]:
        (sh, sw), (ph, pw), (dh, dw) = pair(self.stride), self.pads(), pair(self.dilation)
        kh, kw = self.kernel
        return out_len(self.h, kh, sh, ph, dh), out_len(self.w, kw, sw, pw, dw)

    @property
    def terms_per_output(self) -> int:
        """Products summed into one output element (plus the bias)."""
        return self.c * self.kernel[0] * self.kernel[1] + 1

    def arrays(self, dtype=np.float64):
        """``x, weight, bias (or None), upstream`` in [-1, 1], ``x`` in the case's layout."""
        rng = np.random.default_rng(self.seed)
        x = rng.uniform(-1, 1, (self.n, self.c, self.h, self.w)).astype(dtype)
        weight = rng.uniform(-1, 1, (self.f, self.c) + tuple(self.kernel)).astype(dtype)
        bias = rng.uniform(-1, 1, self.f).astype(dtype) if self.bias else None
        upstream = rng.uniform(-1, 1, (self.n, self.f) + self.out_hw).astype(dtype)
        return _layout(rng, x, self.layout), weight, bias, upstream


@dataclasses.dataclass(frozen=True)
class PoolCase:
    n: int
    c: int
    h: int
    w: int
    kernel_size: object
    stride: object  # None means "the kernel size"
    padding: object
    dilation: object  # always 1 for average pooling
    layout: str
    seed: int

    def kwargs(self, kind: str) -> dict:
        kw = dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding)
        if kind == "max":
            kw["dilation"] = self.dilation
        return kw

    @property
    def kernel(self) -> Tuple[int, int]:
        return pair(self.kernel_size)

    @property
    def out_hw(self) -> Tuple[int, int]:
        k = self.kernel
        s = k if self.stride is None else pair(self.stride)
        p, d = pair(self.padding), pair(self.dilation)
        return out_len(self.h, k[0], s[0], p[0], d[0]), out_len(self.w, k[1], s[1], p[1], d[1])

    @property
    def all_windows_touch_input(self) -> bool:
        k = self.kernel
        s = k if self.stride is None else pair(self.stride)
        p, d = pair(self.padding), pair(self.dilation)
        return _windows_touch_input(self.h, k[0], s[0], p[0], d[0]) and _windows_touch_input(
            self.w, k[1], s[1], p[1], d[1]
        )

    @property
    def x_shape(self):
        return (self.n, self.c, self.h, self.w)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    def uniform_input(self, dtype=np.float64):
        """``x, upstream`` uniform in [-1, 1] (for average pooling)."""
        rng = self.rng()
        x = rng.uniform(-1, 1, self.x_shape).astype(dtype)
        upstream = rng.uniform(-1, 1, (self.n, self.c) + self.out_hw).astype(dtype)
        return _layout(rng, x, self.layout), upstream

    def spaced_input(self, dtype=np.float64):
        """``x, upstream`` with ``x`` free of near-ties (see :func:`spaced_values`)."""
        rng = self.rng()
        x = spaced_values(rng, self.x_shape).astype(dtype)
        upstream = rng.uniform(-1, 1, (self.n, self.c) + self.out_hw).astype(dtype)
        return _layout(rng, x, self.layout), upstream

    def tie_input(self, kind: str):
        """``x, upstream`` with exact ties in ``x`` and small-integer ``upstream``.

        Integer upstream gradients make every accumulated gradient an exact
        float64 sum, so tie tests can demand bit-for-bit equality regardless
        of the order in which overlapping windows are added up.
        """
        rng = self.rng()
        x = tie_values(rng, self.x_shape, kind)
        upstream = rng.integers(-3, 4, (self.n, self.c) + self.out_hw).astype(np.float64)
        return _layout(rng, x, self.layout), upstream


# ---------------------------------------------------------------------------
# Strategies


def _size(draw, lo: int, k: int, max_size: int) -> int:
    # A third of the time pin the size to a boundary: the smallest size the (padded,
    # dilated) kernel fits in, or exactly the kernel size ("kernel = input size").
    pick = draw(st.integers(0, 5))
    if pick == 0:
        return lo
    if pick == 1:
        return min(max(lo, k), max_size)
    return draw(st.integers(lo, max_size))


@st.composite
def _conv_axis(draw, max_size, max_kernel, max_pad, max_stride, max_dilation):
    d = draw(st.sampled_from([1, 1] + list(range(2, max_dilation + 1))))  # undilated half the time
    k = draw(st.integers(1, min(max_kernel, (max_size - 1) // d + 1)))  # d*(k-1)+1 <= max_size
    p = draw(st.integers(0, max_pad))
    size = _size(draw, max(1, d * (k - 1) + 1 - 2 * p), k, max_size)
    s = draw(st.integers(1, max_stride))
    return dict(k=k, s=s, p=p, d=d, size=size)


def _arg(draw, values):
    """Pass a per-axis pair as an int when both axes agree (half the time), else as a tuple."""
    a, b = values
    if a == b and draw(st.booleans()):
        return a
    return (a, b)


def _axes(draw, axis_strategy):
    first = draw(axis_strategy)
    second = first if draw(st.booleans()) else draw(axis_strategy)  # square or not
    return first, second


@st.composite
def conv_cases(draw, max_batch=3, max_channels=4, max_size=12, max_kernel=5, max_pad=2, max_stride=4, max_dilation=3):
    """Legal conv2d configurations with explicit (int / pair / ``"valid"``) padding."""
    ah, aw = _axes(draw, _conv_axis(max_size, max_kernel, max_pad, max_stride, max_dilation))
    padding = _arg(draw, (ah["p"], aw["p"]))
    if ah["p"] == aw["p"] == 0 and draw(st.booleans()):
        padding = "valid"
    return ConvCase(
        n=draw(st.integers(1, max_batch)),
        c=draw(st.integers(1, max_channels)),
        f=draw(st.integers(1, max_channels)),
        h=ah["size"],
        w=aw["size"],
        kernel=(ah["k"], aw["k"]),
        stride=_arg(draw, (ah["s"], aw["s"])),
        padding=padding,
        dilation=_arg(draw, (ah["d"], aw["d"])),
        bias=draw(st.booleans()),
        layout=draw(LAYOUTS),
        seed=draw(SEEDS),
    )


@st.composite
def _same_axis(draw, max_size):
    d = draw(st.integers(1, 3))
    # "same" needs an even span d*(k-1): any odd kernel, or an even kernel with even dilation.
    k = draw(st.sampled_from([1, 3, 5]) if d % 2 else st.integers(1, 4))
    return dict(k=k, s=1, p=0, d=d, size=draw(st.integers(1, max_size)))


@st.composite
def same_conv_cases(draw, max_batch=3, max_channels=4, max_size=12):
    """conv2d with ``padding="same"``: stride 1, odd effective kernel (may exceed the input)."""
    ah, aw = _axes(draw, _same_axis(max_size))
    return ConvCase(
        n=draw(st.integers(1, max_batch)),
        c=draw(st.integers(1, max_channels)),
        f=draw(st.integers(1, max_channels)),
        h=ah["size"],
        w=aw["size"],
        kernel=(ah["k"], aw["k"]),
        stride=draw(st.sampled_from([1, (1, 1)])),
        padding="same",
        dilation=_arg(draw, (ah["d"], aw["d"])),
        bias=draw(st.booleans()),
        layout=draw(LAYOUTS),
        seed=draw(SEEDS),
    )


@st.composite
def _pool_axis(draw, max_size, max_kernel, max_stride, dilation):
    d = draw(st.sampled_from([1, 1, 2, 3])) if dilation else 1  # undilated half the time
    k = draw(st.integers(1, min(max_kernel, (max_size - 1) // d + 1)))
    p = draw(st.integers(0, k // 2))  # torch: padding at most half the kernel
    size = _size(draw, max(1, d * (k - 1) + 1 - 2 * p), k, max_size)
    s = draw(st.integers(1, max_stride))
    return dict(k=k, s=s, p=p, d=d, size=size)


@st.composite
def pool_cases(draw, kind="max", max_batch=3, max_channels=4, max_size=12, max_stride=4, finite_windows=False):
    """Legal max (``kind="max"``, with dilation) or average (``kind="avg"``) pooling configurations.

    ``finite_windows=True`` rejects configurations in which some dilated,
    padded max-pool window holds padding only (its output is ``-inf``, so
    ``sum(U * y)`` is not a usable loss for finite differences).
    """
    max_kernel = 4 if kind == "max" else 5
    ah, aw = _axes(draw, _pool_axis(max_size, max_kernel, max_stride, kind == "max"))
    stride = None if draw(st.integers(0, 3)) == 0 else _arg(draw, (ah["s"], aw["s"]))
    case = PoolCase(
        n=draw(st.integers(1, max_batch)),
        c=draw(st.integers(1, max_channels)),
        h=ah["size"],
        w=aw["size"],
        kernel_size=_arg(draw, (ah["k"], aw["k"])),
        stride=stride,
        padding=_arg(draw, (ah["p"], aw["p"])),
        dilation=_arg(draw, (ah["d"], aw["d"])),
        layout=draw(LAYOUTS),
        seed=draw(SEEDS),
    )
    if finite_windows and not case.all_windows_touch_input:
        reject()
    return case


# Small configurations for full (every-coordinate) finite differences.
small_conv_cases = conv_cases(max_batch=2, max_channels=2, max_size=7, max_kernel=3)
small_max_cases = pool_cases("max", max_batch=2, max_channels=2, max_size=7, finite_windows=True)
small_avg_cases = pool_cases("avg", max_batch=2, max_channels=2, max_size=7)


@st.composite
def flatten_shapes(draw):
    """``(N, ...)`` with 1..3 trailing axes; the NCHW case is the one graded, the others are free."""
    rest = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    return (draw(st.integers(1, 3)),) + tuple(rest)
