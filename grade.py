#!/usr/bin/env python3
"""cnn-grade: grade from-scratch NumPy conv / max-pool / flatten layers.

    python grade.py SUBMISSION... --profile PROFILE --out OUTDIR [--jobs N] [--seed S]

Exit status: 0 when every submission got a report (whatever the scores);
2 for a usage error; 1 only when the grader itself failed.
"""
from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from checks.rubric import Rubric, rubric_from_file  # noqa: E402
from checks.suite import declared_checks, fingerprint, grade_submission  # noqa: E402
from profiles import load_profile  # noqa: E402
from reports import write_class_files, write_submission_files  # noqa: E402
from runner.sandbox import reap_orphans  # noqa: E402
from runner.source import SUBMISSION_SUFFIXES, submission_name  # noqa: E402

EXIT_OK, EXIT_GRADER_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class Settings:
    """One frozen configuration, built from pyproject's [tool.cnn-grade] then the command line."""

    submissions: Tuple[Path, ...]
    profile: object
    rubric: Rubric
    out: Path
    jobs: int
    seed: int
    force: bool
    mode: Optional[str]  # "batch", "single" or None (the profile decides)
    quiet: bool


class UsageError(Exception):
    pass


def project_defaults() -> Dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return {}
    pyproject = HERE / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    return tomllib.loads(pyproject.read_text()).get("tool", {}).get("cnn-grade", {})


