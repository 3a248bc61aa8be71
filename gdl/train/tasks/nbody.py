"""Task ``nbody``: the charged N-body benchmark of EGNN (Satorras et al. 2021, §5.1; "nbody_small").

Predict the positions of 5 charged particles one time unit ahead from positions, velocities
and charges (``gdl.data.NBodyCharged``: 3000 train / 2000 val / 2000 test). Loss and metric:
MSE over nodes × xyz (``nn.MSELoss``); the reported number is the test MSE at the
best-validation epoch. Symmetry: E(3) (rotations, reflections, translations — positions
move as points, velocities as vectors, charges invariant) and node permutations; the
targets are points.
"""
from __future__ import annotations

import torch

from gdl.groups import Euclidean, FieldType
from gdl.train._task import Metric, ModelSpec, Published, Task, check_kwargs, register_task

E3 = Euclidean(3)

EGNN_PAPER = "Satorras et al. 2021 (arXiv:2102.09844), Table 2"
SEGNN_PAPER = "Brandstetter et al. 2022 (arXiv:2110.02905), Table 1"


def nbody_datasets(root=None, num_train: int = 3000, num_val: int = 2000, num_test: int = 2000, seed: int = 43,
                   stream: str = "egnn", progress: bool = True):
    """The three splits of ``gdl.data.NBodyCharged`` (generated once, then read from the cache)."""
    from gdl.data._home import cache_folder
    from gdl.data.nbody import NBodyCharged

    root = cache_folder("nbody_charged", root)  # root is a cache root, like $GDL_HOME
    sizes = {"num_train": num_train, "num_val": num_val, "num_test": num_test}
    return {split: NBodyCharged(root, split=split, seed=seed, stream=stream, progress=progress, **sizes)
            for split in ("train", "val", "test")}


def _model(class_name: str):
    """A factory that builds ``gdl.models.<class_name>(**options)`` (imported when a run builds it)."""

    def factory(**options):
        from gdl import models

        cls = getattr(models, class_name)
        return cls(**check_kwargs(cls.__init__, options, f"model_options of {class_name}", skip=("self",)))

    factory.__name__ = f"build_{class_name}"
    factory.__doc__ = f"gdl.models.{class_name}(**model_options)"
    return factory


def mse_loss(pred, batch):
    return torch.nn.functional.mse_loss(pred, batch.y)


def mse_sum(pred, batch):
    return ((pred - batch.y) ** 2).sum(), batch.y.numel()


def nbody_symmetry(model):
    from gdl.testing import EuclideanSymmetry, NodePermutation

    return [EuclideanSymmetry(3), NodePermutation()]


def generate(root=None, **options):
    splits = nbody_datasets(root, **options)
    return {name: f"{len(ds)} graphs at {ds.processed_dir}" for name, ds in splits.items()}


NBODY = register_task(Task(
    name="nbody",
    description="charged N-body (EGNN nbody_small): 5 particles, predict positions 1000 steps ahead; MSE",
    datasets=nbody_datasets,
    models={
        "egnn": ModelSpec(_model("EGNN"), lr=5e-4, weight_decay=1e-12,
                          description="EGNN_vel, 4 layers, hidden 64 (paper: Adam 5e-4, wd 1e-12, 10 000 epochs)"),
        "segnn": ModelSpec(_model("SEGNN"), lr=5e-4, weight_decay=1e-8,
                           description="SEGNN, steerable messages (paper: Adam 5e-4, wd 1e-8, 1 000 epochs)"),
        "tfn": ModelSpec(_model("TFN"), lr=1e-3,
                         description="tensor-field network (EGNN README: degree 2, 32 channels, lr 1e-3)"),
        "gnn": ModelSpec(_model("GNN"), lr=1e-3, breaks=("E(3)",),
                         description="message passing on [x, v], not E(3)-equivariant (EGNN README: lr 1e-3)"),
        "linear": ModelSpec(_model("Linear"), lr=1e-3, breaks=("E(3)",),
                            description="x + W[x, v] + b per node, not E(3)-equivariant"),
    },
    default_model="egnn",
    loss=mse_loss,
    metric=Metric("mse", mse_sum, higher_is_better=False),
    symmetry=nbody_symmetry,
    symmetry_description="E(3) (rotations, reflections, translations) × node permutations",
    target_types={"y": FieldType(E3, E3.standard_rep())},
    published={
        "linear": Published(0.0819, EGNN_PAPER),
        "gnn": Published(0.0107, EGNN_PAPER),
        "tfn": Published(0.0155, EGNN_PAPER),
        "se3-transformer": Published(0.0244, EGNN_PAPER),
        "egnn": Published(0.0071, EGNN_PAPER),
        "segnn": Published(0.0043, SEGNN_PAPER),
    },
    defaults={"batch_size": 100, "epochs": 100},
    generate=generate,
    notes="Full protocol: EGNN 10 000 epochs, SEGNN 1 000 epochs, batch 100, test MSE at the best-validation epoch.",
))
