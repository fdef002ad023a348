"""Write what an instructor and a student read. Files are written atomically (temp + rename),
so a grader killed mid-batch never leaves a half-written report behind."""
from __future__ import annotations

import csv
import html
import io
import json
import os
import statistics
import tempfile
from collections import Counter
from pathlib import Path
from typing import Dict, List

from tabulate import tabulate

from checks.diagnoses import VOCABULARY

STATUS_MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "skipped": "skipped"}


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # backslashreplace: a name or message with lone surrogates (a non-UTF-8 file name) must not stop the batch
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def report_json(report: Dict) -> str:
    return json.dumps(report, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _fmt(value: float) -> str:
    return f"{value:g}"


def render_markdown(report: Dict, run_info: Dict) -> str:
    lines: List[str] = []
    lines.append(f"# {report['submission']} — {report['profile']}: {_fmt(report['score'])} / {_fmt(report['max_score'])}")
    lines.append("")
    lines.append(f"Rubric `{report['rubric']}`, seed {report['seed']}, "
                 f"isolation: {report['isolation'] or 'not started'}.")
    lines.append("")
    rows = [[c["id"], STATUS_MARK[c["status"]], f"{_fmt(c['score'])} / {_fmt(c['max_score'])}"] for c in report["checks"]]
    lines.append(tabulate(rows, headers=["check", "status", "points"], tablefmt="github"))
    lines.append("")
    problems = [c for c in report["checks"] if c["status"] != "pass"]
    if problems:
        lines.append("## What to fix")
        lines.append("")
        for check in problems:
            lines.append(f"### {check['id']} — {STATUS_MARK[check['status']]}")
            lines.append("")
            lines.append(check["message"])
            lines.append("")
            bad = [cfg for cfg in check.get("configs", []) if cfg["status"] != "pass"]
            if bad:
                table = [[cfg["description"], STATUS_MARK[cfg["status"]], cfg["detail"]] for cfg in bad[:8]]
                lines.append(tabulate(table, headers=["configuration", "status", "got vs expected"], tablefmt="github"))
                if len(bad) > 8:
                    lines.append(f"\n… and {len(bad) - 8} more configurations.")
                lines.append("")
            for code in check.get("diagnoses", []):
                meaning, advice = VOCABULARY[code]
                lines.append(f"- **{code}**: {meaning} *Try:* {advice}")
            if check.get("diagnoses"):
                lines.append("")
    else:
        lines.append("Every check passed.")
        lines.append("")
    course = [c for c in report["checks"] if c["method"] == "course"]
    if course:
        lines.append("## The course's own test, reproduced")
        lines.append("")
        table = [[c["id"], "—" if c.get("accuracy_percent") is None else f"{c['accuracy_percent']:.6f}%", STATUS_MARK[c["status"]]]
                 for c in course]
        lines.append(tabulate(table, headers=["quantity", "accuracy", "status (>90%)"], tablefmt="github"))
        lines.append("")
    if report["diagnoses"]:
        lines.append("## Diagnoses")
        lines.append("")
        for code in report["diagnoses"]:
            meaning, advice = VOCABULARY[code]
            lines.append(f"- **{code}**: {meaning} *Try:* {advice}")
        lines.append("")
    if report["notes"]:
        lines.append("## Notes")
        lines.append("")
        lines.extend(f"- {note}" for note in report["notes"])
        lines.append("")
    if run_info.get("load_traceback"):
        lines.append("## Import error")
        lines.append("")
        lines.append("```")
        lines.append(run_info["load_traceback"].rstrip())
        lines.append("```")
        lines.append("")
    if run_info.get("output_head"):
        lines.append(f"## What your code printed (first part of {run_info.get('output_bytes', 0)} bytes)")
        lines.append("")
        lines.append("```")
        lines.append(run_info["output_head"][:2000].rstrip())
        lines.append("```")
        lines.append("")
    return "\n".join(lines)


def render_html(markdown_text: str, title: str) -> str:
    # A dependency-free rendering: the Markdown shown as preformatted text, escaped.
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}pre{white-space:pre-wrap}</style>"
            f"</head><body><pre>{html.escape(markdown_text)}</pre></body></html>\n")


