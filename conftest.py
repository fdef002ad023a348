"""Students: check a submission before you upload it.

    pytest --submission hw4_nn.py [--profile hw4] [--grade-seed S] [--rubric default|course]

grades the file exactly as the instructor's batch run does (same sandbox, same
checks) and shows one test per check: a failing test's message says what was
wrong, on which configuration, expected vs got, and what to try. Without
``--submission`` this file does nothing and the project's own tests run.
"""
from __future__ import annotations

from pathlib import Path

import pytest

STUDENT_TESTS = Path(__file__).resolve().parent / "checks" / "test_submission.py"


def pytest_addoption(parser):
    group = parser.getgroup("cnn-grade", "grade a submission (students)")
    group.addoption("--submission", default=None, help="a submission (.py, folder, .zip, .ipynb) to grade")
    group.addoption("--profile", dest="grade_profile", default="hw4", help="assignment profile (default hw4)")
    group.addoption("--grade-seed", type=int, default=None, help="seed of the test configurations")
    group.addoption("--rubric", dest="grade_rubric", default="default", help="rubric: default or course")


def pytest_configure(config):
    if config.getoption("--submission"):
        submission = Path(config.getoption("--submission"))
        if not submission.exists():
            raise pytest.UsageError(f"--submission {submission}: no such file or folder")
        # Collect only the per-check tests, not the project's own suite (which needs torch).
        config.args[:] = [str(STUDENT_TESTS)]


def pytest_ignore_collect(collection_path, config):
    if config.getoption("--submission"):
        return Path(collection_path).resolve() != STUDENT_TESTS and Path(collection_path).is_file()
    return None
