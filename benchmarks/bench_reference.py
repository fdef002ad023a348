#!/usr/bin/env python
"""Benchmark the NumPy reference layers against torch, side by side.

    .venv/bin/python benchmarks/bench_reference.py [--threads N] [--repeats R] [--target-ms T] [--budget-s B]

Measures, in one run and on the same thread count, float64 forward+backward of

    conv2d     reference.conv2d_forward + conv2d_backward   vs  F.conv2d + autograd
    maxpool2d  reference.maxpool2d_forward + _backward      vs  F.max_pool2d + autograd

at two sizes (the hw4 course size and a larger one), then shows where the
reference spends its time, stage by stage.

Method: every callable is warmed up, then timed as a loop of ``number`` calls
(``number`` calibrated so one loop lasts about ``--target-ms``); the figure is
the minimum over ``--repeats`` rounds, per call (a table that has used up
``--budget-s`` stops after 3 rounds, so a loaded machine still finishes in
under 2 minutes). Each round runs one loop of every callable of the table,
round-robin (order reversed every other round), so machine noise hits
reference and torch alike. The garbage collector is off during the timed
loops (one collection before each table). As a noise check, each table
prints fwd+bwd / (fwd + bwd) for both sides, which should be close to 1.

Threads: ``torch.set_num_threads(N)``; numpy's BLAS is limited with
threadpoolctl when it is importable, else by the usual environment variables,
set before numpy is imported. The output says which was used and, where the
loaded OpenBLAS can be asked, the thread count it reports. OPENBLAS_CORETYPE
and friends are left as the machine has them (and printed).

The last two lines are, exactly,

    conv2d fwd+bwd reference/torch = R
    maxpool2d fwd+bwd reference/torch = R

with R the geometric mean of the reference/torch time ratio over the two sizes.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLAS_ENV_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
OPENBLAS_TUNING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="threads for torch and numpy's BLAS (default 1)")
    p.add_argument("--repeats", type=int, default=11, help="timed loops per callable; the minimum is reported (default 11)")
    p.add_argument("--target-ms", type=float, default=15.0, help="approximate duration of one timed loop (default 15)")
    p.add_argument("--budget-s", type=float, default=20.0,
                   help="per-table time budget; past it a table stops after 3 rounds (default 20, keeps the run under 2 minutes)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.target_ms <= 0 or args.budget_s <= 0:
        p.error("--threads and --repeats must be >= 1, --target-ms and --budget-s > 0")
    return args


# ---------------------------------------------------------------------------
# Thread control. Must run before numpy (or anything importing it) is imported.


def limit_numpy_threads_before_import(n: int):
    """Return (method, numpy_already_imported); sets the env vars when threadpoolctl is missing."""
    already = "numpy" in sys.modules
    if importlib.util.find_spec("threadpoolctl") is not None:
        return "threadpoolctl", already
    previous = {v: os.environ.get(v) for v in BLAS_ENV_VARS}
    for var in BLAS_ENV_VARS:
        os.environ[var] = str(n)
    overridden = {v: old for v, old in previous.items() if old is not None and old != str(n)}
    method = "environment variables (threadpoolctl not importable): " + ", ".join(f"{v}={n}" for v in BLAS_ENV_VARS)
    if overridden:
        method += "; overrode " + ", ".join(f"{v}={old}" for v, old in overridden.items())
    return method, already


def openblas_report():
    """Ask every loaded OpenBLAS (read-only) for its thread count and core: list of strings."""
    import ctypes

    paths = []
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.rstrip("\n").split(maxsplit=5)[-1] if len(line.split()) >= 6 else ""
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:
        return ["(cannot read /proc/self/maps)"]
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            out.append(f"{os.path.basename(path)}: cannot open ({exc})")
            continue
        info = {}
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", "", "_64_"):
                for what in ("get_num_threads", "get_corename", "get_config"):
                    if what in info:
                        continue
                    try:
                        fn = getattr(lib, f"{prefix}_{what}{suffix}")
                    except AttributeError:
                        continue
                    fn.restype = ctypes.c_int if what == "get_num_threads" else ctypes.c_char_p
                    value = fn()
                    info[what] = value.decode() if isinstance(value, bytes) else value
        out.append(
            f"{os.path.basename(path)}: threads={info.get('get_num_threads', '?')} "
            f"core={info.get('get_corename', '?')} ({info.get('get_config', '?')})"
        )
    return out or ["(no OpenBLAS loaded)"]


# ---------------------------------------------------------------------------
# Timing.


def _calibrate(fn, target_s: float) -> int:
    """Calls per timed loop so that one loop lasts about ``target_s`` (warms ``fn`` up too)."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    if one < target_s / 5:
        # Re-estimate over a few calls, to get past first-call effects.
        k = max(2, min(50, int(0.2 * target_s / max(one, 1e-7))))
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        one = (time.perf_counter() - t0) / k
    return max(1, int(round(target_s / max(one, 1e-7))))


