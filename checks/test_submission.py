"""One pytest test per check of a submission; collected only under ``pytest --submission FILE``."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from checks.diagnoses import VOCABULARY  # noqa: E402
from checks.suite import grade_submission  # noqa: E402
from grade import project_defaults  # noqa: E402
from profiles import load_profile  # noqa: E402

_CACHE = {}


def _graded(config):
    key = "report"
    if key not in _CACHE:
        profile = load_profile(config.getoption("grade_profile"))
        rubric = profile.rubrics()[config.getoption("grade_rubric")]
        seed = config.getoption("--grade-seed")
        if seed is None:
            seed = int(project_defaults().get("seed", 0))
        _CACHE[key] = grade_submission(Path(config.getoption("--submission")), profile, rubric, seed)
    return _CACHE[key]


def pytest_generate_tests(metafunc):
    if "check" in metafunc.fixturenames:
        if not metafunc.config.getoption("--submission"):
            metafunc.parametrize("check", [], ids=[])
            return
        report, _ = _graded(metafunc.config)
        metafunc.parametrize("check", report["checks"], ids=[c["id"] for c in report["checks"]])


def test_check(check):
    if check["status"] == "pass":
        return
    lines = [f"{check['id']}: {check['status'].upper()} ({check['score']:g} / {check['max_score']:g} points)",
             check["message"]]
    for config in check.get("configs", []):
        if config["status"] != "pass":
            lines.append(f"  - {config['description']}: {config['detail']}")
    for code in check.get("diagnoses", []):
        meaning, advice = VOCABULARY[code]
        lines.append(f"  diagnosis {code}: {meaning} Try: {advice}")
    pytest.fail("\n".join(lines), pytrace=False)


def test_summary(request):
    if not request.config.getoption("--submission"):
        pytest.skip("no --submission given")
    report, _ = _graded(request.config)
    print(f"\n{report['submission']}: {report['score']:g} / {report['max_score']:g} ({report['profile']}, seed {report['seed']})")
    for note in report["notes"]:
        print(f"note: {note}")
