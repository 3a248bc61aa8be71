"""One-line diagnoses the equivariance report adds to a verdict.

- ``trait_diagnoses``: failures confined to one kind of element — only translations (the
  output reads absolute positions, or a point is typed as a vector), only improper elements
  (a pseudovector or a wrong parity), only reorderings of edges/faces (the output depends on
  the order of ``edge_index``), only node relabellings with the item order kept;
- ``training_mode_modules``: Dropout / batch-norm layers left in training mode (random masks
  and batch statistics change between calls and across a stacked batch);
- ``needs_gradients``: a forward that differentiates (forces by autograd) run under no_grad.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence

import torch

TRAIT_DIAGNOSES = {
    "translation": "fails only under translations: the output depends on absolute positions "
                   "(use differences x_i − x_j), or a point is typed as a vector (or a vector as a point)",
    "improper": "fails only under improper elements (reflections, inversion): a pseudovector (e.g. a cross product) "
                "or a wrong parity is declared (e3nn 1o vs 1e), or the model is only SO(d)-equivariant",
    "items": "fails only when edges (or faces) are reordered with the nodes kept: the output depends on the order of "
             "edge_index / face columns (e.g. edge_index[:, 0], a cumulative sum over edges, a sort that is not stable)",
    "nodes": "fails only when nodes are relabelled with the edge order kept: the output depends on node labels "
             "(e.g. reads node 0 of each graph, or indexes nodes by position)",
}


def trait_diagnoses(errors: Sequence[float], traits: Optional[Sequence[frozenset]], rtol: float, symmetry: str) -> List[str]:
    """Traits T such that every failing element has T and every element without T passes
    (with at least one element without T tried), as report lines."""
    if not traits:
        return []
    failing = [i for i, e in enumerate(errors) if not e <= rtol]
    if not failing:
        return []
    lines = []
    for trait, text in TRAIT_DIAGNOSES.items():
        without = [i for i in range(len(errors)) if trait not in traits[i]]
        if without and all(trait in traits[i] for i in failing) and all(errors[i] <= rtol for i in without):
            lines.append(f"{symmetry}: {text}")
    return lines


_TRAINING_KINDS = (torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._NormBase)
# layers of other libraries (e3nn's Dropout / BatchNorm, gdl's SphericalBatchNorm) by name: a leaf
# module whose class name ends in Dropout or BatchNorm (BatchNorm1d …); a container whose name merely
# contains the word (a user's ``ManyDropouts`` holding Dropout layers) is not itself such a layer
_TRAINING_NAME = re.compile(r"(Dropout|BatchNorm)(\d+d)?$")


def _is_training_kind(module: torch.nn.Module) -> bool:
    if isinstance(module, _TRAINING_KINDS):
        return True
    return _TRAINING_NAME.search(type(module).__name__) is not None and next(module.children(), None) is None


def training_mode_modules(model) -> List[str]:
    """Names of the Dropout / batch-norm layers in training mode: torch's dropout and
    batch-norm modules (``_DropoutNd``, ``_NormBase``), and leaf modules of other libraries
    whose class name ends in ``Dropout`` or ``BatchNorm``."""
    if not isinstance(model, torch.nn.Module):
        return []
    return [f"{name or '(root)'} ({type(m).__name__})" for name, m in model.named_modules()
            if m.training and _is_training_kind(m)]


_GRAD_MESSAGES = ("does not require grad", "does not have a grad_fn", "grad can be implicitly created",
                  "One of the differentiated Tensors", "element 0 of tensors")


def needs_gradients(exc: BaseException) -> bool:
    """Whether an exception of the forward says that autograd was off (forces by autograd under no_grad)."""
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in _GRAD_MESSAGES)


def relative_difference(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> float:
    """max over outputs of ‖a − b‖∞ / max(‖a‖∞, tiny)."""
    worst = 0.0
    for k, v in a.items():
        w = b[k].detach().to(torch.float64)
        v = v.detach().to(torch.float64)
        if v.shape != w.shape:
            return float("inf")
        if v.numel():
            worst = max(worst, float((v - w).abs().max()) / max(float(v.abs().max()), 1e-300))
    return worst
