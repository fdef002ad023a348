"""Grade one submission: declare the rubric, prepare, run the trials, judge, assemble the report.

The report is a plain dict in the ``report.json`` schema 1 of
shared/REPORT_CONTRACT.md (plus extra keys). Every ``max_score`` comes from the
rubric before any student code runs; a report is produced whatever the
submission does, including when the grader cannot read it at all.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from checks import diagnoses as vocabulary
from checks.layers import run_trial
from checks.model import CheckResult, Finding, worst_status
from checks.registry import GENERIC_CHECKS, CheckSpec
from checks.rubric import Rubric
from runner.driver import Driver
from runner.sandbox import ChildSession
from runner.source import SubmissionError, submission_name

SCHEMA = 1


def declared_checks(profile) -> List[Tuple[str, str, str, str, str]]:
    """(id, layer, quantity, method, title) of every check this profile runs, in report order."""
    declared = []
    for layer in profile.layers:
        for spec in GENERIC_CHECKS[layer.kind]:
            declared.append((spec.check_id(layer.name), layer.name, spec.quantity, spec.method, spec.title))
        for course in profile.course_checks:
            if course.layer == layer.name:
                declared.append((course.id, course.layer, course.quantity, "course", course.title))
    return declared


FINGERPRINT_FULL_BYTES = 64 * 1024 * 1024


def fingerprint(path: Path) -> str:
    """Content hash of a submission (a folder's layout included), read in chunks.

    A file larger than any submission could legitimately be is hashed by its size
    alone: it is refused unread anyway, and reading gigabytes just to hash them
    would let one upload stall the batch.
    """
    digest = hashlib.sha256()
    paths = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()) if path.is_dir() else [path]
    for item in paths:
        if path.is_dir():  # a folder's layout is part of its content; a single file's name is not
            digest.update(str(item.relative_to(path)).encode("utf-8", "surrogateescape"))
        try:
            size = item.stat().st_size
            if size > FINGERPRINT_FULL_BYTES:
                digest.update(f"<{size} bytes>".encode())
                continue
            with item.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError:
            digest.update(b"<unreadable>")
    return digest.hexdigest()


def _summarise(findings: List[Finding]) -> Tuple[str, float, str]:
    status = worst_status(f.status for f in findings)
    passed = sum(f.status == "pass" for f in findings)
    fraction = passed / len(findings) if findings else 0.0
    if status == "pass":
        return status, fraction, f"passed on all {len(findings)} configurations"
    bad = [f for f in findings if f.status != "pass"]
    first = bad[0]
    others = ", ".join(f.config.label for f in bad[1:4]) + (" …" if len(bad) > 4 else "")
    message = (f"{status} on {len(bad)} of {len(findings)} configurations. "
               f"{first.config.describe()}: {first.detail}")
    if others:
        message += f" (also: {others})"
    return status, fraction, message


def _diagnoses(findings: List[Finding]) -> Tuple[str, ...]:
    codes = [code for f in findings for code in f.diagnoses]
    course = [f for f in findings if f.config.course]
    others = [f for f in findings if not f.config.course]
    if course and all(f.status == "pass" for f in course) and any(f.status in ("fail", "error") for f in others):
        codes.append("hardcoded_course_sizes")
    return tuple(vocabulary.known(c) for c in dict.fromkeys(codes))


def grade_submission(path: Path, profile, rubric: Rubric, seed: int, slot: int = 0) -> Tuple[Dict, Dict]:
    """Returns ``(report, run_info)``: the deterministic report.json content and non-deterministic run facts."""
    started = time.monotonic()
    declared = declared_checks(profile)
    name = submission_name(path)
    report: Dict = {
        "schema": SCHEMA,
        "submission": name,
        "profile": profile.name,
        "seed": seed,
        "rubric": rubric.name,
        "fingerprint": fingerprint(path),
        "score": 0.0,
        "max_score": round(sum(rubric.max_score(d[0]) for d in declared), 6),
        "checks": [],
        "diagnoses": [],
        "notes": [],
        "isolation": None,
        "load": None,
    }
    run_info: Dict = {"submission": name}
    results: Dict[str, CheckResult] = {}
    try:
        prepared = profile.prepare(path)
    except SubmissionError as exc:
        report["notes"].append(str(exc))
        _fill_missing(results, declared, rubric, "error", f"not graded: {exc}")
        return _finish(report, results, declared, [], started, run_info)
    except OSError as exc:
        report["notes"].append(f"could not read the submission: {exc}")
        _fill_missing(results, declared, rubric, "error", f"not graded: could not read the submission ({exc})")
        return _finish(report, results, declared, [], started, run_info)

    static_codes = list(prepared.findings)
    report["notes"].extend(prepared.notes)
    try:
        with ChildSession({str(prepared.folder): "/submission"}, profile.adapter, profile.limits, slot) as session:
            report["isolation"] = session.mode
            if session.mode != "bwrap":
                report["notes"].append("NOT ISOLATED: bubblewrap is unavailable here, so student code ran as a plain "
                                       "child process under resource limits only (see SECURITY.md)")
            driver = Driver(session, profile, prepared, profile.request_timeout, profile.budget_seconds)
            load = driver.load()
            report["load"] = {"ok": load.ok, "error": load.error}
            if load.compat_applied:
                report["notes"].append("compatibility help applied: " + ", ".join(load.compat_applied)
                                       + " (aliases removed from modern NumPy / Python 2 names)")
            if not load.ok:
                static_codes += vocabulary.error_mistakes(load.error)
                run_info["load_traceback"] = load.traceback
            # Student arrays may hold NaN/inf: arithmetic on them is judged, not warned about.
            with np.errstate(all="ignore"):
                for layer in profile.layers:
                    trials = [run_trial(driver, cfg, seed) for cfg in profile.configs(layer, seed)]
                    for spec in GENERIC_CHECKS[layer.kind]:
                        results[spec.check_id(layer.name)] = _judge(spec, layer.name, trials, profile, rubric)
                course = profile.run_course_checks(driver, seed) if load.ok else []
            if load.ok:
                for check, status, accuracy, message in course:
                    score = rubric.score(check.id, status, 1.0 if status == "pass" else 0.0, accuracy)
                    results[check.id] = CheckResult(check.id, check.layer, check.quantity, "course", status, score,
                                                    rubric.max_score(check.id), message, accuracy=accuracy)
            run_info["output_bytes"] = session.output_bytes
            run_info["output_head"] = session.output_head[:4000]
            run_info["restarts"] = driver.restarts
            if session.output_bytes > session.limits.output_capture_bytes:
                report["notes"].append(f"the submission printed {session.output_bytes} bytes; only the first "
                                       f"{session.limits.output_capture_bytes} were kept")
    finally:
        prepared.cleanup()
    why = report["load"]["error"] if report["load"] and report["load"]["error"] else "the grader stopped early"
    _fill_missing(results, declared, rubric, "error", f"not run: the submission could not be imported ({why})")
    return _finish(report, results, declared, static_codes, started, run_info)


def _judge(spec: CheckSpec, layer: str, trials, profile, rubric: Rubric) -> CheckResult:
    check_id = spec.check_id(layer)
    findings = [spec.judge(trial, profile) for trial in trials]
    status, fraction, message = _summarise(findings)
    return CheckResult(check_id, layer, spec.quantity, spec.method, status,
                       rubric.score(check_id, status, fraction), rubric.max_score(check_id), message,
                       _diagnoses(findings), tuple(findings), visibility=spec.visibility)


def _fill_missing(results, declared, rubric, status, message):
    for check_id, layer, quantity, method, _ in declared:
        if check_id in results:
            continue
        results[check_id] = CheckResult(check_id, layer, quantity, method, status, 0.0, rubric.max_score(check_id), message)


def _finish(report, results, declared, static_codes, started, run_info):
    ordered = [results[d[0]] for d in declared]
    report["checks"] = [r.to_json() for r in ordered]
    report["score"] = round(sum(r.score for r in ordered), 6)
    codes = [vocabulary.known(c) for c in static_codes] + [c for r in ordered for c in r.diagnoses]
    report["diagnoses"] = list(dict.fromkeys(codes))
    run_info["seconds"] = round(time.monotonic() - started, 3)
    return report, run_info
