"""Task ``synth_faust``: dense correspondence on SynthFAUST (``gdl.data.SynthFAUST``), FAUST's protocol offline.

Every vertex of a deformed, randomly moved mesh is classified as one of the template's V vertices
(642 with the default ``subdivisions=3``). Splits: the first 70 of the 80 training meshes train, the
last 10 validate, the 20 test meshes test. ``data.test`` picks the test set: ``"rotated"`` (random
rotation + translation, the default and the issue's target), ``"aligned"`` (no rigid motion) or
``"retriangulated"`` (rotated, each mesh on its own triangulation; labels = nearest template vertex).
``data.train_rigid_motion=False`` trains on aligned meshes (the setting in which an XYZ model looks
good until the test meshes are rotated). Loss: cross-entropy over template vertices. Metric: exact
correspondence accuracy; the mean geodesic error (on the template, ÷ √area) is computed by
:func:`correspondence_errors` (``examples/train_synth_faust.py`` reports both).

Symmetry: rotations and translations of the mesh, SE(3) (outputs invariant), and vertex
relabelling (outputs permute). The XYZ models break SE(3) by design.
"""
from __future__ import annotations

import torch

from gdl.train._task import Metric, ModelSpec, Published, Task, register_task

TEST_SETS = ("rotated", "aligned", "retriangulated")
GEM_PAPER = "de Haan et al. 2021 (ICLR, arXiv:2003.05425), Table 2 — real FAUST, not SynthFAUST"


def synth_faust_split(root=None, split: str = "test", subdivisions: int = 3, num_meshes: int = 100, seed: int = 0,
                      rigid_motion: bool = True, retriangulate: bool = False):
    """One cached ``SynthFAUST`` split (the task's datasets and the examples' extra test sets)."""
    from gdl.data._home import cache_folder
    from gdl.data.synth_faust import SynthFAUST

    return SynthFAUST(cache_folder("synth_faust", root), split, subdivisions=subdivisions, num_meshes=num_meshes,
                      seed=seed, rigid_motion=rigid_motion, retriangulate=retriangulate)


def synth_faust_datasets(root=None, subdivisions: int = 3, num_meshes: int = 100, num_val: int = 10, seed: int = 0,
                         train_rigid_motion: bool = True, test: str = "rotated"):
    """Train / val / test splits of SynthFAUST (see the module docstring)."""
    if test not in TEST_SETS:
        raise ValueError(f"data.test must be one of {TEST_SETS}, got {test!r}")
    options = {"subdivisions": subdivisions, "num_meshes": num_meshes, "seed": seed}
    train = synth_faust_split(root, "train", rigid_motion=train_rigid_motion, **options)
    if not 0 < num_val < len(train):
        raise ValueError(f"data.num_val must lie in 1…{len(train) - 1} (the training split has {len(train)} meshes), got {num_val}")
    test_set = synth_faust_split(root, "test", rigid_motion=test != "aligned", retriangulate=test == "retriangulated", **options)
    return {"train": train[: len(train) - num_val], "val": train[len(train) - num_val:], "test": test_set}


def _num_classes(subdivisions: int) -> int:
    return 10 * 4 ** int(subdivisions) + 2


def _gem(input_features: str):
    def factory(subdivisions: int = 3, **options):
        from gdl.models import GEMCNN

        return GEMCNN(out_channels=_num_classes(subdivisions), input_features=input_features, **options)

    factory.__name__ = f"build_GEMCNN_{input_features}"
    factory.__doc__ = f"gdl.models.GEMCNN(out_channels=template vertices, input_features={input_features!r}, **model_options)"
    return factory


def _gcn(subdivisions: int = 3, hidden_channels: int = 64, num_layers: int = 4, dropout: float = 0.0):
    """gdl.models.MeshGCN(out_channels=template vertices, ...)."""
    from gdl.models import MeshGCN

    return MeshGCN(_num_classes(subdivisions), hidden_channels, num_layers, dropout=dropout)


