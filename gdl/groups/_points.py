"""The affine action of E(d) on points, and field types that mix points with linear fields.

E(d) moves a point x ∈ R^d by g·x = Q x + t. This is an action but not a linear
representation (g·0 = t ≠ 0), so it is not a ``Rep``: a ``PointAction`` has ``dim`` = d
(the size of the point axis), ``act``, and ``affine_matrix(g)`` = [[Q, t], [0, 1]] of size
d + 1 (homogeneous coordinates), for which (g∘h)·x = g·(h·x) holds exactly.

Points combine with linear fields by ``+`` into an ``AffineSum`` (e.g. positions ⊕ velocities
⊕ e3nn irreps on one axis): each block moves by its own action, points affinely and the rest
linearly. Tensor products and duals need linearity and are refused with a ``TypeError``.
"""
from __future__ import annotations

from typing import Sequence

import torch

from gdl.groups._action import Action
from gdl.groups._reps import Rep, ZeroRep, _device_of, _float_dtype_of, direct_sum


def _not_linear(what: str):
    def refuse(self, *args, **kwargs):
        raise TypeError(
            f"{self} is an affine action (points move by x ↦ Qx + t), not a linear representation: "
            f"it has no {what}; use the linear part (e.g. Euclidean.vector_rep()) for vectors"
        )

    return refuse


class _AffineArithmetic(Action):
    is_linear = False
    is_orthogonal = False

    def __add__(self, other):
        if not isinstance(other, Action):
            return NotImplemented
        return affine_sum(self, other)

    def __radd__(self, other):
        if not isinstance(other, Action):
            return NotImplemented
        return affine_sum(other, self)

    def __rmul__(self, k):
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            return NotImplemented
        return affine_sum(*([self] * k)) if k else ZeroRep(self.group)

    __mul__ = __rmul__
    tensor = __matmul__ = __rmatmul__ = _not_linear("tensor product")
    dual = _not_linear("dual")
    matrix = _not_linear("matrix of size dim (use affine_matrix(g), [n, dim+1, dim+1])")
    decompose = _not_linear("decomposition into irreps")

    @property
    def e3nn_irreps(self):
        return None

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.summands[key]
        self.channels(key)
        picked = self.summands[key]
        return affine_sum(*picked) if picked else ZeroRep(self.group)

    def simplify(self):
        return self


class PointAction(_AffineArithmetic):
    """E(d) (or SE(d)) acting on points of R^d by x ↦ Q x + t; ``dim`` = d (module docstring)."""

    def __init__(self, group):
        if not hasattr(group, "linear_part") or not hasattr(group, "translation"):
            raise TypeError(f"a PointAction needs a Euclidean group (E(d) or SE(d)), got {group}")
        super().__init__(group, group.d, "points")

    def affine_matrix(self, g, dtype=None, *, validate: bool = True) -> torch.Tensor:
        """The homogeneous matrices [[Q, t], [0, 1]] (``[n, d+1, d+1]``)."""
        if validate:
            g = self.group.validate(g)
        return g.to(dtype or _float_dtype_of(g))

    homogeneous_matrix = affine_matrix

    def _act_last(self, g, x):
        q = self.group.linear_part(g).to(x.dtype)
        t = self.group.translation(g).to(x.dtype)
        if q.shape[0] == 1:
            return x @ q[0].transpose(0, 1) + t[0]
        t = t.reshape(t.shape[0], *([1] * (x.dim() - 2)), self.group.d)
        return torch.einsum("bij,b...j->b...i", q, x) + t

    def _key(self):
        return ("PointAction", self.group)


class AffineSum(_AffineArithmetic):
    """A direct sum of actions on one axis, at least one of them affine (points): each block
    moves by its own action. Build it with ``+`` (``E.point_action() + E.vector_rep()``)."""

    def __init__(self, parts: Sequence[Action]):
        parts = tuple(parts)
        super().__init__(parts[0].group, sum(p.dim for p in parts), " + ".join(p.name for p in parts))
        self.parts = parts

    @property
    def summands(self):
        return tuple(s for p in self.parts for s in p.summands)

    def _act_last(self, g, x):
        pieces = torch.split(x, [p.dim for p in self.parts], dim=-1)
        return torch.cat([p._act_last(g, piece) for p, piece in zip(self.parts, pieces)], dim=-1)

    def affine_matrix(self, g, dtype=None, *, validate: bool = True) -> torch.Tensor:
        """[[A(g), b(g)], [0, 1]] with A block-diagonal (each part's linear part) and b the
        stacked translations: g·x = A(g)x + b(g)."""
        if validate:
            g = self.group.validate(g)
        dtype = dtype or _float_dtype_of(g)
        n = self.group.batch_size(g)
        out = torch.zeros(n, self.dim + 1, self.dim + 1, dtype=dtype, device=_device_of(g))
        start = 0
        for p in self.parts:
            m = p.affine_matrix(g, dtype, validate=False)
            out[:, start : start + p.dim, start : start + p.dim] = m[:, : p.dim, : p.dim]
            out[:, start : start + p.dim, self.dim] = m[:, : p.dim, p.dim]
            start += p.dim
        out[:, self.dim, self.dim] = 1
        return out

    def _key(self):
        return ("AffineSum", tuple(p._key() for p in self.parts))


def affine_sum(*parts: Action) -> Action:
    """The direct sum of actions; a plain ``Rep`` (``direct_sum``) when all parts are linear,
    else an ``AffineSum`` whose adjacent linear parts are merged by ``direct_sum``."""
    group = parts[0].group
    flat = []
    for p in parts:
        if p.group != group:
            raise TypeError(f"actions of different groups: {parts[0]} of {group} and {p} of {p.group}")
        flat.extend(p.parts if isinstance(p, AffineSum) else [p])
    if all(isinstance(p, Rep) for p in flat):
        return direct_sum(*flat)
    merged = []
    for p in flat:
        if isinstance(p, ZeroRep):
            continue
        if merged and isinstance(p, Rep) and isinstance(merged[-1], Rep):
            merged[-1] = direct_sum(merged[-1], p)
        else:
            merged.append(p)
    return merged[0] if len(merged) == 1 else AffineSum(merged)
