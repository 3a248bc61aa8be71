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


def training_mode_modules(model) -> List[str]:
    """Names of Dropout / batch-norm-like submodules in training mode."""
    if not isinstance(model, torch.nn.Module):
        return []
    found = []
    for name, m in model.named_modules():
        if not m.training:
            continue
        kinds = (torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._NormBase)
        if isinstance(m, kinds) or any(w in type(m).__name__ for w in ("Dropout", "BatchNorm")):
            found.append(f"{name or '(root)'} ({type(m).__name__})")
    return found


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
