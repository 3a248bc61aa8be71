"""EquivarianceMonitor: the model's measured equivariance error on real benchmark batches, during training.

Every ``every`` epochs it runs ``gdl.testing.check_equivariance`` with the task's symmetry
on the first ``batches`` validation batches (generators + ``elements`` seeded random
elements of each symmetry) and logs the max and mean relative error per output,

    err(g) = ‖f(g·x) − ρ_out(g) f(x)‖∞ / max(‖f(x)‖∞, floor)      (see gdl.testing)

Above the tolerance it warns or stops the run.

Tolerance classes. A symmetry object may carry its own bound, ``symmetry.tolerance`` = {dtype
name: rtol} (e.g. an exact action checked at the float tolerance beside an interpolated one
checked at its fit error); the monitor then enforces each symmetry at its own bound and the
task's ``tolerance`` applies to the symmetries without one. ``equivariance.tolerance`` set in
the run config overrides every class. Results carry ``tolerances`` ({symmetry: bound}) and
``exceeded_by`` (the symmetries above their bound). At the end it reports on test batches: the
same errors, plus the task metric on transformed data — metric(f(g·x), g·y) with the
targets moved by ``task.target_types`` — against the untransformed metric(f(x), y); for an
equivariant model the two agree to rounding.
"""
from __future__ import annotations

import time
from typing import Dict, List

import torch


