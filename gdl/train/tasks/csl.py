"""Task ``csl``: circular skip-link graphs (Murphy et al. 2019), 10-way graph classification.

The ten CSL classes are 4-regular circulant graphs that 1-WL cannot tell apart, so a
message-passing network bounded by 1-WL — GIN (Xu et al. 2019) on constant node features —
is at chance, 10 %, by construction; the same GIN reading a random-walk positional
encoding ((P^t)_ii, t = 1…k; permutation-equivariant) separates them. Protocol: stratified
5-fold cross-validation (``gdl.data.stratified_folds``: 90 train / 30 val / 30 test graphs
per fold); one run trains one fold (``data.fold``), the benchmark reports the mean over the
5 folds. Metric: accuracy of the test fold at the best-validation epoch. Symmetry: node
permutations (the logits are invariant).
"""
from __future__ import annotations

import torch
from torch import nn

from gdl.train._task import Metric, ModelSpec, Task, register_task


def csl_datasets(root=None, fold: int = 0, num_folds: int = 5, split_seed: int = 0, pe_steps: int = 20):
    """Train/val/test subsets of ``gdl.data.CSL`` for one fold, with the random-walk PE precomputed."""
    from gdl.data.csl import CSL
    from gdl.data.splits import stratified_folds
    from gdl.data.transforms import RandomWalkPE

    if not 0 <= fold < num_folds:
        raise ValueError(f"data.fold must be in 0…{num_folds - 1}, got {fold}")
    from gdl.data._home import cache_folder

    dataset = CSL(cache_folder("csl", root), pre_transform=RandomWalkPE(pe_steps, attr_name="random_walk_pe"))
    folds = stratified_folds(dataset.y, num_folds=num_folds, seed=split_seed)[fold]
    return {split: dataset[folds[split]] for split in ("train", "val", "test")}


class CSLClassifier(nn.Module):
    """GIN graph classifier (Xu et al. 2019) from ``gdl.nn.graph``: h⁰ = 1 (plain) or the
    random-walk PE; L ``GINConv`` layers h ← MLP((1 + ε) h_i + Σ_j h_j); a sum ``GraphReadout`` of
    every layer (the GIN paper's jumping readout); a linear head → 10 logits.

    Input: a PyG ``Batch`` with ``edge_index``, ``batch`` and (if ``positional_encoding``)
    ``random_walk_pe`` [N, pe_steps]; output: logits [num_graphs, 10], invariant under node
    permutations (exact up to float rounding of the sums).
    """

    def __init__(self, positional_encoding: bool = False, hidden_channels: int = 64, num_layers: int = 4,
                 pe_steps: int = 20, num_classes: int = 10):
        super().__init__()
        from gdl.nn.graph import GINConv, GraphReadout, node_feature_type

        self.positional_encoding = positional_encoding
        in_channels = pe_steps if positional_encoding else 1
        self.in_type = {"random_walk_pe": node_feature_type(pe_steps)} if positional_encoding else {}
        self.out_type = node_feature_type(num_classes)
        self.encoder = nn.Linear(in_channels, hidden_channels)
        self.layers = nn.ModuleList(GINConv(hidden_channels) for _ in range(num_layers))
        self.readout = GraphReadout(hidden_channels, reduce="sum")
        self.head = nn.Linear(hidden_channels * (num_layers + 1), num_classes)

    def forward(self, data):
        num_nodes = data.num_nodes
        batch = data.batch if data.batch is not None else torch.zeros(num_nodes, dtype=torch.long, device=data.edge_index.device)
        num_graphs = int(batch.max()) + 1 if batch.numel() else 0
        if self.positional_encoding:
            x = data.random_walk_pe
        else:
            x = torch.ones(num_nodes, 1, dtype=self.encoder.weight.dtype, device=self.encoder.weight.device)
        h = torch.relu(self.encoder(x))
        pooled = [self.readout(h, batch, num_graphs)]
        for layer in self.layers:
            h = torch.relu(layer(h, data.edge_index))
            pooled.append(self.readout(h, batch, num_graphs))
        return self.head(torch.cat(pooled, dim=1))


def cross_entropy(pred, batch):
    return nn.functional.cross_entropy(pred, batch.y)


def accuracy(pred, batch):
    return (pred.argmax(-1) == batch.y).sum(), batch.y.numel()


def csl_symmetry(model):
    from gdl.testing import NodePermutation

    return [NodePermutation()]


def generate(root=None, **options):
    splits = csl_datasets(root, **options)
    return {name: f"{len(ds)} graphs" for name, ds in splits.items()}


CSL_TASK = register_task(Task(
    name="csl",
    description="circular skip-link graphs (Murphy et al. 2019): 10 classes that 1-WL cannot separate; accuracy",
    datasets=csl_datasets,
    models={
        "gin": ModelSpec(lambda hidden_channels=64, num_layers=4, pe_steps=20: CSLClassifier(
            False, hidden_channels, num_layers, pe_steps), lr=1e-3,
            description="GIN on constant node features (1-WL bounded: 10 % by construction)"),
        "gin-rwpe": ModelSpec(lambda hidden_channels=64, num_layers=4, pe_steps=20: CSLClassifier(
            True, hidden_channels, num_layers, pe_steps), lr=1e-3,
            description="GIN reading the random-walk positional encoding (20 steps)"),
    },
    default_model="gin-rwpe",
    loss=cross_entropy,
    metric=Metric("accuracy", accuracy, higher_is_better=True),
    symmetry=csl_symmetry,
    symmetry_description="node permutations (graph-level logits invariant)",
    defaults={"batch_size": 10, "epochs": 100},
    generate=generate,
    notes="5-fold protocol: run data.fold=0…4 and average; chance level is 10 %.",
))
