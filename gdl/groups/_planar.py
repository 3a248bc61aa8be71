"""Planar groups: SO(2), O(2), C_n, D_n, and their irreducible representations.

Elements: SO(2) an angle θ ∈ (-π, π] ([n]); O(2) a pair (θ, f) ∈ (-π, π] × {0, 1} ([n, 2],
float), meaning R(θ)F^f with F = diag(1, -1); C_n an integer k ∈ [0, n) ([n]); D_n a pair
(k, f) ([n, 2], integer), meaning R(2πk/n)F^f. SO(2) irreps ρ_m(θ) = R(mθ) are the gauge
fields of meshes.
"""
from __future__ import annotations

import math

import torch

from gdl.groups._errors import GroupElementError
from gdl.groups._group import Group, wrap_angle
from gdl.groups._planar_irreps import PlanarIrrep, PlanarIrreps
from gdl.groups._reps import MatrixRep


def rotation_2d(theta: torch.Tensor) -> torch.Tensor:
    """R(θ) = [[cos θ, -sin θ], [sin θ, cos θ]], batched: [n] → [n, 2, 2]."""
    c, s = torch.cos(theta), torch.sin(theta)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def reflect_columns(m: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """M·F^f with F = diag(1, -1): negate the second column where ``flip`` is 1."""
    sign = 1 - 2 * flip.to(m.dtype)
    return torch.stack([m[..., 0], m[..., 1] * sign[:, None]], dim=-1)


def _planar_irrep(group, m: int, angle_of, flip_of=None):
    """ρ(R(θ)F^f) = R(mθ)F^f (dim 2; the standard rep of C_n, D_n for n ≤ 2, where it is reducible)."""

    def fn(g, dtype, device):
        mat = rotation_2d(m * angle_of(g).to(dtype))
        return reflect_columns(mat, flip_of(g)) if flip_of is not None else mat

    return MatrixRep(group, 2, "standard", fn, key=("standard", m))


class _PlanarIrrepsMixin:
    """Irreps with the multiplicity syntax (``gdl.groups._planar_irreps``) for planar groups."""

    def irreps(self, irreps) -> PlanarIrreps:
        """A sum of irreps with multiplicities, e.g. ``"4x0+2x1+1x2"`` (labels: see
        ``gdl.groups._planar_irreps``; a ``PlanarIrreps`` of this group is returned as is)."""
        if isinstance(irreps, PlanarIrreps):
            if irreps.group != self:
                raise TypeError(f"{self}.irreps got irreps of {irreps.group}: {irreps}")
            return irreps
        return PlanarIrreps(self, irreps)

    def _irrep(self, freq: int, prime: int = 0) -> PlanarIrreps:
        return PlanarIrreps(self, [(1, PlanarIrrep(int(freq), int(prime)))])

    def _trivial_irreps(self, dim: int) -> PlanarIrreps:
        return PlanarIrreps(self, [(dim, PlanarIrrep(0, 0))])


class SO2(_PlanarIrrepsMixin, Group):
    """SO(2), rotations of the plane; elements are angles θ ∈ (-π, π] (float, [n]).

    Haar measure: θ uniform on (-π, π]. Generators: the rotation by 1 rad (an irrational
    multiple of π, so it generates a dense subgroup). Grid: 12 equally spaced angles.
    """

    name = "SO(2)"
    element_shape = ()

    def _identity(self, n, dtype, device):
        return torch.zeros(n, dtype=dtype, device=device)

    def _compose(self, a, b):
        return wrap_angle(a + b)

    def _inverse(self, a):
        return wrap_angle(-a)

    def _sample(self, n, generator, dtype, device):
        u = torch.rand(n, generator=generator, dtype=dtype)
        return self._to(wrap_angle(math.pi - 2 * math.pi * u), device)

    def _generators(self, dtype, device):
        return torch.tensor([1.0], dtype=dtype, device=device)

    def _grid(self, dtype, device):
        return wrap_angle(torch.arange(12, dtype=dtype, device=device) * (2 * math.pi / 12))

    def distance(self, a, b):
        return wrap_angle(self.validate(a) - self.validate(b)).abs()

    def standard_rep(self):
        return self.irrep(1)

    def irrep(self, m: int) -> PlanarIrreps:
        """ρ_m(θ) = R(mθ) (dim 2) for m ≥ 1; the trivial irrep for m = 0 (label ``"m"``)."""
        if m < 0:
            raise ValueError(f"SO(2) irreps are labelled by m ≥ 0 (ρ_-m ≅ ρ_m), got m={m}")
        return self._irrep(m)

    def _planar_spec(self):
        return {"period": None, "reflections": False, "rotation": lambda g: g, "flip": None}

    def embedding_into(self, other):
        if isinstance(other, O2):
            return lambda g: torch.stack([g, torch.zeros_like(g)], dim=-1)
        from gdl.groups._orthogonal import OrthogonalGroup

        if isinstance(other, OrthogonalGroup) and other.d == 2:
            return rotation_2d
        return super().embedding_into(other)


class O2(_PlanarIrrepsMixin, Group):
    """O(2), rotations and reflections of the plane; elements (θ, f) = R(θ)F^f ([n, 2], float).

    Haar measure: θ uniform, f uniform on {0, 1}. Generators: rotation by 1 rad and the
    reflection F. Grid: 12 rotations × {no flip, flip}.
    """

    name = "O(2)"
    element_shape = (2,)

    def _identity(self, n, dtype, device):
        return torch.zeros(n, 2, dtype=dtype, device=device)

    def _compose(self, a, b):
        sign = 1 - 2 * a[:, 1]
        theta = wrap_angle(a[:, 0] + sign * b[:, 0])
        flip = torch.remainder(a[:, 1] + b[:, 1], 2)
        return torch.stack([theta, flip], dim=-1)

    def _inverse(self, a):
        sign = 1 - 2 * a[:, 1]
        return torch.stack([wrap_angle(-sign * a[:, 0]), a[:, 1]], dim=-1)

    def _sample(self, n, generator, dtype, device):
        u = torch.rand(n, generator=generator, dtype=dtype)
        f = torch.randint(0, 2, (n,), generator=generator).to(dtype)
        return self._to(torch.stack([wrap_angle(math.pi - 2 * math.pi * u), f], -1), device)

    def _generators(self, dtype, device):
        return torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=dtype, device=device)

    def _grid(self, dtype, device):
        theta = wrap_angle(torch.arange(12, dtype=dtype, device=device) * (2 * math.pi / 12))
        return torch.cat([torch.stack([theta, torch.full_like(theta, f)], -1) for f in (0.0, 1.0)])

    def _validate(self, g):
        if not ((g[:, 1] == 0) | (g[:, 1] == 1)).all():
            raise GroupElementError("O(2): the flip component of an element must be 0 or 1")

    def distance(self, a, b):
        a, b = self.validate(a), self.validate(b)
        return wrap_angle(a[:, 0] - b[:, 0]).abs() + (a[:, 1] - b[:, 1]).abs()

    def standard_rep(self):
        return self.irrep(1)

    def irrep(self, m: int, flip: int = 0) -> PlanarIrreps:
        """m ≥ 1: ρ_m(R(θ)F^f) = R(mθ)F^f (dim 2, label ``"m"``); m = 0: trivial (flip=0,
        ``"0"``) or det (flip=1, ``"0'"``)."""
        if m < 0 or flip not in (0, 1) or (m > 0 and flip):
            raise ValueError(f"O(2) irreps: (m ≥ 1) or (m = 0, flip ∈ {{0, 1}}); got m={m}, flip={flip}")
        return self._irrep(m, flip)

    def _planar_spec(self):
        return {"period": None, "reflections": True, "rotation": lambda g: g[:, 0], "flip": lambda g: g[:, 1]}

    def embedding_into(self, other):
        from gdl.groups._orthogonal import OrthogonalGroup

        if isinstance(other, OrthogonalGroup) and other.d == 2 and not other.special:
            return lambda g: reflect_columns(rotation_2d(g[:, 0]), g[:, 1])
        return super().embedding_into(other)


