"""Task ``cortical``: regress sulcal depth from the pial surface of fsaverage5 (``gdl.data.CorticalSurface``).

Train on the left hemisphere's pial surface (10 242 vertices), validate on the left hemisphere moved
by a random rotation + translation (for an invariant model the training mesh itself; for an XYZ model
a rotation test on the training hemisphere), test on the right hemisphere (``data.test="right"``) or on
the right hemisphere under a random rotation + translation (``data.test="rotated-right"``, the default).
Positions in units of 10 cm (``scale=0.01``). Loss: MSE. Metric: R² = 1 − SSE / SST per mesh,
averaged over the meshes of the split (one mesh per split here, so it is that mesh's R²).

Symmetry: SE(3) (the predicted depth is invariant) and vertex relabelling. The GCN on XYZ breaks
SE(3) by design. Needs the ``cortical`` extra (nibabel, nilearn).
"""
from __future__ import annotations

import torch

from gdl.train._task import Metric, ModelSpec, Task, register_task
from gdl.train.tasks.synth_faust import mesh_symmetry

TEST_SETS = ("right", "rotated-right")
SCALE = 0.01


def cortical_split(root=None, hemisphere: str = "left", rigid_motion_seed=None, surface: str = "pial",
                   target: str = "sulc"):
    """One cached fsaverage5 hemisphere as a one-item ``CorticalSurface``."""
    from gdl.data._home import cache_folder
    from gdl.data.cortical import CorticalSurface

    return CorticalSurface(cache_folder("cortical", root), hemispheres=(hemisphere,), surface=surface, target=target,
                           scale=SCALE, rigid_motion_seed=rigid_motion_seed)


def cortical_datasets(root=None, test: str = "rotated-right", surface: str = "pial", target: str = "sulc",
                      rotation_seed: int = 0):
    """Train: left; val: left moved (seed ``rotation_seed + 1``); test: right, moved (seed ``rotation_seed``) if
    ``test="rotated-right"``."""
    if test not in TEST_SETS:
        raise ValueError(f"data.test must be one of {TEST_SETS}, got {test!r}")
    options = {"surface": surface, "target": target}
    return {
        "train": cortical_split(root, "left", **options),
        "val": cortical_split(root, "left", rigid_motion_seed=rotation_seed + 1, **options),
        "test": cortical_split(root, "right", rigid_motion_seed=rotation_seed if test == "rotated-right" else None, **options),
    }


def _gem(**options):
    """gdl.models.GEMCNN(out_channels=1, input_features='descriptors', **model_options)."""
    from gdl.models import GEMCNN

    return GEMCNN(out_channels=1, input_features="descriptors", **options)


def _gcn(hidden_channels: int = 64, num_layers: int = 4, dropout: float = 0.0):
    """gdl.models.MeshGCN(out_channels=1, input_scale=1): GCN on centred XYZ (units of 10 cm)."""
    from gdl.models import MeshGCN

    return MeshGCN(1, hidden_channels, num_layers, dropout=dropout)


def _mlp(hidden_channels: int = 128, num_layers: int = 3, dropout: float = 0.0):
    """gdl.models.InvariantFeatureMLP(out_channels=1, ...)."""
    from gdl.models import InvariantFeatureMLP

    return InvariantFeatureMLP(1, hidden_channels, num_layers, dropout=dropout)


def mse_loss(pred, batch):
    return torch.nn.functional.mse_loss(pred.reshape(-1), batch.y)


def r_squared(pred, batch):
    """(Σ over meshes of R², number of meshes) with R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)² per mesh."""
    pred = pred.reshape(-1).to(torch.float64)
    y = batch.y.to(torch.float64)
    graph = batch.batch if getattr(batch, "batch", None) is not None else torch.zeros_like(batch.y, dtype=torch.long)
    num_graphs = int(graph.max()) + 1
    count = torch.zeros(num_graphs, dtype=torch.float64).index_add_(0, graph, torch.ones_like(y))
    mean = torch.zeros(num_graphs, dtype=torch.float64).index_add_(0, graph, y) / count
    sse = torch.zeros(num_graphs, dtype=torch.float64).index_add_(0, graph, (y - pred) ** 2)
    sst = torch.zeros(num_graphs, dtype=torch.float64).index_add_(0, graph, (y - mean[graph]) ** 2)
    return (1.0 - sse / sst.clamp_min(torch.finfo(torch.float64).tiny)).sum(), num_graphs


def generate(root=None, **options):
    splits = cortical_datasets(root, **options)
    return {name: f"{ds[0].hemisphere} hemisphere, {ds[0].num_nodes} vertices" for name, ds in splits.items()}


CORTICAL = register_task(Task(
    name="cortical",
    description="fsaverage5 pial surface: regress sulcal depth, train left, test (rotated) right; R²",
    datasets=cortical_datasets,
    models={
        "gem": ModelSpec(_gem, lr=5e-3, description="GEM-CNN on rotation-invariant descriptors (rho0 inputs)"),
        "gcn-xyz": ModelSpec(_gcn, lr=1e-3, breaks=("SE(3)",), description="isotropic GCN on centred XYZ"),
        "mlp-invariant": ModelSpec(_mlp, lr=1e-3, description="per-vertex MLP on invariant descriptors"),
    },
    default_model="gem",
    loss=mse_loss,
    metric=Metric("r2", r_squared, higher_is_better=True),
    symmetry=mesh_symmetry,
    symmetry_description="rotations + translations, SE(3) (invariant depth) × vertex relabelling",
    defaults={"batch_size": 1, "epochs": 200},
    generate=generate,
    notes="No published number for this protocol; gdl's numbers are in docs/meshes_benchmarks.md.",
))
