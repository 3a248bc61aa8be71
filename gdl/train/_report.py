"""Plots (matplotlib Agg) and the final results table of a run."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional


def plot_history(history, run_dir, metric_name: str) -> list:
    """Write loss.png, metric.png and equivariance.png from the per-epoch history; returns the paths."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    paths = []

    def series(key):
        points = [(row["epoch"], row[key]) for row in history if row.get(key) is not None]
        return [p[0] for p in points], [p[1] for p in points]

    def figure(name, curves, ylabel, log=True):
        fig, ax = plt.subplots(figsize=(5, 3.4), dpi=100)
        drawn = False
        for key, label in curves:
            x, y = series(key)
            if x:
                ax.plot(x, y, marker="." if len(x) < 30 else None, label=label)
                drawn = True
        if drawn and log and all(v > 0 for key, _ in curves for v in series(key)[1]):
            ax.set_yscale("log")
        if not drawn:
            ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if drawn:
            ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = run_dir / name
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)

    figure("loss.png", [("train_loss", "train"), ("val_loss", "validation")], "loss")
    figure("metric.png", [(f"train_{metric_name}", "train"), (f"val_{metric_name}", "validation")], metric_name)
    figure(
        "equivariance.png",
        [("equivariance_max", "max relative error"), ("equivariance_mean", "mean relative error")],
        "relative equivariance error",
    )
    return paths


def _fmt(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value == 0:
        return "0"
    return f"{value:.4g}" if abs(value) >= 1e-3 else f"{value:.2e}"


def results_markdown(results: dict) -> str:
    """The results table (metric vs published numbers, equivariance) as Markdown."""
    metric = results["metric"]
    lines = [
        f"# {results['task']} / {results['model']}",
        "",
        f"Best validation epoch {results['best_epoch']} of {results['epochs']} "
        f"(seed {results['seed']}, {results['dtype']}, {results['device']}).",
        "",
        f"| model | test {metric} (best-val epoch) | val {metric} | published | source |",
        "|---|---|---|---|---|",
        f"| **gdl {results['model']}** | **{_fmt(results['test_metric'])}** | {_fmt(results['val_metric'])} | "
        f"{_fmt(getattr(results.get('published_self'), 'value', results.get('published_self')))} | this run |",
    ]
    for name, entry in results.get("published", {}).items():
        lines.append(f"| {name} (published) | — | — | {_fmt(entry['value'])} | {entry.get('source', '')} |")
    eq = results.get("equivariance")
    if eq:
        lines += [
            "",
            f"Equivariance on the test set ({eq.get('symmetry', '')}; {eq.get('elements', '?')} group elements × "
            f"{eq.get('batches', '?')} batches):",
            "",
            f"| output | max relative error | mean relative error |",
            "|---|---|---|",
        ]
        for output, err in eq.get("per_output", {}).items():
            lines.append(f"| {output} | {_fmt(err['max'])} | {_fmt(err['mean'])} |")
        for symmetry, err in eq.get("per_symmetry", {}).items():
            lines.append(f"| {output if len(eq.get('per_output', {})) == 1 else 'all'} under {symmetry} | {_fmt(err)} | |")
        if eq.get("tolerance") is not None:
            breaks = eq.get("breaks") or []
            enforced = [e for name, e in eq.get("per_symmetry", {}).items() if name not in breaks]
            worst = max(enforced, default=0.0)
            bounds = {name: bound for name, bound in (eq.get("tolerances") or {}).items() if name not in breaks}
            if bounds and len(set(bounds.values())) > 1:  # tolerance classes: each symmetry against its own bound
                lines.append("")
                for name, bound in bounds.items():
                    err = eq["per_symmetry"][name]
                    verdict = "within" if err <= bound else "ABOVE"
                    lines.append(f"- {name}: max error {_fmt(err)} is {verdict} its class bound {bound:.0e}.")
            else:
                verdict = "within" if worst <= eq["tolerance"] else "ABOVE"
                scope = f" over {', '.join(n for n in eq.get('per_symmetry', {}) if n not in breaks)}" if breaks else ""
                lines += ["", f"Max error{scope} {_fmt(worst)} is {verdict} the tolerance {eq['tolerance']:.0e}."]
            if breaks:
                lines += [f"This model breaks {', '.join(breaks)} by design (a baseline): that error is measured, "
                          "not enforced."]
        if eq.get("metric_transformed") is not None:
            lines += [
                "",
                f"Test {metric} on the same batches: untransformed {_fmt(eq['metric_untransformed'])}, "
                f"transformed {_fmt(eq['metric_transformed'])} "
                f"(relative difference {_fmt(eq.get('metric_relative_difference'))}).",
            ]
    if results.get("monitor_seconds") is not None:
        total = results.get("train_seconds") or float("nan")
        share = results["monitor_seconds"] / total if total and total == total else float("nan")
        line = (f"Equivariance monitor cost during training: {results['monitor_seconds']:.2f} s of "
                f"{total:.2f} s training wall time ({100 * share:.1f} %)")
        if results.get("train_cpu_seconds"):
            line += (f"; CPU time {results['monitor_cpu_seconds']:.2f} s of {results['train_cpu_seconds']:.2f} s "
                     f"({100 * results['monitor_cpu_seconds'] / results['train_cpu_seconds']:.1f} %)")
        lines += ["", line + "."]
    return "\n".join(lines) + "\n"
