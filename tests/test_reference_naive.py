"""The fast path against the loop specifications, float32 against float64, and the error contract.

* fast vs ``*_naive``: the same drawn configurations as the torch tests; the
  two differ only in summation order, so they must agree within
  ``2 * gamma(n) * magnitude`` (``_configs.py``). On tie inputs with integer
  upstream gradients the max-pool backward must agree bit for bit, for both
  tie policies. Here windows made of padding only are allowed (no torch).
* float32: the fast path fed float32 arrays must return float32 arrays and stay
  within ``(gamma_n(2**-24) + gamma_n(2**-53)) * magnitude`` of the float64
  reference run on the *same* values (float32 values are exact in float64):
  the first term bounds the float32 result's own rounding, the second the
  float64 reference's. That is the worst case for any summation order (no
  fudge factor: for few-term sums one rounding nearly attains it, measured up
  to ~0.8 of the bound; typically 0.01..0.1), while a float16 detour or a
  wrong element is 10^3+ times larger (see the mutation tests at the end).
  The float32 bound is ~1.2e-7 * n * magnitude, i.e. 1e-7..1e-4 relative.
* invalid configurations raise ``ValueError`` (fast and naive; torch rejects
  the same geometries).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given

from tests._configs import (
    TIE_KINDS,
    U32,
    U64,
    ConvCase,
    PoolCase,
    assert_close,
    conv_cases,
    flatten_shapes,
    gamma,
    pool_cases,
    same_conv_cases,
)
from reference import (
    avgpool2d_backward,
    avgpool2d_backward_naive,
    avgpool2d_forward,
    avgpool2d_forward_naive,
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    conv2d_forward_naive,
    flatten_backward,
    flatten_forward,
    flatten_forward_naive,
    maxpool2d_backward,
    maxpool2d_backward_naive,
    maxpool2d_forward,
    maxpool2d_forward_naive,
)


def _abs(a):
    return None if a is None else np.abs(a)


def _f64(a):
    return None if a is None else a.astype(np.float64)


# ---------------------------------------------------------------------------
# Comparison helpers


def check_conv_fast_vs_naive(case: ConvCase, forward=conv2d_forward, backward=conv2d_backward) -> None:
    x, w, b, dy = case.arrays()
    kw = case.kwargs()
    # Magnitudes sum(|terms|): the same linear maps applied to absolute values.
    m_y = conv2d_forward(np.abs(x), np.abs(w), _abs(b), **kw)
    m_dx, m_dw, m_db = conv2d_backward(np.abs(dy), np.abs(x), np.abs(w), **kw)
    oh, ow = case.out_hw
    kh, kw_ = case.kernel
    y, y_n = forward(x, w, b, **kw), conv2d_forward_naive(x, w, b, **kw)
    (dx, dw, db), (dx_n, dw_n, db_n) = backward(dy, x, w, **kw), conv2d_backward_naive(dy, x, w, **kw)
    assert_close(y, y_n, 2 * gamma(case.terms_per_output, U64) * m_y, "conv2d forward vs naive")
    assert_close(dx, dx_n, 2 * gamma(case.f * kh * kw_, U64) * m_dx, "conv2d dx vs naive")
    assert_close(dw, dw_n, 2 * gamma(case.n * oh * ow, U64) * m_dw, "conv2d dweight vs naive")
    assert_close(db, db_n, 2 * gamma(case.n * oh * ow, U64) * m_db, "conv2d dbias vs naive")


def check_maxpool_fast_vs_naive(case: PoolCase, x, dy, *, exact: bool) -> None:
    kw = case.kwargs("max")
    assert_close(maxpool2d_forward(x, **kw), maxpool2d_forward_naive(x, **kw), 0.0, "maxpool forward vs naive")
    for ties in ("first", "all"):
        dx, dx_n = maxpool2d_backward(dy, x, **kw, ties=ties), maxpool2d_backward_naive(dy, x, **kw, ties=ties)
        if exact:
            tol = 0.0
        else:  # at most KH*KW windows add into one element, "all" sends no more than that
            tol = 2 * gamma(case.kernel[0] * case.kernel[1], U64) * maxpool2d_backward_naive(np.abs(dy), x, **kw, ties=ties)
        assert_close(dx, dx_n, tol, f"maxpool dx vs naive (ties={ties!r})")


def check_avgpool_fast_vs_naive(case: PoolCase, count_include_pad: bool) -> None:
    x, dy = case.uniform_input()
    kw = dict(case.kwargs("avg"), count_include_pad=count_include_pad)
    n = case.kernel[0] * case.kernel[1] + 1
    m_y, m_dx = avgpool2d_forward(np.abs(x), **kw), avgpool2d_backward(np.abs(dy), x, **kw)
    assert_close(avgpool2d_forward(x, **kw), avgpool2d_forward_naive(x, **kw), 2 * gamma(n, U64) * m_y, "avgpool forward vs naive")
    assert_close(avgpool2d_backward(dy, x, **kw), avgpool2d_backward_naive(dy, x, **kw), 2 * gamma(n, U64) * m_dx, "avgpool dx vs naive")


def _f32_tol(n, magnitude):
    return (gamma(n, U32) + gamma(n, U64)) * magnitude


def _assert_f32(arrays, what):
    for a in arrays:
        assert a.dtype == np.float32, f"{what}: float32 input gave a {a.dtype} result"


def check_conv_float32(case: ConvCase, forward=conv2d_forward, backward=conv2d_backward) -> None:
    x, w, b, dy = case.arrays(np.float32)
    kw = case.kwargs()
    y = forward(x, w, b, **kw)
    dx, dw, db = backward(dy, x, w, **kw)
    _assert_f32([y, dx, dw, db], "conv2d")
    x64, w64, b64, dy64 = _f64(x), _f64(w), _f64(b), _f64(dy)
    m_y = conv2d_forward(np.abs(x64), np.abs(w64), _abs(b64), **kw)
    m_dx, m_dw, m_db = conv2d_backward(np.abs(dy64), np.abs(x64), np.abs(w64), **kw)
    oh, ow = case.out_hw
    kh, kw_ = case.kernel
    dx64, dw64, db64 = conv2d_backward(dy64, x64, w64, **kw)
    assert_close(y, conv2d_forward(x64, w64, b64, **kw), _f32_tol(case.terms_per_output, m_y), "conv2d float32 forward")
    assert_close(dx, dx64, _f32_tol(case.f * kh * kw_, m_dx), "conv2d float32 dx")
    assert_close(dw, dw64, _f32_tol(case.n * oh * ow, m_dw), "conv2d float32 dweight")
    assert_close(db, db64, _f32_tol(case.n * oh * ow, m_db), "conv2d float32 dbias")


def check_maxpool_float32(case: PoolCase) -> None:
    x, dy = case.spaced_input(np.float32)
    kw = case.kwargs("max")
    y = maxpool2d_forward(x, **kw)
    dxs = [maxpool2d_backward(dy, x, **kw, ties=t) for t in ("first", "all")]
    _assert_f32([y] + dxs, "maxpool")
    x64, dy64 = _f64(x), _f64(dy)
    assert_close(y, maxpool2d_forward(x64, **kw), 0.0, "maxpool float32 forward")  # a max is exact
    m_dx = maxpool2d_backward(np.abs(dy64), x64, **kw)
    for ties, dx in zip(("first", "all"), dxs):
        dx64 = maxpool2d_backward(dy64, x64, **kw, ties=ties)
        assert_close(dx, dx64, _f32_tol(case.kernel[0] * case.kernel[1], m_dx), f"maxpool float32 dx ({ties})")


def check_avgpool_float32(case: PoolCase, count_include_pad: bool, forward=avgpool2d_forward, backward=avgpool2d_backward) -> None:
    x, dy = case.uniform_input(np.float32)
    kw = dict(case.kwargs("avg"), count_include_pad=count_include_pad)
    y, dx = forward(x, **kw), backward(dy, x, **kw)
    _assert_f32([y, dx], "avgpool")
    x64, dy64 = _f64(x), _f64(dy)
    n = case.kernel[0] * case.kernel[1] + 1
    m_y, m_dx = avgpool2d_forward(np.abs(x64), **kw), avgpool2d_backward(np.abs(dy64), x64, **kw)
    assert_close(y, avgpool2d_forward(x64, **kw), _f32_tol(n, m_y), "avgpool float32 forward")
    assert_close(dx, avgpool2d_backward(dy64, x64, **kw), _f32_tol(n, m_dx), "avgpool float32 dx")


# ---------------------------------------------------------------------------
# fast vs naive

EDGE_CONV = [
    ConvCase(1, 3, 2, 5, 7, (1, 1), 1, 0, 1, True, "C", 1),
    ConvCase(2, 2, 3, 4, 4, (4, 4), 1, 0, 1, True, "F", 2),
    ConvCase(1, 1, 1, 11, 9, (2, 3), (4, 5), 0, 1, False, "strided", 3),
    ConvCase(3, 4, 2, 7, 12, (3, 2), (2, 1), (2, 1), (2, 3), True, "C", 4),
]


@given(case=conv_cases())
@example(case=EDGE_CONV[0])
@example(case=EDGE_CONV[1])
@example(case=EDGE_CONV[2])
@example(case=EDGE_CONV[3])
def test_conv2d_fast_matches_naive(case):
    check_conv_fast_vs_naive(case)


@given(case=same_conv_cases())
def test_conv2d_same_fast_matches_naive(case):
    check_conv_fast_vs_naive(case)


@given(case=pool_cases("max"))
@example(case=PoolCase(1, 1, 2, 2, 2, 1, 1, 3, "C", 14))  # a window of padding only: -inf, no gradient
def test_maxpool2d_fast_matches_naive(case):
    x, dy = case.spaced_input()
    check_maxpool_fast_vs_naive(case, x, dy, exact=False)


@given(case=pool_cases("max"), kind=TIE_KINDS)
def test_maxpool2d_fast_matches_naive_on_ties_exactly(case, kind):
    x, dy = case.tie_input(kind)
    check_maxpool_fast_vs_naive(case, x, dy, exact=True)


@pytest.mark.parametrize("count_include_pad", [True, False])
@given(case=pool_cases("avg"))
@example(case=PoolCase(3, 2, 6, 5, (5, 3), 1, (2, 1), 1, "strided", 32))
def test_avgpool2d_fast_matches_naive(case, count_include_pad):
    check_avgpool_fast_vs_naive(case, count_include_pad)


@given(shape=flatten_shapes())
def test_flatten_fast_matches_naive(shape):
    x = np.random.default_rng(sum(shape)).uniform(-1, 1, shape)
    y = flatten_forward(x)
    assert np.array_equal(y, flatten_forward_naive(x))
    assert not np.shares_memory(y, x)


# ---------------------------------------------------------------------------
# float32


@given(case=conv_cases())
@example(case=EDGE_CONV[3])
def test_conv2d_float32(case):
    check_conv_float32(case)


@given(case=pool_cases("max"))
def test_maxpool2d_float32(case):
    check_maxpool_float32(case)


@pytest.mark.parametrize("count_include_pad", [True, False])
@given(case=pool_cases("avg"))
def test_avgpool2d_float32(case, count_include_pad):
    check_avgpool_float32(case, count_include_pad)


@given(shape=flatten_shapes())
def test_flatten_float32(shape):
    x = np.random.default_rng(sum(shape)).uniform(-1, 1, shape).astype(np.float32)
    y = flatten_forward(x)
    dx = flatten_backward(y, x.shape)
    assert y.dtype == dx.dtype == np.float32
    assert np.array_equal(dx, x)


# ---------------------------------------------------------------------------
# Invalid configurations raise ValueError

X = np.zeros((1, 3, 5, 5))


def _torch_rejects(fn, *args, **kw):
    with pytest.raises(RuntimeError):
        fn(*(torch.tensor(a) for a in args), **kw)


@pytest.mark.parametrize(
    "weight, kw",
    [
        (np.zeros((2, 3, 6, 6)), {}),  # kernel larger than the input
        (np.zeros((2, 3, 8, 2)), dict(padding=1)),  # larger than the padded input
        (np.zeros((2, 3, 2, 3)), dict(dilation=3)),  # dilated span 2*3+1 = 7 > 5
        (np.zeros((2, 2, 3, 3)), {}),  # channel mismatch: x has 3, weight expects 2
    ],
    ids=["kernel>input", "kernel>padded", "dilated>input", "channels"],
)
def test_conv2d_rejects_impossible_geometry(weight, kw):
    dy = np.zeros((1, 2, 1, 1))
    for fn in (conv2d_forward, conv2d_forward_naive):
        with pytest.raises(ValueError):
            fn(X, weight, None, **kw)
    for fn in (conv2d_backward, conv2d_backward_naive):
        with pytest.raises(ValueError):
            fn(dy, X, weight, **kw)
    _torch_rejects(F.conv2d, X, weight, **kw)


@pytest.mark.parametrize(
    "weight, kw",
    [
        (np.zeros((2, 3, 2, 2)), dict(padding="same")),  # even kernel, dilation 1
        (np.zeros((2, 3, 3, 4)), dict(padding="same")),  # one even side is enough
        (np.zeros((2, 3, 4, 3)), dict(padding="same", dilation=3)),  # span 3*3 = 9 is odd
        (np.zeros((2, 3, 3, 3)), dict(padding="same", stride=2)),  # torch rejects it too
        (np.zeros((2, 3, 3, 3)), dict(padding="full")),  # unknown padding mode
        (np.zeros((2, 3, 3, 3)), dict(stride=(1, 2, 3))),  # not an int or a pair
    ],
    ids=["same-even", "same-even-w", "same-odd-span", "same-strided", "padding-string", "stride-triple"],
)
def test_conv2d_rejects_bad_arguments(weight, kw):
    for fn in (conv2d_forward, conv2d_forward_naive):
        with pytest.raises(ValueError):
            fn(X, weight, None, **kw)
    with pytest.raises(ValueError):
        conv2d_backward(np.zeros((1, 2, 5, 5)), X, weight, **kw)


def test_conv2d_backward_rejects_wrong_upstream_shape():
    with pytest.raises(ValueError):
        conv2d_backward(np.zeros((1, 2, 4, 4)), X, np.zeros((2, 3, 3, 3)))


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=6),  # kernel larger than the input
        dict(kernel_size=(2, 8), padding=(0, 1)),  # wider than the padded input (7)
        dict(kernel_size=3, dilation=3),  # dilated span 7 > 5 (max pooling only)
        dict(kernel_size=2, padding=2),  # padding more than half the kernel (torch's rule)
        dict(kernel_size=(3, 4), padding=(1, 3)),
    ],
    ids=["kernel>input", "kernel>padded", "dilated>input", "pad>k/2", "pad>k/2-w"],
)
def test_pooling_rejects_impossible_geometry(kw):
    fns = [maxpool2d_forward, maxpool2d_forward_naive]
    if "dilation" not in kw:
        fns += [avgpool2d_forward, avgpool2d_forward_naive]
    for fn in fns:
        with pytest.raises(ValueError):
            fn(X, **kw)
    with pytest.raises(ValueError):
        maxpool2d_backward(np.zeros((1, 3, 1, 1)), X, **kw)
    _torch_rejects(F.max_pool2d, X, **kw)


@pytest.mark.parametrize("ties", ["last", "First", "", None])
def test_maxpool2d_rejects_unknown_tie_policy(ties):
    dy = np.zeros((1, 3, 2, 2))
    for fn in (maxpool2d_backward, maxpool2d_backward_naive):
        with pytest.raises(ValueError):
            fn(dy, X, 2, ties=ties)


# ---------------------------------------------------------------------------
# The helpers above catch a broken reference


def test_naive_helper_catches_flipped_kernel():
    case = ConvCase(2, 2, 3, 6, 7, (3, 3), 1, 1, 1, True, "C", 40)

    def flipped(x, weight, bias=None, **kw):
        return conv2d_forward(x, weight[:, :, ::-1, ::-1], bias, **kw)

    check_conv_fast_vs_naive(case)
    with pytest.raises(AssertionError, match="conv2d forward vs naive"):
        check_conv_fast_vs_naive(case, forward=flipped)


def test_float32_helper_catches_upcast_result():
    """The bug this suite found: average pooling returned float64 for float32 input."""
    case = PoolCase(1, 2, 6, 6, 3, 2, 1, 1, "C", 45)

    def upcasting(x, *args, **kw):
        return avgpool2d_forward(x.astype(np.float64), *args, **kw)

    check_avgpool_float32(case, False)
    with pytest.raises(AssertionError, match="float32 input gave a float64 result"):
        check_avgpool_float32(case, False, forward=upcasting)


def test_float32_helper_catches_precision_loss():
    """A float16 detour (~3 decimal digits) is far outside the float32 bound."""
    case = ConvCase(2, 3, 2, 8, 8, (3, 3), 1, 1, 1, True, "C", 46)

    def via_float16(x, weight, bias=None, **kw):
        h = lambda a: None if a is None else a.astype(np.float16)  # noqa: E731
        return conv2d_forward(h(x), h(weight), h(bias), **kw).astype(np.float32)

    check_conv_float32(case)
    with pytest.raises(AssertionError, match="conv2d float32 forward"):
        check_conv_float32(case, forward=via_float16)
