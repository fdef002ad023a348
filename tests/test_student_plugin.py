"""`pytest --submission FILE`: what a student runs before uploading."""
from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT, SAMPLES


def run_student_pytest(submission: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "--submission", submission, "-q", "-p", "no:cacheprovider"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_correct_submission_passes_every_check():
    done = run_student_pytest(str(SAMPLES / "hw4" / "correct_einsum.py"))
    assert done.returncode == 0, done.stdout[-3000:]
    assert "21 passed" in done.stdout  # 20 checks + the summary


def test_buggy_submission_fails_the_named_checks_with_advice():
    done = run_student_pytest(str(SAMPLES / "hw4" / "bug_kernel_not_rotated.py"))
    assert done.returncode == 1
    assert "test_check[conv.dx.reference]" in done.stdout
    assert "test_check[conv.dx.directional]" in done.stdout
    assert "test_check[conv.forward.reference]" not in done.stdout.split("short test summary")[1]
    assert "kernel_not_rotated_in_dx" in done.stdout and "Try:" in done.stdout


def test_missing_submission_is_a_usage_error():
    done = run_student_pytest("no/such/file.py")
    assert done.returncode == 4  # pytest's usage-error status
    assert "no such file" in done.stderr + done.stdout
