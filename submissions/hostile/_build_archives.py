"""Rebuild the non-text cases of this corpus: zips, notebooks, the binary .py, the symlinked folder.

    python submissions/hostile/_build_archives.py

The grader skips this file (names starting with "_" are not submissions).
Everything it writes is deterministic and committed; the .py cases and
expected.json are edited by hand.
"""
from __future__ import annotations

import json
import os
import random
import struct
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CORRECT = (HERE.parent / "hw4" / "correct_einsum.py").read_text().split("##########\n#   test code")[0]


def _zip_bomb() -> None:
    # ~70 KB on disk, 80 MB inflated: over the grader's 64 MB extraction limit.
    with zipfile.ZipFile(HERE / "zip_bomb.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(zipfile.ZipInfo("hw4_nn.py", date_time=(2024, 1, 1, 0, 0, 0)), CORRECT)
        info = zipfile.ZipInfo("data/zeros.bin", date_time=(2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, bytes(80 * 1024 * 1024))


def _zip_bomb_lying_header() -> None:
    # The same 80 MB member, but both headers claim it is 100 bytes: only a streaming count sees the truth.
    path = HERE / "zip_bomb_lying_header.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("hw4_nn.py", date_time=(2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, b"#" * (80 * 1024 * 1024))
    data = bytearray(path.read_bytes())
    real = 80 * 1024 * 1024
    # local header: uncompressed size at offset 22; central directory entry: at offset 24 from its signature
    assert struct.unpack_from("<I", data, 22)[0] == real
    struct.pack_into("<I", data, 22, 100)
    central = data.rfind(b"PK\x01\x02")
    assert struct.unpack_from("<I", data, central + 24)[0] == real
    struct.pack_into("<I", data, central + 24, 100)
    path.write_bytes(bytes(data))


def _zip_traversal() -> None:
    with zipfile.ZipFile(HERE / "zip_traversal.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("hw4_nn.py", date_time=(2024, 1, 1, 0, 0, 0)), CORRECT)
        archive.writestr(zipfile.ZipInfo("../../hostile_canary_evil.py", date_time=(2024, 1, 1, 0, 0, 0)),
                         "open('/tmp/hostile_canary_evil_ran.txt', 'w').write('HOSTILE-MARKER-zip')\n")


def _zip_symlink() -> None:
    with zipfile.ZipFile(HERE / "zip_symlink.zip", "w") as archive:
        info = zipfile.ZipInfo("hw4_nn.py", date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = (0o120777 << 16)  # a symbolic link to another student's file
        info.create_system = 3
        archive.writestr(info, "../../hw4/correct_einsum.py")


def _binary_py() -> None:
    (HERE / "binary_file.py").write_bytes(b"\x7fELF\x02\x01\x01\x00" + random.Random(4).randbytes(4088))


def _notebook(name: str, cells) -> None:
    notebook = {
        "cells": [{"cell_type": kind, "metadata": {}, "source": source,
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, source in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (HERE / name).write_text(json.dumps(notebook, indent=1) + "\n")


def _notebooks() -> None:
    (HERE / "notebook_malformed.ipynb").write_text('{"cells": [{"cell_type": "code", "source": ["import numpy as np\\n", ')
    classes = CORRECT.split("import numpy as np\nfrom numpy.lib.stride_tricks import as_strided, sliding_window_view\n")[1]
    imports = "import numpy as np\nfrom numpy.lib.stride_tricks import as_strided, sliding_window_view\n"
    _notebook("notebook_shell_lines.ipynb", [
        ("markdown", "# HW4 (hostile notebook: shell lines and line magics must never run)"),
        ("code", "!pip install torch\n!touch /tmp/hostile_canary_notebook_shell.txt\n%matplotlib inline\n" + imports),
        ("code", classes),
        ("code", "import os\nos.system('touch /tmp/hostile_canary_notebook_system.txt')\n"
                 "get_ipython().system('touch /tmp/hostile_canary_notebook_ipython.txt')\n"),
    ])
    _notebook("notebook_cell_magic.ipynb", [
        ("code", imports),
        ("code", classes),
        ("code", "%%bash\necho HOSTILE-MARKER > /tmp/hostile_canary_notebook_bash.txt\nrm -f ~/hostile_canary_victim.txt\n"),
    ])


def _symlink_folder() -> None:
    folder = HERE / "symlink_peer"
    folder.mkdir(exist_ok=True)
    link = folder / "hw4_nn.py"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink("../../hw4/correct_einsum.py", link)  # another student's file, two folders up


def main() -> None:
    _zip_bomb()
    _zip_bomb_lying_header()
    _zip_traversal()
    _zip_symlink()
    _binary_py()
    _notebooks()
    _symlink_folder()


if __name__ == "__main__":
    main()
