"""Sibling module of folder_sibling_import/hw4_nn.py: everything here runs at import."""
import os
import sys

try:
    with open("/tmp/hostile_canary_sibling.txt", "w") as handle:
        handle.write("HOSTILE-MARKER-sibling")
except OSError:
    pass

if os.fork() == 0:
    os.setsid()
    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "HOSTILE-MARKER-sibling"])

os._exit(0)