class EquivarianceMonitor:
    """Runs the checker with the task's symmetry; see the module docstring."""

    def __init__(self, task, config, dtype_name: str, breaks=()):
        from gdl.testing import default_rtol

        self.task = task
        self.breaks = tuple(breaks)  # symmetries the model breaks by design: measured and logged, never enforced
        self.config = config
        self.enabled = bool(task.check_equivariance)
        dtype = {"float32": torch.float32, "float64": torch.float64}[dtype_name]
        self.dtype, self.dtype_name = dtype, dtype_name
        self.tolerance = (
            config.tolerance if config.tolerance is not None else task.tolerance.get(dtype_name, default_rtol(dtype))
        )
        self.tolerances: Dict[str, float] = {}  # per symmetry (tolerance class), filled from the symmetry objects

    def _symmetry(self, model):
        symmetry = self.task.symmetry(model) if self.task.symmetry is not None else None
        if self.config.tolerance is None and symmetry is not None:
            for sym in (symmetry if isinstance(symmetry, (list, tuple)) else [symmetry]):
                bounds = getattr(sym, "tolerance", None)
                if isinstance(bounds, dict) and self.dtype_name in bounds:
                    self.tolerances[sym.name] = float(bounds[self.dtype_name])
        return symmetry

    def tolerance_of(self, symmetry_name: str) -> float:
        """The bound enforced on one symmetry: its own class's, else the run's tolerance."""
        return self.tolerances.get(symmetry_name, self.tolerance)

    def _reports(self, model, batches) -> list:
        from gdl.testing import check_equivariance

        if not batches:  # an empty report would read as "error 0.0", as if the model had been checked
            raise ValueError("the equivariance monitor got no batches to check (equivariance.batches / final_batches "
                             "must be ≥ 1 and the split must not be empty)")
        reports = []
        symmetry = self._symmetry(model)
        for i, batch in enumerate(batches):
            reports.append(check_equivariance(model, batch, symmetry=symmetry, n_random=self.config.elements,
                                              n_grid=0, seed=i, rtol=max([self.tolerance, *self.tolerances.values()])))
        return reports

    @torch.no_grad()
    def check(self, model, batches) -> dict:
        """Max/mean relative error per output (and per symmetry) over ``batches``; with the time it took."""
        t0 = time.perf_counter()
        was_training = model.training
        model.eval()
        try:
            reports = self._reports(model, batches)
        finally:
            model.train(was_training)
        result = self._summarise(reports)
        result["seconds"] = time.perf_counter() - t0
        return result

    def _summarise(self, reports) -> dict:
        per_output: Dict[str, List[float]] = {}
        per_symmetry: Dict[str, float] = {}
        non_finite = None
        for report in reports:
            non_finite = non_finite or report.non_finite
            for r in report.results:
                for name, err in r.errors.items():
                    per_output.setdefault(name, []).append(err)
                per_symmetry[r.symmetry] = max(per_symmetry.get(r.symmetry, 0.0), r.max_error)
        notes = list(dict.fromkeys(n for report in reports for n in report.notes))  # hints of the checker, once each
        out = {name: {"max": max(v), "mean": sum(v) / len(v)} for name, v in per_output.items()}
        all_errs = [e for v in per_output.values() for e in v]
        return {
            "max": float("nan") if non_finite else (max(all_errs) if all_errs else 0.0),
            "mean": sum(all_errs) / len(all_errs) if all_errs else 0.0,
            "per_output": out,
            "per_symmetry": per_symmetry,
            "non_finite": non_finite,
            "elements": len(reports[0].results) if reports else 0,
            "batches": len(reports),
            "symmetry": ", ".join(reports[0].symmetries) if reports else "",
            "tolerance": self.tolerance,
            "tolerances": {name: self.tolerance_of(name) for name in per_symmetry},
            "exceeded_by": [name for name, err in per_symmetry.items()
                            if name not in self.breaks and not (err <= self.tolerance_of(name))],
            "breaks": list(self.breaks),
            "notes": notes,
        }

    def enforced_max(self, result: dict) -> float:
        """The largest error over the symmetries the model is meant to respect (NaN if an output was not finite)."""
        if result.get("non_finite"):
            return float("nan")
        errs = [e for name, e in result["per_symmetry"].items() if name not in self.breaks]
        return max(errs, default=0.0)

    def exceeded(self, result: dict) -> bool:
        """Any enforced symmetry above its own class's bound (NaN counts as exceeded)."""
        if result.get("non_finite"):
            return True
        return any(name not in self.breaks and not (err <= self.tolerance_of(name))
                   for name, err in result["per_symmetry"].items())

    def describe(self, result: dict) -> str:
        parts = [f"{k}: max {v['max']:.2e}" for k, v in result["per_output"].items()]
        parts += [f"{k}: max {v:.2e}" + (f" (class bound {self.tolerances[k]:.0e})" if k in self.tolerances else "")
                  for k, v in result["per_symmetry"].items()]
        if result.get("exceeded_by"):
            parts.append("above its bound: " + ", ".join(result["exceeded_by"]))
        if result.get("non_finite"):
            parts.append(result["non_finite"])
        text = ", ".join(parts)
        return text + "".join(f"\n  note: {n}" for n in result.get("notes", []))

    def row(self, result: dict) -> dict:
        out = {"equivariance_max": result["max"], "equivariance_mean": result["mean"], "time_monitor_s": result["seconds"]}
        for name, err in result["per_output"].items():
            out[f"equivariance_max/{name}"] = err["max"]
            out[f"equivariance_mean/{name}"] = err["mean"]
        for name, err in result["per_symmetry"].items():
            out[f"equivariance_max/{name}"] = err
        return out

    @torch.no_grad()
    def final_report(self, model, batches) -> dict:
        """Errors on test batches plus the metric on transformed vs untransformed test data."""
        t0 = time.perf_counter()
        model.eval()
        reports = self._reports(model, batches)
        result = self._summarise(reports)
        result.update(self._transformed_metric(model, batches))
        result["seconds"] = time.perf_counter() - t0
        return result

    def _transformed_metric(self, model, batches) -> dict:
        """metric(f(g·x), g·y) over random elements of every symmetry vs metric(f(x), y) (``gdl.testing.transformed_samples``)."""
        from gdl.testing import transformed_samples

        metric = self.task.metric
        plain = torch.zeros(2, dtype=torch.float64)
        moved = torch.zeros(2, dtype=torch.float64)
        in_type = getattr(model, "in_type", None)
        types = dict(in_type) if isinstance(in_type, dict) else {}
        types.update(self.task.target_types)  # move the targets with the inputs
        symmetry = self._symmetry(model)
        for i, batch in enumerate(batches):
            s, c = metric.fn(self.task.run_forward(model, batch), batch)
            plain += torch.tensor([float(s), float(c)], dtype=torch.float64)
            samples = transformed_samples(model, batch, symmetry=symmetry, n_random=max(1, self.config.elements),
                                          n_grid=0, seed=1000 + i, in_type=types)
            for _, label, args in samples:
                if not label.startswith("random"):
                    continue  # the generators are in the error table already; average over random elements
                s, c = metric.fn(self.task.run_forward(model, args[0]), args[0])
                moved += torch.tensor([float(s), float(c)], dtype=torch.float64)
        untransformed = (plain[0] / plain[1]).item()
        transformed_value = (moved[0] / moved[1]).item() if moved[1] > 0 else float("nan")
        return {
            "metric_untransformed": untransformed,
            "metric_transformed": transformed_value,
            "metric_relative_difference": abs(transformed_value - untransformed) / max(abs(untransformed), 1e-300),
        }
