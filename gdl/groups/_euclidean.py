"""Euclidean groups E(d) = R^d ⋊ O(d) and SE(d) = R^d ⋊ SO(d).

An element is the homogeneous matrix [[Q, t], [0, 1]] ([n, d+1, d+1], float) acting on a
point x as Q x + t. E(d) is not compact, so there is no Haar probability measure:
``sample`` draws Q from Haar on O(d) (SO(d)) and t ~ N(0, σ² I) with σ =
``translation_scale`` (default 1).
"""
from __future__ import annotations

import torch

from gdl.groups._errors import GroupElementError
from gdl.groups._group import Group, tolerance
from gdl.groups._homomorphism import GroupHomomorphism
from gdl.groups._orthogonal import O3, SO3, OrthogonalGroup
from gdl.groups._points import PointAction
from gdl.groups._reps import PullbackRep, Rep


class Euclidean(Group):
    """E(d): rotations, reflections and translations of R^d (homogeneous [n, d+1, d+1])."""

    is_compact = False
    special = False

    def __init__(self, d: int, translation_scale: float = 1.0):
        self.d = int(d)
        self.translation_scale = float(translation_scale)
        self.element_shape = (self.d + 1, self.d + 1)
        self.name = f"{'SE' if self.special else 'E'}({self.d})"
        if self.d == 3:
            self.linear_group = SO3() if self.special else O3()
        else:
            self.linear_group = OrthogonalGroup(self.d, special=self.special)

    def _key(self):
        return (type(self).__name__, self.d)

    # -- parts ------------------------------------------------------------------------
    def linear_part(self, g: torch.Tensor) -> torch.Tensor:
        """Q: the O(d) part ([n, d, d]); the projection E(d) → O(d) is a homomorphism."""
        return g[:, : self.d, : self.d]

    def translation(self, g: torch.Tensor) -> torch.Tensor:
        """t ([n, d])."""
        return g[:, : self.d, self.d]

    def from_parts(self, linear: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
        """The element x ↦ Q x + t from Q [n, d, d] and t [n, d]."""
        n = max(linear.shape[0], translation.shape[0])
        out = torch.zeros(n, self.d + 1, self.d + 1, dtype=linear.dtype, device=linear.device)
        out[:, : self.d, : self.d] = linear
        out[:, : self.d, self.d] = translation
        out[:, self.d, self.d] = 1
        return out

    # -- algebra ------------------------------------------------------------------------
    def _identity(self, n, dtype, device):
        return torch.eye(self.d + 1, dtype=dtype, device=device).expand(n, self.d + 1, self.d + 1).clone()

    def _compose(self, a, b):
        return a @ b

    def _inverse(self, a):
        qt = self.linear_part(a).transpose(-1, -2)
        return self.from_parts(qt, -(qt @ self.translation(a).unsqueeze(-1)).squeeze(-1))

    def _sample(self, n, generator, dtype, device):
        q = self.linear_group._sample(n, generator, dtype, None)
        t = torch.randn(n, self.d, generator=generator, dtype=torch.float64).to(dtype) * self.translation_scale
        return self._to(self.from_parts(q, t), device)

    def _generators(self, dtype, device):
        lin = self.linear_group._generators(dtype, device)
        eye = torch.eye(self.d, dtype=dtype, device=device)
        shifts = self.from_parts(eye.expand(self.d, self.d, self.d), eye)  # unit translations
        return torch.cat([self.from_parts(lin, torch.zeros(lin.shape[0], self.d, dtype=dtype, device=device)), shifts])

    def _grid(self, dtype, device):
        lin = self.linear_group._grid(dtype, device)
        t = torch.linspace(-2.0, 2.0, lin.shape[0], dtype=dtype, device=device)[:, None].expand(-1, self.d)
        return self.from_parts(lin, t * torch.arange(1, self.d + 1, dtype=dtype, device=device) / self.d)

    def _validate(self, g):
        bottom = g[:, self.d, :]
        expected = torch.zeros(self.d + 1, dtype=g.dtype, device=g.device)
        expected[self.d] = 1
        if g.shape[0] and (bottom - expected).abs().amax() > tolerance(g.dtype):
            raise GroupElementError(f"{self.name}: the last row of a homogeneous element must be [0, …, 0, 1]")
        self.linear_group._validate(self.linear_part(g))

    def embedding_into(self, other):
        if isinstance(other, Euclidean) and other.d == self.d and (self.special or not other.special):
            return lambda g: g
        return super().embedding_into(other)

    # -- homomorphisms ------------------------------------------------------------------
    def projection_to_orthogonal(self) -> GroupHomomorphism:
        """The homomorphism E(d) → O(d) (SE(d) → SO(d)), (Q, t) ↦ Q: its kernel is the
        translations, so fields pulled back through it (vectors, irreps) ignore translations."""
        return GroupHomomorphism(self, self.linear_group, self.linear_part, f"{self} → {self.linear_group}", key=("linear part",))

    def homomorphism_to(self, other):
        """Also maps E(d) to O(d)/SO(d) fields: the projection to the linear part, then the
        inclusion SO(d) ⊂ O(d) where needed (there is no homomorphism E(d) → SO(d))."""
        hom = super().homomorphism_to(other)
        if hom is not None:
            return hom
        if isinstance(other, OrthogonalGroup) and other.d == self.d:
            onward = self.linear_group.homomorphism_to(other)
            return None if onward is None else self.projection_to_orthogonal().then(onward)
        return None

    # -- representations -------------------------------------------------------------
    def point_action(self) -> PointAction:
        """The affine action on points, x ↦ Q x + t: a ``PointAction`` (dim d), not a ``Rep``."""
        return PointAction(self)

    def standard_rep(self) -> PointAction:
        """The defining action of E(d) on R^d — affine (x ↦ Q x + t), so it is the
        ``PointAction`` of ``point_action()``, not a linear ``Rep``; vectors are ``vector_rep()``."""
        return PointAction(self)

    def linear_rep(self, rep: Rep) -> Rep:
        """A rep of O(d) (SO(d)) pulled back to E(d) through ``projection_to_orthogonal()``:
        translations act trivially (vectors, irreps)."""
        if rep.group != self.linear_group:
            raise TypeError(f"{self.name}.linear_rep expects a rep of {self.linear_group}, got one of {rep.group}")
        return PullbackRep(self, rep, self.projection_to_orthogonal(), f"{rep.name}")

    def vector_rep(self) -> Rep:
        """Vectors (velocities, displacements): x ↦ Q x, translation-invariant."""
        return self.linear_rep(self.linear_group.standard_rep())

    def irreps(self, irreps) -> Rep:
        """e3nn irreps pulled back through E(3) → O(3) (d = 3 only)."""
        if self.d != 3:
            raise TypeError(f"e3nn irreps need d = 3, {self.name} has d = {self.d}")
        if isinstance(irreps, PullbackRep) and irreps.group == self:
            return irreps
        return self.linear_rep(self.linear_group.irreps(irreps))


class SpecialEuclidean(Euclidean):
    """SE(d): rotations and translations of R^d (no reflections)."""

    special = True
