r"""Group multiplication tables as a learning problem (Power et al. 2022; Chughtai et al. 2023).

For a finite group G from ``gdl.groups`` (``Cyclic(p)``, ``Symmetric(n)``, ``Dihedral(n)``, …) with
elements g_0 … g_{|G|−1} in the order of ``G.elements()``, the table is

    T[i, j] = k   with   g_k = g_i ∘ g_j,

computed by the group's own batched ``compose`` and ``index`` (one call for all |G|² pairs). The
learning problem: predict the class k from the pair (i, j); a fraction of the |G|² pairs is the training
set, the rest is held out (split into validation and test). A network that fits the training pairs
first and the held-out pairs only much later "groks" (Power et al. 2022, arXiv:2201.02177); Chughtai et
al. (arXiv:2302.03025) show that it then computes the product through the group's irreducible
representations.

``multiplication_table(group)`` → LongTensor [|G|, |G|]; ``GroupTable(group, pairs)`` is the dataset
of (a, b) → a·b for the given pairs (items ``{"a", "b", "y"}``, 0-dim int64 tensors, which the PyG and
torch loaders stack into a batch ``{"a": [B], "b": [B], "y": [B]}``); ``group_table_splits(group,
train_fraction, seed)`` → ``{"train", "val", "test"}``; ``group_from_name("C31")`` / ``("S5")`` /
``("D6")``.
"""
from __future__ import annotations

import math
import re
from typing import Dict

import torch
from torch.utils.data import Dataset

MAX_ORDER = 1000  # |G|² pairs are held in memory: 10⁶ pairs at most


def _check_finite_group(group) -> int:
    order = getattr(group, "order", math.inf)
    if not getattr(group, "is_finite", False) or math.isinf(order):
        raise TypeError(f"a multiplication table needs a finite group, got {group!r} (order {order})")
    if order > MAX_ORDER:
        raise ValueError(f"{group.name} has {order} elements: its table of {order}² pairs exceeds the limit of "
                         f"{MAX_ORDER}² (pick a smaller group)")
    return int(order)


def multiplication_table(group) -> torch.Tensor:
    """T [|G|, |G|] (int64) with g_{T[i, j]} = g_i ∘ g_j in the order of ``group.elements()``."""
    order = _check_finite_group(group)
    elements = group.elements()
    left = elements.repeat_interleave(order, dim=0)
    right = elements.repeat(order, *([1] * (elements.dim() - 1)))
    return group.index(group.compose(left, right)).reshape(order, order).to(torch.int64)


def group_from_name(name: str):
    """``"C31"`` → ``Cyclic(31)``, ``"S5"`` → ``Symmetric(5)``, ``"D6"`` → ``Dihedral(6)`` (the gdl.groups classes)."""
    from gdl.groups import Cyclic, Dihedral, Symmetric

    match = re.fullmatch(r"\s*([CSD])\s*(\d+)\s*", str(name))
    if not match:
        raise ValueError(f"expected a group name like 'C31' (cyclic), 'S5' (symmetric) or 'D6' (dihedral), got {name!r}")
    kind, n = match.group(1), int(match.group(2))
    return {"C": Cyclic, "S": Symmetric, "D": Dihedral}[kind](n)


class GroupTable(Dataset):
    """The pairs (a, b) → a·b of one split of a group's table.

    Args:
        group: a finite ``gdl.groups`` group. pairs: LongTensor [N, 2] of element indices (default: all |G|²).

    Attributes: ``group``, ``order`` (|G|), ``table`` [|G|, |G|], ``pairs`` [N, 2], ``y`` [N]
    (= table[a, b]). ``len`` = N; ``ds[i]`` = ``{"a", "b", "y"}``; ``ds.full_batch()`` = the whole split as
    one batch dict.
    """

    def __init__(self, group, pairs: torch.Tensor = None, table: torch.Tensor = None):
        self.group = group
        self.table = multiplication_table(group) if table is None else table
        self.order = int(self.table.shape[0])
        if pairs is None:
            pairs = torch.cartesian_prod(torch.arange(self.order), torch.arange(self.order))
        pairs = torch.as_tensor(pairs, dtype=torch.int64)
        if pairs.dim() != 2 or pairs.shape[1] != 2:
            raise ValueError(f"pairs: expected a LongTensor [N, 2] of element indices, got shape {list(pairs.shape)}")
        if pairs.numel() and (pairs.min() < 0 or pairs.max() >= self.order):
            raise ValueError(f"pairs: element indices must lie in [0, {self.order}) for {group.name}, got values in "
                             f"[{int(pairs.min())}, {int(pairs.max())}]")
        self.pairs = pairs
        self.y = self.table[pairs[:, 0], pairs[:, 1]]

    def __len__(self) -> int:
        return int(self.pairs.shape[0])

    def __getitem__(self, index):
        if isinstance(index, (int,)) or (isinstance(index, torch.Tensor) and index.dim() == 0):
            i = int(index)
            return {"a": self.pairs[i, 0], "b": self.pairs[i, 1], "y": self.y[i]}
        return GroupTable(self.group, self.pairs[index], self.table)

    def full_batch(self) -> Dict[str, torch.Tensor]:
        """The whole split as one batch ``{"a": [N], "b": [N], "y": [N]}``."""
        return {"a": self.pairs[:, 0].clone(), "b": self.pairs[:, 1].clone(), "y": self.y.clone()}

    def __repr__(self) -> str:
        return f"GroupTable({self.group.name}, {len(self)} of {self.order}² pairs)"


def group_table_splits(group, train_fraction: float = 0.5, seed: int = 0, val_fraction: float = 0.5) -> Dict[str, GroupTable]:
    """Random split of all |G|² pairs: ``train_fraction`` of them for training; of the rest, ``val_fraction``
    for validation and the others for test (seeded by ``seed``). ``val_fraction=0``: validation is the
    whole held-out set, the same pairs as test (the grokking papers' single held-out split)."""
    if isinstance(train_fraction, bool) or not isinstance(train_fraction, (int, float)) or not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be a number in (0, 1), got {train_fraction!r}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be a number in [0, 1), got {val_fraction!r}")
    full = GroupTable(group)
    n = len(full)
    n_train = int(round(train_fraction * n))
    if not 0 < n_train < n:
        raise ValueError(f"train_fraction {train_fraction} of {n} pairs leaves an empty split ({n_train} train pairs)")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = int(round(val_fraction * (n - n_train)))
    train, rest = order[:n_train], order[n_train:]
    if n_val == len(rest):
        raise ValueError(f"val_fraction {val_fraction} of the {len(rest)} held-out pairs leaves no test pairs")
    test = full[rest[n_val:]]
    return {"train": full[train], "val": full[rest[:n_val]] if n_val else test, "test": test}
