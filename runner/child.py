"""The child side of the sandbox: runs student code, returns arrays. Computes nothing.

This file is copied into the sandbox on its own (with the profile's adapter);
it imports only the standard library and numpy, and it knows nothing of the
grader, the reference or the tests. Everything it sends back is untrusted data
to the parent, which validates and judges it.

Protocol: one JSON object per line. Requests arrive on stdin; replies leave on
a private duplicate of the original stdout, taken before any student code
runs; fd 1 and fd 2 then both point at the parent's capped output pipe, so a
student's prints never mix with replies. Arrays travel as base64 ``.npy`` bytes
(never pickles).

Requests:
    {"id", "op": "load", "modules": [...], "adapter": path, "compat": [...], "forbidden": [...]}
    {"id", "op": "run", "layer", "config", "rng_seed", "arrays": {name: npy-b64}, "steps": [...]}
A step is {"do": "construct"} | {"do": "set_params", "params": {k: array-name}}
          | {"do": "call", "method", "args": {k: array-name}, "watch": [array-name...]}
Replies: for "run", one line per finished step, streamed as it finishes,
    {"id", "step": i, "record": {"outputs": {name: npy-b64 | {"error": ...}}, "watched": {...},
                                 "error": None | {...}, "seconds"}}
then a final {"id", "ok", "steps_done"} (or {"id", "ok": false, "error"}).
"""
import base64
import builtins
import importlib.abc
import importlib.util
import io
import json
import os
import random
import sys
import time
import traceback

MAX_TRACEBACK_CHARS = 4000


def _describe_error(exc):
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"type": type(exc).__name__, "message": str(exc)[:1000], "traceback": tb[-MAX_TRACEBACK_CHARS:]}


class ForbiddenImportBlocker(importlib.abc.MetaPathFinder):
    """Makes ``import torch`` (or whatever the profile forbids) fail with a plain message."""

    def __init__(self, forbidden):
        self.forbidden = set(forbidden)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.forbidden:
            raise ImportError(f"import of {fullname!r} is forbidden by this assignment (grader policy)")
        return None


def _apply_compat(np, compat):
    applied = []
    if "numpy_aliases" in compat:
        # Aliases removed from NumPy 1.24+; old course code still uses them.
        for name, value in (("int", int), ("float", float), ("bool", bool), ("object", object),
                            ("complex", complex), ("str", str), ("long", int), ("unicode", str)):
            if name not in np.__dict__:
                setattr(np, name, value)
                applied.append("np." + name)
    if "xrange" in compat:
        builtins.xrange = range
        applied.append("xrange")
    return applied


class Child:
    def __init__(self, reply_stream):
        self.reply_stream = reply_stream
        self.modules = {}
        self.adapter = None
        self.np = None

    def reply(self, message):
        self.reply_stream.write(json.dumps(message) + "\n")
        self.reply_stream.flush()

    # -- arrays -------------------------------------------------------------
    def decode(self, text):
        return self.np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)

    def encode(self, value):
        np = self.np
        if isinstance(value, np.ndarray):
            value = np.asarray(value)  # strips ndarray subclasses; the parent re-validates anyway
        elif isinstance(value, (list, tuple, int, float, np.generic)) and not isinstance(value, bool):
            value = np.asarray(value)
        else:
            return {"error": {"type": "TypeError", "message": f"returned a {type(value).__name__}, not an array"}}
        if value.dtype.kind not in "biuf":
            return {"error": {"type": "TypeError", "message": f"returned an array of dtype {value.dtype}, not numbers"}}
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(value), allow_pickle=False)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    # -- requests -----------------------------------------------------------
    def load(self, request):
        import numpy as np  # the student's numpy, imported here so its cost is paid once

        self.np = np
        applied = _apply_compat(np, request.get("compat", []))
        sys.meta_path.insert(0, ForbiddenImportBlocker(request.get("forbidden", [])))
        spec = importlib.util.spec_from_file_location("grader_adapter", request["adapter"])
        self.adapter = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.adapter)
        sys.path.insert(0, request["source_dir"])
        loaded = {}
        for module_name, path in request["modules"].items():
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            start = time.perf_counter()
            spec.loader.exec_module(module)
            loaded[module_name] = {"seconds": time.perf_counter() - start,
                                   "names": sorted(n for n in vars(module) if not n.startswith("__"))[:500]}
            self.modules[module_name] = module
        return {"ok": True, "modules": loaded, "compat_applied": applied}

    def run(self, request, emit):
        np = self.np
        seed = int(request.get("rng_seed", 0))
        np.random.seed(seed % 2**32)  # student code that draws random numbers stays deterministic
        random.seed(seed)
        arrays = {name: self.decode(text) for name, text in request.get("arrays", {}).items()}
        layer_name, config = request["layer"], request["config"]
        layer = None
        done = 0
        for index, step in enumerate(request["steps"]):
            record = {"outputs": {}, "watched": {}, "error": None, "seconds": 0.0}
            start = time.perf_counter()
            try:
                kind = step["do"]
                if kind == "construct":
                    layer = self.adapter.construct(self.modules, layer_name, config)
                elif kind == "set_params":
                    params = {key: arrays[name].copy() for key, name in step["params"].items()}
                    self.adapter.set_params(layer, layer_name, config, params)
                elif kind == "call":
                    # Each call gets its own copies, so a mutation can be seen afterwards
                    # and cannot leak into the next call.
                    args = {key: arrays[name].copy() for key, name in step["args"].items()}
                    outputs = self.adapter.call(layer, layer_name, config, step["method"], args)
                    record["seconds"] = time.perf_counter() - start
                    for name, value in (outputs or {}).items():
                        record["outputs"][name] = self.encode(value)
                    for key in step.get("watch", []):
                        record["watched"][key] = self.encode(args[key])
                else:
                    raise ValueError(f"unknown step {kind!r}")
            except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are verdicts too
                record["seconds"] = time.perf_counter() - start
                record["error"] = _describe_error(exc)
            # Stream each step's result as soon as it exists: if a later step hangs,
            # the parent still has everything before it.
            emit({"id": request.get("id"), "step": index, "record": record})
            done += 1
            if record["error"] is not None:
                break
        return {"ok": True, "steps_done": done}


def main():
    # Keep a private channel for replies, then send fd 1 and fd 2 to the output pipe.
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    reply_stream = os.fdopen(reply_fd, "w", encoding="utf-8")
    sys.stdout = sys.stderr
    child = Child(reply_stream)
    child.reply({"id": 0, "ready": True})  # before any student code: the parent tells a failed start from a crash
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        try:
            if request["op"] == "run":
                reply = child.run(request, child.reply)
            elif request["op"] == "load":
                reply = child.load(request)
            else:
                raise ValueError(f"unknown op {request['op']!r}")
        except BaseException as exc:  # noqa: BLE001 - report, keep serving
            reply = {"ok": False, "error": _describe_error(exc)}
        reply["id"] = request.get("id")
        try:
            child.reply(reply)
        except BaseException:  # noqa: BLE001 - the reply channel itself is gone
            os._exit(3)


if __name__ == "__main__":
    main()
