"""The bundled hw4 samples, graded through grade.py exactly as an instructor would.

Each sample's expected verdict is data (submissions/hw4/expected.json): a
correct one gets full marks; a buggy one loses points in exactly the checks
that name its bug, with the named diagnosis.
"""
from __future__ import annotations

import csv

import pytest

from tests.helpers import SAMPLES, expectations, failing_checks, load_report, run_grader

EXPECTED = expectations("hw4")
SAMPLE_FILES = sorted(p.stem for p in (SAMPLES / "hw4").glob("*.py"))


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("hw4-out")
    done = run_grader([str(SAMPLES / "hw4"), "--profile", "hw4", "--out", str(out), "--jobs", "2"])
    return out, done


def test_every_sample_has_an_expectation():
    assert SAMPLE_FILES == sorted(EXPECTED), "submissions/hw4/*.py and expected.json must list the same samples"
    assert sum(e["verdict"] == "correct" for e in EXPECTED.values()) >= 4
    assert sum(e["verdict"] == "buggy" for e in EXPECTED.values()) >= 12


def test_whole_batch_finishes_with_a_report_each(graded):
    out, done = graded
    assert done.returncode == 0, done.stderr
    for name in SAMPLE_FILES:
        assert (out / name / "report.json").is_file()
        assert (out / name / "report.md").is_file()
    with (out / "gradebook.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["name"] for r in rows) == SAMPLE_FILES
    assert (out / "summary.md").read_text().count("|") > 10
    assert done.stdout.count("] ") >= len(SAMPLE_FILES)  # one progress line per submission


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sample_verdict(graded, name):
    out, _ = graded
    expected = EXPECTED[name]
    report = load_report(out, name)
    assert report["schema"] == 1 and report["profile"] == "hw4" and report["submission"] == name
    got = failing_checks(report)
    if expected["verdict"] == "correct":
        assert got == set(), f"a correct sample lost points: {[c['message'] for c in report['checks'] if c['id'] in got]}"
        assert report["score"] == report["max_score"] == 100
    else:
        assert report["score"] < report["max_score"]
        assert got == set(expected["expected_failing_checks"]), {c["id"]: c["message"] for c in report["checks"] if c["id"] in got}
        for check in report["checks"]:
            if check["id"] not in got and check["method"] != "course":
                assert check["score"] == check["max_score"], f"{check['id']} passed but lost points"
    for code in expected["expected_diagnoses"]:
        assert code in report["diagnoses"], f"{name}: expected diagnosis {code}, got {report['diagnoses']}"
    notes = " ".join(report["notes"])
    for fragment in expected["expected_notes"]:
        assert fragment in notes


def test_max_scores_are_fixed_before_student_code_runs(graded):
    out, _ = graded
    reference = {c["id"]: c["max_score"] for c in load_report(out, "correct_loops")["checks"]}
    for name in SAMPLE_FILES:
        assert {c["id"]: c["max_score"] for c in load_report(out, name)["checks"]} == reference


def test_a_hang_costs_only_the_hanging_method(graded):
    out, _ = graded
    report = load_report(out, "bug_hang_pool")
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["pool.api.property"]["status"] == "timeout"
    assert by_id["pool.forward.reference"]["status"] == "pass"  # forward results streamed before backprop hung
    assert all(c["status"] == "pass" for c in report["checks"] if c["layer"] == "conv" and c["method"] != "course")


def test_report_md_explains_a_failure_to_a_student(graded):
    out, _ = graded
    text = (out / "bug_kernel_not_rotated" / "report.md").read_text()
    assert "conv.dx.reference" in text and "FAIL" in text
    assert "worst at" in text and "got" in text and "expected" in text  # expected vs got at the worst element
    assert "kernel_not_rotated_in_dx" in text and "Try:" in text  # what to try
    assert "3×3 filter" in text  # on which configuration


def test_course_rubric_reproduces_the_course_points(tmp_path):
    """--rubric course gives the course's 16 points, including the course's blind spot."""
    names = ["correct_einsum", "bug_kernel_not_rotated", "bug_pool_argmax_transposed"]
    done = run_grader([*(str(SAMPLES / "hw4" / f"{n}.py") for n in names), "--profile", "hw4", "--out", str(tmp_path),
                       "--rubric", "course"])
    assert done.returncode == 0, done.stderr
    scores = {n: load_report(tmp_path, n) for n in names}
    assert scores["correct_einsum"]["score"] == scores["correct_einsum"]["max_score"] == 16
    rotated = {c["id"]: c for c in scores["bug_kernel_not_rotated"]["checks"]}
    assert rotated["conv.dx.course"]["accuracy_percent"] < 90
    assert scores["bug_kernel_not_rotated"]["score"] < 16
    # The course's arange pool test cannot see a transposed argmax: full course points, yet our default rubric fails it.
    assert scores["bug_pool_argmax_transposed"]["score"] == 16
