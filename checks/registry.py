"""The generic checks, declared with their default points next to what they judge.

A profile's rubric may re-weigh any of them (or add its own course checks);
the rubric, and so every ``max_score``, is fixed before any student code runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List

from checks import layers
from checks.model import Finding


@dataclass(frozen=True)
class CheckSpec:
    quantity: str
    method: str
    title: str
    points: float  # default weight; a profile's rubric overrides it
    judge: Callable[..., Finding]
    visibility: str = "visible"

    def check_id(self, layer: str) -> str:
        return f"{layer}.{self.quantity}.{self.method}"


def _reference(name):
    return lambda trial, profile: layers.judge_reference(trial, name)


def _directional(name):
    return lambda trial, profile: layers.judge_directional(trial, name)


def _head(api: float, shape: float, forward: float) -> List[CheckSpec]:
    return [
        CheckSpec("api", "property", "class found, constructible, methods run", api, lambda t, p: layers.judge_api(t)),
        CheckSpec("shape", "property", "results have the right shapes and dtypes, finite", shape, layers.judge_shape),
        CheckSpec("forward", "reference", "forward equals the reference", forward, _reference("y")),
    ]


def _side_effects(points: float) -> CheckSpec:
    return CheckSpec("side_effects", "property", "inputs left untouched; backward uses its own x", points,
                     lambda t, p: layers.judge_side_effects(t))


# Default points: conv 64 + max pool 36 = 100 for a two-layer assignment.
GENERIC_CHECKS: Dict[str, List[CheckSpec]] = {
    "conv": _head(4, 4, 14) + [
        CheckSpec("dx", "directional", "dL/dx is the derivative of your forward", 7, _directional("dx")),
        CheckSpec("dx", "reference", "dL/dx equals the reference", 7, _reference("dx")),
        CheckSpec("dW", "directional", "dL/dW is the derivative of your forward", 7, _directional("dW")),
        CheckSpec("dW", "reference", "dL/dW equals the reference", 7, _reference("dW")),
        CheckSpec("db", "directional", "dL/db is the derivative of your forward", 3, _directional("db")),
        CheckSpec("db", "reference", "dL/db equals the reference", 3, _reference("db")),
        _side_effects(8),
    ],
    "maxpool": _head(3, 3, 10) + [
        CheckSpec("dx", "directional", "dL/dx is the derivative of your forward", 7, _directional("dx")),
        CheckSpec("dx", "reference", "dL/dx equals the reference", 7, _reference("dx")),
        _side_effects(6),
    ],
}
