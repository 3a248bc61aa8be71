r"""Grokking on a group multiplication table, with thermodynamic monitors per checkpoint.

    nice -n 10 env OMP_NUM_THREADS=1 python -m gdl.benchmarks.grokking --group C31 --out runs/grokking-C31
    nice -n 10 env OMP_NUM_THREADS=1 python -m gdl.benchmarks.grokking --group S5 --train-fraction 0.4 --out runs/grokking-S5

Data: the ``group_tables`` task's splits (``gdl.data.group_tables``: a random ``--train-fraction`` of the
|G|² pairs for training, all the rest held out, ``val_fraction=0``). Model: ``gdl.models.GroupMLP``.
Training: full batch, AdamW (lr ``--lr``, weight decay ``--weight-decay``, β = (0.9, 0.98)), cross-entropy,
until the held-out accuracy has stayed ≥ ``--target`` for ``--patience`` evaluations or ``--steps`` ran out.

Every ``--eval-every`` steps a row of ``metrics.jsonl``: train/test loss and accuracy, the gap, the weight
norm ‖w‖₂. Every ``--checkpoint-every`` steps (a checkpoint) also: the local learning coefficient λ̂ on
the training set (``gdl.thermo.llc.local_learning_coefficient``; nβ = n/log n with n the number of training
pairs, γ = ``--llc-gamma``, ε = ``--llc-step``; its MALA acceptance as the step-size check) and the sharpness
λ_max, the top Hessian eigenvalue of the training loss (``gdl.thermo.landscape.top_hessian_eigenvalues``).
``summary.json``: the step at which the training accuracy first reached 0.99 (memorisation), the steps at
which the held-out accuracy first reached 0.5 and ``--target`` (the jump), wall time, and the settings.
``python examples/grokking.py RUN_DIR`` plots the transition from these files.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Optional

import torch

from gdl.data.group_tables import group_from_name, group_table_splits
from gdl.models import GroupMLP
from gdl.thermo.llc import local_learning_coefficient


def cross_entropy_loss(model, batch):
    """Mean cross-entropy of a batch dict (the negative log-likelihood per pair, as λ̂ needs)."""
    return torch.nn.functional.cross_entropy(model(batch), batch["y"])


@torch.no_grad()
def evaluate(model, batch) -> tuple:
    logits = model(batch)
    loss = torch.nn.functional.cross_entropy(logits, batch["y"])
    return float(loss), float((logits.argmax(-1) == batch["y"]).to(torch.float64).mean())


def sharpness(model, batch) -> float:
    """λ_max of the training loss's Hessian (``gdl.thermo.landscape``: Lanczos, seeded, ≤ 30 Hessian-vector products)."""
    from gdl.thermo import Objective
    from gdl.thermo.landscape import top_hessian_eigenvalues

    return top_hessian_eigenvalues(Objective(model, cross_entropy_loss, [batch]), k=1, max_iterations=30, tol=1e-4,
                                   seed=0).max


