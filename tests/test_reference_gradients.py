"""Backward passes against numerical derivatives of ``L(x) = sum(U * f(x))``, float64.

Two independent checks, neither of which uses torch or the naive loops:

* central differences, coordinate by coordinate, on small configurations
  (batch <= 2, channels <= 2, spatial <= 7, kernel <= 3), for the fast *and*
  the naive backward: conv dx, dW, db; max-pool dx; avg-pool dx;
* a first-order directional derivative on full-size configurations: for a
  random direction V, ``(L(a + hV) - L(a - hV)) / 2h == sum(grad * V)``, for
  conv dx, dW, db, max-pool dx and avg-pool dx.

Step: ``h = 1e-6 * max(1, |a|)`` (per coordinate for central differences,
``max|a|`` for a direction), as the issue asks.

Why the tolerance can be tight and still rigorous: ``L`` is affine in every
argument for conv (in x, in W, in b) and avg-pool, and piecewise affine for
max-pool with kinks only where two window elements tie; the max-pool inputs
are a permutation of a grid spaced >= 0.5 apart, and every step here is
< 0.25 of that, so ``L`` is exactly affine on the segment. Central differences
therefore have *no* truncation error and only rounding remains:

* each evaluation of ``L`` is a sum of at most ``K`` rounded products (terms
  per output + number of outputs + 1) with ``sum|terms| <= S``, where ``S`` is a
  crude a-priori bound computed from ``max|x|, max|W|, max|b|`` and ``sum|U|``
  (independent of the code under test); so ``|fl(L) - L| <= gamma_K * S`` and
  the difference quotient is off by at most ``gamma_K * S / h``;
* the step actually taken is ``fl(a+h) - fl(a-h)``, not ``2h``; we divide by
  the realised step (central differences) or predict with the realised
  direction (directional derivative), which removes that error;
* ``1e-9 * |value|`` on top absorbs the rounding of the reference gradient
  itself (relative error <= gamma_n ~ 1e-13 for n <= 10^3 terms) and of the
  prediction ``sum(grad * V)``.

With the sizes used the tolerance is at most ~4e-6 (central differences,
small cases) and ~1e-2 (directional derivative of a sum over up to ~10^3
outputs, values O(1..100)); measured errors stay below 7% of it. Any wrong
index, missing stride or flipped kernel moves the result by O(0.1..10): the
mutation tests at the end show both helpers failing on such a reference.

Tie policy "all" is checked the way the EEE598 lab does it: on inputs full of
exact ties, *forward* differences with ``h = 1e-3`` (moving a tied maximum up
raises every window it is a maximum of) equal the "all" gradient.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given

from tests._configs import (
    TIE_KINDS,
    U64,
    ConvCase,
    PoolCase,
    conv_cases,
    gamma,
    pool_cases,
    small_avg_cases,
    small_conv_cases,
    small_max_cases,
    assert_close,
)
from reference import (
    avgpool2d_backward,
    avgpool2d_backward_naive,
    avgpool2d_forward,
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    maxpool2d_backward,
    maxpool2d_backward_naive,
    maxpool2d_forward,
)

H_REL = 1e-6  # relative step, as the issue asks
RTOL = 1e-9  # see module docstring: >> the 1e-13 rounding of the gradient itself, << any real bug

BACKWARDS = {
    "conv": {"fast": conv2d_backward, "naive": conv2d_backward_naive},
    "max": {"fast": maxpool2d_backward, "naive": maxpool2d_backward_naive},
    "avg": {"fast": avgpool2d_backward, "naive": avgpool2d_backward_naive},
}


# ---------------------------------------------------------------------------
# Numerical derivative helpers (the same ones the mutation tests break)


def check_central_differences(loss, a, grad, *, K: int, S: float, what: str) -> None:
    """Every coordinate: ``(L(a + h e_i) - L(a - h e_i)) / (realised step)`` vs ``grad[i]``."""
    a = np.array(a, dtype=np.float64, copy=True)
    fd = np.empty_like(a)
    tol = np.empty_like(a)
    for idx in np.ndindex(a.shape):
        orig = a[idx]
        h = H_REL * max(1.0, abs(orig))
        a[idx] = orig + h
        up, l_up = a[idx], loss(a)
        a[idx] = orig - h
        down, l_down = a[idx], loss(a)
        a[idx] = orig
        step = up - down
        fd[idx] = (l_up - l_down) / step
        tol[idx] = 2 * gamma(K, U64) * S / step
    assert_close(grad, fd, tol + RTOL * np.abs(fd), f"{what} vs central differences")


def check_directional_derivative(loss, a, grad, rng, *, K: int, S: float, what: str, max_step=None) -> None:
    """``(L(a + hV) - L(a - hV)) / 2h`` vs ``sum(grad * V)`` for a random direction ``V`` in [-1, 1]."""
    a = np.asarray(a, dtype=np.float64)
    v = rng.uniform(-1, 1, a.shape)
    h = H_REL * max(1.0, float(np.abs(a).max()))
    if max_step is not None:
        assert h < max_step, "step too large for the affine region"
    a_up, a_down = a + h * v, a - h * v
    realised = (a_up - a_down) / (2 * h)  # == v up to the rounding of a +- hv
    fd = (loss(a_up) - loss(a_down)) / (2 * h)
    predicted = float(np.sum(grad * realised))
    tol = 2 * gamma(K, U64) * S / (2 * h) + RTOL * float(np.sum(np.abs(grad * realised)))
    assert_close(predicted, fd, tol, f"{what} vs directional derivative")


# Loss bounds: K terms in one evaluation of L, S >= sum of their absolute values.


def _conv_bounds(case: ConvCase, x, w, b, u):
    n_out = u.size
    per_out = case.terms_per_output * np.abs(x).max() * np.abs(w).max() + (0.0 if b is None else np.abs(b).max())
    # (1 + 1e-5): the perturbed arguments are at most H_REL relatively larger
    return case.terms_per_output + n_out + 1, float(np.abs(u).sum() * per_out * (1 + 1e-5))


def _pool_bounds(case: PoolCase, x, u):
    k = case.kernel[0] * case.kernel[1]
    return k + 1 + u.size + 1, float(np.abs(u).sum() * np.abs(x).max() * (1 + 1e-5))


def check_conv_gradients(case: ConvCase, mode: str, backward=conv2d_backward, rng=None) -> None:
    """``mode`` is ``"central"`` (every coordinate) or ``"directional"``; dx, dW and db."""
    x, w, b, u = case.arrays()
    kw = case.kwargs()
    b_used = np.zeros(case.f) if b is None else b
    dx, dw, db = backward(u, x, w, **kw)
    K, S = _conv_bounds(case, x, w, b_used, u)
    losses = {
        "conv2d dx": (x, dx, lambda a: np.sum(u * conv2d_forward(a, w, b_used, **kw))),
        "conv2d dweight": (w, dw, lambda a: np.sum(u * conv2d_forward(x, a, b_used, **kw))),
        "conv2d dbias": (b_used, db, lambda a: np.sum(u * conv2d_forward(x, w, a, **kw))),
    }
    for what, (arg, grad, loss) in losses.items():
        if mode == "central":
            check_central_differences(loss, arg, grad, K=K, S=S, what=what)
        else:
            check_directional_derivative(loss, arg, grad, rng, K=K, S=S, what=what)


def check_maxpool_gradient(case: PoolCase, mode: str, backward=maxpool2d_backward, rng=None) -> None:
    x, u = case.spaced_input()  # values >= 0.5 apart: the argmax survives every step below
    kw = case.kwargs("max")
    K, S = _pool_bounds(case, x, u)
    loss = lambda a: np.sum(u * maxpool2d_forward(a, **kw))  # noqa: E731
    for ties in ("first", "all"):  # identical without ties
        grad = backward(u, x, **kw, ties=ties)
        if mode == "central":
            # |x| <= 3*4*144/2: h <= 1e-6 * 864 < 0.25
            check_central_differences(loss, x, grad, K=K, S=S, what=f"maxpool dx ({ties})")
        else:
            check_directional_derivative(loss, x, grad, rng, K=K, S=S, what=f"maxpool dx ({ties})", max_step=0.25)


def check_avgpool_gradient(case: PoolCase, count_include_pad: bool, mode: str, backward=avgpool2d_backward, rng=None) -> None:
    x, u = case.uniform_input()
    kw = dict(case.kwargs("avg"), count_include_pad=count_include_pad)
    K, S = _pool_bounds(case, x, u)
    loss = lambda a: np.sum(u * avgpool2d_forward(a, **kw))  # noqa: E731
    grad = backward(u, x, **kw)
    what = f"avgpool dx (count_include_pad={count_include_pad})"
    if mode == "central":
        check_central_differences(loss, x, grad, K=K, S=S, what=what)
    else:
        check_directional_derivative(loss, x, grad, rng, K=K, S=S, what=what)


# ---------------------------------------------------------------------------
# Central differences on small cases, fast and naive backward


@pytest.mark.parametrize("impl", ["fast", "naive"])
@given(case=small_conv_cases)
@example(case=ConvCase(2, 2, 2, 7, 6, (3, 2), (2, 3), (1, 2), (2, 1), True, "F", 50))
def test_conv2d_central_differences(case, impl):
    check_conv_gradients(case, "central", backward=BACKWARDS["conv"][impl])


@pytest.mark.parametrize("impl", ["fast", "naive"])
@given(case=small_max_cases)
@example(case=PoolCase(2, 2, 7, 6, 3, 1, 1, 2, "C", 51))
def test_maxpool2d_central_differences(case, impl):
    check_maxpool_gradient(case, "central", backward=BACKWARDS["max"][impl])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("impl", ["fast", "naive"])
@given(case=small_avg_cases)
@example(case=PoolCase(2, 2, 7, 5, (3, 2), (2, 1), 1, 1, "C", 52))
def test_avgpool2d_central_differences(case, impl, count_include_pad):
    check_avgpool_gradient(case, count_include_pad, "central", backward=BACKWARDS["avg"][impl])


# ---------------------------------------------------------------------------
# Directional derivatives on full-size cases


@given(case=conv_cases())
def test_conv2d_directional_derivative(case):
    check_conv_gradients(case, "directional", rng=np.random.default_rng(case.seed + 1))


@given(case=pool_cases("max", finite_windows=True))
def test_maxpool2d_directional_derivative(case):
    check_maxpool_gradient(case, "directional", rng=np.random.default_rng(case.seed + 1))


@pytest.mark.parametrize("count_include_pad", [True, False])
@given(case=pool_cases("avg"))
def test_avgpool2d_directional_derivative(case, count_include_pad):
    check_avgpool_gradient(case, count_include_pad, "directional", rng=np.random.default_rng(case.seed + 1))


# ---------------------------------------------------------------------------
# Tie policy "all"


def _every_window(dy, x_shape, k, s):
    """Hand-built "all" gradient for a constant input: every element of a window gets its dy."""
    dx = np.zeros(x_shape)
    for i in range(dy.shape[2]):
        for j in range(dy.shape[3]):
            dx[:, :, i * s : i * s + k, j * s : j * s + k] += dy[:, :, i : i + 1, j : j + 1]
    return dx


@pytest.mark.parametrize("backward", [maxpool2d_backward, maxpool2d_backward_naive], ids=["fast", "naive"])
def test_maxpool2d_ties_all_on_constant_input(backward):
    rng = np.random.default_rng(60)
    # 2x2/2 on 5x7: each element of window (i, j) gets dy[i, j]; row 4 and column 6 are leftovers
    x = np.full((2, 3, 5, 7), -0.5)
    dy = rng.uniform(-1, 1, (2, 3, 2, 3))
    expected = np.zeros_like(x)
    expected[:, :, :4, :6] = np.repeat(np.repeat(dy, 2, axis=2), 2, axis=3)
    assert np.array_equal(expected, _every_window(dy, x.shape, 2, 2))
    assert np.array_equal(backward(dy, x, 2, ties="all"), expected)
    # overlapping 3x3/1: an element gets the sum of dy over every window covering it
    dy = rng.integers(-3, 4, (2, 3, 3, 5)).astype(np.float64)  # integers: exact sums
    assert np.array_equal(backward(dy, x, 3, stride=1, ties="all"), _every_window(dy, x.shape, 3, 1))


def check_forward_differences_match_all(case: PoolCase, x, dy, backward=maxpool2d_backward, ties="all") -> None:
    """EEE598-style: ``(L(x + h e_i) - L(x)) / h`` with ``h = 1e-3`` equals the ``ties`` gradient.

    Inputs have ties and otherwise gaps >= 1, so raising one element by
    ``h = 1e-3`` raises exactly the windows in which it is a (tied) maximum:
    ``L`` is affine on that one-sided step, no truncation error.
    """
    kw = case.kwargs("max")
    loss = lambda a: np.sum(dy * maxpool2d_forward(a, **kw))  # noqa: E731
    K, S = _pool_bounds(case, x, dy)
    a = np.array(x, copy=True)
    base = loss(a)
    fd = np.empty_like(a)
    tol = np.empty_like(a)
    for idx in np.ndindex(a.shape):
        orig = a[idx]
        a[idx] = orig + 1e-3
        step = a[idx] - orig
        fd[idx] = (loss(a) - base) / step
        tol[idx] = 2 * gamma(K, U64) * S / step
        a[idx] = orig
    assert_close(backward(dy, x, **kw, ties=ties), fd, tol + RTOL * np.abs(fd), f"maxpool dx (ties={ties!r}) vs forward differences")


@pytest.mark.parametrize("backward", [maxpool2d_backward, maxpool2d_backward_naive], ids=["fast", "naive"])
@given(case=small_max_cases, kind=TIE_KINDS)
@example(case=PoolCase(1, 2, 5, 7, 2, None, 0, 1, "C", 61), kind="const")
@example(case=PoolCase(2, 1, 6, 6, 3, 1, 1, 1, "strided", 62), kind="int3")
def test_maxpool2d_ties_all_matches_forward_differences(case, kind, backward):
    x, dy = case.tie_input(kind)
    check_forward_differences_match_all(case, x, dy, backward=backward)


# ---------------------------------------------------------------------------
# The helpers above catch a broken reference


def test_gradient_helpers_catch_stride_dropped_in_backward_scatter(monkeypatch):
    import reference._windows as windows_mod

    case = ConvCase(1, 2, 2, 7, 7, (2, 3), 2, 1, 1, True, "C", 70)
    check_conv_gradients(case, "central")
    check_conv_gradients(case, "directional", rng=np.random.default_rng(0))
    monkeypatch.setattr(
        "reference.conv.scatter_windows",
        lambda g, shape, stride, dilation: windows_mod.scatter_windows(g, shape, (1, 1), dilation),
    )
    with pytest.raises(AssertionError, match="conv2d dx vs central differences"):
        check_conv_gradients(case, "central")
    with pytest.raises(AssertionError, match="conv2d dx vs directional derivative"):
        check_conv_gradients(case, "directional", rng=np.random.default_rng(0))


def test_gradient_helpers_catch_flipped_weight_gradient():
    case = ConvCase(2, 2, 3, 6, 5, (3, 3), 1, 1, 1, True, "C", 71)

    def flipped_dw(dy, x, w, **kw):
        dx, dw, db = conv2d_backward(dy, x, w, **kw)
        return dx, dw[:, :, ::-1, ::-1], db

    for mode in ("central", "directional"):
        with pytest.raises(AssertionError, match="conv2d dweight"):
            check_conv_gradients(case, mode, backward=flipped_dw, rng=np.random.default_rng(1))


def test_maxpool_helper_catches_gradient_sent_to_the_wrong_element():
    case = PoolCase(1, 2, 6, 6, 2, 2, 0, 1, "C", 72)

    def to_top_left(dy, x, kernel_size, stride=None, padding=0, dilation=1, ties="first"):
        # every window routes its gradient to its top-left element, max or not
        return maxpool2d_backward(dy, np.zeros_like(x), kernel_size, stride, padding, dilation, ties="first")

    check_maxpool_gradient(case, "central")
    with pytest.raises(AssertionError, match="maxpool dx"):
        check_maxpool_gradient(case, "central", backward=to_top_left)


def test_forward_difference_check_tells_the_tie_policies_apart():
    """On ties, "first" is *not* the forward-difference gradient: the check discriminates."""
    case = PoolCase(1, 1, 4, 4, 2, None, 0, 1, "C", 73)
    x, dy = case.tie_input("const")
    dy = np.abs(dy) + 1.0  # nonzero upstream, so the missing shares are visible
    check_forward_differences_match_all(case, x, dy)
    with pytest.raises(AssertionError, match="ties='first'"):
        check_forward_differences_match_all(case, x, dy, ties="first")
