"""Shared helpers for the end-to-end tests: run grade.py as a user would."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "submissions"


def run_grader(args: List[str], timeout: float = 1200) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "grade.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def load_report(out: Path, name: str) -> Dict:
    return json.loads((out / name / "report.json").read_text())


def expectations(profile: str) -> Dict[str, Dict]:
    return json.loads((SAMPLES / profile / "expected.json").read_text())


def failing_checks(report: Dict, include_course: bool = False) -> set:
    return {c["id"] for c in report["checks"] if c["status"] != "pass" and (include_course or c["method"] != "course")}