class Cyclic(_PlanarIrrepsMixin, Group):
    """C_n, rotations of the plane by multiples of 2π/n; elements k ∈ [0, n) (int64, [n])."""

    element_shape = ()
    element_kind = "int"
    is_finite = True

    def __init__(self, n: int):
        if n < 1:
            raise ValueError(f"Cyclic(n) needs n ≥ 1, got {n}")
        self.n = int(n)
        self.name = f"C{self.n}"

    def _key(self):
        return ("Cyclic", self.n)

    @property
    def order(self):
        return self.n

    def elements(self, *, dtype=None, device=None):
        return torch.arange(self.n, device=device)

    def _index(self, g):
        return g.long()

    def _identity(self, n, dtype, device):
        return torch.zeros(n, dtype=torch.int64, device=device)

    def _compose(self, a, b):
        return torch.remainder(a + b, self.n)

    def _inverse(self, a):
        return torch.remainder(-a, self.n)

    def _sample(self, n, generator, dtype, device):
        return self._to(torch.randint(0, self.n, (n,), generator=generator), device)

    def _generators(self, dtype, device):
        return torch.tensor([1 % self.n], device=device)

    def _grid(self, dtype, device):
        return self.elements(device=device)

    def _validate(self, g):
        if ((g < 0) | (g >= self.n)).any():
            raise GroupElementError(f"{self.name}: elements are integers in [0, {self.n}), got values outside")

    def angle(self, g):
        return g.to(torch.float64) * (2 * math.pi / self.n)

    def standard_rep(self):
        """The action on the plane, R(2πk/n) (the irrep ``"1"`` for n ≥ 3)."""
        if self.n >= 3:
            return self.irrep(1)
        return _planar_irrep(self, 1, angle_of=self.angle)

    def irrep(self, j: int) -> PlanarIrreps:
        """j = 0: trivial; 0 < j < n/2: R(2πjk/n) (dim 2); j = n/2 (n even): (-1)^k (label ``"j"``)."""
        if not 0 <= j <= self.n // 2:
            raise ValueError(f"{self.name} irreps are labelled 0 ≤ j ≤ {self.n // 2}, got {j}")
        return self._irrep(j)

    def _planar_spec(self):
        return {"period": self.n, "reflections": False, "rotation": lambda g: g, "flip": None}

    def embedding_into(self, other):
        if isinstance(other, SO2):
            return lambda g: wrap_angle(self.angle(g))
        if isinstance(other, Dihedral) and other.n == self.n:
            return lambda g: torch.stack([g, torch.zeros_like(g)], dim=-1)
        if isinstance(other, O2):
            return lambda g: torch.stack([wrap_angle(self.angle(g)), torch.zeros(g.shape[0], dtype=torch.float64, device=g.device)], -1)
        return super().embedding_into(other)


