"""Train gdl's SEGNN twice from the same initial weights — fused layers and autograd layers — side by side.

    python -m gdl.benchmarks.segnn_fused_training --epochs 15 --out runs/segnn_fused.jsonl

Checks that ``SteerableConv(fused=True)`` is the same function in training (accuracy unchanged
within seed noise) and measures the per-epoch time of both. The two models start from one
initialisation (a deep copy), see the same batches in the same order (gdl's ``NBodyCharged``
splits 3000 / 2000 / 2000, batch 100, last partial training batch dropped) and take their steps
interleaved, per batch, in one process (one thread): Adam lr 5e-4, weight decay 1e-8 (``gdl train
nbody``'s SEGNN recipe), x̂ = x + f, MSE. Validation and test MSE after epoch 1 and every
``--eval-every`` epochs; the report is the test MSE at the best-validation epoch of each model.
Float32 rounding makes the two trajectories drift apart slowly (the fused layer sums in another
order), so equal losses to a few digits, not bit for bit, are what "the same function" means here.
"""
from __future__ import annotations

import argparse
import copy
import json
import time

import torch


def batches(pos, vel, charges, target, order, batch_size, drop_last):
    """PyG batches of fully connected 5-body graphs for the sample indices ``order``."""
    from torch_geometric.data import Data

    n = pos.shape[1]
    pairs = torch.tensor([(j, i) for i in range(n) for j in range(n) if i != j]).T  # (source, target), by target
    stop = len(order) - len(order) % batch_size if drop_last else len(order)
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        b = len(idx)
        edge_index = pairs.repeat(1, b) + (torch.arange(b) * n).repeat_interleave(pairs.shape[1])
        yield b, Data(pos=pos[idx].reshape(-1, 3), vel=vel[idx].reshape(-1, 3), charges=charges[idx].reshape(-1, 1),
                   y=target[idx].reshape(-1, 3), edge_index=edge_index, batch=torch.arange(b).repeat_interleave(n))


def main(argv=None) -> dict:
    from gdl.benchmarks.segnn_reference import split_tensors
    from gdl.models import SEGNN

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--data-root", default=None, help="gdl's dataset cache (default: $GDL_HOME)")
    parser.add_argument("--out", default=None, help="JSON-lines log of the epochs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    data = {split: split_tensors(split, args.data_root) for split in ("train", "val", "test")}
    autograd_model = SEGNN(fused=False)
    fused_model = copy.deepcopy(autograd_model)
    for layer in fused_model.layers:
        layer.fused = True
    models = {"autograd": autograd_model, "fused": fused_model}
    optimisers = {k: torch.optim.Adam(m.parameters(), lr=5e-4, weight_decay=1e-8) for k, m in models.items()}
    best = {k: {"val_mse": float("inf")} for k in models}
    log = open(args.out, "w") if args.out else None

    def evaluate(split: str) -> dict:
        total = {k: 0.0 for k in models}
        order = torch.arange(len(data[split][0]))
        with torch.no_grad():
            for size, batch in batches(*data[split], order, args.batch_size, drop_last=False):
                for k, m in models.items():
                    m.eval()
                    total[k] += torch.nn.functional.mse_loss(m(batch), batch.y).item() * size
        return {k: v / len(order) for k, v in total.items()}

    for epoch in range(1, args.epochs + 1):
        seconds = {k: 0.0 for k in models}
        train = {k: 0.0 for k in models}
        order = torch.randperm(len(data["train"][0]))
        count = 0
        for step, (size, batch) in enumerate(batches(*data["train"], order, args.batch_size, drop_last=True)):
            keys = list(models) if step % 2 == 0 else list(models)[::-1]  # alternate who goes first
            for k in keys:
                m, opt = models[k], optimisers[k]
                m.train()
                start = time.perf_counter()
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(m(batch), batch.y)
                loss.backward()
                opt.step()
                seconds[k] += time.perf_counter() - start
                train[k] += loss.item() * size
            count += size
        record = {"epoch": epoch, **{f"train_mse_{k}": v / count for k, v in train.items()},
                  **{f"time_train_s_{k}": v for k, v in seconds.items()}}
        if (epoch - 1) % args.eval_every == 0 or epoch == args.epochs:
            val, test = evaluate("val"), evaluate("test")
            for k in models:
                record[f"val_mse_{k}"], record[f"test_mse_{k}"] = val[k], test[k]
                if val[k] < best[k]["val_mse"]:
                    best[k] = {"val_mse": val[k], "test_mse": test[k], "epoch": epoch}
        print(json.dumps(record), flush=True)
        if log:
            log.write(json.dumps(record) + "\n")
            log.flush()
    print(json.dumps({"best": best}))
    return best


if __name__ == "__main__":
    main()