def run(group: str = "C31", train_fraction: float = 0.5, lr: float = 1e-3, weight_decay: float = 1.0,
        embed_dim: int = 32, hidden_channels: int = 128, steps: int = 30000, eval_every: int = 100,
        checkpoint_every: int = 1000, target: float = 0.99, patience: int = 5, seed: int = 0, split_seed: int = 0,
        llc_gamma: float = 100.0, llc_step: float = 1e-4, llc_chains: int = 4, llc_steps: int = 200,
        llc_burnin: int = 100, out: Optional[str] = None, verbose: bool = True) -> dict:
    """Train and monitor; returns the summary (also written to ``out``/summary.json with metrics.jsonl)."""
    torch.manual_seed(seed)
    the_group = group_from_name(group)
    splits = group_table_splits(the_group, train_fraction=train_fraction, seed=split_seed, val_fraction=0.0)
    train, test = splits["train"].full_batch(), splits["test"].full_batch()
    n_train = int(train["y"].numel())
    model = GroupMLP(int(the_group.order), embed_dim=embed_dim, hidden_channels=hidden_channels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98))
    settings = dict(group=group, order=int(the_group.order), train_fraction=train_fraction, n_train=n_train,
                    n_test=int(test["y"].numel()), lr=lr, weight_decay=weight_decay, embed_dim=embed_dim,
                    hidden_channels=hidden_channels, parameters=sum(p.numel() for p in model.parameters()),
                    seed=seed, split_seed=split_seed, llc_gamma=llc_gamma, llc_step=llc_step, llc_chains=llc_chains,
                    llc_steps=llc_steps, llc_burnin=llc_burnin, threads=torch.get_num_threads())
    folder = Path(out) if out else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.jsonl").write_text("")
    llc_generator = torch.Generator().manual_seed(seed + 1)
    memorised = half = jumped = None
    streak, rows = 0, []
    monitor_seconds = 0.0
    start = time.perf_counter()
    for step in range(steps + 1):
        if step % eval_every == 0 or step == steps:
            train_loss, train_acc = evaluate(model, train)
            test_loss, test_acc = evaluate(model, test)
            row = {"step": step, "train_loss": train_loss, "train_accuracy": train_acc, "test_loss": test_loss,
                   "test_accuracy": test_acc, "gap": train_acc - test_acc, "weight_norm": float(model.weight_norm())}
            if step % checkpoint_every == 0 or step == steps:
                t0 = time.perf_counter()
                result = local_learning_coefficient(model, cross_entropy_loss, [train], n=n_train, gamma=llc_gamma,
                                                    step_size=llc_step, n_chains=llc_chains, n_steps=llc_steps,
                                                    n_burnin=llc_burnin, generator=llc_generator)
                row.update(llc=result.llc, llc_std_error=result.llc_std_error, llc_mala_acceptance=result.mala_acceptance)
                row["sharpness"] = sharpness(model, train)
                row["monitor_seconds"] = time.perf_counter() - t0
                monitor_seconds += row["monitor_seconds"]
            row["seconds"] = time.perf_counter() - start
            rows.append(row)
            if folder:
                with open(folder / "metrics.jsonl", "a") as f:
                    f.write(json.dumps(row) + "\n")
            if verbose:
                extra = f" λ̂ {row['llc']:.1f}±{row['llc_std_error']:.1f} (MALA {row['llc_mala_acceptance']:.2f})" if "llc" in row else ""
                print(f"step {step:6d}  train {train_acc:.3f} (loss {train_loss:.3g})  test {test_acc:.3f} "
                      f"(loss {test_loss:.3g})  ‖w‖ {row['weight_norm']:.1f}{extra}  {row['seconds']:.0f}s", flush=True)
            if memorised is None and train_acc >= 0.99:
                memorised = step
            if half is None and test_acc >= 0.5:
                half = step
            if test_acc >= target:
                jumped = step if jumped is None else jumped
                streak += 1
                if streak >= patience:
                    break
            else:
                streak = 0
        if step == steps:
            break
        loss = cross_entropy_loss(model, train)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    summary = {"settings": settings, "memorised_step": memorised, "test_half_step": half, "grokked_step": jumped,
               "final": rows[-1], "wall_seconds": time.perf_counter() - start, "monitor_seconds": monitor_seconds}
    if folder:
        (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--group", default="C31", help="C<p>, S<n> or D<n> (default C31)")
    parser.add_argument("--train-fraction", type=float, default=0.5)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=1.0)
    parser.add_argument("--embed-dim", type=int, default=32)
    parser.add_argument("--hidden-channels", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30000)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--llc-gamma", type=float, default=100.0)
    parser.add_argument("--llc-step", type=float, default=1e-4)
    parser.add_argument("--llc-chains", type=int, default=4)
    parser.add_argument("--llc-steps", type=int, default=200)
    parser.add_argument("--llc-burnin", type=int, default=100)
    parser.add_argument("--out", default=None, help="folder for metrics.jsonl and summary.json")
    args = parser.parse_args(argv)
    summary = run(**{k.replace("-", "_"): v for k, v in vars(args).items()})
    print(json.dumps({k: v for k, v in summary.items() if k != "final"}, indent=2))


if __name__ == "__main__":
    main()
