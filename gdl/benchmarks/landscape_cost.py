"""Cost of the trainer's landscape callback against the epoch it follows (N-body / EGNN by default).

    nice -n 10 python -m gdl.benchmarks.landscape_cost --epochs 3 --json runs/landscape_cost.json

Trains ``--task``/``--model`` (default nbody/egnn, the paper's model: 4 layers, hidden 64, batch 100,
3000 training systems) for ``--epochs`` epochs with the callback on at every epoch (``landscape.every: 1``,
the other ``landscape`` keys at their defaults unless given with ``--set landscape.KEY=VALUE``), and
reports per epoch the training time (``time_train_s``) and the callback's wall time
(``time_landscape_s``). The cost fraction of ``landscape.every: k`` is call time / (k × epoch time); the
table lists k = 1, 5, 10, 20 (medians over the epochs after the first, which also builds the batches).
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile

import torch


def measure(task: str = "nbody", model: str = "egnn", epochs: int = 3, overrides=(), num_threads: int = 1) -> dict:
    from gdl.train import Trainer
    from gdl.train._config import merge, parse_override

    values = {"task": task, "model": model, "epochs": epochs, "progress": False, "num_threads": num_threads,
              "equivariance": {"every": 0, "final": False}, "landscape": {"every": 1}}
    if task == "nbody":
        values["data"] = {"num_val": 100, "num_test": 100, "progress": False}  # the full training split; small eval
    for text in overrides:
        values = merge(values, parse_override(text))
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(values, run_dir=run_dir, overwrite=True)
        trainer.fit()
        rows = trainer.history
        config = trainer.config.landscape
    later = rows[1:] or rows
    epoch = statistics.median(r["time_train_s"] for r in later)
    call = statistics.median(r["time_landscape_s"] for r in later)
    return {
        "task": task, "model": model, "epochs": epochs, "threads": num_threads,
        "landscape": {k: getattr(config, k) for k in ("batches", "batch_size", "hessian_batches", "top_k",
                                                       "lanczos_iterations", "tol", "trace_probes", "noise_scale")},
        "epoch_seconds": epoch, "call_seconds": call,
        "hessian_products": statistics.median(r["landscape_hessian_products"] for r in later),
        "fraction": {k: call / (k * epoch) for k in (1, 5, 10, 20)},
        "lambda_max": [r["landscape_lambda_max"] for r in rows],
        "trace": [r.get("landscape_trace") for r in rows],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="nbody")
    parser.add_argument("--model", default="egnn")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override, repeatable")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = measure(args.task, args.model, args.epochs, args.set, args.threads)
    print(f"{result['task']}/{result['model']}: epoch {result['epoch_seconds']:.2f} s, landscape call "
          f"{result['call_seconds']:.2f} s ({result['hessian_products']:.0f} Hessian-vector products)")
    for k, f in result["fraction"].items():
        print(f"  every {k:>2} epochs: {100 * f:.1f} % of the training time")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
