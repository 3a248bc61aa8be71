"""Direct products G × H; elements are pairs (tuples) of element batches."""
from __future__ import annotations

import torch

from gdl.groups._errors import GroupElementError
from gdl.groups._group import Group
from gdl.groups._homomorphism import GroupHomomorphism
from gdl.groups._reps import PullbackRep, Rep


class DirectProduct(Group):
    """G × H with componentwise product; an element batch is a tuple ``(g, h)``.

    Sampling is the product of the factors' samplings (Haar if both are compact).
    Test elements: the identity, each factor's generators paired with the other's
    identity, the grids paired index-wise, and random pairs.
    """

    def __init__(self, first: Group, second: Group):
        self.factors = (first, second)
        self.name = f"{first.name} × {second.name}"
        self.is_finite = first.is_finite and second.is_finite
        self.is_compact = first.is_compact and second.is_compact
        self.element_kind = "tuple"

    def _key(self):
        return ("DirectProduct", self.factors)

    def batch_size(self, g):
        return self.factors[0].batch_size(g[0])

    def cat(self, parts):
        return tuple(f.cat([p[i] for p in parts]) for i, f in enumerate(self.factors))

    def select(self, g, index):
        return tuple(f.select(x, index) for f, x in zip(self.factors, g))

    def to(self, g, *, dtype=None, device=None):
        return tuple(f.to(x, dtype=dtype, device=device) for f, x in zip(self.factors, g))

    def validate(self, g):
        if not isinstance(g, tuple) or len(g) != 2:
            raise GroupElementError(f"{self.name}: elements are pairs (g, h) of element batches, got {type(g).__name__}")
        a, b = (f.validate(x) for f, x in zip(self.factors, g))
        if self.factors[0].batch_size(a) != self.factors[1].batch_size(b):
            raise GroupElementError(f"{self.name}: the two components have different batch sizes")
        return (a, b)

    def distance(self, a, b):
        a, b = self.validate(a), self.validate(b)
        return self.factors[0].distance(a[0], b[0]) + self.factors[1].distance(a[1], b[1])

    def _dtype(self, dtype):
        return dtype or torch.get_default_dtype()

    def _identity(self, n, dtype, device):
        return tuple(f.identity(n, dtype=dtype, device=device) for f in self.factors)

    def _compose(self, a, b):
        return tuple(f._compose(x, y) for f, x, y in zip(self.factors, a, b))

    def _inverse(self, a):
        return tuple(f._inverse(x) for f, x in zip(self.factors, a))

    def _sample(self, n, generator, dtype, device):
        return tuple(f.sample(n, generator, dtype=dtype, device=device) for f in self.factors)

    def _generators(self, dtype, device):
        (g, h), parts = self.factors, []
        gg, hg = g.generators(dtype=dtype, device=device), h.generators(dtype=dtype, device=device)
        parts.append((gg, h.identity(g.batch_size(gg), dtype=dtype, device=device)))
        parts.append((g.identity(h.batch_size(hg), dtype=dtype, device=device), hg))
        return self.cat(parts)

    def _grid(self, dtype, device):
        (g, h) = self.factors
        a, b = g.grid(dtype=dtype, device=device), h.grid(dtype=dtype, device=device)
        n = min(g.batch_size(a), h.batch_size(b))
        return (g.select(a, slice(0, n)), h.select(b, slice(0, n)))

    @property
    def order(self):
        """|G|·|H| (``math.inf`` when a factor is infinite)."""
        return self.factors[0].order * self.factors[1].order

    def elements(self, *, dtype=None, device=None):
        if not self.is_finite:
            return super().elements()
        (g, h) = self.factors
        a, b = g.elements(device=device), h.elements(device=device)
        na, nb = g.order, h.order
        return (g.select(a, torch.arange(na).repeat_interleave(nb)), h.select(b, torch.arange(nb).repeat(na)))

    def _index(self, x):
        if not self.is_finite:
            return super()._index(x)
        return self.factors[0]._index(x[0]) * self.factors[1].order + self.factors[1]._index(x[1])

    def projection(self, i: int) -> GroupHomomorphism:
        """The projection (g₀, g₁) ↦ g_i onto factor ``i``, a homomorphism."""
        return GroupHomomorphism(self, self.factors[i], lambda g, i=i: g[i], f"π{i}", key=("projection", i))

    def factor_rep(self, i: int, rep: Rep) -> Rep:
        """A rep of factor ``i`` pulled back to the product (the other factor acts trivially)."""
        if rep.group != self.factors[i]:
            raise TypeError(f"factor {i} of {self.name} is {self.factors[i]}, got a rep of {rep.group}")
        return PullbackRep(self, rep, self.projection(i), f"{rep.name}[{i}]")

    def outer(self, first: Rep, second: Rep) -> Rep:
        """The external tensor product ρ ⊠ σ: (g, h) ↦ ρ(g) ⊗ σ(h)."""
        return self.factor_rep(0, first).tensor(self.factor_rep(1, second))

    def trivial_rep(self, dim: int = 1):
        from gdl.groups._reps import TrivialRep

        return TrivialRep(self, dim)

    def standard_rep(self):
        """ρ_G ⊕ ρ_H on the factors' standard reps."""
        return self.factor_rep(0, self.factors[0].standard_rep()) + self.factor_rep(1, self.factors[1].standard_rep())
