"""Grokking on a group multiplication table, in one figure: accuracy, weight norm, λ̂, sharpness and loss per step.

    python examples/grokking.py                       # a short C_31 run (a few minutes on one core), then the plot
    python examples/grokking.py runs/grokking-C31     # plot a finished `python -m gdl.benchmarks.grokking --out ...` run

Trains ``gdl.models.GroupMLP`` on a random half of the table of C_31 (``gdl.data.group_tables``; full batch,
AdamW with weight decay 1) with ``gdl.benchmarks.grokking.run``, which logs train/test accuracy, the weight
norm, the local learning coefficient λ̂ (``gdl.thermo.llc``) and the top Hessian eigenvalue
(``gdl.thermo.landscape``) to ``metrics.jsonl``; the figure ``grokking.png`` puts them on one time axis, the
memorisation step and the jump of the held-out accuracy marked. Needs matplotlib.
"""
import json
import sys
from pathlib import Path


def read_rows(folder: Path):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]


def plot(folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_rows(folder)
    summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").exists() else {}
    steps = [r["step"] for r in rows]
    checkpoints = [r for r in rows if "llc" in r]
    fig, axes = plt.subplots(5, 1, figsize=(7, 11), sharex=True)
    axes[0].plot(steps, [r["train_accuracy"] for r in rows], label="train")
    axes[0].plot(steps, [r["test_accuracy"] for r in rows], label="held out")
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="center right")
    axes[1].plot(steps, [r["weight_norm"] for r in rows], color="C2")
    axes[1].set_ylabel("‖w‖₂")
    axes[2].errorbar([r["step"] for r in checkpoints], [r["llc"] for r in checkpoints],
                     yerr=[r["llc_std_error"] for r in checkpoints], color="C3", marker="o", ms=3, capsize=2)
    axes[2].set_ylabel("λ̂ (LLC)")
    sharp = [(r["step"], r["sharpness"]) for r in checkpoints if "sharpness" in r]
    axes[3].plot([s for s, _ in sharp], [v for _, v in sharp], color="C4", marker="o", ms=3)
    axes[3].set_ylabel("λ_max (Hessian)")
    if sharp and min(v for _, v in sharp) > 0:
        axes[3].set_yscale("log")
    axes[4].semilogy(steps, [r["train_loss"] for r in rows], label="train")
    axes[4].semilogy(steps, [r["test_loss"] for r in rows], label="held out")
    axes[4].set_ylabel("cross-entropy")
    axes[4].legend(loc="center right")
    axes[4].set_xlabel("training step (full batch)")
    for key, style in (("memorised_step", ":"), ("grokked_step", "--")):
        if summary.get(key) is not None:
            for ax in axes:
                ax.axvline(summary[key], color="k", ls=style, lw=0.8)
    settings = summary.get("settings", {})
    fig.suptitle(f"grokking on {settings.get('group', '?')} (train fraction {settings.get('train_fraction', '?')}): "
                 f"memorised at {summary.get('memorised_step')}, held-out ≥ 0.99 at {summary.get('grokked_step')}", fontsize=9)
    fig.tight_layout()
    path = folder / "grokking.png"
    fig.savefig(path, dpi=120)
    return path


def main(argv):
    if argv:
        folder = Path(argv[0])
    else:
        from gdl.benchmarks.grokking import run

        folder = Path("runs/grokking-example")
        run(group="C31", train_fraction=0.5, lr=3e-3, steps=6000, eval_every=100, checkpoint_every=1000, out=str(folder))
    print(plot(folder))


if __name__ == "__main__":
    main(sys.argv[1:])