def _mlp(subdivisions: int = 3, hidden_channels: int = 128, num_layers: int = 3, dropout: float = 0.0):
    """gdl.models.InvariantFeatureMLP(out_channels=template vertices, ...)."""
    from gdl.models import InvariantFeatureMLP

    return InvariantFeatureMLP(_num_classes(subdivisions), hidden_channels, num_layers, dropout=dropout)


def cross_entropy(pred, batch):
    return torch.nn.functional.cross_entropy(pred, batch.y)


def accuracy(pred, batch):
    return (pred.argmax(-1) == batch.y).sum(), batch.y.numel()


@torch.no_grad()
def correspondence_errors(model, dataset, geodesics, forward=None) -> dict:
    """Exact accuracy and mean geodesic error (÷ √template area) of ``model`` on every mesh of ``dataset``.

    ``geodesics``: the template's :class:`gdl.data.meshes.TemplateGeodesics` (``dataset.geodesics()``).
    Also returns the fraction of vertices within 0.01 and 0.05 of the right vertex (geodesic, ÷ √area).
    """
    model.eval()
    correct = total = 0
    errors = []
    for data in dataset:
        pred = (forward(model, data) if forward is not None else model(data)).argmax(-1)
        correct += int((pred == data.y).sum())
        total += data.y.numel()
        errors.append(geodesics.normalised_error(pred.cpu(), data.y.cpu()))
    errors = torch.cat(errors)
    return {"accuracy": correct / total, "geodesic_error": float(errors.mean()),
            "within_0.01": float((errors <= 0.01).double().mean()), "within_0.05": float((errors <= 0.05).double().mean()),
            "meshes": len(dataset), "vertices": total}


def mesh_symmetry(model):
    from gdl.testing import EuclideanSymmetry, NodePermutation

    return [EuclideanSymmetry(3, special=True), NodePermutation()]


def generate(root=None, **options):
    splits = synth_faust_datasets(root, **options)
    return {name: f"{len(ds)} meshes of {ds[0].num_nodes} vertices" for name, ds in splits.items()}


SYNTH_FAUST = register_task(Task(
    name="synth_faust",
    description="SynthFAUST dense correspondence (FAUST protocol, generated meshes, random rigid motions); accuracy",
    datasets=synth_faust_datasets,
    models={
        "gem": ModelSpec(_gem("descriptors"), lr=5e-3,
                         description="GEM-CNN on rotation-invariant descriptors as rho0 inputs (invariant to SE(3) by construction)"),
        "gem-matrix": ModelSpec(_gem("matrix"), lr=5e-3,
                                description="GEM-CNN on local matrix features (9ρ0+6ρ1+3ρ2; invariant to SE(3))"),
        "gem-xyz": ModelSpec(_gem("xyz"), lr=5e-3, breaks=("SE(3)",),
                             description="GEM-CNN on XYZ as 3ρ0 (the paper's input; not rotation invariant)"),
        "gcn-xyz": ModelSpec(_gcn, lr=1e-3, breaks=("SE(3)",),
                             description="isotropic GCN on centred XYZ (GEM-CNN Table 2's 'Graph CNN, XYZ' row)"),
        "mlp-invariant": ModelSpec(_mlp, lr=1e-3,
                                   description="per-vertex MLP on invariant descriptors (no message passing)"),
    },
    default_model="gem",
    loss=cross_entropy,
    metric=Metric("accuracy", accuracy, higher_is_better=True),
    symmetry=mesh_symmetry,
    symmetry_description="rotations + translations of the mesh, SE(3) (invariant logits) × vertex relabelling",
    published={
        "gem": Published(0.9973, GEM_PAPER, std=0.0004),
        "graph-cnn-xyz": Published(0.014, GEM_PAPER, std=0.005),
    },
    defaults={"batch_size": 4, "epochs": 100},
    generate=generate,
    notes="Target (issue #11): >= 0.99 accuracy on randomly rotated test meshes with the invariant GEM-CNN; "
          "the published numbers are the real FAUST's (GEM-CNN on XYZ, aligned meshes).",
))
