"""Task ``group_tables``: predict a·b from (a, b) for a finite group — grokking (Power et al. 2022; Chughtai et al. 2023).

Data: ``gdl.data.group_tables`` — all |G|² pairs of a ``gdl.groups`` group (``data.group``: ``"C31"``,
``"C59"``, ``"S5"``, ``"D6"``, … by ``group_from_name``), a random ``data.train_fraction`` of them for
training, the rest held out and split in half into validation and test (``data.val_fraction``; 0 makes
validation the whole held-out set). Model: ``gdl.models.GroupMLP`` (Chughtai et al.'s one-hidden-layer MLP
over concatenated embeddings); the number of classes follows the group (``model_options.group`` must name
the same group as ``data.group``, default C31 for both). Loss: cross-entropy; metric: accuracy.
Defaults follow the grokking recipe: AdamW, lr 1e-3, weight decay 1, full batch (batch_size = |train|
is set by the benchmark; the task default 512 ≥ the C31 training split at fraction 0.5).

No equivariance monitor (``check_equivariance=False``): the inputs are element *indices*; a group
relabelling acts on them by permuting the table, and nothing in the architecture makes the logits follow
— the held-out accuracy is exactly the measure of how far the trained network has found the group's
structure, so it is the metric, not a symmetry check. ``python -m gdl.benchmarks.grokking`` trains until the
held-out accuracy jumps and tracks weight norm and the local learning coefficient (``gdl.thermo.llc``).
"""
from __future__ import annotations

from torch import nn

from gdl.train._task import Metric, ModelSpec, Task, register_task


def group_table_datasets(root=None, group: str = "C31", train_fraction: float = 0.5, val_fraction: float = 0.5,
                         split_seed: int = 0):
    """``gdl.data.group_tables.group_table_splits`` of the named group (generated in memory; ``root`` unused)."""
    from gdl.data.group_tables import group_from_name, group_table_splits

    return group_table_splits(group_from_name(group), train_fraction=train_fraction, seed=split_seed,
                              val_fraction=val_fraction)


def build_group_mlp(group: str = "C31", embed_dim: int = 32, hidden_channels: int = 128):
    """gdl.models.GroupMLP with |G| classes for the named group."""
    from gdl.data.group_tables import group_from_name
    from gdl.models import GroupMLP

    return GroupMLP(int(group_from_name(group).order), embed_dim=embed_dim, hidden_channels=hidden_channels)


def cross_entropy(pred, batch):
    y = batch["y"]
    if y.numel() and int(y.max()) >= pred.shape[-1]:
        raise ValueError(f"group_tables: the model has {pred.shape[-1]} classes but the data has products up to index "
                         f"{int(y.max())}: model_options.group must name the same group as data.group")
    return nn.functional.cross_entropy(pred, y)


def accuracy(pred, batch):
    return (pred.argmax(-1) == batch["y"]).sum(), batch["y"].numel()


def generate(root=None, **options):
    splits = group_table_datasets(root, **options)
    return {name: f"{len(ds)} pairs" for name, ds in splits.items()}


GROUP_TABLES_TASK = register_task(Task(
    name="group_tables",
    description="group multiplication tables (Chughtai et al. 2023): predict a·b from (a, b), grokking; accuracy",
    datasets=group_table_datasets,
    models={"mlp": ModelSpec(build_group_mlp, lr=1e-3, weight_decay=1.0,
                             description="one-hidden-layer MLP over concatenated left/right embeddings",
                             defaults={"optimizer": {"name": "adamw"}})},
    loss=cross_entropy,
    metric=Metric("accuracy", accuracy, higher_is_better=True),
    check_equivariance=False,
    symmetry_description="none checked: inputs are element indices (see the module docstring)",
    defaults={"batch_size": 512, "epochs": 2000},
    generate=generate,
    notes="held-out accuracy jumps long after the training accuracy (grokking); see python -m gdl.benchmarks.grokking",
))
