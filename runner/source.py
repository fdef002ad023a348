"""Turn a submission as it really comes (.py, folder, .zip, .ipynb) into modules the child can import.

All of this runs in the trusted parent and never executes student code: it
reads bytes, parses with :mod:`ast`, and writes sanitised copies into a fresh
folder that the sandbox sees read-only.
"""
from __future__ import annotations

import ast
import builtins
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

MAX_SOURCE_BYTES = 2 * 1024 * 1024
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL_BYTES = 64 * 1024 * 1024
SUBMISSION_SUFFIXES = (".py", ".zip", ".ipynb")
NUMPY_ALIASES = ("int", "float", "bool", "object", "complex", "str", "long", "unicode")


class SubmissionError(Exception):
    """The submission cannot be read as a submission at all; the message says what to do."""


@dataclass
class PreparedSubmission:
    """Sanitised modules in a private folder, plus what was noticed on the way."""

    name: str
    folder: Path
    modules: Dict[str, str]  # module name → file name inside ``folder``
    notes: List[str] = field(default_factory=list)
    compat: List[str] = field(default_factory=list)
    findings: List[str] = field(default_factory=list)  # diagnosis codes found statically
    forbidden_imports: List[str] = field(default_factory=list)
    files_found: List[str] = field(default_factory=list)

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def submission_name(path: Path) -> str:
    name = path.name
    for suffix in SUBMISSION_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# ---------------------------------------------------------------------------
# Reading text


def read_source_text(data: bytes, label: str, notes: List[str]) -> str:
    """Decode a source file, refusing binaries; normalises Windows line endings."""
    if len(data) > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{label} is {len(data)} bytes; a source file over {MAX_SOURCE_BYTES} bytes is not graded")
    if b"\x00" in data:
        raise SubmissionError(f"{label} is a binary file, not Python source: submit the .py text file")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        notes.append(f"{label} is not UTF-8; read as Latin-1")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        notes.append(f"{label} has Windows (CRLF) line endings; normalised")
    return text


def notebook_source(data: bytes, label: str, notes: List[str]) -> str:
    """The code cells of a notebook, joined; IPython magics and shell lines commented out."""
    try:
        notebook = json.loads(data.decode("utf-8", "replace"))
        cells = notebook["cells"]
        if not isinstance(cells, list):
            raise TypeError("cells is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise SubmissionError(f"{label} is not a valid Jupyter notebook ({exc}); re-save it from Jupyter or submit a .py") from None
    chunks = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        lines = str(source).split("\n")
        if lines and lines[0].lstrip().startswith("%%"):  # a cell magic (%%bash, %%time...): the body is not Python
            lines = ["# " + line for line in lines]
        else:
            lines = [("# " + line) if line.lstrip().startswith(("%", "!")) else line for line in lines]
        chunks.append("\n".join(lines))
    notes.append(f"{label}: {len(chunks)} code cells extracted from the notebook")
    return "\n\n".join(chunks) + "\n"


# ---------------------------------------------------------------------------
# Keeping definitions, dropping the test section


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _is_constant_expression(node: ast.AST, defined: set) -> bool:
    """Literals, defined names, attribute chains on them (``np.float32``) and arithmetic of those — no calls."""
    if _is_literal(node):
        return True
    if isinstance(node, ast.Name):
        return node.id in defined
    if isinstance(node, ast.Attribute):
        return _is_constant_expression(node.value, defined)
    if isinstance(node, ast.BinOp):
        return _is_constant_expression(node.left, defined) and _is_constant_expression(node.right, defined)
    if isinstance(node, ast.UnaryOp):
        return _is_constant_expression(node.operand, defined)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_is_constant_expression(e, defined) for e in node.elts)
    return False


def _bound_names(node: ast.stmt) -> List[str]:
    names: List[str] = []
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names += [(a.asname or a.name).split(".")[0] for a in node.names]
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.append(node.name)
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    elif isinstance(node, ast.Try):
        for child in node.body + [h for handler in node.handlers for h in handler.body]:
            names += _bound_names(child)
    return names


def _keep_statement(node: ast.stmt, defined: set) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign):
        simple = all(isinstance(t, (ast.Name, ast.Tuple)) for t in node.targets)
        return simple and _is_constant_expression(node.value, defined)
    if isinstance(node, ast.AnnAssign):
        return node.value is None or _is_constant_expression(node.value, defined)
    if isinstance(node, ast.Try):  # try: import X / except ImportError: ...
        return all(isinstance(n, (ast.Import, ast.ImportFrom, ast.Pass)) for n in node.body) and all(
            isinstance(n, (ast.Import, ast.ImportFrom, ast.Pass, ast.Assign)) for h in node.handlers for n in h.body)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
        return True  # docstrings
    return False