def measure(fns, repeats: int, target_ms: float, budget_s: float):
    """Min over interleaved timed loops of each callable → ({name: seconds per call}, rounds done).

    Runs ``repeats`` rounds, or fewer (at least 3) once ``budget_s`` is spent.
    """
    names = list(fns)
    start = time.perf_counter()
    numbers = {name: _calibrate(fns[name], target_ms / 1e3) for name in names}
    best = {name: math.inf for name in names}
    # One collection up front, then the collector stays off for the whole
    # measurement (a full collection costs ~0.1 s once torch is imported).
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    rounds = 0
    try:
        for r in range(repeats):
            if r >= 3 and time.perf_counter() - start > budget_s:
                break
            for name in names if r % 2 == 0 else names[::-1]:
                fn, number = fns[name], numbers[name]
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                best[name] = min(best[name], (time.perf_counter() - t0) / number)
            rounds += 1
    finally:
        if gc_was_enabled:
            gc.enable()
    return best, rounds


def _loadavg():
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return "n/a"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.3f}"


def print_table(title, rows, note=None):
    """rows: (label, ref_s, torch_s or None)."""
    print(title)
    width = max(len(r[0]) for r in rows)
    print(f"  {'':{width}}  {'reference ms':>12}  {'torch ms':>9}  {'ratio':>6}")
    for label, ref_s, torch_s in rows:
        t = ms(torch_s) if torch_s is not None else f"{'':9}"
        ratio = f"{ref_s / torch_s:6.2f}" if torch_s else f"{'':6}"
        print(f"  {label:{width}}  {ms(ref_s):>12}  {t}  {ratio}")
    if note:
        print(f"  {note}")


def _consistency(t):
    """Noise check: fwd+bwd should be close to fwd + bwd, on both sides."""
    parts = []
    noisy = False
    for side in ("ref", "torch"):
        q = t[f"{side} fwd+bwd"] / (t[f"{side} fwd"] + t[f"{side} bwd"])
        noisy |= not 0.8 <= q <= 1.25
        parts.append(f"{'reference' if side == 'ref' else 'torch'} {q:.2f}")
    print("  check fwd+bwd / (fwd + bwd): " + ", ".join(parts)
          + ("  -- WARNING: far from 1, the machine was noisy; rerun" if noisy else ""))


def print_breakdown(title, rows, total_s):
    """rows: (label, seconds, indent). Warns when the top-level stages stop adding up."""
    print(title)
    top = sum(r[1] for r in rows if r[2] == 0)
    if not 0.75 <= top / total_s <= 1.33:
        print("    WARNING: the stages do not add up to the measured total: the reference no longer makes these calls "
              "(update the stage list in this script) or the machine was noisy")
    width = max(len(("  " * r[2]) + r[0]) for r in rows)
    for label, seconds, indent in rows:
        text = ("  " * indent) + label
        print(f"    {text:{width}}  {ms(seconds)} ms  {100 * seconds / total_s:5.1f}%")


