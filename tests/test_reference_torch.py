"""The fast reference path against ``torch.nn.functional`` + autograd, in float64.

For every drawn configuration the reference forward and backward are compared
with torch's forward and with the gradients autograd computes from the *same*
upstream gradient. Tolerances are elementwise rounding-error bounds (see
``_configs.py``): ``2 * gamma(n) * magnitude`` with ``n`` the number of terms
summed into the element and ``magnitude`` what torch computes on absolute
values. Max-pool forward and the tie tests are compared *exactly* (a max
selects an element; integer upstream gradients make the sums exact).

The last section runs the same comparison helpers on deliberately broken
variants and checks that they fail: the tests below can see a wrong reference.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

import reference._windows as windows_mod
from tests._configs import (
    TIE_KINDS,
    U64,
    ConvCase,
    PoolCase,
    _layout,
    assert_close,
    conv_cases,
    flatten_shapes,
    gamma,
    pool_cases,
    same_conv_cases,
)
from reference import (
    avgpool2d_backward,
    avgpool2d_forward,
    conv2d_backward,
    conv2d_forward,
    flatten_backward,
    flatten_forward,
    maxpool2d_backward,
    maxpool2d_forward,
)

# ---------------------------------------------------------------------------
# torch oracles: forward value and autograd gradients for a given upstream gradient


def _leaf(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64, requires_grad=True)


def torch_conv(x, weight, bias, upstream, **kw):
    xt, wt = _leaf(x), _leaf(weight)
    # With bias=None the reference still returns dbias = sum(dy); a zero bias
    # gives torch's version of it and leaves the forward bit-identical (y + 0 == y).
    bt = _leaf(np.zeros(weight.shape[0]) if bias is None else bias)
    y = F.conv2d(xt, wt, bt, **kw)
    y.backward(torch.tensor(upstream))
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def torch_maxpool(x, upstream, **kw):
    xt = _leaf(x)
    y = F.max_pool2d(xt, **kw)
    y.backward(torch.tensor(upstream))
    return y.detach().numpy(), xt.grad.numpy()


def torch_avgpool(x, upstream, **kw):
    xt = _leaf(x)
    y = F.avg_pool2d(xt, **kw)
    y.backward(torch.tensor(upstream))
    return y.detach().numpy(), xt.grad.numpy()


# ---------------------------------------------------------------------------
# Comparison helpers (the same ones the mutation tests at the bottom break)


def check_conv_against_torch(case: ConvCase, forward=conv2d_forward, backward=conv2d_backward) -> None:
    x, weight, bias, dy = case.arrays()
    x_before = x.copy()
    kw = case.kwargs()
    y_t, dx_t, dw_t, db_t = torch_conv(x, weight, bias, dy, **kw)
    absb = None if bias is None else np.abs(bias)
    m_y, m_dx, m_dw, m_db = torch_conv(np.abs(x), np.abs(weight), absb, np.abs(dy), **kw)

    y = forward(x, weight, bias, **kw)
    dx, dw, db = backward(dy, x, weight, **kw)

    oh, ow = case.out_hw
    kh, kw_ = case.kernel
    # Terms per element: y sums C*KH*KW products + bias; dx at most F*KH*KW
    # (every filter tap of every window covering it); dW and db sum N*OH*OW.
    assert_close(y, y_t, 2 * gamma(case.terms_per_output, U64) * m_y, "conv2d forward")
    assert_close(dx, dx_t, 2 * gamma(case.f * kh * kw_, U64) * m_dx, "conv2d dx")
    assert_close(dw, dw_t, 2 * gamma(case.n * oh * ow, U64) * m_dw, "conv2d dweight")
    assert_close(db, db_t, 2 * gamma(case.n * oh * ow, U64) * m_db, "conv2d dbias")
    assert y.dtype == dx.dtype == dw.dtype == db.dtype == np.float64
    assert np.array_equal(x, x_before), "conv2d modified its input"


def check_maxpool_against_torch(
    case: PoolCase, x, dy, *, exact: bool, ties="first", forward=maxpool2d_forward, backward=maxpool2d_backward
) -> None:
    """Forward always bit-exact; backward exact when ``exact`` (integer dy), else within 2*gamma(KH*KW)*sum|dy|."""
    kw = case.kwargs("max")
    y_t, dx_t = torch_maxpool(x, dy, **kw)
    y = forward(x, **kw)
    dx = backward(dy, x, **kw, ties=ties)
    assert_close(y, y_t, 0.0, "maxpool forward")
    if exact:
        tol = 0.0
    else:
        # A gradient element sums dy over the windows whose max it is: at most KH*KW of them.
        _, m_dx = torch_maxpool(x, np.abs(dy), **kw)
        tol = 2 * gamma(case.kernel[0] * case.kernel[1], U64) * m_dx
    assert_close(dx, dx_t, tol, f"maxpool dx (ties={ties!r})")
    assert y.dtype == dx.dtype == np.float64


def check_avgpool_against_torch(
    case: PoolCase, count_include_pad: bool, forward=avgpool2d_forward, backward=avgpool2d_backward
) -> None:
    x, dy = case.uniform_input()
    kw = dict(case.kwargs("avg"), count_include_pad=count_include_pad)
    y_t, dx_t = torch_avgpool(x, dy, **kw)
    m_y, m_dx = torch_avgpool(np.abs(x), np.abs(dy), **kw)
    y = forward(x, **kw)
    dx = backward(dy, x, **kw)
    # KH*KW terms plus one division (forward) / one division per term (backward).
    n = case.kernel[0] * case.kernel[1] + 1
    assert_close(y, y_t, 2 * gamma(n, U64) * m_y, f"avgpool forward (count_include_pad={count_include_pad})")
    assert_close(dx, dx_t, 2 * gamma(n, U64) * m_dx, f"avgpool dx (count_include_pad={count_include_pad})")
    assert y.dtype == dx.dtype == np.float64


# ---------------------------------------------------------------------------
# conv2d

CONV_EXAMPLES = [
    # 1x1 kernel, batch 1, non-square input
    ConvCase(1, 3, 2, 5, 7, (1, 1), 1, 0, 1, True, "C", 1),
    # kernel = input size (one output pixel)
    ConvCase(2, 2, 3, 4, 4, (4, 4), 1, 0, 1, True, "C", 2),
    # stride > kernel, odd sizes with leftover rows and columns, Fortran-ordered input
    ConvCase(1, 1, 1, 11, 9, (2, 3), (4, 5), 0, 1, False, "F", 3),
    # non-square kernel, stride, padding and dilation, all as pairs; strided input
    ConvCase(3, 4, 2, 7, 12, (3, 2), (2, 1), (2, 1), (2, 3), True, "strided", 4),
    # kernel larger than the input, fits only thanks to the padding
    ConvCase(2, 2, 2, 2, 3, (3, 5), 1, 1, 1, True, "C", 5),
]


def _with_examples(examples):
    def deco(fn):
        for ex in reversed(examples):
            fn = example(case=ex)(fn)
        return fn

    return deco


@given(case=conv_cases())
@_with_examples(CONV_EXAMPLES)
def test_conv2d_matches_torch(case):
    check_conv_against_torch(case)


@given(case=same_conv_cases())
@example(ConvCase(1, 2, 3, 4, 6, (5, 3), 1, "same", 1, True, "C", 6))  # odd kernel larger than the input
@example(ConvCase(2, 1, 2, 5, 5, (2, 4), 1, "same", 2, False, "C", 7))  # even kernel, even dilation: span even
def test_conv2d_same_padding_matches_torch(case):
    y_shape = conv2d_forward(*case.arrays()[:3], **case.kwargs()).shape
    assert y_shape == (case.n, case.f, case.h, case.w)
    check_conv_against_torch(case)


# ---------------------------------------------------------------------------
# max pooling (no near-ties: gradient well defined)

MAX_EXAMPLES = [
    PoolCase(1, 1, 5, 5, 5, None, 0, 1, "C", 10),  # kernel = input size
    PoolCase(2, 3, 7, 9, (2, 3), (3, 4), (1, 1), 1, "F", 11),  # stride > kernel, padding, leftovers
    PoolCase(1, 2, 6, 5, 3, 1, 1, 2, "strided", 12),  # overlapping dilated windows with padding
    PoolCase(3, 1, 4, 6, (1, 1), (2, 3), 0, 1, "C", 13),  # 1x1 kernel, stride > kernel
]


# finite_windows: no window made of padding only (see test_maxpool2d_all_padding_window)
@given(case=pool_cases("max", finite_windows=True))
@_with_examples(MAX_EXAMPLES)
def test_maxpool2d_matches_torch(case):
    x, dy = case.spaced_input()
    check_maxpool_against_torch(case, x, dy, exact=False)


@pytest.mark.parametrize(
    "case",
    [
        # dilation 3, padding 1, 2x2 input: the only window reads padded positions 0 and 3 on each axis
        PoolCase(1, 1, 2, 2, 2, 1, 1, 3, "C", 14),
        # width 1, kernel 2 dilated by 2, padding 1: every window's columns are -1 and +1 (both padding)
        PoolCase(1, 2, 3, 1, (1, 2), None, (0, 1), (1, 2), "C", 15),
    ],
)
def test_maxpool2d_all_padding_window(case):
    """A window made of padding only: output -inf (as torch), and no gradient at all.

    The output of such a window is the constant -inf, so its true gradient is
    zero. torch 2.13 agrees on the forward but its backward routes that
    window's gradient through an index computed for a window that starts in
    the padding: it lands on an arbitrary input element or outside the input
    (heap corruption, the process aborts). So torch's backward is not called
    here; the reference must give zero, fast and naive alike.
    """
    from reference import maxpool2d_backward_naive, maxpool2d_forward_naive

    assert not case.all_windows_touch_input
    x, dy = case.spaced_input()
    kw = case.kwargs("max")
    with torch.no_grad():
        y_t = F.max_pool2d(torch.tensor(x), **kw).numpy()
    y = maxpool2d_forward(x, **kw)
    assert np.isneginf(y_t).any()
    assert_close(y, y_t, 0.0, "maxpool forward")
    assert_close(maxpool2d_forward_naive(x, **kw), y_t, 0.0, "maxpool naive forward")
    # only the finite windows send gradient back
    dy_finite = np.where(np.isneginf(y), 0.0, dy)
    for ties in ("first", "all"):
        expected = maxpool2d_backward_naive(dy_finite, x, **kw, ties=ties)
        assert_close(maxpool2d_backward(dy, x, **kw, ties=ties), expected, 0.0, "maxpool dx")
        assert_close(maxpool2d_backward_naive(dy, x, **kw, ties=ties), expected, 0.0, "maxpool naive dx")
    if np.isneginf(y).all():
        assert not maxpool2d_backward(dy, x, **kw).any()


# ---------------------------------------------------------------------------
# max pooling tie policy "first": the element torch routes the gradient to


@given(case=pool_cases("max", finite_windows=True), kind=TIE_KINDS)
@example(case=PoolCase(2, 2, 6, 7, 3, 1, 1, 1, "C", 20), kind="const")  # overlapping constant windows
@example(case=PoolCase(1, 3, 5, 5, 2, None, 0, 1, "C", 21), kind="int3")
def test_maxpool2d_ties_first_matches_torch_exactly(case, kind):
    x, dy = case.tie_input(kind)
    check_maxpool_against_torch(case, x, dy, exact=True, ties="first")


def test_maxpool2d_ties_first_picks_top_left_of_constant_windows():
    """Documents torch's pick: the first maximum in row-major window order."""
    dy = np.arange(1.0, 1.0 + 2 * 1 * 2 * 3).reshape(2, 1, 2, 3)
    x = np.full((2, 1, 5, 7), 4.0)  # 2x2/2 windows; row 4 and column 6 are leftovers
    expected = np.zeros_like(x)
    expected[:, :, 0:4:2, 0:6:2] = dy
    _, dx_t = torch_maxpool(x, dy, kernel_size=2)
    assert np.array_equal(dx_t, expected)
    assert np.array_equal(maxpool2d_backward(dy, x, 2, ties="first"), expected)
    # overlapping 3x3/1: window (i, j) sends its gradient to its top-left element (i, j)
    dy = np.arange(1.0, 1.0 + 3 * 5).reshape(1, 1, 3, 5)
    x = np.zeros((1, 1, 5, 7))
    expected = np.zeros_like(x)
    expected[:, :, :3, :5] = dy
    _, dx_t = torch_maxpool(x, dy, kernel_size=3, stride=1)
    assert np.array_equal(dx_t, expected)
    assert np.array_equal(maxpool2d_backward(dy, x, 3, stride=1, ties="first"), expected)


