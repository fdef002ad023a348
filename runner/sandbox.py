"""The parent side of the sandbox: start a child, talk to it with deadlines, kill it.

Isolation layers (see SECURITY.md), strongest available first:
  ``bwrap``  bubblewrap: new user/pid/net/ipc/uts/cgroup namespaces, read-only
             system, a size-capped tmpfs as the only writable place, no network,
             started under an unprivileged uid (when the grader is root) and
             under rlimits (address space, CPU, file size, processes, files).
  ``plain``  a child process under the same rlimits, nothing more: used where
             bubblewrap is missing or refuses to start (a student's laptop), and
             reported as "not isolated" in every report.
"""
from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

CHILD_SCRIPT = Path(__file__).with_name("child.py")
MAX_REPLY_BYTES = 256 * 1024 * 1024
UID_BASE, UID_COUNT = 61000, 1000  # unprivileged uids for sandboxes (no such users need exist)
UID_LOCK_DIR = "/tmp/cnn-grade-uids"
STARTUP_SECONDS = 60.0
MAX_BRACKETS_PER_LINE = 10_000
_LIVE_PIDS: set = set()  # children started by ChildSession and not yet waited for
_LIVE_LOCK = threading.Lock()


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                count += os.stat(f"/proc/{entry}").st_uid == uid
            except OSError:
                pass
    return count


def _children_of(pid: int) -> List[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except (OSError, ValueError):
        return []


_SUBREAPER = []


def _become_subreaper() -> None:
    """Adopt our sandboxes' orphans, so that we can reap them (see reap_orphans)."""
    if not _SUBREAPER:
        _SUBREAPER.append(True)
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):
            pass


def reap_orphans() -> None:
    """Reap zombie children we did not start: bubblewrap's namespace init, orphaned by design.

    bubblewrap's outer process exits as soon as the sandboxed command has, leaving
    the namespace's init to whoever reaps orphans. Where that is nobody (the grader
    as a container's PID 1, or under a subreaper that does not reap), each zombie
    keeps counting against its uid's process limit until a sandbox slot can no
    longer start; so the grader makes itself a subreaper and reaps them. Children
    a ChildSession started are left to their own wait().
    """
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == b"Z" and fields[1].decode() == me:
            pid = int(entry)
            with _LIVE_LOCK:
                if pid in _LIVE_PIDS:
                    continue
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
MAX_ARRAY_ELEMENTS = 16 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-submission resource limits for the child."""

    address_space_bytes: int = 3 * 1024**3
    cpu_seconds: int = 600
    file_size_bytes: int = 64 * 1024**2
    processes: int = 64
    open_files: int = 256
    scratch_bytes: int = 64 * 1024**2
    output_capture_bytes: int = 64 * 1024


class SandboxError(Exception):
    """The sandbox itself could not start: the grader's problem, not the student's."""


class ChildTimeout(Exception):
    """The child did not answer before the deadline; it has been killed.

    ``partial`` holds the step results that streamed in before the deadline.
    """

    def __init__(self, partial=None):
        super().__init__("timeout")
        self.partial = list(partial or [])


class ChildDied(Exception):
    """The child exited or closed its reply channel; ``detail`` says how."""


class ProtocolError(Exception):
    """The child answered with something that is not a valid reply."""


def student_python() -> str:
    """The interpreter student code runs under: the student runtime venv if set up, else ours."""
    configured = os.environ.get("CNN_GRADE_STUDENT_PYTHON")
    if configured:
        return configured
    venv = os.environ.get("CNN_GRADE_STUDENT_VENV") or (
        "/opt/cnn-grade/student-venv" if os.geteuid() == 0 else str(Path.home() / ".cache/cnn-grade/student-venv")
    )
    candidate = Path(venv) / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def _venv_root(python: str) -> Path:
    path = Path(python)
    return path.parent.parent if path.parent.name == "bin" else path.parent


_ISOLATION_CACHE: Dict[str, str] = {}


def isolation_mode(python: str) -> str:
    """``"bwrap"`` if a sandboxed interpreter starts here, else ``"plain"`` (probed once per process)."""
    if os.environ.get("CNN_GRADE_ISOLATION") in ("bwrap", "plain"):
        return os.environ["CNN_GRADE_ISOLATION"]
    if python not in _ISOLATION_CACHE:
        _become_subreaper()  # the probe's sandbox leaves an orphan too
        mode = "plain"
        if shutil.which("bwrap"):
            with tempfile.TemporaryDirectory() as probe_dir:
                argv = _bwrap_argv(python, Path(probe_dir), {}, Limits(), uid=None) + ["-c", "print('ok')"]
                try:
                    with _LIVE_LOCK:  # the reaper must not take the probe's own child
                        done = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
                    if done.returncode == 0 and done.stdout.strip() == b"ok":
                        mode = "bwrap"
                except (OSError, subprocess.TimeoutExpired):
                    pass
        _ISOLATION_CACHE[python] = mode
    return _ISOLATION_CACHE[python]


def _rlimit_args(limits: Limits) -> List[str]:
    return [
        "prlimit",
        f"--as={limits.address_space_bytes}",
        f"--cpu={limits.cpu_seconds}",
        f"--fsize={limits.file_size_bytes}",
        f"--nproc={limits.processes}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
    ]


def _child_env() -> Dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/scratch",
        "TMPDIR": "/scratch",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8:backslashreplace",
        "MPLBACKEND": "Agg",
        # One BLAS thread: deterministic sums, and threads count against the process limit.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # some CPUs here need these to run OpenBLAS at all
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _bwrap_argv(python: str, grader_dir: Path, binds: Dict[str, str], limits: Limits, uid: Optional[int]) -> List[str]:
    """The command line that starts ``python`` in the sandbox; ``binds`` maps host paths to read-only sandbox paths."""
    argv: List[str] = []
    if uid is not None:
        argv += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--"]
    argv += _rlimit_args(limits)
    argv += ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
    for name, value in _child_env().items():
        argv += ["--setenv", name, value]
    argv += ["--ro-bind", "/usr", "/usr"]
    for top in ("/lib", "/lib64", "/bin", "/sbin"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    venv = _venv_root(python)
    if not str(venv).startswith("/usr/"):
        argv += ["--ro-bind", str(venv), str(venv)]
        # A venv's python is a symlink to its base interpreter; bind that too when it lives elsewhere.
        base = Path(os.path.realpath(python)).parent.parent
        if not (str(base) == "/usr" or str(base).startswith(("/usr/", str(venv)))):
            argv += ["--ro-bind", str(base), str(base)]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--size", str(limits.scratch_bytes), "--perms", "0777", "--tmpfs", "/scratch"]
    argv += ["--ro-bind", str(grader_dir), "/grader"]
    for host, inside in binds.items():
        argv += ["--ro-bind", host, inside]
    argv += ["--remount-ro", "/", "--chdir", "/scratch", "--", python, "-I", "-B"]
    return argv


@dataclass
class _OutputSink:
    """Keeps the first ``cap`` bytes of the child's stdout+stderr and counts the rest."""

    cap: int
    head: bytearray = field(default_factory=bytearray)
    total: int = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]


