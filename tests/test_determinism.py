"""Grades are a function of (submission, profile, rubric, seed) alone."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.helpers import SAMPLES, failing_checks, load_report, run_grader

FAST = ["correct_einsum", "bug_kernel_not_rotated", "bug_pool_argmax_transposed", "bug_stateful_cache"]


def _copies(tmp_path, name: str, count: int):
    folder = tmp_path / "copies"
    folder.mkdir()
    for index in range(count):
        shutil.copy(SAMPLES / "hw4" / f"{name}.py", folder / f"run{index:02d}.py")
    return folder


def _without_name(report: dict) -> str:
    """The report with the copy's own name (which appears in notes) replaced by a placeholder."""
    return json.dumps(report, sort_keys=True).replace(report["submission"], "<name>")


@pytest.mark.slow
def test_twenty_reruns_give_identical_reports(tmp_path):
    folder = _copies(tmp_path, "bug_kernel_not_rotated", 20)
    out = tmp_path / "out"
    done = run_grader([str(folder), "--profile", "hw4", "--out", str(out), "--jobs", "2"])
    assert done.returncode == 0, done.stderr
    reports = {_without_name(load_report(out, f"run{i:02d}")) for i in range(20)}
    assert len(reports) == 1


@pytest.mark.slow
def test_jobs_1_and_jobs_2_write_byte_identical_reports(tmp_path):
    files = [str(SAMPLES / "hw4" / f"{name}.py") for name in FAST]
    for jobs in ("1", "2"):
        done = run_grader([*files, "--profile", "hw4", "--out", str(tmp_path / jobs), "--jobs", jobs])
        assert done.returncode == 0, done.stderr
    for name in FAST:
        assert (tmp_path / "1" / name / "report.json").read_bytes() == (tmp_path / "2" / name / "report.json").read_bytes()
    assert (tmp_path / "1" / "gradebook.csv").read_bytes() == (tmp_path / "2" / "gradebook.csv").read_bytes()


@pytest.mark.slow
def test_another_seed_changes_configurations_not_verdicts(tmp_path):
    files = [str(SAMPLES / "hw4" / f"{name}.py") for name in FAST]
    for seed in ("1", "2"):
        done = run_grader([*files, "--profile", "hw4", "--out", str(tmp_path / seed), "--seed", seed])
        assert done.returncode == 0, done.stderr
    for name in FAST:
        first, second = load_report(tmp_path / "1", name), load_report(tmp_path / "2", name)
        assert failing_checks(first) == failing_checks(second)
        assert first["diagnoses"] == second["diagnoses"]
        configs = lambda r: [c["description"] for c in r["checks"][0]["configs"]]  # noqa: E731
        assert configs(first) != configs(second)  # the random configurations did change
