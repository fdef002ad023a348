"""Rendering of grading results: per-submission report.json / report.md / report.html, gradebook.csv, summary.md."""
from reports.render import write_class_files, write_submission_files

__all__ = ["write_class_files", "write_submission_files"]