class ChildSession:
    """One sandboxed interpreter serving one submission; restarted after a timeout or a death.

    ``binds`` are read-only host paths → sandbox paths (the prepared submission).
    ``slot`` picks the unprivileged uid, so concurrent submissions never share a
    process-count budget.
    """

    def __init__(self, binds: Dict[str, str], adapter: Path, limits: Limits = Limits(), slot: int = 0):
        self.python = student_python()
        self.mode = isolation_mode(self.python)
        self.binds = dict(binds)
        self.limits = limits
        self._uid_lock: Optional[int] = None
        self.uid = self._claim_uid(slot) if (self.mode == "bwrap" and os.geteuid() == 0) else None
        self._workdir = Path(tempfile.mkdtemp(prefix="cnn-grade-child-"))
        self._grader_dir = self._workdir / "grader"
        self._grader_dir.mkdir()
        shutil.copy(CHILD_SCRIPT, self._grader_dir / "child.py")
        shutil.copy(adapter, self._grader_dir / "adapter.py")
        os.chmod(self._workdir, 0o755)
        for path in self._grader_dir.iterdir():
            os.chmod(path, 0o644)
        os.chmod(self._grader_dir, 0o755)
        self._scratch = self._workdir / "scratch"  # plain mode only
        self._proc: Optional[subprocess.Popen] = None
        self._sink = _OutputSink(limits.output_capture_bytes)
        self._drain: Optional[threading.Thread] = None
        self._buffer = bytearray()
        self._scanned = 0
        self._next_id = 0
        self.starts = 0

    def _claim_uid(self, slot: int) -> int:
        """An unprivileged uid no other sandbox on this machine is using, held by an flock until close().

        RLIMIT_NPROC counts per uid, so two sandboxes sharing a uid would share one
        process budget: a fork bomb in one grading run would starve another.
        """
        os.makedirs(UID_LOCK_DIR, mode=0o700, exist_ok=True)
        for offset in range(UID_COUNT):
            uid = UID_BASE + (slot + offset) % UID_COUNT
            fd = os.open(os.path.join(UID_LOCK_DIR, f"{uid}.lock"), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self._uid_lock = fd
            return uid
        raise RuntimeError(f"all {UID_COUNT} sandbox uids are in use; lower --jobs or wait for other graders")

    # -- lifecycle ------------------------------------------------------------
    @property
    def grader_path(self) -> str:
        return "/grader" if self.mode == "bwrap" else str(self._grader_dir)

    def path_inside(self, host_path: str) -> str:
        return self.binds[host_path] if self.mode == "bwrap" else host_path

    def start(self) -> None:
        """Start the child; one retry if the sandbox fails to come up (then SandboxError)."""
        try:
            self._start_once()
        except SandboxError:
            reap_orphans()
            time.sleep(0.5)
            self._start_once()

    def _start_once(self) -> None:
        self.stop()
        script = f"{self.grader_path}/child.py"
        if self.mode == "bwrap":
            argv = _bwrap_argv(self.python, self._grader_dir, self.binds, self.limits, self.uid) + [script]
            env = None
            preexec = None
            cwd = None
        else:
            self._scratch.mkdir(exist_ok=True)
            argv = [self.python, "-I", "-B", script]
            env = dict(_child_env(), HOME=str(self._scratch), TMPDIR=str(self._scratch))
            limits = self.limits
            cwd = str(self._scratch)
            own_processes = _processes_of(os.geteuid())

            def preexec() -> None:  # runs in the child between fork and exec
                import resource

                resource.setrlimit(resource.RLIMIT_AS, (limits.address_space_bytes,) * 2)
                resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds,) * 2)
                resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_bytes,) * 2)
                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
                if os.geteuid() != 0:  # counts per uid (and is not enforced for root): leave room for the user
                    resource.setrlimit(resource.RLIMIT_NPROC, (own_processes + limits.processes,) * 2)
                try:  # die with the grader, as bwrap's --die-with-parent does in the sandbox
                    import ctypes

                    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
                except OSError:
                    pass

        _become_subreaper()
        reap_orphans()
        with _LIVE_LOCK:  # held across the fork so the reaper can never take a child we are about to wait for
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=cwd,
                preexec_fn=preexec,
                start_new_session=True,
            )
            _LIVE_PIDS.add(self._proc.pid)
        os.set_blocking(self._proc.stdout.fileno(), False)
        self._buffer = bytearray()
        self._scanned = 0
        self._drain = threading.Thread(target=self._drain_output, args=(self._proc.stderr,), daemon=True)
        self._drain.start()
        self.starts += 1
        # The harness says "ready" before any student code runs: dying before that is the
        # sandbox failing to start (a grader problem), never a verdict on the student.
        try:
            ready = json.loads(self._read_line(time.monotonic() + STARTUP_SECONDS))
        except (ChildTimeout, ChildDied, ProtocolError, ValueError) as exc:
            detail = self.output_head.strip()[-500:]
            self.stop()
            raise SandboxError(f"the sandbox did not start ({type(exc).__name__}: {exc}); {detail}") from None
        if not (isinstance(ready, dict) and ready.get("ready") is True):
            self.stop()
            raise SandboxError("the sandbox started but the harness did not report ready")

    def _drain_output(self, stream) -> None:
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                return
            self._sink.feed(chunk)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # Kill the sandbox's init (bubblewrap's child, PID 1 of the namespace, which takes every
        # process in the namespace with it) before bubblewrap itself, so that bubblewrap reaps
        # it: killed the other way round it is orphaned, and where no init reaps orphans (a
        # container's PID 1, a subreaper) each zombie keeps counting against the uid's
        # process limit until the slot cannot start a sandbox at all.
        if proc.poll() is None:
            for child in _children_of(proc.pid):
                try:
                    os.kill(child, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        proc.wait()
        with _LIVE_LOCK:
            _LIVE_PIDS.discard(proc.pid)
        reap_orphans()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self._drain is not None:
            self._drain.join(timeout=5)
        proc.stderr.close()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)
        if self._uid_lock is not None:
            os.close(self._uid_lock)  # releases the flock: the uid's processes are all dead by now
            self._uid_lock = None

    def __enter__(self) -> "ChildSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- talking ----------------------------------------------------------------
    @property
    def output_bytes(self) -> int:
        return self._sink.total

    @property
    def output_head(self) -> str:
        return bytes(self._sink.head).decode("utf-8", "replace")

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and wait at most ``timeout`` seconds for its reply.

        Raises ChildTimeout (child killed), ChildDied or ProtocolError (child killed).
        """
        if self._proc is None:
            self.start()
        self._next_id += 1
        message = dict(message, id=self._next_id)
        deadline = time.monotonic() + timeout
        self._write(json.dumps(message).encode() + b"\n", deadline)
        expected_steps = len(message.get("steps", []))
        steps: List[dict] = []
        received = 0
        while True:
            try:
                reply = self._read_line(deadline)
            except ChildTimeout:
                raise ChildTimeout(steps) from None
            except (ChildDied, ProtocolError) as exc:
                exc.partial = steps
                raise
            received += len(reply)
            if received > MAX_REPLY_BYTES:  # forged or runaway lines must not grow the grader without bound
                self.stop()
                raise ProtocolError(f"the child sent more than {MAX_REPLY_BYTES} bytes for one request")
            try:
                # A real reply line holds a few dozen objects; thousands of brackets can only be a
                # forgery built to make json.loads allocate gigabytes of Python objects.
                if reply.count(b"{") + reply.count(b"[") > MAX_BRACKETS_PER_LINE:
                    raise ValueError("too many nested or repeated objects")
                decoded = json.loads(reply)
            except Exception:  # noqa: BLE001 - ValueError, RecursionError (a depth bomb), MemoryError ...
                self.stop()
                exc = ProtocolError("the child sent a reply that is not valid JSON")
                exc.partial = steps
                raise exc from None
            if not isinstance(decoded, dict) or decoded.get("id") != self._next_id:
                continue  # a stale or forged line: ignore it and keep waiting for ours
            if "step" in decoded:
                # Only the next expected step is taken, and never more steps than were asked for.
                if decoded.get("step") == len(steps) < expected_steps and isinstance(decoded.get("record"), dict):
                    steps.append(decoded["record"])
                continue
            decoded["steps"] = steps
            return decoded

    def _ready(self, selector, deadline: float) -> bool:
        """Wait (at most a second) for the pipe; past ``deadline`` kill the child and raise ChildTimeout."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.stop()
            raise ChildTimeout()
        return bool(selector.select(min(remaining, 1.0)))

    def _write(self, data: bytes, deadline: float) -> None:
        """Write a request without ever blocking past ``deadline`` (a child may stop reading its stdin)."""
        stream = self._proc.stdin
        fd = stream.fileno()
        os.set_blocking(fd, False)
        view = memoryview(data)
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_WRITE)
            while view:
                if not self._ready(selector, deadline):
                    continue
                try:
                    written = os.write(fd, view)
                except BlockingIOError:
                    continue
                except (BrokenPipeError, OSError):
                    detail = self._death_detail()
                    self.stop()
                    raise ChildDied(detail) from None
                view = view[written:]

    def _read_line(self, deadline: float) -> bytes:
        stream = self._proc.stdout
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while True:
                newline = self._buffer.find(b"\n", self._scanned)
                if newline >= 0:
                    break
                self._scanned = len(self._buffer)  # never rescan what was already searched
                if not self._ready(selector, deadline):
                    continue
                chunk = stream.read(1 << 20)
                if chunk is None:
                    continue
                if not chunk:
                    detail = self._death_detail()
                    self.stop()
                    raise ChildDied(detail)
                self._buffer += chunk
                if len(self._buffer) > MAX_REPLY_BYTES:
                    self.stop()
                    raise ProtocolError(f"the child's reply exceeded {MAX_REPLY_BYTES} bytes")
        line = bytes(self._buffer[:newline])
        del self._buffer[: newline + 1]
        self._scanned = 0
        return line

    def _death_detail(self) -> str:
        proc = self._proc
        if proc is None:
            return "the child is gone"
        try:
            code = proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the child closed its reply channel"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the child was killed by {name}"
        if code > 128:  # bubblewrap reports a signal-killed command as 128 + signal number
            try:
                return f"the child was killed by {signal.Signals(code - 128).name} (exit status {code})"
            except ValueError:
                pass
        return f"the child exited with status {code}"


def decode_array(text: object) -> np.ndarray:
    """Decode one base64 ``.npy`` from the child, refusing anything but a plain numeric array."""
    if not isinstance(text, str):
        raise ProtocolError("an array field is not a string")
    if len(text) > MAX_REPLY_BYTES:
        raise ProtocolError("an array is too large")
    try:
        raw = base64.b64decode(text, validate=True)
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any malformed payload is the child's fault
        raise ProtocolError(f"an array could not be decoded: {exc}") from None
    if not isinstance(array, np.ndarray) or type(array) is not np.ndarray:
        raise ProtocolError("an array payload did not decode to an ndarray")
    if array.dtype.kind not in "biuf" or array.size > MAX_ARRAY_ELEMENTS:
        raise ProtocolError(f"an array has dtype {array.dtype} / size {array.size}, not a numeric array")
    return array


def encode_array(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