# ---------------------------------------------------------------------------
# Benchmarks.


def bench_conv(np, torch, F, ref, n, c, f, hw, k, rng, args):
    from reference import _windows as W
    from reference import conv as conv_mod

    x = rng.standard_normal((n, c, hw, hw))
    w = rng.standard_normal((f, c, k, k))
    b = rng.standard_normal(f)
    oh = hw - k + 1
    g = rng.standard_normal((n, f, oh, oh))

    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    wt = torch.from_numpy(w.copy()).requires_grad_(True)
    bt = torch.from_numpy(b.copy()).requires_grad_(True)
    gt = torch.from_numpy(g.copy())

    # Sanity: both sides compute the same thing.
    y_ref = ref.conv2d_forward(x, w, b)
    dx_ref, dw_ref, db_ref = ref.conv2d_backward(g, x, w)
    yt = F.conv2d(xt, wt, bt)
    yt.backward(gt)
    err = max(
        float(np.max(np.abs(y_ref - yt.detach().numpy()))),
        float(np.max(np.abs(dx_ref - xt.grad.numpy()))),
        float(np.max(np.abs(dw_ref - wt.grad.numpy()))),
        float(np.max(np.abs(db_ref - bt.grad.numpy()))),
    )

    def ref_fwd():
        ref.conv2d_forward(x, w, b)

    def ref_bwd():
        ref.conv2d_backward(g, x, w)

    def ref_both():
        ref.conv2d_forward(x, w, b)
        ref.conv2d_backward(g, x, w)

    def torch_fwd():
        F.conv2d(xt, wt, bt)  # with autograd on: records the graph, as in training

    y_keep = F.conv2d(xt, wt, bt)

    def torch_bwd():
        torch.autograd.grad(y_keep, (xt, wt, bt), gt, retain_graph=True)

    def torch_both():
        xt.grad = wt.grad = bt.grad = None
        F.conv2d(xt, wt, bt).backward(gt)

    fns = {
        "ref fwd+bwd": ref_both, "torch fwd+bwd": torch_both,
        "ref fwd": ref_fwd, "torch fwd": torch_fwd,
        "ref bwd": ref_bwd, "torch bwd": torch_bwd,
    }

    # Stage breakdown: the calls reference/conv.py makes, in its order, one at a time.
    # conv2d_forward: geometry + pad + window view, _im2col (contiguous (C*KH*KW, N*OH*OW)
    # copy), one matmul, reshape + bias add, NCHW copy. conv2d_backward redoes geometry +
    # pad + window view + _im2col, copies dy to (F, N*OH*OW), then dW = dy @ cols.T,
    # db = dy.sum, window grads = W^T @ dy, scatter_windows, unpad copy.
    stages = None
    try:
        stride, pad, dil, out_hw = conv_mod._geometry(x.shape, w.shape, 1, 0, 1)
        x_p = W.pad_hw(x, pad)
        view = W.windows(x_p, w.shape[2:], stride, dil, out_hw)
        cols = conv_mod._im2col(view)  # (C*KH*KW, N*OH*OW)
        m = n * oh * oh
        kk = c * k * k
        w2 = w.reshape(f, -1)
        y_mat = w2 @ cols  # (F, N*OH*OW)
        y_fn = y_mat.reshape((f, n) + out_hw)
        y_b = y_fn + b.reshape(-1, 1, 1, 1)
        dy = g.transpose(1, 0, 2, 3).reshape(f, -1)  # (F, N*OH*OW)
        wg = (w2.T @ dy).reshape(w.shape[1:] + (n,) + out_hw)  # (C, KH, KW, N, OH, OW)
        dxp = W.scatter_windows(wg.transpose(3, 0, 4, 5, 1, 2), x_p.shape, stride, dil)

        def s_geom():
            conv_mod._geometry(x.shape, w.shape, 1, 0, 1)
            W.windows(W.pad_hw(x, pad), w.shape[2:], stride, dil, out_hw)

        def s_im2col():
            conv_mod._im2col(view)

        def s_fwd_gemm():
            w.reshape(f, -1) @ cols

        def s_fwd_bias():
            y_mat.reshape((f, n) + out_hw) + b.reshape(-1, 1, 1, 1)

        def s_fwd_nchw():
            np.ascontiguousarray(y_b.transpose(1, 0, 2, 3))

        def s_dy_copy():
            g.transpose(1, 0, 2, 3).reshape(f, -1)

        def s_dw_gemm():
            (dy @ cols.T).reshape(w.shape)

        def s_db():
            g.sum(axis=(0, 2, 3))

        def s_dx_gemm():
            (w.reshape(f, -1).T @ dy).reshape(w.shape[1:] + (n,) + out_hw)

        def s_scatter():
            W.scatter_windows(wg.transpose(3, 0, 4, 5, 1, 2), x_p.shape, stride, dil)

        def s_unpad():
            np.ascontiguousarray(W.unpad_hw(dxp, pad))

        stages = {
            "geometry + pad + window view": s_geom,
            "im2col": s_im2col,
            "fwd GEMM": s_fwd_gemm,
            "fwd bias": s_fwd_bias,
            "fwd NCHW copy": s_fwd_nchw,
            "dy copy": s_dy_copy,
            "dW GEMM": s_dw_gemm,
            "db sum": s_db,
            "dx GEMM": s_dx_gemm,
            "dx scatter_windows": s_scatter,
            "dx unpad copy": s_unpad,
        }
        fns.update({"stage " + name: fn for name, fn in stages.items()})
    except Exception as exc:  # the breakdown mirrors internals; never let it sink the headline
        print(f"  (conv stage breakdown unavailable: {type(exc).__name__}: {exc})")
        stages = None

    t, rounds = measure(fns, args.repeats, args.target_ms, args.budget_s)
    title = f"conv2d  N={n}  C={c}->F={f}  {hw}x{hw}  k={k}x{k}  stride 1 pad 0  float64  (max |ref-torch| = {err:.1e}; {rounds} rounds)"
    print_table(
        title,
        [
            ("forward", t["ref fwd"], t["torch fwd"]),
            ("backward (dx, dW, db)", t["ref bwd"], t["torch bwd"]),
            ("forward + backward", t["ref fwd+bwd"], t["torch fwd+bwd"]),
        ],
        note="torch forward is timed with autograd recording; torch backward is autograd.grad on a retained graph.",
    )
    _consistency(t)
    if stages is not None:
        s = {name: t["stage " + name] for name in stages}
        tot = t["ref fwd+bwd"]
        rows = [
            ("forward", s["geometry + pad + window view"] + s["im2col"] + s["fwd GEMM"] + s["fwd bias"] + s["fwd NCHW copy"], 0),
            ("geometry + pad + window view", s["geometry + pad + window view"], 1),
            (f"_im2col copy -> ({c * k * k}x{n * oh * oh})", s["im2col"], 1),
            (f"GEMM ({f}x{c * k * k}) @ ({c * k * k}x{n * oh * oh})", s["fwd GEMM"], 1),
            ("reshape + bias add", s["fwd bias"], 1),
            ("NCHW transpose + ascontiguousarray", s["fwd NCHW copy"], 1),
            ("backward: shared setup", s["geometry + pad + window view"] + s["im2col"] + s["dy copy"], 0),
            ("geometry + pad + window view", s["geometry + pad + window view"], 1),
            (f"_im2col copy -> ({c * k * k}x{n * oh * oh})", s["im2col"], 1),
            (f"dy transpose copy -> ({f}x{n * oh * oh})", s["dy copy"], 1),
            ("dW + db", s["dW GEMM"] + s["db sum"], 0),
            (f"GEMM dy @ cols.T ({f}x{n * oh * oh}) @ ({n * oh * oh}x{c * k * k})", s["dW GEMM"], 1),
            ("db = dy.sum", s["db sum"], 1),
            ("dx", s["dx GEMM"] + s["dx scatter_windows"] + s["dx unpad copy"], 0),
            (f"GEMM W^T @ dy ({c * k * k}x{f}) @ ({f}x{n * oh * oh}) -> window grads", s["dx GEMM"], 1),
            (f"scatter_windows ({k * k} strided slice-adds)", s["dx scatter_windows"], 1),
            ("unpad + ascontiguousarray", s["dx unpad copy"], 1),
        ]
        top = sum(r[1] for r in rows if r[2] == 0)
        print_breakdown(
            f"  where the reference time goes (the calls reference/conv.py makes, timed alone; % of measured fwd+bwd {ms(tot).strip()} ms; "
            f"top-level stages sum to {ms(top).strip()} ms):",
            rows,
            tot,
        )
    print()
    return t["ref fwd+bwd"] / t["torch fwd+bwd"]