def definitions_only(text: str, label: str, notes: List[str]) -> Tuple[str, ast.Module]:
    """Keep imports, functions, classes and literal constants; blank out all other top-level code.

    Blanking (instead of re-printing the tree) keeps every kept line at its
    original line number, so tracebacks point into the student's own file.
    Module-level constants stay because some classes read them (e.g. a
    ``filter_width`` defined by the course's test section, ``filter_height =
    filter_width``, ``DTYPE = np.float32``): an assignment is kept when its value
    is a literal, or names, attributes and arithmetic of what is already kept —
    never a call, so no test code can run.
    """
    tree = parse_source(text, label)
    lines = text.split("\n")
    dropped = 0
    defined = set(dir(builtins))
    kept_nodes = []
    for node in tree.body:
        if _keep_statement(node, defined):
            defined.update(_bound_names(node))
            kept_nodes.append(node)
            continue
        dropped += 1
        for index in range(node.lineno - 1, node.end_lineno):
            lines[index] = ""
    kept = "\n".join(lines)
    try:
        ast.parse(kept)
    except SyntaxError:  # a dropped statement shared a line with a kept one
        tree.body = kept_nodes
        kept = ast.unparse(tree)
    if dropped:
        notes.append(f"{label}: {dropped} top-level statements (test or demo code) were not run; "
                     "only imports, functions, classes and literal constants were loaded")
    return kept, tree


def parse_source(text: str, label: str) -> ast.Module:
    try:
        return ast.parse(text)
    except SyntaxError as exc:
        hint = ""
        if looks_like_python2(text):
            hint = " It looks like Python 2 code (print statements / xrange): the grader runs Python 3."
        raise SubmissionError(f"{label} has a syntax error at line {exc.lineno}: {exc.msg}.{hint} "
                              "Fix it so the file runs under `python3 {0}`.".format(Path(label).name)) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SubmissionError(f"{label} could not be parsed ({type(exc).__name__}); submit plain Python source") from None


_PY2_PRINT = re.compile(r"^\s*print\s+[^\s(=]", re.MULTILINE)


def looks_like_python2(text: str) -> bool:
    return bool(_PY2_PRINT.search(text)) or "xrange(" in text


def static_findings(tree: ast.Module, forbidden: Sequence[str]) -> Tuple[List[str], List[str], List[str]]:
    """Forbidden imports found, compat shims needed, diagnosis codes — from the syntax tree alone."""
    imported: List[str] = []
    compat: List[str] = []
    findings: List[str] = []
    numpy_names = {"np", "numpy"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported.append(alias.name)
                if alias.name == "numpy" and alias.asname:
                    numpy_names.add(alias.asname)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.append(node.module)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                imported.append(node.args[0].value)
        elif isinstance(node, ast.Attribute) and node.attr in NUMPY_ALIASES:
            if isinstance(node.value, ast.Name) and node.value.id in numpy_names and "numpy_aliases" not in compat:
                compat.append("numpy_aliases")
        elif isinstance(node, ast.Name) and node.id == "xrange" and "xrange" not in compat:
            compat.append("xrange")
    bad = sorted({name for name in imported if name.split(".")[0] in forbidden})
    if bad:
        findings.append("forbidden_import")
    if "xrange" in compat:
        findings.append("python2_code")
    return bad, compat, findings


# ---------------------------------------------------------------------------
# Archives


def safe_extract_zip(archive: Path, destination: Path) -> None:
    """Extract ``archive`` refusing path traversal, links, and bombs (count and total size)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise SubmissionError(f"{archive.name} has {len(members)} entries (limit {MAX_ZIP_MEMBERS}); zip only your source folder")
            total = sum(m.file_size for m in members)
            if total > MAX_ZIP_TOTAL_BYTES:
                raise SubmissionError(f"{archive.name} unpacks to {total} bytes (limit {MAX_ZIP_TOTAL_BYTES}); "
                                      "zip only your source files, not data or environments")
            root = destination.resolve()
            for member in members:
                name = member.filename
                if name.startswith("__MACOSX/"):
                    continue
                target = (destination / name).resolve()
                if os.path.isabs(name) or ".." in Path(name).parts or not str(target).startswith(str(root)):
                    raise SubmissionError(f"{archive.name} contains an unsafe path {name!r}; re-create the zip from your folder")
                mode = member.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise SubmissionError(f"{archive.name} contains a symbolic link {name!r}; zip real files only")
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with zf.open(member) as source, open(target, "wb") as sink:
                    while True:
                        chunk = source.read(1 << 20)
                        if not chunk:
                            break
                        written += len(chunk)
                        if written > MAX_ZIP_TOTAL_BYTES:  # the header lied about the size
                            raise SubmissionError(f"{archive.name} unpacks to more than {MAX_ZIP_TOTAL_BYTES} bytes")
                        sink.write(chunk)
    except zipfile.BadZipFile:
        raise SubmissionError(f"{archive.name} is not a valid zip file; re-create it") from None


def private_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(folder, 0o755)  # readable (not writable) by the sandbox's unprivileged uid
    return folder


def write_module(folder: Path, file_name: str, text: str) -> None:
    path = folder / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o644)
    for parent in path.relative_to(folder).parents:
        os.chmod(folder / parent, 0o755)


def refuse_links(root: Path) -> None:
    """A folder submission may not contain symbolic links: one could point at another student's file."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if os.path.islink(os.path.join(dirpath, name)):
                link = os.path.relpath(os.path.join(dirpath, name), root)
                raise SubmissionError(f"{root.name} contains a symbolic link ({link}); submit real files, not links")


def find_file(root: Path, names: Sequence[str]) -> Optional[Path]:
    """The shallowest file under ``root`` whose name is one of ``names`` (skips hidden and macOS folders)."""
    best: Optional[Path] = None
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        for name in names:
            if name in filenames and not os.path.islink(os.path.join(dirpath, name)):
                candidate = Path(dirpath) / name
                if best is None or len(candidate.parts) < len(best.parts):
                    best = candidate
    return best
