"""Seeded, stratified k-fold splits (the CSL cross-validation protocol)."""
from __future__ import annotations

from typing import Dict, List, Sequence, Union

import torch

__all__ = ["stratified_folds"]


def stratified_folds(
    labels: Union[torch.Tensor, Sequence[int]], num_folds: int = 5, seed: int = 0, validation: bool = True
) -> List[Dict[str, torch.Tensor]]:
    """Stratified k-fold cross-validation splits.

    Each class's indices are shuffled (seeded) and dealt round-robin into ``num_folds`` folds,
    so every fold holds ⌊n_c / k⌋ or ⌈n_c / k⌉ items of class c. Split f uses fold f as
    ``test``; with ``validation=True`` fold (f + 1) mod k is ``val`` and the remaining k − 2
    folds are ``train`` (CSL in Dwivedi et al.'s benchmarking-gnns: 90 / 30 / 30 graphs);
    with ``validation=False`` the other k − 1 folds are ``train`` (Murphy et al. 2019: 120 / 30).

    Returns:
        ``num_folds`` dicts of sorted int64 index tensors with keys ``train``, ``test`` (and ``val``).
    """
    labels = torch.as_tensor(labels).flatten()
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if isinstance(num_folds, bool) or not isinstance(num_folds, int) or num_folds < (3 if validation else 2):
        raise ValueError(f"num_folds must be an int >= {3 if validation else 2}, got {num_folds!r}")
    if labels.numel() < num_folds:
        raise ValueError(f"cannot split {labels.numel()} items into {num_folds} folds")
    generator = torch.Generator().manual_seed(seed)
    fold_of = torch.empty(labels.numel(), dtype=torch.long)
    start = 0
    for c in torch.unique(labels).tolist():
        members = (labels == c).nonzero().flatten()
        members = members[torch.randperm(members.numel(), generator=generator)]
        # continue the round-robin across classes so fold sizes stay balanced too
        fold_of[members] = (torch.arange(members.numel()) + start) % num_folds
        start += members.numel()
    splits = []
    for f in range(num_folds):
        test = fold_of == f
        val = fold_of == (f + 1) % num_folds if validation else torch.zeros_like(test)
        split = {"train": (~test & ~val).nonzero().flatten(), "test": test.nonzero().flatten()}
        if validation:
            split["val"] = val.nonzero().flatten()
        splits.append(split)
    return splits
