#!/usr/bin/env bash
# Set up cnn-grade on a fresh machine. Idempotent.
#   scripts/setup.sh          grader + student runtime
#   scripts/setup.sh --test   also the test extras (torch 2.13.0 CPU, pytest, hypothesis)
#
# Two Python environments:
#   .venv                    the grader (numpy, tabulate; torch/pytest with --test)
#   the student runtime      numpy, scipy, scikit-image only. Student code runs
#                            here, inside the sandbox, as an unprivileged uid, so
#                            it must live where that uid can read it (not /root):
#                            /opt/cnn-grade/student-venv when root, else
#                            ~/.cache/cnn-grade/student-venv. It has neither
#                            torch nor the grader installed.
set -euo pipefail
cd "$(dirname "$0")/.."
want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

# The sandbox needs bubblewrap; without it the grader still runs, unisolated, and says so.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing bubblewrap (sandbox)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null \
      || echo "setup: could not install bubblewrap; student code will run without the sandbox" >&2
  else
    echo "setup: bubblewrap not found; install it (apt-get install bubblewrap) to isolate student code" >&2
  fi
fi

# A system Python (not one under /root) so the sandboxed uid can read it.
base_python=python3
for candidate in /usr/bin/python3.11 /usr/bin/python3; do
  if [ -x "$candidate" ] && "$candidate" -c 'import venv, ensurepip' 2>/dev/null; then base_python=$candidate; break; fi
done

if [ ! -x .venv/bin/python ]; then
  "$base_python" -m venv .venv
fi
extras=""
[ $want_tests = 1 ] && extras="[test]"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".${extras}"

if [ "$(id -u)" = 0 ]; then student_venv=/opt/cnn-grade/student-venv; else student_venv="$HOME/.cache/cnn-grade/student-venv"; fi
student_venv=${CNN_GRADE_STUDENT_VENV:-$student_venv}
if [ ! -x "$student_venv/bin/python" ] || ! "$student_venv/bin/python" -c 'import numpy, scipy, skimage' 2>/dev/null; then
  echo "setup: creating the student runtime in $student_venv"
  mkdir -p "$(dirname "$student_venv")"
  "$base_python" -m venv "$student_venv"
  "$student_venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$student_venv/bin/python" -m pip install -q numpy scipy scikit-image
  chmod -R a+rX "$student_venv"
fi
echo "setup: done (grader: .venv, student runtime: $student_venv)"
