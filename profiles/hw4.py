"""hw4 — ``hw4_nn.py``: ``nn_convolutional_layer`` and ``nn_max_pooling_layer`` (seed 001).

Facts (shared/ASSIGNMENTS.md): NCHW with axis 2 called "width"; W is
``(num_filters, in_ch, filter_width, filter_height)``, b is ``(1, F, 1, 1)``;
valid cross-correlation, stride 1; max pooling drops leftover edge positions;
the conv constructor fixes a square ``input_size``, so conv inputs are square
while pool inputs need not be. Constructors are called positionally.
"""
from __future__ import annotations

import zlib
from typing import Dict, List, Tuple

import numpy as np

from checks.model import LayerConfig
from checks.registry import GENERIC_CHECKS
from checks.rubric import Rubric, RubricItem, course_bands
from profiles.base import ADAPTERS, CourseCheck, LayerSpec, Profile

COURSE = dict(batch=8, in_ch=3, filters=8, size=32, kernel=3, std=1.0, dt=1e-3, trials=20)


class Hw4Profile(Profile):
    name = "hw4"
    description = "hw4_nn.py: nn_convolutional_layer + nn_max_pooling_layer (NumPy, forward/backprop)"
    adapter = ADAPTERS / "hw4.py"
    layers = (LayerSpec("conv", "conv", "convolutional layer"), LayerSpec("pool", "maxpool", "max-pooling layer"))
    allowed_dtypes = ("float64", "float32")
    entry_files = ("hw4_nn.py",)
    module_name = "hw4_nn"
    course_checks = (
        CourseCheck("conv", "dx", "the course's dLdx accuracy test"),
        CourseCheck("conv", "dW", "the course's dLdW accuracy test"),
        CourseCheck("conv", "db", "the course's dLdb accuracy test"),
        CourseCheck("pool", "dx", "the course's pooling dLdx accuracy test"),
    )

    # -- configurations -------------------------------------------------------------
    def configs(self, layer: LayerSpec, seed: int) -> List[LayerConfig]:
        rng = np.random.default_rng([seed, zlib.crc32(b"hw4-configs"), zlib.crc32(layer.name.encode())])
        if layer.kind == "conv":
            fixed = [
                ("course", 8, 3, 8, 32, (3, 3), True),
                ("batch_1", 1, 3, 4, 9, (3, 3), False),
                ("one_channel_one_filter", 2, 1, 1, 7, (3, 3), False),
                ("filter_1x1", 3, 2, 5, 6, (1, 1), False),
                ("one_pixel_output", 2, 3, 4, 5, (5, 5), False),
                ("nonsquare_filter", 3, 2, 4, 10, (3, 2), False),
                ("tall_filter", 2, 3, 5, 8, (2, 5), False),
            ]
            for index in range(3):
                size = int(rng.integers(4, 15))
                batch = int(rng.integers(1, 6))
                filters = int(rng.choice([f for f in range(1, 7) if f != batch]))
                kernel = (int(rng.integers(1, min(5, size) + 1)), int(rng.integers(1, min(5, size) + 1)))
                fixed.append((f"random_{index + 1}", batch, int(rng.integers(1, 5)), filters, size, kernel, False))
            return [self._conv(layer, *spec) for spec in fixed]
        fixed = [
            ("course", 8, 3, (32, 32), 2, 2, True),
            ("pool_3_stride_2", 2, 3, (10, 11), 3, 2, False),
            ("pool_2_stride_1", 2, 2, (6, 7), 2, 1, False),
            ("pool_3_stride_3", 1, 2, (10, 9), 3, 3, False),
            ("odd_leftovers", 3, 4, (7, 5), 2, 2, False),
            ("one_pixel_output", 2, 3, (3, 3), 3, 3, False),
            ("stride_over_pool", 2, 2, (9, 8), 2, 3, False),
        ]
        for index in range(2):
            pool = int(rng.integers(1, 5))
            stride = int(rng.integers(1, 5))
            shape = (int(rng.integers(pool, 13)), int(rng.integers(pool, 13)))
            fixed.append((f"random_{index + 1}", int(rng.integers(1, 5)), int(rng.integers(1, 5)), shape, pool, stride, False))
        return [self._pool(layer, *spec) for spec in fixed]

    @staticmethod
    def _conv(layer, label, batch, in_ch, filters, size, kernel, course) -> LayerConfig:
        return LayerConfig(layer.name, "conv", label, batch, in_ch, filters, (size, size), kernel,
                           ctor_args=(kernel[0], kernel[1], size, in_ch, filters, 1.0), course=course)

    @staticmethod
    def _pool(layer, label, batch, channels, shape, pool, stride, course) -> LayerConfig:
        return LayerConfig(layer.name, "maxpool", label, batch, channels, channels, shape, (pool, pool), (stride, stride),
                           ctor_args=(stride, pool), course=course)

    # -- layout -----------------------------------------------------------------------
    def to_student(self, role: str, array: np.ndarray, cfg: LayerConfig) -> np.ndarray:
        return array.reshape(1, -1, 1, 1) if role == "b" else array

    def from_student(self, role: str, array: np.ndarray, cfg: LayerConfig) -> np.ndarray:
        return array.reshape(-1) if role == "b" else array

    def student_shape(self, role: str, cfg: LayerConfig) -> Tuple[int, ...]:
        n, c, (h, w) = cfg.batch, cfg.in_channels, cfg.in_hw
        if role == "x":
            return (n, c, h, w)
        if role == "W":
            return (cfg.out_channels, c) + tuple(cfg.kernel)
        if role == "b":
            return (1, cfg.out_channels, 1, 1)
        oh = (h - cfg.kernel[0]) // cfg.stride[0] + 1
        ow = (w - cfg.kernel[1]) // cfg.stride[1] + 1
        return (n, cfg.out_channels, oh, ow)

    # -- rubrics ----------------------------------------------------------------------
    def rubrics(self) -> Dict[str, Rubric]:
        ours = {spec.check_id(layer.name): RubricItem(spec.points)
                for layer in self.layers for spec in GENERIC_CHECKS[layer.kind]}
        course = {check.id: RubricItem(4.0, "bands", course_bands(4.0, 2.0, 1.0)) for check in self.course_checks}
        return {
            "default": Rubric("default", ours, "ours: forward equivalence, gradients two ways, generality over "
                                                 "configurations, side effects; the course's test reported, 0 points"),
            "course": Rubric("course", course, "the course's 16 points: 4 accuracy tests, >90% → 4, 50–90% → 2, <50% → 1"),
        }

    # -- the course's own test ---------------------------------------------------------------
    def run_course_checks(self, driver, seed: int):
        rng = np.random.default_rng([seed, zlib.crc32(b"hw4-course")])
        conv_layer, pool_layer = self.layers
        c = COURSE
        conv_cfg = self._conv(conv_layer, "course", c["batch"], c["in_ch"], c["filters"], c["size"], (c["kernel"],) * 2, True)
        pool_cfg = self._pool(pool_layer, "course", c["batch"], c["in_ch"], (c["size"], c["size"]), 2, 2, True)
        dt = c["dt"]
        errors: Dict[str, List[float]] = {"dx": [], "dW": [], "db": [], "pool": []}
        failures: Dict[str, str] = {}
        out_shape = (c["batch"], c["filters"], c["size"] - c["kernel"] + 1, c["size"] - c["kernel"] + 1)
        for trial in range(c["trials"]):
            x = rng.normal(0, 1, (c["batch"], c["in_ch"], c["size"], c["size"]))
            weight = rng.normal(0, c["std"] / np.sqrt(c["in_ch"] * c["kernel"] ** 2 / 2),
                                (c["filters"], c["in_ch"], c["kernel"], c["kernel"]))
            bias = np.full(c["filters"], 0.01)
            delta = rng.normal(0, 1, x.shape) * dt
            dw_step = rng.normal(0, 1, weight.shape) * dt
            db_step = rng.normal(0, 1, bias.shape) * dt
            upstream = rng.normal(0, 1, out_shape)
            records = driver.run(conv_cfg, [
                ("construct",), ("set_params", {"W": weight, "b": bias}),
                ("call", "forward", {"x": x}), ("call", "forward", {"x": x + delta}),
                ("call", "backward", {"x": x, "dy": np.ones(out_shape)}),
                ("call", "update_weights", {"dW": dw_step, "db": np.zeros_like(bias)}), ("call", "forward", {"x": x}),
                ("set_params", {"W": weight, "b": bias}),
                ("call", "update_weights", {"dW": np.zeros_like(weight), "db": db_step}), ("call", "forward", {"x": x}),
                ("call", "backward", {"x": x, "dy": upstream}),
            ], rng_seed=trial)
            y1, y2, grads, _, y3, _, z2, grads_v = records
            # quantity: (forward before, forward after the step, gradient record and name, upstream, step)
            measured = {
                "dx": (y1, y2, (grads, "dx"), 1.0, delta),
                "dW": (y1, y3, (grads, "dW"), 1.0, dw_step),
                "db": (y1, z2, (grads_v, "db"), upstream, db_step),
            }
            for quantity, (first, second, grad, weighting, step) in measured.items():
                if quantity in failures:
                    continue
                values = [_usable(r, n) for r, n in ((first, "y"), (second, "y"), grad)]
                problem = next((v for v in values if isinstance(v, str)), None)
                if problem:
                    failures[quantity] = f"trial {trial + 1}: {problem}"
                    continue
                before, after, gradient = values
                exact = np.sum(weighting * (after - before)) / dt
                approx = np.sum(step * gradient) / dt
                errors[quantity].append(abs(approx - exact) / abs(exact) * 100 if exact != 0 else float("inf"))
            if "pool" not in failures:
                xp = np.arange(c["batch"] * c["in_ch"] * c["size"] ** 2, dtype=np.float64).reshape(x.shape) + 1
                pool_up = rng.normal(0, 10, (c["batch"], c["in_ch"], c["size"] // 2, c["size"] // 2))
                pool_delta = rng.normal(0, 1, xp.shape) * dt
                p1, p2, pg = driver.run(pool_cfg, [("construct",), ("call", "forward", {"x": xp}),
                                                   ("call", "forward", {"x": xp + pool_delta}),
                                                   ("call", "backward", {"x": xp, "dy": pool_up})], rng_seed=trial)
                values = [_usable(r, n) for r, n in ((p1, "y"), (p2, "y"), (pg, "dx"))]
                problem = next((v for v in values if isinstance(v, str)), None)
                if problem:
                    failures["pool"] = f"trial {trial + 1}: {problem}"
                else:
                    exact = np.sum(pool_up * (values[1] - values[0])) / dt
                    approx = np.sum(pool_delta * values[2]) / dt
                    errors["pool"].append(abs(approx - exact) / abs(exact) * 100 if exact != 0 else float("inf"))
        results = []
        for check, key in zip(self.course_checks, ("dx", "dW", "db", "pool")):
            if key in failures:
                status = "timeout" if "timed out" in failures[key] or "no answer" in failures[key] else "error"
                results.append((check, status, None, f"the course's test could not run: {failures[key]}"))
                continue
            accuracy = 100.0 - float(np.mean(errors[key]))
            status = "pass" if accuracy > 90.0 else "fail"
            course_points = self.rubrics()["course"].score(check.id, status, 1.0, accuracy)
            results.append((check, status, accuracy,
                            f"course accuracy {accuracy:.6f}% over {c['trials']} trials: {course_points:g} of the "
                            f"course's 4 points (>90% → 4, 50–90% → 2, <50% → 1)"))
        return results


def _usable(record, name) -> "np.ndarray | str":
    if record.status != "ok":
        return f"{record.method}: {record.error}"
    output = record.outputs.get(name)
    if output is None:
        return f"{record.method} returned no {name}"
    if output.value is None:
        return f"{record.method} {name}: {output.problem}"
    return output.value


PROFILE = Hw4Profile()