class Dihedral(_PlanarIrrepsMixin, Group):
    """D_n, the symmetries of the regular n-gon; elements (k, f) = R(2πk/n)F^f (int64, [n, 2]).

    Order 2n; generators: the rotation (1, 0) and the reflection (0, 1).
    """

    element_shape = (2,)
    element_kind = "int"
    is_finite = True

    def __init__(self, n: int):
        if n < 1:
            raise ValueError(f"Dihedral(n) needs n ≥ 1, got {n}")
        self.n = int(n)
        self.name = f"D{self.n}"

    def _key(self):
        return ("Dihedral", self.n)

    @property
    def order(self):
        return 2 * self.n

    def elements(self, *, dtype=None, device=None):
        k = torch.arange(self.n, device=device)
        return torch.cat([torch.stack([k, torch.full_like(k, f)], -1) for f in (0, 1)])

    def _index(self, g):
        g = g.long()
        return g[:, 1] * self.n + g[:, 0]

    def _identity(self, n, dtype, device):
        return torch.zeros(n, 2, dtype=torch.int64, device=device)

    def _compose(self, a, b):
        sign = 1 - 2 * a[:, 1]
        return torch.stack([torch.remainder(a[:, 0] + sign * b[:, 0], self.n), (a[:, 1] + b[:, 1]) % 2], -1)

    def _inverse(self, a):
        sign = 1 - 2 * a[:, 1]
        return torch.stack([torch.remainder(-sign * a[:, 0], self.n), a[:, 1]], -1)

    def _sample(self, n, generator, dtype, device):
        k = torch.randint(0, self.n, (n,), generator=generator)
        f = torch.randint(0, 2, (n,), generator=generator)
        return self._to(torch.stack([k, f], -1), device)

    def _generators(self, dtype, device):
        return torch.tensor([[1 % self.n, 0], [0, 1]], device=device)

    def _grid(self, dtype, device):
        return self.elements(device=device)

    def _validate(self, g):
        if ((g[:, 0] < 0) | (g[:, 0] >= self.n) | (g[:, 1] < 0) | (g[:, 1] > 1)).any():
            raise GroupElementError(f"{self.name}: elements are (k, f) with 0 ≤ k < {self.n}, f ∈ {{0, 1}}")

    def angle(self, g):
        return g[:, 0].to(torch.float64) * (2 * math.pi / self.n)

    def standard_rep(self):
        """The action on the plane, R(2πk/n)F^f (the irrep ``"1"`` for n ≥ 3)."""
        if self.n >= 3:
            return self.irrep(1)
        return _planar_irrep(self, 1, angle_of=self.angle, flip_of=lambda g: g[:, 1])

    def irrep(self, j: int, flip: int = 0) -> PlanarIrreps:
        """0 < j < n/2: R(2πjk/n)F^f (dim 2, label ``"j"``). j = 0: trivial (flip=0, ``"0"``)
        or (-1)^f (flip=1, ``"0'"``). j = n/2 (n even): (-1)^k (``"j"``) or (-1)^(k+f) (``"j'"``)."""
        if not 0 <= j <= self.n // 2 or flip not in (0, 1):
            raise ValueError(f"{self.name} irreps: 0 ≤ j ≤ {self.n // 2}, flip ∈ {{0, 1}}; got j={j}, flip={flip}")
        if flip and 0 < j and 2 * j != self.n:
            raise ValueError(f"{self.name}: the 2-dimensional irreps (0 < j < n/2) take flip=0")
        return self._irrep(j, flip)

    def _planar_spec(self):
        return {"period": self.n, "reflections": True, "rotation": lambda g: g[:, 0], "flip": lambda g: g[:, 1]}

    def embedding_into(self, other):
        if isinstance(other, O2):
            return lambda g: torch.stack([wrap_angle(self.angle(g)), g[:, 1].to(torch.float64)], -1)
        return super().embedding_into(other)

