"""EquivarianceMonitor: the model's measured equivariance error on real benchmark batches, during training.

Every ``every`` epochs it runs ``gdl.testing.check_equivariance`` with the task's symmetry
on the first ``batches`` validation batches and logs the max and mean relative error per
output; above the tolerance it warns or stops the run. At the end it reports on test
batches: the same errors plus the task metric on transformed data (g·inputs, g·targets)
against the untransformed metric — for an equivariant model the two agree to rounding.
"""
from __future__ import annotations

import time

import torch


class EquivarianceMonitor:
    def __init__(self, task, config, dtype_name: str):
        self.task = task
        self.config = config
        self.enabled = task.symmetry is not None
        self.tolerance = config.tolerance if config.tolerance is not None else task.tolerance.get(dtype_name, 1e-4)

    def _symmetry(self, model):
        return self.task.symmetry(model)

    def check(self, model, batches) -> dict:
        raise NotImplementedError

    def final_report(self, model, batches) -> dict:
        raise NotImplementedError

    def exceeded(self, result: dict) -> bool:
        return result["max"] > self.tolerance

    def describe(self, result: dict) -> str:
        return ", ".join(f"{k}: max {v['max']:.2e}" for k, v in result["per_output"].items())

    def row(self, result: dict) -> dict:
        out = {"equivariance_max": result["max"], "equivariance_mean": result["mean"], "time_monitor_s": result["seconds"]}
        for name, err in result["per_output"].items():
            out[f"equivariance_max/{name}"] = err["max"]
        return out