# ---------------------------------------------------------------------------
# average pooling, count_include_pad both ways

AVG_EXAMPLES = [
    PoolCase(1, 1, 5, 5, 5, None, 2, 1, "C", 30),  # kernel = input size, padded
    PoolCase(2, 3, 7, 9, (2, 3), (3, 4), (1, 1), 1, "F", 31),  # stride > kernel, leftovers
    PoolCase(3, 2, 6, 5, (5, 3), 1, (2, 1), 1, "strided", 32),  # overlapping, non-square
    PoolCase(1, 4, 3, 8, 1, (2, 3), 0, 1, "C", 33),  # 1x1 kernel
]


@pytest.mark.parametrize("count_include_pad", [True, False])
@given(case=pool_cases("avg"))
@_with_examples(AVG_EXAMPLES)
def test_avgpool2d_matches_torch(case, count_include_pad):
    check_avgpool_against_torch(case, count_include_pad)


# ---------------------------------------------------------------------------
# flatten


@given(shape=flatten_shapes(), layout=st.sampled_from(["C", "F", "strided"]), seed=st.integers(0, 2**32 - 1))
def test_flatten_matches_torch_and_never_aliases(shape, layout, seed):
    rng = np.random.default_rng(seed)
    x = _layout(rng, rng.uniform(-1, 1, shape), layout)
    x_before = x.copy()
    xt = _leaf(x)
    yt = torch.flatten(xt, 1)
    dy = rng.uniform(-1, 1, tuple(yt.shape))
    yt.backward(torch.tensor(dy))

    y = flatten_forward(x)
    assert y.shape == tuple(yt.shape)
    assert np.array_equal(y, yt.detach().numpy())  # a copy in C order: exact
    assert not np.shares_memory(y, x)
    dx = flatten_backward(dy, x.shape)
    assert dx.shape == x.shape
    assert np.array_equal(dx, xt.grad.numpy())
    assert not np.shares_memory(dx, dy)
    # Independent results: writing into them leaves the inputs alone.
    y[...] = 7.0
    dx[...] = 7.0
    assert np.array_equal(x, x_before)
    assert not (dy == 7.0).all()


