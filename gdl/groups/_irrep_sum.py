"""Sums of labelled irreps with multiplicities: the shape of e3nn's ``Irreps``, for any group.

An ``IrrepSum`` is ⊕_i mul_i · ρ_{label_i}, stored as its entries ``((mul, label), ...)``,
channels in that order (each entry is ``mul`` consecutive copies of its irrep). It behaves as
e3nn's ``Irreps`` does: ``+`` concatenates, ``k * rep`` multiplies a single entry's
multiplicity, ``rep[1:3]`` selects entries, ``simplify()`` merges adjacent equal labels,
``sort()`` orders the entries by label (stable, with the permutation), and it prints and
parses as ``"4x0+2x1"``. The action applies one block per distinct label to all its copies,
never building the block-diagonal matrix.

Subclasses (``PlanarIrreps`` for SO(2)/O(2)/C_n/D_n, ``IrrepsRep`` for SO(3)/O(3)) give the
labels' dimension, name, order, matrices and the tensor-product rule of two irreps.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import torch

from gdl.groups._reps import Decomposition, Rep, TrivialRep, ZeroRep, direct_sum


class IrrepSum(Rep):
    """⊕ mul_i · ρ_{label_i} over ``group`` (see the module docstring)."""

    def __init__(self, group, entries):
        entries = tuple((int(mul), label) for mul, label in entries)
        self.group = group
        for mul, label in entries:
            if mul < 0:
                raise ValueError(f"{group}: multiplicities are ≥ 0, got {mul} for irrep {self._label_str(label)}")
        self.entries = entries
        dim = sum(mul * self._label_dim(label) for mul, label in entries)
        super().__init__(group, dim, "+".join(f"{mul}x{self._label_str(label)}" for mul, label in entries))

    # -- hooks for subclasses -------------------------------------------------------------
    def _label_dim(self, label) -> int:
        raise NotImplementedError

    def _label_str(self, label) -> str:
        return str(label)

    def _label_key(self, label):
        return label

    def _new(self, entries) -> "IrrepSum":
        return type(self)(self.group, entries)

    def _label_blocks(self, labels, g, dtype, device) -> Dict[object, torch.Tensor]:
        """{label: [n, d, d] matrices of that irrep at ``g``} for the distinct ``labels``."""
        raise NotImplementedError

    def _decompose_pair(self, a, b) -> List[Tuple[object, torch.Tensor]]:
        """ρ_a ⊗ ρ_b = ⊕ ρ_c: ``[(c, W_c)]`` with W_c (float64, ``[d_c, d_a·d_b]``,
        orthonormal rows) and W_c (ρ_a ⊗ ρ_b)(g) = ρ_c(g) W_c; the rows of all W_c together
        form an orthogonal matrix."""
        raise NotImplementedError(f"{self.group}: the tensor product of irreps is not decomposed")

    # -- e3nn-like value semantics ----------------------------------------------------------
    def __iter__(self):
        return iter(self.entries)

    @property
    def summands(self):
        return tuple(self._new((entry,)) for entry in self.entries)

    def simplify(self) -> "IrrepSum":
        out = []
        for mul, label in self.entries:
            if out and out[-1][1] == label:
                out[-1] = (out[-1][0] + mul, label)
            elif mul > 0:
                out.append((mul, label))
        return self._new(out)

    def _irrep_sort_key(self):
        return tuple(self._label_key(label) for _, label in self.entries)

    def __rmul__(self, k):
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            return NotImplemented
        if len(self.entries) == 1:
            (mul, label), = self.entries
            return self._new(((k * mul, label),))
        return direct_sum(*([self] * k)) if k else ZeroRep(self.group)

    __mul__ = __rmul__

    def _merge(self, other):
        if other.group != self.group:
            return None
        if isinstance(other, IrrepSum) and type(other) is type(self):
            return self._new(self.entries + other.entries)
        if isinstance(other, TrivialRep):
            trivial = other._as_irreps()
            return None if trivial is None else self._new(self.entries + trivial.entries)
        return None

    def _key(self):
        return ("IrrepSum", self.group, self.simplify().entries)

    def decompose(self) -> Decomposition:
        """Already a sum of irreps: Q = I."""
        return Decomposition(self, torch.eye(self.dim, dtype=torch.float64))

    # -- action ------------------------------------------------------------------------------
    def _distinct_labels(self):
        return list(dict.fromkeys(label for mul, label in self.entries if mul))

    def _matrix(self, g, dtype, device):
        blocks = self._label_blocks(self._distinct_labels(), g, dtype, device)
        out = torch.zeros(self.group.batch_size(g), self.dim, self.dim, dtype=dtype, device=device)
        start = 0
        for mul, label in self.entries:
            d = self._label_dim(label)
            block = blocks.get(label)
            if block is None:  # an identity block (the trivial irrep)
                block = torch.eye(d, dtype=dtype, device=device)
            for _ in range(mul):
                out[:, start : start + d, start : start + d] = block
                start += d
        return out

    def _act_last(self, g, x):
        blocks = self._label_blocks(self._distinct_labels(), g, x.dtype, x.device)
        parts, start = [], 0
        for mul, label in self.entries:
            d = self._label_dim(label)
            y = x[..., start : start + mul * d].reshape(*x.shape[:-1], mul, d)
            block = blocks.get(label)
            if block is None or mul == 0:
                pass
            elif d == 1:
                scale = block.reshape(block.shape[0], *([1] * (y.dim() - 1)))
                y = y * (scale[0] if block.shape[0] == 1 else scale)
            elif block.shape[0] == 1:
                y = y @ block[0].transpose(0, 1)
            else:
                y = torch.einsum("bij,b...mj->b...mi", block, y)
            parts.append(y.reshape(*x.shape[:-1], mul * d))
            start += mul * d
        return torch.cat(parts, dim=-1) if parts else x.clone()