def bench_pool(np, torch, F, ref, n, c, hw, k, rng, args):
    from reference import _windows as W
    from reference import pool as pool_mod

    x = rng.standard_normal((n, c, hw, hw))
    oh = (hw - k) // k + 1
    g = rng.standard_normal((n, c, oh, oh))
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    gt = torch.from_numpy(g.copy())

    y_ref = ref.maxpool2d_forward(x, k, k)
    dx_ref = ref.maxpool2d_backward(g, x, k, k)
    yt = F.max_pool2d(xt, k, k)
    yt.backward(gt)
    err = max(float(np.max(np.abs(y_ref - yt.detach().numpy()))), float(np.max(np.abs(dx_ref - xt.grad.numpy()))))

    def ref_fwd():
        ref.maxpool2d_forward(x, k, k)

    def ref_bwd():
        ref.maxpool2d_backward(g, x, k, k)

    def ref_both():
        ref.maxpool2d_forward(x, k, k)
        ref.maxpool2d_backward(g, x, k, k)

    def torch_fwd():
        F.max_pool2d(xt, k, k)

    y_keep = F.max_pool2d(xt, k, k)

    def torch_bwd():
        torch.autograd.grad(y_keep, (xt,), gt, retain_graph=True)

    def torch_both():
        xt.grad = None
        F.max_pool2d(xt, k, k).backward(gt)

    fns = {
        "ref fwd+bwd": ref_both, "torch fwd+bwd": torch_both,
        "ref fwd": ref_fwd, "torch fwd": torch_fwd,
        "ref bwd": ref_bwd, "torch bwd": torch_bwd,
    }

    # Stage breakdown: the calls reference/pool.py makes, in its order, one at a time.
    # maxpool2d_forward: geometry + pad + window_offsets, _window_max (a copy of the first
    # kernel offset, then one in-place np.maximum per further offset). maxpool2d_backward
    # redoes all of that, checks for NaN, then builds the first-winner masks and the
    # window gradients one kernel offset at a time, scatter_windows, unpad copy.
    stages = None
    try:
        kernel, stride, pad, dil, out_hw = pool_mod._geometry(x.shape, k, k, 0, 1)
        x_p = W.pad_hw(x, pad, -np.inf)
        offsets = W.window_offsets(kernel, stride, dil, out_hw)
        best = pool_mod._window_max(x_p, offsets)
        dtype = np.result_type(g, x)
        nan_wins = np.issubdtype(best.dtype, np.inexact) and bool(np.isnan(best).any())
        win_list = [x_p[index] == best for index in offsets]
        scratch = np.empty(best.shape, dtype=bool)
        wg_all = np.empty((len(offsets),) + best.shape, dtype=dtype)
        wg6 = wg_all.reshape(kernel + best.shape).transpose(2, 3, 4, 5, 0, 1)
        dxp = W.scatter_windows(wg6, x_p.shape, stride, dil)

        def s_geom():
            kern, st, pd, dl, ohw = pool_mod._geometry(x.shape, k, k, 0, 1)
            W.pad_hw(x, pd, -np.inf)
            W.window_offsets(kern, st, dl, ohw)

        def s_wmax():
            pool_mod._window_max(x_p, offsets)

        def s_wmax_copy():
            x_p[offsets[0]].copy()

        def s_wmax_maximum():
            out = scratch_f
            for index in offsets[1:]:
                np.maximum(out, x_p[index], out=out)

        scratch_f = best.copy()

        def s_nan():
            np.issubdtype(best.dtype, np.inexact) and bool(np.isnan(best).any())

        def s_winners():
            # the per-offset loop of maxpool2d_backward, as written there (ties='first')
            taken = np.zeros(best.shape, dtype=bool)
            window_grads = np.empty((len(offsets),) + best.shape, dtype=dtype)
            for kk, index in enumerate(offsets):
                winners = x_p[index] == best
                if nan_wins:
                    winners |= np.isnan(x_p[index])
                winners &= ~taken
                taken |= winners
                window_grads[kk] = winners * g

        def s_cmp():
            for index in offsets:
                x_p[index] == best

        def s_first():
            taken = np.zeros(best.shape, dtype=bool)
            for winners in win_list:
                np.bitwise_and(winners, ~taken, out=scratch)
                taken |= scratch

        def s_mul():
            for kk, winners in enumerate(win_list):
                wg_all[kk] = winners * g

        def s_scatter():
            W.scatter_windows(wg_all.reshape(kernel + best.shape).transpose(2, 3, 4, 5, 0, 1), x_p.shape, stride, dil)

        def s_unpad():
            np.ascontiguousarray(W.unpad_hw(dxp, pad))

        stages = {
            "geom": s_geom, "wmax": s_wmax, "wmax copy": s_wmax_copy, "wmax maximum": s_wmax_maximum,
            "nan": s_nan, "winners": s_winners, "cmp": s_cmp, "first": s_first, "mul": s_mul,
            "scatter": s_scatter, "unpad": s_unpad,
        }
        fns.update({"stage " + name: fn for name, fn in stages.items()})
    except Exception as exc:
        print(f"  (max-pool stage breakdown unavailable: {type(exc).__name__}: {exc})")
        stages = None

    t, rounds = measure(fns, args.repeats, args.target_ms, args.budget_s)
    title = f"maxpool2d  N={n}  C={c}  {hw}x{hw}  kernel {k}x{k} stride {k}  float64  ties='first'  (max |ref-torch| = {err:.1e}; {rounds} rounds)"
    print_table(
        title,
        [
            ("forward", t["ref fwd"], t["torch fwd"]),
            ("backward (dx)", t["ref bwd"], t["torch bwd"]),
            ("forward + backward", t["ref fwd+bwd"], t["torch fwd+bwd"]),
        ],
    )
    _consistency(t)
    if stages is not None:
        s = {name: t["stage " + name] for name in stages}
        tot = t["ref fwd+bwd"]
        kk2 = k * k
        rows = [
            ("forward", s["geom"] + s["wmax"], 0),
            ("geometry + pad + window_offsets", s["geom"], 1),
            (f"_window_max ({kk2} kernel offsets)", s["wmax"], 1),
            ("copy of offset (0, 0)", s["wmax copy"], 2),
            (f"np.maximum(..., out=) x {kk2 - 1}", s["wmax maximum"], 2),
            ("backward", s["geom"] + s["wmax"] + s["nan"] + s["winners"] + s["scatter"] + s["unpad"], 0),
            ("geometry + pad + window_offsets", s["geom"], 1),
            (f"_window_max again ({kk2} kernel offsets)", s["wmax"], 1),
            ("NaN check isnan(best).any()", s["nan"], 1),
            (f"first-winner masks + window grads ({kk2} offsets)", s["winners"], 1),
            ("x_pad[offset] == best", s["cmp"], 2),
            ("winners &= ~taken; taken |= winners", s["first"], 2),
            ("window_grads[k] = winners * dy", s["mul"], 2),
            (f"scatter_windows ({kk2} strided slice-adds)", s["scatter"], 1),
            ("unpad + ascontiguousarray", s["unpad"], 1),
        ]
        top = sum(r[1] for r in rows if r[2] == 0)
        print_breakdown(
            f"  where the reference time goes (the calls reference/pool.py makes, timed alone; % of measured fwd+bwd {ms(tot).strip()} ms; "
            f"top-level stages sum to {ms(top).strip()} ms):",
            rows,
            tot,
        )
    print()
    return t["ref fwd+bwd"] / t["torch fwd+bwd"]