# ---------------------------------------------------------------------------
# The helpers above catch a broken reference


FLIP_CASE = ConvCase(2, 2, 3, 6, 7, (3, 3), 1, 1, 1, True, "C", 40)
STRIDED_CONV = ConvCase(1, 2, 2, 9, 8, (3, 2), 2, 1, 1, True, "C", 41)
STRIDED_POOL = PoolCase(1, 2, 9, 8, (3, 2), 2, 1, 1, "C", 42)


def _stride_dropped(window_grads, padded_shape, stride, dilation):
    """Broken adjoint: scatters every window as if the stride were 1."""
    return windows_mod.scatter_windows(window_grads, padded_shape, (1, 1), dilation)


def test_helper_catches_flipped_kernel():
    def flipped(x, weight, bias=None, **kw):  # true convolution instead of cross-correlation
        return conv2d_forward(x, weight[:, :, ::-1, ::-1], bias, **kw)

    check_conv_against_torch(FLIP_CASE)  # the genuine reference passes this very case
    with pytest.raises(AssertionError, match="conv2d forward"):
        check_conv_against_torch(FLIP_CASE, forward=flipped)


@pytest.mark.parametrize("layer", ["conv", "max", "avg"])
def test_helper_catches_stride_dropped_in_backward_scatter(layer, monkeypatch):
    if layer == "conv":
        run, module, what = (lambda: check_conv_against_torch(STRIDED_CONV)), "reference.conv", "conv2d dx"
    elif layer == "max":
        x, dy = STRIDED_POOL.spaced_input()
        run, module, what = (lambda: check_maxpool_against_torch(STRIDED_POOL, x, dy, exact=False)), "reference.pool", "maxpool dx"
    else:
        run, module, what = (lambda: check_avgpool_against_torch(STRIDED_POOL, False)), "reference.pool", "avgpool dx"
    run()
    monkeypatch.setattr(f"{module}.scatter_windows", _stride_dropped)
    with pytest.raises(AssertionError, match=what):
        run()


def test_helper_catches_wrong_tie_policy():
    case = PoolCase(1, 2, 6, 6, 2, 2, 0, 1, "C", 43)
    x, dy = case.tie_input("binary")
    check_maxpool_against_torch(case, x, dy, exact=True, ties="first")
    with pytest.raises(AssertionError, match="maxpool dx"):
        check_maxpool_against_torch(case, x, dy, exact=True, ties="all")


def test_helper_catches_ignored_count_include_pad():
    def always_include(x, kernel_size, stride=None, padding=0, count_include_pad=True):
        return avgpool2d_forward(x, kernel_size, stride, padding, True)

    case = PoolCase(1, 2, 5, 6, 3, 2, 1, 1, "C", 44)
    check_avgpool_against_torch(case, False)
    with pytest.raises(AssertionError, match="avgpool forward"):
        check_avgpool_against_torch(case, False, forward=always_include)