def parse_args(argv: List[str]) -> Settings:
    defaults = project_defaults()
    parser = argparse.ArgumentParser(prog="grade.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="+", type=Path, help="a .py, folder, .zip or .ipynb; a folder of them is a batch")
    parser.add_argument("--profile", required=True, help="hw4, … or a path to a profile .py")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument("--jobs", type=int, default=int(defaults.get("jobs", 2)), help="submissions graded at once")
    parser.add_argument("--seed", type=int, default=int(defaults.get("seed", 0)), help="seed of the test configurations and data")
    parser.add_argument("--rubric", default="default", help="a rubric of the profile (default, course) or a rubric .json")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--batch", dest="mode", action="store_const", const="batch", help="treat each folder as a batch")
    mode.add_argument("--single", dest="mode", action="store_const", const="single", help="treat each folder as one submission")
    parser.add_argument("--force", action="store_true", help="regrade submissions that already have a report in --out")
    parser.add_argument("--timeout", type=float, default=None, help="seconds allowed per request to student code")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    try:
        profile = load_profile(args.profile)
    except (ValueError, OSError, SyntaxError) as exc:
        raise UsageError(str(exc)) from None
    if args.timeout is not None:
        if args.timeout <= 0:
            raise UsageError("--timeout must be positive")
        profile.request_timeout = args.timeout
    rubrics = profile.rubrics()
    if args.rubric in rubrics:
        rubric = rubrics[args.rubric]
    elif Path(args.rubric).is_file():
        try:
            rubric = rubric_from_file(Path(args.rubric), [d[0] for d in declared_checks(profile)], rubrics["default"])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    else:
        raise UsageError(f"unknown rubric {args.rubric!r}: use one of {', '.join(rubrics)} or a rubric .json file")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    missing = [str(p) for p in args.submissions if not p.exists()]
    if missing:
        raise UsageError(f"no such submission: {', '.join(missing)}")
    return Settings(tuple(args.submissions), profile, rubric, args.out, args.jobs, args.seed, args.force, args.mode, args.quiet)


def expand(settings: Settings) -> List[Path]:
    """The individual submissions: a folder is a batch unless the profile (or --single) says it is one submission."""
    found: List[Path] = []
    for path in settings.submissions:
        is_batch = path.is_dir() and (settings.mode == "batch" or
                                      (settings.mode is None and not settings.profile.is_single_submission(path)))
        if not is_batch:
            found.append(path)
            continue
        for entry in sorted(path.iterdir()):
            if entry.name.startswith((".", "_")):
                continue
            if entry.is_dir() or entry.suffix.lower() in SUBMISSION_SUFFIXES:
                found.append(entry)
    names: Dict[str, Path] = {}
    for path in found:
        name = submission_name(path)
        if name in names:
            raise UsageError(f"two submissions would share the report folder {name!r}: {names[name]} and {path}; rename one")
        names[name] = path
    if not found:
        raise UsageError("no submissions found (expected .py, .zip, .ipynb files or folders)")
    return found


def cached_report(settings: Settings, path: Path) -> Optional[Dict]:
    """A finished report from an earlier run of the same grading (lets a killed batch resume)."""
    if settings.force:
        return None
    report_path = settings.out / submission_name(path) / "report.json"
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        return None
    same = (report.get("profile") == settings.profile.name and report.get("seed") == settings.seed
            and report.get("rubric") == settings.rubric.name and report.get("fingerprint") == fingerprint(path))
    return report if same else None


def last_resort_report(settings: Settings, path: Path, error: BaseException) -> Dict:
    """The grader itself failed on this submission: still write a report that says so, with no points lost silently."""
    checks = [{"id": cid, "layer": layer, "quantity": q, "method": m, "status": "error", "score": 0.0,
               "max_score": settings.rubric.max_score(cid),
               "message": f"grader internal error ({type(error).__name__}: {error}); regrade after the grader is fixed",
               "diagnoses": [], "configs": []}
              for cid, layer, q, m, _ in declared_checks(settings.profile)]
    return {"schema": 1, "submission": submission_name(path), "profile": settings.profile.name, "seed": settings.seed,
            "rubric": settings.rubric.name, "fingerprint": fingerprint(path), "score": 0.0,
            "max_score": round(sum(c["max_score"] for c in checks), 6), "checks": checks, "diagnoses": [],
            "notes": ["GRADER ERROR: this report is not a grade"], "isolation": None, "load": None, "grader_error": True}


def remove_stale_temporaries(out: Path) -> None:
    """Temp files left by a grader killed mid-write (reports are written to a temp file, then renamed)."""
    for stale in out.glob("**/.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


def run(settings: Settings) -> int:
    submissions = expand(settings)
    settings.out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(settings.out)
    slots: "queue.Queue[int]" = queue.Queue()
    for slot in range(settings.jobs):
        slots.put(slot)
    lock = threading.Lock()
    done = [0]
    grader_failed = [False]

    def grade_one(path: Path) -> Dict:
        started = time.monotonic()
        report = cached_report(settings, path)
        cached = report is not None
        if report is None:
            slot = slots.get()
            try:
                report, run_info = grade_submission(path, settings.profile, settings.rubric, settings.seed, slot)
            except Exception as exc:  # noqa: BLE001 - a grader bug must not cost the batch
                report = last_resort_report(settings, path, exc)
                run_info = {"grader_traceback": traceback.format_exc()}
                grader_failed[0] = True
            finally:
                slots.put(slot)
            write_submission_files(settings.out, report, run_info)
        with lock:
            done[0] += 1
            if not settings.quiet:
                tail = " (already graded)" if cached else f" ({time.monotonic() - started:.1f} s)"
                diag = f"  [{', '.join(report['diagnoses'])}]" if report["diagnoses"] else ""
                name = report["submission"].encode("utf-8", "backslashreplace").decode("utf-8")
                print(f"[{done[0]}/{len(submissions)}] {name}: "
                      f"{report['score']:g} / {report['max_score']:g}{tail}{diag}", flush=True)
        return report

    with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
        reports = list(pool.map(grade_one, submissions))
    time.sleep(0.2)  # let the last sandboxes' orphaned inits exit, then reap them (see reap_orphans)
    reap_orphans()
    write_class_files(settings.out, reports)
    if not settings.quiet:
        print(f"wrote {len(reports)} reports, gradebook.csv and summary.md to {settings.out}", flush=True)
    return EXIT_GRADER_FAILED if grader_failed[0] else EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    try:
        settings = parse_args(sys.argv[1:] if argv is None else argv)
        return run(settings)
    except UsageError as exc:
        print(f"grade.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