def main(argv=None) -> int:
    args = parse_args(argv)
    method, numpy_was_imported = limit_numpy_threads_before_import(args.threads)

    import numpy as np

    limiter = None
    if method == "threadpoolctl":
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(  # noqa: F841 (kept alive for the run)
            limits=args.threads, user_api="blas")
        method = f"threadpoolctl (threadpool_limits(limits={args.threads}, user_api='blas'))"

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)

    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    import reference as ref

    wall0 = time.perf_counter()
    print(f"bench_reference: numpy {np.__version__}, torch {torch.__version__}, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs; reference from {os.path.dirname(ref.__file__)}")
    print(f"threads: N={args.threads}; torch.set_num_threads({args.threads}) -> torch.get_num_threads() = {torch.get_num_threads()}")
    print(f"numpy BLAS threads limited with {method}")
    if numpy_was_imported:
        print("  warning: numpy was imported before the limit was set; environment variables may not have applied")
    for line in openblas_report():
        print(f"  loaded {line}")
    print("OpenBLAS tuning env (left as is): " + ", ".join(f"{v}={os.environ.get(v, '<unset>')}" for v in OPENBLAS_TUNING_VARS))
    load0 = _loadavg()
    print(f"load average at start: {load0}")
    print(f"timing: per-call ms, min over up to {args.repeats} interleaved rounds of ~{args.target_ms:g} ms loops "
          f"after warm-up (a table stops after 3 rounds once past {args.budget_s:g} s)")
    print()

    rng = np.random.default_rng(args.seed)
    conv_sizes = [(8, 3, 8, 32, 3), (64, 16, 32, 32, 3)]
    pool_sizes = [(8, 8, 30, 2), (64, 32, 30, 2)]
    conv_ratios = [bench_conv(np, torch, F, ref, *size, rng, args) for size in conv_sizes]
    pool_ratios = [bench_pool(np, torch, F, ref, *size, rng, args) for size in pool_sizes]

    def gmean(values):
        return math.exp(sum(math.log(v) for v in values) / len(values))

    load1 = _loadavg()
    busy = [v for v in (load0, load1) if isinstance(v, float) and v > 0.5 * (os.cpu_count() or 1) + args.threads]
    print(f"load average at end: {load1}"
          + ("  -- WARNING: other processes were competing for the CPUs; absolute times are inflated and the ratios noisier" if busy else ""))
    print(f"(ran in {time.perf_counter() - wall0:.1f} s; ratios per size: conv "
          + ", ".join(f"{r:.2f}" for r in conv_ratios) + "; maxpool " + ", ".join(f"{r:.2f}" for r in pool_ratios)
          + "; target: conv fwd+bwd at most 2x torch -> " + ("met" if gmean(conv_ratios) <= 2.0 else "NOT met") + ")")
    print(f"conv2d fwd+bwd reference/torch = {gmean(conv_ratios):.2f}")
    print(f"maxpool2d fwd+bwd reference/torch = {gmean(pool_ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
