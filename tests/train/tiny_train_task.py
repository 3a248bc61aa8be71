"""A tiny E(3) × S_n-equivariant regression task for trainer tests (runs in a second, float64).

Point clouds of 4 points with velocities; target y = x + 0.7 v + 0.1 (x − x̄)|x − x̄|².
The model predicts x + a(|v|², |x − x̄|²) v + b(·)(x − x̄) with a small MLP (with dropout,
so the RNG stream matters for exact resume).
"""
from __future__ import annotations

import os
import sys
import time

import torch
from torch import nn
from torch_geometric.data import Data

from gdl.groups import Euclidean, FieldType
from gdl.train import Metric, ModelSpec, Published, Task

E3 = Euclidean(3)


def make_split(n: int, seed: int, nodes: int = 4):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        pos = torch.randn(nodes, 3, generator=g)
        vel = torch.randn(nodes, 3, generator=g)
        rel = pos - pos.mean(0)
        y = pos + 0.7 * vel + 0.1 * rel * (rel * rel).sum(-1, keepdim=True)
        out.append(Data(pos=pos, vel=vel, y=y, num_nodes=nodes))
    return out


def datasets(root=None, n_train: int = 64, n_val: int = 32, n_test: int = 32):
    return {"train": make_split(n_train, 1), "val": make_split(n_val, 2), "test": make_split(n_test, 3)}


def graph_mean(x, batch, n_graphs):
    total = torch.zeros(n_graphs, x.shape[-1], dtype=x.dtype, device=x.device).index_add_(0, batch, x)
    count = torch.zeros(n_graphs, dtype=x.dtype, device=x.device).index_add_(0, batch, torch.ones_like(batch, dtype=x.dtype))
    return total / count[:, None]


class TinyEquivariantModel(nn.Module):
    in_type = {"pos": FieldType(E3, E3.standard_rep()), "vel": FieldType(E3, E3.vector_rep())}
    out_type = FieldType(E3, E3.standard_rep())

    def __init__(self, hidden: int = 16, dropout: float = 0.1, broken: bool = False):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.SiLU(), nn.Dropout(dropout), nn.Linear(hidden, 2))
        self.broken = broken  # adds a fixed direction: breaks rotation equivariance on purpose

    def forward(self, data):
        batch = data.batch if data.batch is not None else torch.zeros(data.pos.shape[0], dtype=torch.long)
        n_graphs = int(batch.max()) + 1 if batch.numel() else 0
        rel = data.pos - graph_mean(data.pos, batch, n_graphs)[batch]
        s = torch.stack([(data.vel ** 2).sum(-1), (rel ** 2).sum(-1)], -1)
        a, b = self.net(s).unbind(-1)
        out = data.pos + a[:, None] * data.vel + b[:, None] * rel
        if self.broken:
            out = out + 0.1 * torch.tensor([1.0, 0.0, 0.0], dtype=out.dtype, device=out.device)
        return out


def mse(pred, batch):
    return torch.nn.functional.mse_loss(pred, batch.y)


def mse_sum(pred, batch):
    return ((pred - batch.y) ** 2).sum(), batch.y.numel()


TINY = Task(
    name="tiny",
    description="tiny equivariant point-cloud regression (tests)",
    datasets=datasets,
    models={
        "tiny": ModelSpec(TinyEquivariantModel, lr=1e-2),
        "broken": ModelSpec(lambda hidden=16: TinyEquivariantModel(hidden, broken=True), lr=1e-2),
        "baseline": ModelSpec(lambda hidden=16: TinyEquivariantModel(hidden, broken=True), lr=1e-2, breaks=("E(3)",)),
    },
    loss=mse,
    metric=Metric("mse", mse_sum),
    published={"tiny": Published(0.01, "made up for tests")},
    target_types={"y": FieldType(E3, E3.standard_rep())},
)


def tiny_config(**overrides):
    from gdl.train._config import merge

    base = {"task": "tiny", "model": "tiny", "epochs": 3, "batch_size": 16, "dtype": "float64", "progress": False,
            "seed": 3, "equivariance": {"every": 0, "final": False}}
    return merge(base, overrides)


class PrintSteps:
    """Callback that prints 'STEP epoch step' after every step (the kill test reads it).

    With ``GDL_TEST_PAUSE_AT="EPOCH STEP"`` set, it stops there (sleeps) until it is killed, so
    the kill lands mid-epoch however fast the steps are.
    """

    def on_step_end(self, trainer, epoch, step, loss):
        print(f"STEP {epoch} {step}", flush=True)
        if os.environ.get("GDL_TEST_PAUSE_AT") == f"{epoch} {step}":
            time.sleep(120)


if __name__ == "__main__":  # python tiny_train_task.py RUN_DIR [resume]
    from gdl.train import Trainer

    run_dir = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "resume":
        trainer = Trainer.resume(run_dir, task=TINY)
    else:
        trainer = Trainer(tiny_config(epochs=int(sys.argv[2]) if len(sys.argv) > 2 else 4), run_dir=run_dir, task=TINY,
                          callbacks=[PrintSteps()])
    results = trainer.fit()
    print("RESULT", repr(results["test_metric"]), repr(results["val_metric"]), results["best_epoch"], flush=True)


def ddp_worker(rank, world, init_file, out_dir, config):
    """One rank of the DDP-equivalence test: gradients of the first global batch, then a short fit."""
    import torch.distributed as dist

    from gdl.train import Trainer
    from gdl.train._trainer import move_batch

    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        trainer = Trainer(config, run_dir=f"{out_dir}/run", task=TINY)
        trainer.train_sampler.set_epoch(0)
        batch = move_batch(next(iter(trainer.train_loader)), trainer.device, trainer.dtype)
        loss = trainer.compute_gradients(batch)
        grads = {n: p.grad.detach().clone() for n, p in trainer.model.named_parameters()}
        results = trainer.fit()
        params = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
        torch.save({"grads": grads, "loss": loss.item(), "results": results, "params": params,
                    "n_local": batch.num_graphs}, f"{out_dir}/rank{rank}.pt")
    finally:
        if world > 1:
            dist.destroy_process_group()
