"""The outer contract of grade.py: usage errors, bad input, rubric files, output files."""
from __future__ import annotations

import json
import shutil

from tests.helpers import SAMPLES, load_report, run_grader

ONE = str(SAMPLES / "hw4" / "correct_einsum.py")


def test_unknown_profile_is_a_usage_error(tmp_path):
    done = run_grader([ONE, "--profile", "nope", "--out", str(tmp_path)])
    assert done.returncode == 2
    assert "unknown profile 'nope'" in done.stderr and "hw4" in done.stderr


def test_missing_submission_is_a_usage_error(tmp_path):
    done = run_grader([str(tmp_path / "ghost.py"), "--profile", "hw4", "--out", str(tmp_path / "out")])
    assert done.returncode == 2 and "no such submission" in done.stderr


def test_two_submissions_with_one_name_is_a_usage_error(tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(ONE, batch / "alice.py")
    (batch / "alice").mkdir()
    shutil.copy(ONE, batch / "alice" / "hw4_nn.py")
    done = run_grader([str(batch), "--profile", "hw4", "--out", str(tmp_path / "out")])
    assert done.returncode == 2 and "alice" in done.stderr


def test_bad_rubric_file_says_what_is_wrong(tmp_path):
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps({"checks": {"conv.nonsense.property": {"points": 3}}}))
    done = run_grader([ONE, "--profile", "hw4", "--out", str(tmp_path / "out"), "--rubric", str(rubric)])
    assert done.returncode == 2 and "unknown check 'conv.nonsense.property'" in done.stderr


def test_rubric_file_reweighs_checks(tmp_path):
    rubric = tmp_path / "heavy-course.json"
    rubric.write_text(json.dumps({"name": "heavy", "base": "default",
                                  "checks": {"conv.dx.course": {"points": 10, "rule": "all"}}}))
    done = run_grader([ONE, "--profile", "hw4", "--out", str(tmp_path / "out"), "--rubric", str(rubric)])
    assert done.returncode == 0, done.stderr
    report = load_report(tmp_path / "out", "correct_einsum")
    assert report["rubric"] == "heavy" and report["max_score"] == 110 and report["score"] == 110


def test_unreadable_submission_gets_a_report_and_exit_0(tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "binary.py").write_bytes(b"\x7fELF\x00\x01\x02")
    (batch / "broken.ipynb").write_text("{not json")
    shutil.copy(ONE, batch / "fine.py")
    out = tmp_path / "out"
    done = run_grader([str(batch), "--profile", "hw4", "--out", str(out)])
    assert done.returncode == 0, done.stderr
    binary = load_report(out, "binary")
    assert binary["score"] == 0 and binary["max_score"] == 100
    assert "binary file" in binary["notes"][0] and "submit the .py text file" in binary["notes"][0]
    assert "not a valid Jupyter notebook" in load_report(out, "broken")["notes"][0]
    assert load_report(out, "fine")["score"] == 100


def test_folder_and_zip_and_notebook_submissions(tmp_path):
    source = (SAMPLES / "hw4" / "correct_einsum.py").read_text()
    folder = tmp_path / "batch" / "bob"
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "hw4_nn.py").write_text("import helpers  # a helper module of the student's own\n" + source)
    (folder / "code" / "helpers.py").write_text("SCALE = 1\n")
    (folder / "notes.txt").write_text("hi")
    import zipfile

    with zipfile.ZipFile(tmp_path / "batch" / "carol.zip", "w") as archive:
        archive.writestr("carol/hw4_nn.py", source)
    notebook = {"cells": [{"cell_type": "code", "source": ["%matplotlib inline\n"]},
                          {"cell_type": "code", "source": source.splitlines(keepends=True)}], "nbformat": 4}
    (tmp_path / "batch" / "dave.ipynb").write_text(json.dumps(notebook))
    out = tmp_path / "out"
    done = run_grader([str(tmp_path / "batch"), "--profile", "hw4", "--out", str(out)])
    assert done.returncode == 0, done.stderr
    for name in ("bob", "carol", "dave"):
        assert load_report(out, name)["score"] == 100, load_report(out, name)["checks"][0]["message"]
    assert any("code/hw4_nn.py" in note for note in load_report(out, "bob")["notes"])
    assert any("helpers.py" in note for note in load_report(out, "bob")["notes"])


def test_without_bubblewrap_grading_still_works_and_says_not_isolated(tmp_path):
    import os
    import subprocess
    import sys

    from tests.helpers import ROOT

    env = dict(os.environ, CNN_GRADE_ISOLATION="plain")  # what a laptop without bubblewrap gets
    done = subprocess.run([sys.executable, str(ROOT / "grade.py"), ONE, str(SAMPLES / "hw4" / "bug_stateful_cache.py"),
                           "--profile", "hw4", "--out", str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    report = load_report(tmp_path, "correct_einsum")
    assert report["isolation"] == "plain" and report["score"] == 100
    assert any(note.startswith("NOT ISOLATED") for note in report["notes"])
    assert "stateful_backward" in load_report(tmp_path, "bug_stateful_cache")["diagnoses"]
