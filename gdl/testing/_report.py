"""EquivarianceReport: relative errors per symmetry, group element and output field."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch


@dataclass
class ElementResult:
    """The relative error of every output under one group element."""

    symmetry: str
    element: str
    errors: Dict[str, float]
    mode: str = "batched"  # "batched" | "confirmed one-at-a-time" (failed stacked and alone) | "one-at-a-time"

    @property
    def max_error(self) -> float:
        return max(self.errors.values()) if self.errors else 0.0


@dataclass
class EquivarianceReport:
    """What ``check_equivariance`` found.

    ``max_error`` is the largest relative error ‖f(g·x) − ρ_out(g) f(x)‖∞ / max(‖f(x)‖∞, floor)
    over symmetries, elements and outputs; ``passed`` is ``max_error ≤ rtol`` (and every output
    finite). ``results`` holds one ``ElementResult`` per (symmetry, element), with the mode
    that produced it. ``trivial``: every output was identically zero (the check passes but
    says nothing; ``status`` says so). ``notes``: diagnoses and hints (float32-built
    constants, training mode, failures only under translations / reflections / edge order,
    stacked-call disagreements, zero outputs).
    """

    model: str
    dtype: torch.dtype
    device: str
    rtol: float
    floor: Dict[str, float]
    outputs: List[str]
    results: List[ElementResult] = field(default_factory=list)
    approximate: Dict[str, bool] = field(default_factory=dict)
    element_values: Dict[str, object] = field(default_factory=dict)
    non_finite: Optional[str] = None
    batched: bool = True
    seconds: float = 0.0
    notes: List[str] = field(default_factory=list)
    zero_outputs: List[str] = field(default_factory=list)  # outputs identically zero everywhere

    # -- summaries -----------------------------------------------------------------------------
    @property
    def max_error(self) -> float:
        if self.non_finite:
            return math.nan
        return max((r.max_error for r in self.results), default=0.0)

    @property
    def passed(self) -> bool:
        return self.non_finite is None and self.max_error <= self.rtol

    @property
    def trivial(self) -> bool:
        """Every output identically zero on the sample and on every transformed sample."""
        return bool(self.outputs) and set(self.zero_outputs) >= set(self.outputs)

    @property
    def status(self) -> str:
        if self.non_finite:
            return "model returned non-finite output"
        if self.passed:
            return "passed (trivial: output identically zero)" if self.trivial else "passed"
        return "NOT EQUIVARIANT"

    @property
    def modes(self) -> Dict[str, str]:
        """Per symmetry, the mode that produced its verdict: the mode of its failing elements
        (``confirmed one-at-a-time`` or ``one-at-a-time``) if any fail, else ``batched`` when
        every element passed in the stacked call, else ``one-at-a-time``."""
        out = {}
        for s in self.symmetries:
            rows = [r for r in self.results if r.symmetry == s]
            failing = {r.mode for r in rows if not r.max_error <= self.rtol}
            if failing:
                out[s] = "confirmed one-at-a-time" if "confirmed one-at-a-time" in failing else "one-at-a-time"
            else:
                out[s] = "batched" if all(r.mode == "batched" for r in rows) else "one-at-a-time"
        return out

    @property
    def verdicts(self) -> Dict[str, str]:
        """Per symmetry: ``"passed (batched)"``, ``"NOT EQUIVARIANT (confirmed one-at-a-time)"``, …"""
        modes = self.modes
        return {s: f"{'passed' if e <= self.rtol else 'NOT EQUIVARIANT'} ({modes[s]})" for s, e in self.per_symmetry.items()}

    @property
    def elements(self) -> List[str]:
        """The labels of the elements tried, as ``"symmetry / element"``."""
        return [f"{r.symmetry} / {r.element}" for r in self.results]

    @property
    def symmetries(self) -> List[str]:
        seen = []
        for r in self.results:
            if r.symmetry not in seen:
                seen.append(r.symmetry)
        return seen

    @property
    def per_output(self) -> Dict[str, float]:
        """Max relative error of each output field over all elements."""
        return {o: max((r.errors.get(o, 0.0) for r in self.results), default=0.0) for o in self.outputs}

    @property
    def mean_per_output(self) -> Dict[str, float]:
        n = max(len(self.results), 1)
        return {o: sum(r.errors.get(o, 0.0) for r in self.results) / n for o in self.outputs}

    @property
    def per_element(self) -> Dict[str, float]:
        """Max relative error (over outputs) of each element, keyed by ``"symmetry / element"``."""
        return {f"{r.symmetry} / {r.element}": r.max_error for r in self.results}

    @property
    def per_symmetry(self) -> Dict[str, float]:
        return {s: max(r.max_error for r in self.results if r.symmetry == s) for s in self.symmetries}

    def errors(self, symmetry: Optional[str] = None) -> torch.Tensor:
        """The error table as a tensor [elements, outputs] (of one symmetry if given)."""
        rows = [r for r in self.results if symmetry is None or r.symmetry == symmetry]
        return torch.tensor([[r.errors.get(o, 0.0) for o in self.outputs] for r in rows], dtype=torch.float64)

    # -- printing -------------------------------------------------------------------------------
    def summary(self) -> str:
        approx = [s for s, a in self.approximate.items() if a]
        line = (
            f"equivariance of {self.model}: {self.status} — max relative error {self.max_error:.2e} "
            f"(rtol {self.rtol:.0e}, {str(self.dtype).replace('torch.', '')}, {self.device}, "
            f"{len(self.results)} elements)"
        )
        if approx:
            line += f" [approximate action: {', '.join(approx)}]"
        if self.results and not self.non_finite:
            line += "\n  " + "; ".join(f"{s}: {v}, max {self.per_symmetry[s]:.1e}" for s, v in self.verdicts.items())
        if self.non_finite:
            line += f"\n  {self.non_finite}"
        for note in self.notes:
            line += f"\n  note: {note}"
        return line

    def table(self, max_rows: Optional[int] = None) -> str:
        outs = self.outputs
        w_sym = max([len("symmetry")] + [len(r.symmetry) for r in self.results])
        w_el = max([len("element")] + [len(r.element) for r in self.results])
        w_col = [max(9, len(o)) for o in outs]
        head = f"  {'symmetry':<{w_sym}}  {'element':<{w_el}}  " + "  ".join(f"{o:>{w}}" for o, w in zip(outs, w_col))
        lines = [self.summary(), head, "  " + "-" * (len(head) - 2)]
        rows = self.results
        if max_rows is not None and len(rows) > max_rows:  # keep the worst rows
            rows = sorted(rows, key=lambda r: -r.max_error)[:max_rows]
        for r in rows:
            cells = "  ".join(f"{r.errors.get(o, float('nan')):>{w}.2e}" for o, w in zip(outs, w_col))
            mark = "  ✗" if r.max_error > self.rtol else ""
            if r.mode != "batched":
                mark += f"  ({r.mode})"
            lines.append(f"  {r.symmetry:<{w_sym}}  {r.element:<{w_el}}  {cells}{mark}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    def __repr__(self):
        return f"<EquivarianceReport {self.model}: {self.status}, max_error={self.max_error:.2e}, rtol={self.rtol:.0e}>"
