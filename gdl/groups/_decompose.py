"""Decomposition of tensor products of irreps sums into irreps, with the change of basis.

For A = ⊕_i ρ_{a_i} and B = ⊕_j ρ_{b_j} (every copy of every entry), the channel (α, β) of
A ⊗ B (row-major, α·dim B + β) lies in the block of one pair (i, j), and on that block the
pair rule of the group (``IrrepSum._decompose_pair``) gives orthonormal rows W with
W (ρ_a ⊗ ρ_b)(g) = ρ_c(g) W. Stacking the rows of every pair gives an orthogonal Q with

    Q (A ⊗ B)(g) Qᵀ = ⊕ ρ_c(g),

whose output is then sorted and simplified (rows permuted accordingly). Nested tensor
products decompose their factors first: A ⊗ B ≅ (Q_A ⊗ Q_B)ᵀ (A' ⊗ B') (Q_A ⊗ Q_B).
Everything is computed in float64.
"""
from __future__ import annotations

import torch

from gdl.groups._irrep_sum import IrrepSum
from gdl.groups._reps import Decomposition, PullbackRep, Rep, TensorProductRep


def decompose_tensor_product(left: Rep, right: Rep) -> Decomposition:
    """``Decomposition(irreps, Q)`` of ``left ⊗ right`` (see the module docstring)."""
    if isinstance(left, PullbackRep) and left._same_map(right):
        inner = decompose_tensor_product(left.rep, right.rep)
        return inner._replace(irreps=left._pull(inner.irreps))
    a, b = _as_irreps(left, right), _as_irreps(right, left)
    qa, qb = a.change_of_basis, b.change_of_basis
    pair = _decompose_sums(a.irreps, b.irreps)
    if _is_eye(qa) and _is_eye(qb):
        return pair
    return pair._replace(change_of_basis=pair.change_of_basis @ torch.kron(qa, qb))


def _as_irreps(rep: Rep, other: Rep) -> Decomposition:
    if isinstance(rep, IrrepSum):
        return rep.decompose()
    if isinstance(rep, TensorProductRep):
        return rep.decompose()
    raise TypeError(
        f"decompose() of {rep} ⊗ {other}: both factors must be sums of labelled irreps "
        f"(e.g. SO2().irreps('1+2'), SO3().irreps('1o')) or tensor products of them, "
        f"got a {type(rep).__name__} ({rep})"
    )


def _is_eye(q):
    return torch.equal(q, torch.eye(q.shape[0], dtype=q.dtype))


def _decompose_sums(a: IrrepSum, b: IrrepSum) -> Decomposition:
    if type(a) is not type(b):
        raise TypeError(f"decompose(): {a} and {b} are irreps of different kinds")
    db = b.dim
    rows, labels = [], []
    a_starts = [sl.start for sl in a.slices()]
    b_starts = [sl.start for sl in b.slices()]
    for (mul_a, la), a_start in zip(a.entries, a_starts):
        da = a._label_dim(la)
        for (mul_b, lb), b_start in zip(b.entries, b_starts):
            dl = b._label_dim(lb)
            pair = a._decompose_pair(la, lb)
            i = torch.arange(da).repeat_interleave(dl)
            j = torch.arange(dl).repeat(da)
            for label, w in pair:  # e3nn's order: entry of a, entry of b, output irrep, copies (u, v)
                for copy_a in range(mul_a):
                    for copy_b in range(mul_b):
                        columns = (a_start + copy_a * da + i) * db + (b_start + copy_b * dl + j)
                        r = torch.zeros(w.shape[0], a.dim * db, dtype=torch.float64)
                        r[:, columns] = w
                        rows.append(r)
                        labels.append(label)
    q = torch.cat(rows) if rows else torch.zeros(0, 0, dtype=torch.float64)
    raw = a._new([(1, label) for label in labels])
    ordered = raw.sort()
    return Decomposition(ordered.rep.simplify(), q[ordered.channels])
