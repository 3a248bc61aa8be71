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


def _classifier(positional_encoding: bool):
    """A factory of ``gdl.models.CSLClassifier`` (imported when a run builds it)."""

    def factory(hidden_channels: int = 64, num_layers: int = 4, pe_steps: int = 20):
        from gdl.models import CSLClassifier

        return CSLClassifier(positional_encoding, hidden_channels, num_layers, pe_steps)

    factory.__name__ = "build_CSLClassifier" + ("_rwpe" if positional_encoding else "")
    factory.__doc__ = f"gdl.models.CSLClassifier(positional_encoding={positional_encoding}, **model_options)"
    return factory


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
        "gin": ModelSpec(_classifier(False), lr=1e-3,
                         description="GIN on constant node features (1-WL bounded: 10 % by construction)"),
        "gin-rwpe": ModelSpec(_classifier(True), lr=1e-3,
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
