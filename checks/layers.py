"""The generic layer checks: plan the calls for one configuration, run them, judge the records.

Checks speak NCHW and know no course. For each legal configuration a profile
supplies, three requests go to the student's code:

``main``         construct, set parameters, forward(x), backward(x, U)
``directional``  forward at points moved along random directions (x, W, b)
``stateful``     forward(x_other), then backward(x, U) on a fresh instance

and every check below is a pure function of those records and the reference.
Inputs are drawn from a generator seeded by (seed, layer, configuration), so a
grade is a function of the seed alone.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from checks import diagnoses as dx_codes
from checks.expected import (
    Expected,
    compare,
    conv_expected,
    forward_magnitude,
    forward_terms,
    maxpool_expected,
    rounding_bound,
    unit_roundoff,
)
from checks.model import OUTPUT_ROLES, CallRecord, Finding, LayerConfig

DIRECTIONS = 2
# Conv is affine in x, W and b, so a central difference is exact for any step:
# a unit step keeps rounding (eps·|f|/h) as small as it can be. Max pooling is
# piecewise linear: pool inputs are per-plane permutations of integers (gap 1
# between any two values), directions lie in [-1, 1], so a step of 0.25 never
# changes an argmax and the central difference is exact there too.
CONV_STEP = 1.0
POOL_STEP = 0.25


@dataclass(frozen=True)
class Inputs:
    x: np.ndarray
    upstream: np.ndarray
    x_other: np.ndarray
    weight: Optional[np.ndarray] = None
    bias: Optional[np.ndarray] = None
    directions: Tuple[Dict[str, np.ndarray], ...] = ()


@dataclass(frozen=True)
class Trial:
    """Everything the checks need about one configuration."""

    cfg: LayerConfig
    inputs: Inputs
    expected: Dict[str, Expected]
    main: Tuple[CallRecord, ...]  # (forward, backward)
    directional: Tuple[CallRecord, ...]  # forwards, in plan order
    stateful: Tuple[CallRecord, ...]  # (forward at x_other, backward at x)


def rng_for(seed: int, layer: str, label: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(layer.encode()), zlib.crc32(label.encode())])


def output_hw(cfg: LayerConfig) -> Tuple[int, int]:
    return tuple(
        (n + 2 * p - k) // s + 1 for n, k, s, p in zip(cfg.in_hw, cfg.kernel, cfg.stride, cfg.padding)
    )


def tie_free(rng: np.random.Generator, shape) -> np.ndarray:
    """Each (n, c) plane a random permutation of integers plus a random real offset: no two values within 1.

    The offset makes two draws differ (almost surely) even where a window covers a
    whole plane, whose maximum would otherwise always be the same largest integer.
    """
    n, c, h, w = shape
    planes = np.argsort(rng.random((n * c, h * w)), axis=1).astype(np.float64) - (h * w) / 2.0
    planes += rng.uniform(-4.0, 4.0, size=(n * c, 1))
    return planes.reshape(shape)


def make_inputs(cfg: LayerConfig, rng: np.random.Generator) -> Inputs:
    n, c = cfg.batch, cfg.in_channels
    x_shape = (n, c) + tuple(cfg.in_hw)
    oh, ow = output_hw(cfg)
    if cfg.kind == "conv":
        f, (kh, kw) = cfg.out_channels, cfg.kernel
        w_shape = (f, c, kh, kw)
        weight = rng.normal(0.0, 1.0 / np.sqrt(c * kh * kw), w_shape)
        bias = rng.normal(0.0, 0.5, f)  # non-zero, so a dropped or misplaced bias shows
        directions = tuple(
            {"x": rng.normal(size=x_shape), "W": rng.normal(0.0, 1.0 / np.sqrt(c * kh * kw), w_shape),
             "b": rng.normal(size=f)}
            for _ in range(DIRECTIONS)
        )
        return Inputs(rng.normal(size=x_shape), rng.normal(size=(n, f, oh, ow)), rng.normal(size=x_shape),
                      weight, bias, directions)
    if cfg.kind == "maxpool":
        directions = tuple({"x": rng.uniform(-1.0, 1.0, x_shape)} for _ in range(DIRECTIONS))
        return Inputs(tie_free(rng, x_shape), rng.normal(size=(n, c, oh, ow)), tie_free(rng, x_shape),
                      directions=directions)
    raise ValueError(f"no generic checks for layer kind {cfg.kind!r}")


def expected_for(cfg: LayerConfig, inputs: Inputs) -> Dict[str, Expected]:
    if cfg.kind == "conv":
        return conv_expected(cfg, inputs.x, inputs.weight, inputs.bias, inputs.upstream)
    return maxpool_expected(cfg, inputs.x, inputs.upstream)


def gradient_names(cfg: LayerConfig) -> Tuple[str, ...]:
    return ("dx", "dW", "db") if cfg.kind == "conv" else ("dx",)


def _directional_points(cfg: LayerConfig, inputs: Inputs):
    """(quantity, direction index, sign, x, W, b) for every forward of the directional request."""
    step = CONV_STEP if cfg.kind == "conv" else POOL_STEP
    points = []
    for quantity in gradient_names(cfg):
        for k, direction in enumerate(inputs.directions):
            for sign in (+1, -1):
                x, weight, bias = inputs.x, inputs.weight, inputs.bias
                moved = sign * step * direction[quantity[1:]]
                if quantity == "dx":
                    x = x + moved
                elif quantity == "dW":
                    weight = weight + moved
                else:
                    bias = bias + moved
                points.append((quantity, k, sign, x, weight, bias))
    return step, points


def run_trial(driver, cfg: LayerConfig, seed: int) -> Trial:
    inputs = make_inputs(cfg, rng_for(seed, cfg.layer, cfg.label))
    has_params = cfg.kind == "conv"
    params = [("set_params", {"W": inputs.weight, "b": inputs.bias})] if has_params else []
    rng_seed = int(rng_for(seed, cfg.layer, cfg.label + "/student").integers(2**31))
    main = driver.run(cfg, [("construct",), *params, ("call", "forward", {"x": inputs.x}),
                            ("call", "backward", {"x": inputs.x, "dy": inputs.upstream})], rng_seed)
    _, points = _directional_points(cfg, inputs)
    steps: List = [("construct",)]
    for _, _, _, x, weight, bias in points:
        if has_params:
            steps.append(("set_params", {"W": weight, "b": bias}))
        steps.append(("call", "forward", {"x": x}))
    directional = driver.run(cfg, steps, rng_seed)
    stateful = driver.run(cfg, [("construct",), *params, ("call", "forward", {"x": inputs.x_other}),
                                ("call", "backward", {"x": inputs.x, "dy": inputs.upstream})], rng_seed)
    return Trial(cfg, inputs, expected_for(cfg, inputs), tuple(main), tuple(directional), tuple(stateful))


# ---------------------------------------------------------------------------
# Judging: each function maps one trial to one Finding.


def _call_failure(cfg: LayerConfig, records: Sequence[CallRecord]) -> Optional[Finding]:
    for record in records:
        if record.status == "ok":
            continue
        status = "timeout" if record.status == "timeout" else "error"
        codes = dx_codes.error_mistakes(record.error)
        if record.status == "timeout":
            codes.append("timeout")
        elif record.status == "crash":
            codes.append("crash")
        return Finding(cfg, status, f"{record.method}: {record.error}", tuple(codes))
    return None


def _unusable(cfg: LayerConfig, name: str, output) -> Finding:
    return Finding(cfg, "fail", f"no usable {name}: {output.problem if output else 'not returned'}")


def _eps(*outputs) -> float:
    return max((unit_roundoff(o.raw_dtype) for o in outputs if o is not None), default=unit_roundoff("float64"))


def judge_api(trial: Trial) -> Finding:
    failure = _call_failure(trial.cfg, trial.main)
    return failure or Finding(trial.cfg, "pass")


def judge_shape(trial: Trial, profile) -> Finding:
    failure = _call_failure(trial.cfg, trial.main)
    if failure:
        return failure
    problems, codes = [], []
    for record in trial.main:
        for name, output in record.outputs.items():
            if output.problem:
                problems.append(f"{record.method} {name}: {output.problem}")
                expected_shape = profile.student_shape(OUTPUT_ROLES[name], trial.cfg)
                codes += dx_codes.shape_mistakes(output.problem, output.raw_shape, expected_shape)
                if "NaN" in output.problem:
                    codes.append("nonfinite_output")
    expected_names = {"forward": ("y",), "backward": gradient_names(trial.cfg)}
    for record in trial.main:
        missing = [n for n in expected_names[record.method] if n not in record.outputs]
        if missing:
            problems.append(f"{record.method} returned nothing for {', '.join(missing)}")
    if problems:
        return Finding(trial.cfg, "fail", "; ".join(problems), tuple(dict.fromkeys(codes)))
    return Finding(trial.cfg, "pass")


def judge_reference(trial: Trial, name: str) -> Finding:
    """Compare output ``name`` (y, dx, dW or db) with the reference within the rounding bound."""
    record = trial.main[0] if name == "y" else trial.main[1]
    failure = _call_failure(trial.cfg, trial.main[:1] if name == "y" else trial.main)
    if failure:
        return failure
    output = record.outputs.get(name)
    if output is None or output.value is None:
        return _unusable(trial.cfg, name, output)
    problem = compare(output.value, trial.expected[name], _eps(output))
    if problem is None:
        return Finding(trial.cfg, "pass")
    return Finding(trial.cfg, "fail", f"{name}: {problem}", tuple(_value_mistakes(trial, name, output)))


def _value_mistakes(trial: Trial, name: str, output) -> List[str]:
    cfg, inputs, eps = trial.cfg, trial.inputs, _eps(output)
    if cfg.kind == "conv":
        if name == "y":
            return dx_codes.conv_forward_mistakes(cfg, inputs.x, inputs.weight, inputs.bias, output.value, eps)
        grads = {n: trial.main[1].value(n) for n in ("dx", "dW", "db")}
        codes = dx_codes.conv_backward_mistakes(cfg, inputs.x, inputs.weight, inputs.upstream, grads, eps)
        forward = trial.main[0].outputs.get("y")
        if forward is not None and dx_codes.conv_forward_mistakes(cfg, inputs.x, inputs.weight, inputs.bias,
                                                                 forward.value, eps):
            # With a flipped forward, an unrotated kernel in dx is the consistent derivative, not a second bug.
            codes = [c for c in codes if c != "kernel_not_rotated_in_dx"]
        return [c for c in codes if _code_is_about(c, name)]
    if name == "y":
        return dx_codes.maxpool_forward_mistakes(cfg, inputs.x, output.value, eps)
    return dx_codes.maxpool_backward_mistakes(cfg, inputs.x, inputs.upstream, output.value, eps)


def _code_is_about(code: str, name: str) -> bool:
    return {"kernel_not_rotated_in_dx": "dx", "bias_gradient_not_summed_over_batch": "db",
            "weight_gradient_not_summed_over_batch": "dW"}.get(code) == name


def judge_directional(trial: Trial, name: str) -> Finding:
    """First-order directional derivative: sum(U * (f(p+hV) - f(p-hV))) / 2h against sum(G * V).

    ``f`` is the student's own forward, ``G`` the student's own gradient, ``U``
    a random upstream gradient. The tolerance is the rounding bound of both
    sides (see checks.expected), so a failure means the gradient is not the
    derivative of the forward — it cannot be rounding.
    """
    cfg, inputs = trial.cfg, trial.inputs
    failure = _call_failure(cfg, trial.main[1:])
    grad_output = trial.main[1].outputs.get(name) if not failure else None
    if failure:
        return failure
    if grad_output is None or grad_output.value is None:
        return _unusable(cfg, name, grad_output)
    step, points = _directional_points(cfg, inputs)
    records = dict(enumerate(trial.directional))  # fewer than the points if the request was cut short
    worst = None
    for k in range(len(inputs.directions)):
        plus_i = next(i for i, p in enumerate(points) if p[:3] == (name, k, +1))
        minus_i = plus_i + 1
        pair = [records.get(plus_i), records.get(minus_i)]
        if any(r is None for r in pair):
            return Finding(cfg, "error", "the directional forwards did not all run")
        failure = _call_failure(cfg, pair)
        if failure:
            return failure
        f_plus, f_minus = (r.outputs.get("y") for r in pair)
        if f_plus is None or f_minus is None or f_plus.value is None or f_minus.value is None:
            return Finding(cfg, "fail", "forward gave no usable output at a moved point")
        direction = inputs.directions[k][name[1:]]
        numeric = float(np.sum(inputs.upstream * (f_plus.value - f_minus.value)) / (2 * step))
        analytic = float(np.sum(grad_output.value * direction))
        eps = _eps(f_plus, f_minus, grad_output)
        _, _, _, x_p, w_p, b_p = points[plus_i]
        _, _, _, x_m, w_m, b_m = points[minus_i]
        terms = forward_terms(cfg)
        f_mag = (rounding_bound(Expected(f_plus.value, forward_magnitude(cfg, x_p, w_p, b_p), terms), eps)
                 + rounding_bound(Expected(f_minus.value, forward_magnitude(cfg, x_m, w_m, b_m), terms), eps))
        grad_expected = trial.expected[name]
        g_bound = rounding_bound(grad_expected, eps)
        # Rounding errors of different elements are independent, so they add in quadrature (each
        # element's bound already carries the safety factor): sqrt(N), not N, for N output elements.
        tolerance = (float(np.linalg.norm(np.abs(inputs.upstream) * f_mag)) / (2 * step)
                     + float(np.linalg.norm((np.abs(grad_expected.value) + g_bound) * direction)) * eps
                     + float(np.linalg.norm(g_bound * direction)))
        error = abs(numeric - analytic)
        relative = error / max(abs(numeric), abs(analytic), 1e-300)
        if not abs(numeric) > 2 * tolerance:
            # A forward that does not move along the direction (a constant or zero layer) makes any
            # gradient of zeros "consistent": that proves nothing, so it cannot pass. For a correct
            # layer the derivative along a random direction, weighted by a random upstream gradient,
            # is many times the rounding bound (1e8× in float64, >10× in float32 at the course size).
            detail = (f"direction {k + 1}: your forward does not change along the direction "
                      f"(derivative {numeric:.3g}, rounding bound {tolerance:.2g}), so your {name} cannot be checked")
            worst = worst or detail
        elif not (error <= tolerance):
            detail = (f"direction {k + 1}: derivative of your forward {numeric:.8g}, your {name} gives {analytic:.8g} "
                      f"(relative error {relative:.2%}, rounding allows {tolerance / max(abs(numeric), 1e-300):.1e})")
            if worst is None:
                worst = detail
    if worst:
        return Finding(cfg, "fail", worst)
    return Finding(cfg, "pass")


def judge_side_effects(trial: Trial) -> Finding:
    """Inputs left untouched by every call, and backward(x, dy) independent of the previous forward's input.

    Both are only meaningful for a layer that computes something: if no usable
    forward and gradients came back, or the forward ignores its input, the check
    fails rather than passing with nothing compared.
    """
    cfg = trial.cfg
    problems, codes = [], []
    for records in (trial.main, trial.stateful):
        for record in records:
            if record.status == "ok" and record.mutated:
                problems.append(f"{record.method} changed its argument {', '.join(record.mutated)} in place")
                codes.append("mutates_input")
    failure = _call_failure(cfg, trial.main + trial.stateful)
    if failure and not problems:
        return failure
    if not failure:
        y_first, y_other = trial.main[0].value("y"), trial.stateful[0].value("y")
        compared = 0
        for name in gradient_names(cfg):
            first, second = trial.main[1].outputs.get(name), trial.stateful[1].outputs.get(name)
            if first is None or second is None or first.value is None or second.value is None:
                continue
            compared += 1
            if np.array_equal(first.value, second.value, equal_nan=True):
                continue
            if compare(second.value, Expected(first.value, trial.expected[name].magnitude, trial.expected[name].terms),
                       _eps(first, second)) is not None:
                problems.append(f"backward(x, dy) gave a different {name} after forward was last called on another input")
                codes.append("stateful_backward")
                break
        if not problems:
            if y_first is None or y_other is None or compared == 0:
                problems.append("no usable forward output and gradients came back, so side effects could not be checked")
            elif y_first.shape == y_other.shape and np.array_equal(y_first, y_other, equal_nan=True):
                problems.append("forward gave the same output for two different inputs, so side effects could not be checked")
    if problems:
        return Finding(cfg, "fail", "; ".join(dict.fromkeys(problems)), tuple(dict.fromkeys(codes)))
    return Finding(cfg, "pass")
