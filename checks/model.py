"""Records that cross from the runner to the checks, and the results checks return.

Checks are pure functions: they take frozen records of what the student's code
returned (already converted to the reference's NCHW layout by the profile) and
return frozen :class:`CheckResult` objects. Nothing here talks to a child.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

STATUSES = ("pass", "fail", "error", "timeout", "skipped")
# Output name → the role that says how a profile converts it (and which shape it has).
OUTPUT_ROLES = {"y": "y", "dx": "x", "dW": "W", "db": "b"}
# When one check covers several configurations, the worst status names the check.
STATUS_SEVERITY = {"pass": 0, "skipped": 1, "fail": 2, "error": 3, "timeout": 4}


@dataclass(frozen=True)
class LayerConfig:
    """One legal configuration of one layer, in reference terms (NCHW)."""

    layer: str  # the profile's layer name: "conv", "pool", ...
    kind: str  # what the reference computes: "conv", "maxpool", "avgpool", "flatten"
    label: str  # "course", "batch_1", "random_3", ...
    batch: int
    in_channels: int
    out_channels: int
    in_hw: Tuple[int, int]
    kernel: Tuple[int, int] = (1, 1)
    stride: Tuple[int, int] = (1, 1)
    padding: Tuple[int, int] = (0, 0)
    ctor_args: Tuple = ()
    course: bool = False  # the course's own published configuration

    def describe(self) -> str:
        h, w = self.in_hw
        parts = [f"batch {self.batch}"]
        if self.kind == "conv":
            parts.append(f"{self.in_channels}→{self.out_channels} channels")
        else:
            parts.append(f"{self.in_channels} channels")
        parts.append(f"{h}×{w} input")
        if self.kind != "flatten":
            parts.append(f"{self.kernel[0]}×{self.kernel[1]} {'filter' if self.kind == 'conv' else 'window'}")
            parts.append(f"stride {self.stride[0] if self.stride[0] == self.stride[1] else self.stride}")
            if self.padding != (0, 0):
                parts.append(f"padding {self.padding}")
        return f"{self.label} ({', '.join(parts)})"


@dataclass(frozen=True)
class Output:
    """One array the student returned: its raw shape/dtype and, if usable, its NCHW float64 value."""

    raw_shape: Tuple[int, ...]
    raw_dtype: str
    value: Optional[np.ndarray]
    problem: Optional[str] = None  # why ``value`` is None or unusable (wrong shape, NaN, ...)


@dataclass(frozen=True)
class CallRecord:
    """What one call into student code did (after the fact, in the parent)."""

    method: str
    status: str  # "ok", "error", "timeout", "crash", "not_run"
    outputs: Mapping[str, Output] = field(default_factory=dict)
    mutated: Tuple[str, ...] = ()  # argument names the call changed in place
    error: Optional[str] = None  # "TypeError: ..." or how the child died
    traceback: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def value(self, name: str) -> Optional[np.ndarray]:
        out = self.outputs.get(name)
        return None if out is None else out.value


@dataclass(frozen=True)
class Finding:
    """One configuration's verdict inside a check."""

    config: LayerConfig
    status: str  # "pass", "fail", "error", "timeout", "skipped"
    detail: str = ""
    diagnoses: Tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    id: str
    layer: str
    quantity: str
    method: str
    status: str
    score: float
    max_score: float
    message: str
    diagnoses: Tuple[str, ...] = ()
    findings: Tuple[Finding, ...] = ()
    accuracy: Optional[float] = None  # the course method's accuracy %, where one applies
    visibility: str = "visible"

    def to_json(self) -> Dict:
        payload = {
            "id": self.id,
            "layer": self.layer,
            "quantity": self.quantity,
            "method": self.method,
            "status": self.status,
            "score": round(self.score, 6),
            "max_score": round(self.max_score, 6),
            "message": self.message,
            "diagnoses": list(self.diagnoses),
            "configs": [
                {"config": f.config.label, "description": f.config.describe(), "status": f.status, "detail": f.detail}
                for f in self.findings
            ],
        }
        if self.accuracy is not None:
            payload["accuracy_percent"] = round(self.accuracy, 6)
        return payload


def worst_status(statuses) -> str:
    statuses = list(statuses)
    if not statuses:
        return "skipped"
    return max(statuses, key=lambda s: STATUS_SEVERITY[s])
