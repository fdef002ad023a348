"""Rubrics are data: points and a scoring rule per check id.

Rules:
  ``fraction``  points × (configurations passed / configurations tried)
  ``all``       all the points if every configuration passes, else none
  ``bands``     points by the accuracy % of a course procedure, e.g. the hw4
                course's ">90% → 4, 50–90% → 2, below 50% → 1"
A check the rubric does not list is still run and reported, with 0 points.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple

RULES = ("fraction", "all", "bands")


@dataclass(frozen=True)
class Band:
    minimum: float  # accuracy % threshold
    strict: bool  # True: accuracy > minimum; False: accuracy >= minimum
    points: float


@dataclass(frozen=True)
class RubricItem:
    points: float
    rule: str = "fraction"
    bands: Tuple[Band, ...] = ()

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"unknown scoring rule {self.rule!r}; use one of {RULES}")


@dataclass(frozen=True)
class Rubric:
    name: str
    items: Mapping[str, RubricItem]
    description: str = ""

    def max_score(self, check_id: str) -> float:
        item = self.items.get(check_id)
        return float(item.points) if item else 0.0

    def score(self, check_id: str, status: str, fraction: float, accuracy: Optional[float] = None) -> float:
        item = self.items.get(check_id)
        if item is None or item.points == 0:
            return 0.0
        if item.rule == "bands":
            if accuracy is None or status in ("error", "timeout", "skipped"):
                return 0.0
            for band in item.bands:
                if accuracy > band.minimum or (not band.strict and accuracy >= band.minimum):
                    return float(band.points)
            return 0.0
        if item.rule == "all":
            return float(item.points) if status == "pass" else 0.0
        return float(item.points) * fraction


def course_bands(top: float, middle: float, bottom: float) -> Tuple[Band, ...]:
    """The hw4 course's bands: accuracy > 90% → top; 50–90% → middle; below 50% → bottom."""
    return (Band(90.0, True, top), Band(50.0, False, middle), Band(float("-inf"), False, bottom))


def rubric_from_file(path: Path, known_ids: Sequence[str], base: Rubric) -> Rubric:
    """A JSON rubric file: {"name": ..., "base": "default"|"none", "checks": {id: {"points", "rule", "bands"}}}."""
    try:
        data = json.loads(Path(path).read_text())
        checks = data.get("checks", {})
        if not isinstance(checks, dict):
            raise TypeError("'checks' must be an object mapping check ids to {points, rule}")
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"cannot read rubric file {path}: {exc}") from None
    items: Dict[str, RubricItem] = dict(base.items) if data.get("base", "default") == "default" else {}
    for check_id, spec in checks.items():
        if check_id not in known_ids:
            raise ValueError(f"rubric file {path} names unknown check {check_id!r}; known: {', '.join(known_ids)}")
        bands = tuple(Band(float(b["min"]), bool(b.get("strict", False)), float(b["points"])) for b in spec.get("bands", []))
        items[check_id] = RubricItem(float(spec["points"]), spec.get("rule", "fraction"), bands)
    return Rubric(str(data.get("name", Path(path).stem)), items, str(data.get("description", "")))
