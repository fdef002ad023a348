"""SIGKILL the grader mid-batch: the rerun completes, nothing finished is lost, redone or corrupt."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from tests.helpers import ROOT, SAMPLES, run_grader

BATCH = ["correct_einsum", "correct_loops", "bug_kernel_not_rotated", "bug_db_shape", "bug_stateful_cache",
         "bug_pool_repeat2"]


def _processes_mentioning(marker: str) -> list:
    """PIDs whose command line mentions ``marker`` (the grader's private temp folder for this test)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1.0, 3.5, 7.0])
def test_sigkill_then_rerun(tmp_path, kill_after):
    batch = tmp_path / "batch"
    batch.mkdir()
    for name in BATCH:
        shutil.copy(SAMPLES / "hw4" / f"{name}.py", batch / f"{name}.py")
    out = tmp_path / "out"
    # The grader's private folders (bound into each sandbox) go under a folder of this test's own,
    # so its sandboxes can be told apart from any other grading on the machine.
    private = tempfile.mkdtemp(prefix="cnn-grade-sigkill-")
    os.chmod(private, 0o755)
    env = dict(os.environ, TMPDIR=private)
    args = [sys.executable, str(ROOT / "grade.py"), str(batch), "--profile", "hw4", "--out", str(out), "--jobs", "2"]
    grader = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(kill_after)
    grader.send_signal(signal.SIGKILL)
    grader.wait()

    finished_before = {}
    for name in BATCH:
        report = out / name / "report.json"
        if report.exists():
            json.loads(report.read_text())  # a report that exists is complete (atomic rename)
            finished_before[name] = report.stat().st_mtime_ns
    time.sleep(1.0)
    assert _processes_mentioning(private) == [], "a sandboxed child outlived the killed grader"
    shutil.rmtree(private, ignore_errors=True)

    done = run_grader([str(batch), "--profile", "hw4", "--out", str(out), "--jobs", "2"])
    assert done.returncode == 0, done.stderr
    for name in BATCH:
        report = json.loads((out / name / "report.json").read_text())
        assert report["submission"] == name
        if name in finished_before:  # not regraded: the finished report was kept as it was
            assert (out / name / "report.json").stat().st_mtime_ns == finished_before[name]
    assert done.stdout.count("(already graded)") == len(finished_before)
    with (out / "gradebook.csv").open() as handle:
        names = [row["name"] for row in csv.DictReader(handle)]
    assert sorted(names) == sorted(BATCH)  # every submission once, none twice
    assert not list(out.glob("**/.*.tmp")), "a temporary file was left in --out"
