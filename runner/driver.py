"""Every call into student code goes through :class:`Driver`, which returns frozen records.

The driver speaks the reference's language (NCHW arrays, roles ``x``, ``y``,
``W``, ``b``); the profile converts to and from the course's layout; the
child executes. A timeout or a death restarts the child (and reloads the
submission) so that one hang costs one call, and after repeated timeouts in a
layer its remaining calls are not run at all, so that one hanging method
cannot eat the batch's time.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from checks.model import OUTPUT_ROLES, CallRecord, LayerConfig, Output
from runner.sandbox import ChildDied, ChildSession, ChildTimeout, ProtocolError, decode_array, encode_array
from runner.source import PreparedSubmission

TIMEOUTS_BEFORE_GIVING_UP = 2

Step = Tuple  # ("construct",) | ("set_params", {key: array}) | ("call", method, {arg: array}, watch?)


@dataclass(frozen=True)
class LoadRecord:
    ok: bool
    error: Optional[str] = None
    traceback: str = ""
    seconds: float = 0.0
    compat_applied: Tuple[str, ...] = ()


_CONTROL = {c: " " for c in range(32) if c not in (9, 10)}


def clean_text(value: object, limit: int = 500) -> str:
    """Text from the child, made safe for reports: bounded, no control characters, no lone surrogates."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[: limit // 2] + " … " + text[-limit // 2:]
    return text.translate(_CONTROL).encode("utf-8", "backslashreplace").decode("utf-8")


def describe_error(error: dict) -> str:
    """``Type: message`` of an exception the child reported, bounded (a class name can be megabytes long)."""
    return f"{clean_text(error.get('type', 'Error'), 100)}: {clean_text(error.get('message', ''), 500)}"


def _step_name(step: Step) -> str:
    return step[1] if step[0] == "call" else step[0]