def write_submission_files(out_dir: Path, report: Dict, run_info: Dict) -> Path:
    folder = out_dir / report["submission"]
    markdown_text = render_markdown(report, run_info)
    atomic_write(folder / "report.md", markdown_text)
    atomic_write(folder / "report.html", render_html(markdown_text, f"{report['submission']} — {report['profile']}"))
    atomic_write(folder / "run.json", json.dumps(run_info, indent=2, default=str) + "\n")
    atomic_write(folder / "report.json", report_json(report))  # last: its presence means "done"
    return folder


def _groups(report: Dict) -> Dict[str, float]:
    groups: Dict[str, float] = {}
    for check in report["checks"]:
        key = f"{check['layer']}.{check['quantity']}"
        groups[key] = groups.get(key, 0.0) + check["score"]
    return groups


def write_class_files(out_dir: Path, reports: List[Dict]) -> None:
    reports = sorted(reports, key=lambda r: r["submission"])
    group_names: List[str] = []
    for report in reports:
        for key in _groups(report):
            if key not in group_names:
                group_names.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "score", "max_score", *group_names, "diagnoses"])
    for report in reports:
        groups = _groups(report)
        writer.writerow([report["submission"], _fmt(report["score"]), _fmt(report["max_score"]),
                         *[_fmt(round(groups.get(g, 0.0), 6)) for g in group_names], " ".join(report["diagnoses"])])
    atomic_write(out_dir / "gradebook.csv", buffer.getvalue())
    atomic_write(out_dir / "summary.md", render_summary(reports))


def render_summary(reports: List[Dict]) -> str:
    if not reports:
        return "# Class summary\n\nNo submissions were graded.\n"
    scores = [r["score"] for r in reports]
    max_score = reports[0]["max_score"]
    lines = [f"# Class summary — {reports[0]['profile']}, rubric `{reports[0]['rubric']}`, seed {reports[0]['seed']}", ""]
    lines.append(f"{len(reports)} submissions; mean {statistics.mean(scores):.2f}, median {statistics.median(scores):.2f}, "
                 f"min {min(scores):g}, max {max(scores):g} (out of {max_score:g}).")
    lines.append("")
    bins = Counter(min(int(10 * score / max_score), 9) if max_score else 0 for score in scores)
    histogram = [[f"{10 * b}–{10 * b + 10}%", bins.get(b, 0), "#" * bins.get(b, 0)] for b in range(10)]
    lines.append(tabulate(histogram, headers=["score", "submissions", ""], tablefmt="github"))
    lines.append("")
    rows = []
    check_ids = [c["id"] for c in reports[0]["checks"]]
    for check_id in check_ids:
        results = [next(c for c in r["checks"] if c["id"] == check_id) for r in reports]
        statuses = Counter(c["status"] for c in results)
        mean_points = statistics.mean(c["score"] for c in results)
        rows.append([check_id, *[statuses.get(s, 0) for s in ("pass", "fail", "error", "timeout")],
                     f"{mean_points:.2f} / {results[0]['max_score']:g}"])
    lines.append(tabulate(rows, headers=["check", "pass", "fail", "error", "timeout", "mean points"], tablefmt="github"))
    lines.append("")
    diag = Counter(code for r in reports for code in r["diagnoses"])
    if diag:
        lines.append("## Diagnoses")
        lines.append("")
        lines.append(tabulate(sorted(diag.items(), key=lambda kv: (-kv[1], kv[0])), headers=["diagnosis", "submissions"],
                              tablefmt="github"))
        lines.append("")
    lines.append("## Scores")
    lines.append("")
    lines.append(tabulate([[r["submission"], f"{r['score']:g}", " ".join(r["diagnoses"])] for r in reports],
                          headers=["submission", "score", "diagnoses"], tablefmt="github"))
    lines.append("")
    return "\n".join(lines)
