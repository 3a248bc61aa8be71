"""Train EGNN on the charged N-body benchmark and read its equivariance report.

    python examples/train_nbody.py                 # 5 epochs on the full protocol data (cached after the first run)
    python examples/train_nbody.py --epochs 1000   # a longer budget (the paper trains 10 000 epochs)

The same as `gdl train nbody --model egnn --epochs 5`; the run folder (config, metrics,
checkpoints, plots, results.md) lands in runs/example-nbody-egnn.
"""
import argparse

import torch

from gdl.train import train

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", default="egnn", choices=["egnn", "segnn", "tfn", "gnn", "linear"])
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
args = parser.parse_args()

results = train(
    "nbody", args.model, epochs=args.epochs, seed=args.seed, device=args.device,
    run_dir=f"runs/example-nbody-{args.model}", overwrite=True,  # rerunning the example replaces its run
    equivariance={"every": 1},  # check E(3) × permutations on a validation batch every epoch
)
eq = results["equivariance"]
print(f"{args.model}: test MSE {results['test_metric']:.4f} at epoch {results['best_epoch']} "
      f"(published {results['published_self']}); max equivariance error {eq['max']:.1e} "
      f"[{eq['symmetry']}]; test MSE on transformed data {eq['metric_transformed']:.4f}")