class Driver:
    def __init__(self, session: ChildSession, profile, prepared: PreparedSubmission,
                 request_timeout: float, budget_seconds: float):
        self.session = session
        self.profile = profile
        self.prepared = prepared
        self.request_timeout = request_timeout
        self.deadline = time.monotonic() + budget_seconds
        self.timeouts: Dict[Tuple[str, str], int] = {}
        self.load_record: Optional[LoadRecord] = None
        self.restarts = 0

    # -- loading ------------------------------------------------------------
    def _load_message(self) -> dict:
        folder = self.session.path_inside(str(self.prepared.folder))
        return {
            "op": "load",
            "source_dir": folder,
            "modules": {name: f"{folder}/{file}" for name, file in self.prepared.modules.items()},
            "adapter": f"{self.session.grader_path}/adapter.py",
            "compat": list(self.prepared.compat),
            "forbidden": list(self.profile.forbidden_imports),
        }

    def load(self) -> LoadRecord:
        start = time.monotonic()
        try:
            reply = self.session.request(self._load_message(), timeout=self.request_timeout)
        except ChildTimeout:
            self.load_record = LoadRecord(False, f"importing the submission took longer than {self.request_timeout:g} s", seconds=time.monotonic() - start)
            return self.load_record
        except (ChildDied, ProtocolError) as exc:
            self.load_record = LoadRecord(False, f"importing the submission killed the interpreter ({exc})", seconds=time.monotonic() - start)
            return self.load_record
        if reply.get("ok") is True:
            applied = reply.get("compat_applied", [])
            self.load_record = LoadRecord(True, seconds=time.monotonic() - start,
                                          compat_applied=tuple(str(a) for a in applied) if isinstance(applied, list) else ())
        else:
            error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
            self.load_record = LoadRecord(False, describe_error(error), clean_text(error.get("traceback", ""), 4000),
                                          time.monotonic() - start)
        return self.load_record

    # -- running ------------------------------------------------------------
    def run(self, cfg: LayerConfig, steps: Sequence[Step], rng_seed: int) -> List[CallRecord]:
        """Run ``steps`` on a fresh instance of ``cfg``'s layer; one record per ``call`` step."""
        calls = [s for s in steps if s[0] == "call"]
        if self.load_record is None or not self.load_record.ok:
            why = self.load_record.error if self.load_record else "the submission was not loaded"
            return [CallRecord(s[1], "not_run", error=why) for s in calls]
        remaining = self.deadline - time.monotonic()
        if remaining <= 1:
            return [CallRecord(s[1], "timeout", error="not run: the submission's time budget is used up") for s in calls]
        # A step that already hung twice in this layer is not run again: cut the request just before it.
        cut = next((i for i, s in enumerate(steps) if self.timeouts.get((cfg.layer, _step_name(s)), 0)
                    >= TIMEOUTS_BEFORE_GIVING_UP), len(steps))
        skipped = [CallRecord(s[1], "timeout", error=f"not run: {cfg.layer} {_step_name(steps[cut])} already timed out "
                              f"{TIMEOUTS_BEFORE_GIVING_UP} times") for s in steps[cut:] if s[0] == "call"]
        if cut < len(steps):
            if not any(s[0] == "call" for s in steps[:cut]):
                return skipped
            steps = steps[:cut]

        arrays: Dict[str, str] = {}
        sent: Dict[str, np.ndarray] = {}
        wire_steps = []

        def put(role: str, array: np.ndarray) -> str:
            name = f"a{len(arrays) + 1}"
            student = np.ascontiguousarray(self.profile.to_student(role, array, cfg))
            arrays[name] = encode_array(student)
            sent[name] = student
            return name

        arg_roles = {"x": "x", "dy": "y", "W": "W", "b": "b", "dW": "W", "db": "b"}
        for step in steps:
            if step[0] == "construct":
                wire_steps.append({"do": "construct"})
            elif step[0] == "set_params":
                wire_steps.append({"do": "set_params", "params": {k: put(arg_roles[k], v) for k, v in step[1].items()}})
            else:
                _, method, args = step[:3]
                names = {k: put(arg_roles[k], v) for k, v in args.items()}
                wire_steps.append({"do": "call", "method": method, "args": names, "watch": list(names)})
        message = {
            "op": "run",
            "layer": cfg.layer,
            "config": {"ctor_args": list(cfg.ctor_args)},
            "rng_seed": rng_seed,
            "arrays": arrays,
            "steps": wire_steps,
        }
        timeout = min(self.request_timeout, remaining)
        try:
            reply = self._request(message, timeout)
        except ChildTimeout as exc:
            partial = exc.partial
            if len(partial) < len(wire_steps):
                hung_index = len(partial)
                why = "no answer within {:.0f} s (killed)"
            else:  # every step answered, then it hung before the final reply (e.g. in __del__)
                hung_index = max(i for i, w in enumerate(wire_steps) if w["do"] == "call")
                partial = partial[:hung_index]
                why = "returned, then hung for {:.0f} s (e.g. in __del__) and was killed"
            hung = wire_steps[hung_index]
            hung_name = hung.get("method") or hung["do"]
            key = (cfg.layer, hung_name)
            self.timeouts[key] = self.timeouts.get(key, 0) + 1
            reply = {"ok": True, "steps": partial,
                     "hung": {"index": hung_index, "error": f"{hung_name}: " + why.format(timeout)}}
        except (ChildDied, ProtocolError) as exc:
            reply = {"ok": True, "steps": getattr(exc, "partial", []), "died": clean_text(str(exc))}
        try:
            records = self._records(cfg, wire_steps, reply, sent)
        except Exception as exc:  # noqa: BLE001 - any malformed reply is the child's fault, never the grader's
            records = [CallRecord(s["method"], "crash", error=f"the child sent a malformed reply ({type(exc).__name__})")
                       for s in wire_steps if s["do"] == "call"]
        return records + skipped

    def _request(self, message: dict, timeout: float) -> dict:
        if self.session._proc is None:  # restarted after a timeout or death: reload first
            self.restarts += 1
            self.load()
            if not self.load_record.ok:
                raise ChildDied(f"the submission failed to reload: {self.load_record.error}")
        try:
            return self.session.request(message, timeout=timeout)
        except (ChildTimeout, ChildDied, ProtocolError):
            self.session.stop()
            raise

    def _records(self, cfg, wire_steps, reply, sent) -> List[CallRecord]:
        step_replies = reply.get("steps") if isinstance(reply, dict) else None
        if reply.get("ok") is not True or not isinstance(step_replies, list):
            error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
            why = describe_error(error) if error else "the child could not run the request"
            return [CallRecord(s["method"], "error", error=why) for s in wire_steps if s["do"] == "call"]
        records: List[CallRecord] = []
        failed: Optional[CallRecord] = None
        for index, step in enumerate(wire_steps):
            answer = step_replies[index] if index < len(step_replies) and isinstance(step_replies[index], dict) else None
            if step["do"] != "call":
                if answer and answer.get("error") and failed is None:
                    failed = self._error_record(f"{step['do']}", answer)
                elif answer is None and failed is None and ("hung" in reply or "died" in reply):
                    hung = "hung" in reply and index == reply["hung"]["index"]
                    failed = CallRecord(step["do"], "timeout" if "hung" in reply else "crash",
                                        error=reply["hung"]["error"] if hung else reply.get("died", "not reached"))
                continue
            if failed is not None:
                status = failed.status if failed.status in ("timeout", "crash") else "error"
                records.append(CallRecord(step["method"], status, error=f"not reached: {failed.method} failed: {failed.error}",
                                          traceback=failed.traceback))
                continue
            if answer is None:
                if "hung" in reply and index == reply["hung"]["index"]:
                    failed = CallRecord(step["method"], "timeout", error=reply["hung"]["error"])
                    records.append(failed)
                elif "hung" in reply and index > reply["hung"]["index"]:
                    records.append(CallRecord(step["method"], "timeout", error="not reached: an earlier call timed out"))
                elif "died" in reply:
                    failed = CallRecord(step["method"], "crash", error=reply["died"])
                    records.append(failed)
                else:
                    records.append(CallRecord(step["method"], "error", error="no result for this call"))
                continue
            if answer.get("error"):
                failed = self._error_record(step["method"], answer)
                records.append(failed)
                continue
            outputs = {}
            raw_outputs = answer.get("outputs") if isinstance(answer.get("outputs"), dict) else {}
            for name, payload in raw_outputs.items():
                if name in OUTPUT_ROLES:
                    outputs[name] = self._output(cfg, name, payload)
            watched = answer.get("watched") if isinstance(answer.get("watched"), dict) else {}
            mutated = []
            for arg, wire_name in step["args"].items():
                try:
                    after = decode_array(watched.get(arg))
                except ProtocolError:
                    continue
                before = sent[wire_name]
                if after.shape != before.shape or not np.array_equal(after, before, equal_nan=True):
                    mutated.append(arg)
            seconds = answer.get("seconds")
            seconds = float(seconds) if isinstance(seconds, (int, float)) and abs(seconds) < 1e9 else 0.0
            records.append(CallRecord(step["method"], "ok", outputs, tuple(mutated), seconds=seconds))
        return records

    @staticmethod
    def _error_record(method: str, answer: dict) -> CallRecord:
        error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
        return CallRecord(method, "error", error=describe_error(error), traceback=clean_text(error.get("traceback", ""), 4000))

    def _output(self, cfg: LayerConfig, name: str, payload) -> Output:
        if isinstance(payload, dict):
            error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
            return Output((), "", None, clean_text(error.get("message", "unusable result"), 300))
        try:
            array = decode_array(payload)
        except ProtocolError as exc:
            return Output((), "", None, str(exc))
        role = OUTPUT_ROLES[name]
        expected_shape = self.profile.student_shape(role, cfg)
        raw_shape, raw_dtype = tuple(array.shape), str(array.dtype)
        if raw_dtype not in self.profile.allowed_dtypes:
            return Output(raw_shape, raw_dtype, None, f"dtype {raw_dtype}; expected one of {', '.join(self.profile.allowed_dtypes)}")
        if raw_shape != tuple(expected_shape):
            return Output(raw_shape, raw_dtype, None, f"shape {raw_shape}, expected {tuple(expected_shape)}")
        value = np.asarray(self.profile.from_student(role, array, cfg), dtype=np.float64)
        if not np.all(np.isfinite(value)):
            return Output(raw_shape, raw_dtype, value, "contains NaN or infinity")
        return Output(raw_shape, raw_dtype, value)
