"""Train the reference SEGNN on gdl's N-body data: the side-by-side check of gdl's SEGNN accuracy.

    python -m gdl.benchmarks.segnn_reference --reference-segnn /path/to/Steerable-E3-GNN --epochs 220

The reference model (RobDHess/Steerable-E3-GNN, ``models/segnn``) is imported at run time from
``--reference-segnn`` and never part of gdl. It is built with the README's N-body command
(4 layers, 64 weight-balanced features = 32x0e+32x1o, l_attr = 1, no normalisation, node task) and
trained as the reference's ``nbody/train_nbody.py`` does: its input transform (node input
[x − mean over the xyz coordinates of x, v, ‖v‖], edge attributes Y(x_j − x_i), node attributes
mean_j Y(x_j − x_i) + Y(v), messages also read [‖x_j − x_i‖, q_i q_j]; Y 'integral'-normalised up
to l = 1), x̂ = x + f, MSE, Adam lr 5e-4, weight decay 1e-12, batch 100 with the last partial batch
dropped, validation and test after epoch 1 and every 5th epoch after it (its schedule), one thread. Only the data differ from the reference
run: gdl's ``NBodyCharged`` splits (3000 / 2000 / 2000, the EGNN stream) — the same ones
``gdl train nbody`` reads. Prints and writes (``--out``, JSON lines) the per-epoch losses and
the test MSE at the best-validation epoch.
"""
from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from gdl.benchmarks._checkout import import_from_checkout


def reference_segnn(path: str) -> nn.Module:
    """The reference SEGNN in the README's N-body configuration (147,424 parameters)."""
    from e3nn.o3 import Irreps
    from torch_geometric.data import Data

    if not hasattr(Data, "contains_isolated_nodes"):  # renamed in PyG 2; the reference calls the old name
        Data.contains_isolated_nodes = Data.has_isolated_nodes
    WeightBalancedIrreps = import_from_checkout(path, "models.balanced_irreps", "--reference-segnn").WeightBalancedIrreps
    SEGNN = import_from_checkout(path, "models.segnn.segnn", "--reference-segnn").SEGNN
    attr = Irreps.spherical_harmonics(1)
    hidden = WeightBalancedIrreps(Irreps("64x0e"), attr, sh=True, lmax=1)
    return SEGNN(Irreps("2x1o + 1x0e"), hidden, Irreps("1x1o"), attr, attr, num_layers=4, norm="none", pool="avg",
                 task="node", additional_message_irreps=Irreps("2x0e"))


def reference_inputs(pos, vel, charges, edge_index, batch):
    """The reference's N-body graph: a PyG ``Data`` with its x, node/edge attributes and message features."""
    from e3nn.o3 import Irreps, spherical_harmonics
    from torch_geometric.data import Data

    sh = Irreps.spherical_harmonics(1)
    source, target = edge_index
    rel = pos[source] - pos[target]
    edge_sh = spherical_harmonics(sh, rel, normalize=True, normalization="integral")
    degree = torch.bincount(target, minlength=pos.shape[0]).clamp(min=1).unsqueeze(1).to(pos.dtype)
    node_attr = torch.zeros(pos.shape[0], sh.dim, dtype=pos.dtype).index_add_(0, target, edge_sh) / degree
    node_attr = node_attr + spherical_harmonics(sh, vel, normalize=True, normalization="integral")
    speed = vel.norm(dim=1, keepdim=True)
    x = torch.cat([pos - pos.mean(1, keepdim=True), vel, speed], 1)  # the reference's per-node xyz mean
    extra = torch.cat([rel.norm(dim=1, keepdim=True), charges[source] * charges[target]], 1)
    return Data(x=x, pos=pos, edge_index=edge_index, edge_attr=edge_sh, node_attr=node_attr, batch=batch,
                additional_message_features=extra)


def split_tensors(split: str, root=None):
    from gdl.data import NBodyCharged

    ds = NBodyCharged(root, split=split, progress=False)
    items = [ds[i] for i in range(len(ds))]
    return tuple(torch.stack([getattr(d, key).reshape(d.pos.shape[0], -1) for d in items]).float()
                 for key in ("pos", "vel", "charges", "y"))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-segnn", required=True, help="checkout of RobDHess/Steerable-E3-GNN")
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42, help="the reference seeds torch with 42")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--data-root", default=None, help="gdl's dataset cache (default: $GDL_HOME)")
    parser.add_argument("--out", default=None, help="JSON-lines log of the epochs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    model = reference_segnn(args.reference_segnn)
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-4, weight_decay=1e-12)
    data = {split: split_tensors(split, args.data_root) for split in ("train", "val", "test")}
    n = data["train"][0].shape[1]
    pairs = torch.tensor([(i, j) for i in range(n) for j in range(n) if i != j]).T  # (source, target) per graph

    def run(split: str, train: bool) -> float:
        pos, vel, charges, target = data[split]
        order = torch.randperm(len(pos)) if train else torch.arange(len(pos))
        stop = len(pos) - len(pos) % args.batch_size if train else len(pos)  # drop_last when training
        model.train(train)
        total = 0.0
        for start in range(0, stop, args.batch_size):
            idx = order[start:start + args.batch_size]
            b = len(idx)
            offsets = (torch.arange(b) * n).repeat_interleave(pairs.shape[1])
            edge_index = pairs.repeat(1, b) + offsets
            graph = reference_inputs(pos[idx].reshape(-1, 3), vel[idx].reshape(-1, 3), charges[idx].reshape(-1, 1),
                                     edge_index, torch.arange(b).repeat_interleave(n))
            with torch.set_grad_enabled(train):
                loss = nn.functional.mse_loss(graph.pos + model(graph), target[idx].reshape(-1, 3))
            if train:
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            total += loss.item() * b
        return total / (stop if train else len(pos))

    log = open(args.out, "w") if args.out else None
    best = {"val": float("inf")}
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        record = {"epoch": epoch, "train_mse": run("train", True), "time_train_s": time.perf_counter() - start}
        if (epoch - 1) % args.eval_every == 0 or epoch == args.epochs:  # as the reference: epochs 1, 6, 11, …
            record["val_mse"], record["test_mse"] = run("val", False), run("test", False)
            if record["val_mse"] < best["val"]:
                best = {"val": record["val_mse"], "test": record["test_mse"], "epoch": epoch}
            print(f"epoch {epoch}: train {record['train_mse']:.5f} val {record['val_mse']:.5f} "
                  f"test {record['test_mse']:.5f} (best val at epoch {best['epoch']}: test {best['test']:.5f})",
                  flush=True)
        if log:
            log.write(json.dumps(record) + "\n")
            log.flush()
    print(json.dumps({"best_epoch": best.get("epoch"), "val_mse": best["val"], "test_mse": best.get("test")}))
    return best


if __name__ == "__main__":
    main()
