"""What a profile is: how to find, construct, call and convert one course's layers, and its rubrics.

The engine and the checks never mention a course; everything course-specific
lives in a :class:`Profile` and its child-side adapter (``profiles/adapters``).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from checks.model import LayerConfig
from checks.rubric import Rubric
from runner.sandbox import Limits
from runner.source import (
    MAX_SOURCE_BYTES,
    MAX_ZIP_TOTAL_BYTES,
    PreparedSubmission,
    SubmissionError,
    definitions_only,
    find_file,
    notebook_source,
    parse_source,
    private_folder,
    read_source_text,
    refuse_links,
    safe_extract_zip,
    static_findings,
    submission_name,
    write_module,
)

ADAPTERS = Path(__file__).with_name("adapters")
MAX_SIBLINGS = 50


@dataclass(frozen=True)
class LayerSpec:
    name: str  # the name used in check ids: "conv", "pool"
    kind: str  # what the reference computes: "conv", "maxpool", ...
    title: str


@dataclass(frozen=True)
class CourseCheck:
    """A check that reproduces a course's own procedure (method ``course``)."""

    layer: str
    quantity: str
    title: str

    @property
    def id(self) -> str:
        return f"{self.layer}.{self.quantity}.course"


class Profile:
    name: str = ""
    description: str = ""
    adapter: Path
    layers: Tuple[LayerSpec, ...] = ()
    forbidden_imports: Tuple[str, ...] = ("torch", "tensorflow", "keras")
    allowed_dtypes: Tuple[str, ...] = ("float64",)
    entry_files: Tuple[str, ...] = ()  # a folder holding one of these is one submission
    module_name: str = "submission"
    request_timeout: float = 20.0
    budget_seconds: float = 300.0
    limits: Limits = Limits()
    course_checks: Tuple[CourseCheck, ...] = ()

    # -- finding the code -------------------------------------------------------
    def is_single_submission(self, folder: Path) -> bool:
        return any((folder / name).is_file() for name in self.entry_files)

    def prepare(self, path: Path) -> PreparedSubmission:
        """Read the submission into a private folder of sanitised modules (never runs it)."""
        notes: List[str] = []
        work = private_folder("cnn-grade-src-")
        try:
            siblings: Dict[str, str] = {}
            source_path, text = self._locate_source(path, work, notes, siblings)
            kept, tree = definitions_only(text, source_path, notes)
            bad, compat, findings = static_findings(tree, self.forbidden_imports)
            for sibling_name, sibling_text in siblings.items():
                sibling_bad, sibling_compat, _ = static_findings(parse_source(sibling_text, sibling_name),
                                                                 self.forbidden_imports)
                bad = sorted(set(bad) | set(sibling_bad))
                compat += [c for c in sibling_compat if c not in compat]
            if bad:
                notes.append(f"imports forbidden by this assignment: {', '.join(bad)} (blocked at run time)")
                findings = list(dict.fromkeys(findings + ["forbidden_import"]))
            folder = private_folder("cnn-grade-mod-")
            write_module(folder, f"{self.module_name}.py", kept)
            for sibling_name, sibling_text in siblings.items():  # helper modules the entry file may import
                write_module(folder, sibling_name, sibling_text)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return PreparedSubmission(submission_name(path), folder, {self.module_name: f"{self.module_name}.py"},
                                  notes, compat, findings, bad, [source_path])

    def _locate_source(self, path: Path, work: Path, notes: List[str], siblings: Dict[str, str]) -> Tuple[str, str]:
        if path.is_symlink():
            raise SubmissionError(f"{path.name} is a symbolic link; submit the file itself")
        if path.is_dir():
            return self._source_in_folder(path, path.name, notes, siblings)
        suffix = path.suffix.lower()
        limit = MAX_ZIP_TOTAL_BYTES if suffix == ".zip" else MAX_SOURCE_BYTES
        size = path.stat().st_size
        if size > limit:  # refused before reading: a multi-GB file must not cost the grader its memory
            raise SubmissionError(f"{path.name} is {size} bytes (limit {limit}), so it was not graded; "
                                  "submit only your source code")
        data = path.read_bytes() if suffix != ".zip" else b""
        if suffix == ".zip":
            safe_extract_zip(path, work)
            return self._source_in_folder(work, path.name, notes, siblings)
        if suffix == ".ipynb":
            return path.name, notebook_source(data, path.name, notes)
        if suffix == ".py":
            return path.name, read_source_text(data, path.name, notes)
        raise SubmissionError(f"{path.name}: submit a .py file, a folder, a .zip or a .ipynb")

    def _source_in_folder(self, folder: Path, label: str, notes: List[str], siblings: Dict[str, str]) -> Tuple[str, str]:
        refuse_links(folder)
        found = find_file(folder, self.entry_files)
        if found is None:
            candidates = sorted(p for p in folder.rglob("*.py") if not any(part.startswith(".") for part in p.parts))
            if len(candidates) == 1:
                found = candidates[0]
                notes.append(f"{label}: no {' or '.join(self.entry_files)}; graded the only .py file, {found.name}")
            else:
                raise SubmissionError(f"{label}: no {' or '.join(self.entry_files)} found; "
                                      f"put your code in a file named {self.entry_files[0]}")
        relative = str(found.relative_to(folder))
        notes.append(f"graded {label}/{relative}" if found.parent != folder or label != found.name else f"graded {relative}")
        if found.stat().st_size > MAX_SOURCE_BYTES:
            raise SubmissionError(f"{relative} is {found.stat().st_size} bytes (limit {MAX_SOURCE_BYTES}), so it was not "
                                  "graded; submit only your source code")
        for sibling in sorted(found.parent.glob("*.py"))[:MAX_SIBLINGS]:
            if sibling == found or not sibling.stem.isidentifier() or sibling.stem == self.module_name:
                continue
            if sibling.stat().st_size <= MAX_SOURCE_BYTES:
                siblings[sibling.name] = read_source_text(sibling.read_bytes(), sibling.name, notes)
        if siblings:
            notes.append(f"helper modules next to it, importable by it: {', '.join(sorted(siblings))}")
        return relative, read_source_text(found.read_bytes(), relative, notes)

    # -- configurations and conversions ---------------------------------------------
    def configs(self, layer: LayerSpec, seed: int) -> List[LayerConfig]:
        raise NotImplementedError

    def to_student(self, role: str, array: np.ndarray, cfg: LayerConfig) -> np.ndarray:
        """Reference-layout array of ``role`` (x, y, W, b) → the course's layout."""
        return array

    def from_student(self, role: str, array: np.ndarray, cfg: LayerConfig) -> np.ndarray:
        return array

    def student_shape(self, role: str, cfg: LayerConfig) -> Tuple[int, ...]:
        raise NotImplementedError

    # -- rubrics ----------------------------------------------------------------------
    def rubrics(self) -> Dict[str, Rubric]:
        raise NotImplementedError

    def run_course_checks(self, driver, seed: int) -> List[Tuple[CourseCheck, str, Optional[float], str]]:
        """(check, status, accuracy %, message) for each course check; none by default."""
        return []
