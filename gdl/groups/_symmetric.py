"""The symmetric group S_n: permutations of n points (graph node relabelling).

An element is a permutation array p ([batch, n], int64) with p[i] = σ(i); composition
(σ∘τ)(i) = σ(τ(i)). The permutation rep moves the entry at i to σ(i).
"""
from __future__ import annotations

import itertools
import math

import torch

from gdl.groups._errors import GroupElementError
from gdl.groups._group import Group
from gdl.groups._reps import MatrixRep, PermutationRep, TrivialRep


class Symmetric(Group):
    """S_n, all permutations of n points; elements are permutation arrays ([batch, n], int64).

    Haar (uniform) sampling by argsort of uniform noise. Generators: the transposition
    (0 1) and the n-cycle (0 1 … n-1). Grid: the n cyclic shifts and their reversals.
    """

    element_kind = "int"
    is_finite = True

    def __init__(self, n: int):
        if n < 1:
            raise ValueError(f"Symmetric(n) needs n ≥ 1, got {n}")
        self.n = int(n)
        self.element_shape = (self.n,)
        self.name = f"S{self.n}"

    def _key(self):
        return ("Symmetric", self.n)

    @property
    def order(self):
        return math.factorial(self.n)

    def elements(self, *, dtype=None, device=None):
        """All n! permutations in lexicographic order (refuses n > 8)."""
        if self.n > 8:
            raise ValueError(f"{self.name} has {self.order} elements; listing them is refused for n > 8")
        return torch.tensor(list(itertools.permutations(range(self.n))), dtype=torch.int64, device=device).reshape(-1, self.n)

    def _index(self, g):
        """Lexicographic rank (Lehmer code), vectorised."""
        smaller_after = (g.unsqueeze(2) > g.unsqueeze(1)).triu(1).sum(-1)  # c_i = #{j > i: p_j < p_i}
        weights = torch.tensor([math.factorial(self.n - 1 - i) for i in range(self.n)], device=g.device)
        return (smaller_after * weights).sum(-1)

    def _identity(self, n, dtype, device):
        return torch.arange(self.n, device=device).expand(n, self.n).clone()

    def _compose(self, a, b):
        a, b = torch.broadcast_tensors(a, b)
        return torch.gather(a, 1, b)

    def _inverse(self, a):
        return torch.argsort(a, dim=-1)

    def _sample(self, n, generator, dtype, device):
        return self._to(torch.argsort(torch.rand(n, self.n, generator=generator), dim=-1), device)

    def _generators(self, dtype, device):
        if self.n == 1:
            return self._identity(0, dtype, device)
        swap = torch.arange(self.n)
        swap[[0, 1]] = swap[[1, 0]]
        cycle = torch.roll(torch.arange(self.n), -1)
        return torch.stack([swap, cycle]).to(device)

    def _grid(self, dtype, device):
        shifts = torch.stack([torch.roll(torch.arange(self.n), k) for k in range(self.n)])
        return torch.cat([shifts, shifts.flip(-1)]).to(device)

    def _validate(self, g):
        if g.shape[0] and not (torch.sort(g, dim=-1).values == torch.arange(self.n, device=g.device)).all():
            raise GroupElementError(f"{self.name}: each element must be a permutation of 0..{self.n - 1}")

    def standard_rep(self):
        """The permutation representation on R^n (a gather, never a dense matrix)."""
        return PermutationRep(self, self.n)

    def irrep(self, name: str):
        """``"trivial"``, ``"sign"`` or ``"standard"`` (the (n-1)-dim irrep on sum-zero vectors)."""
        if name == "trivial":
            return TrivialRep(self)
        if name == "sign":
            def sign(g, dtype, device):
                inversions = (g.unsqueeze(1) > g.unsqueeze(2)).triu(1).sum((-1, -2))
                return (1 - 2 * (inversions % 2)).to(dtype).reshape(-1, 1, 1)

            return MatrixRep(self, 1, "sign", sign, key="sign")
        if name == "standard":
            perm = PermutationRep(self, self.n)

            def standard(g, dtype, device):
                basis = _sum_zero_basis(self.n, dtype, device)  # [n, n-1], orthonormal columns
                return basis.transpose(0, 1) @ perm._matrix(g, dtype, device) @ basis

            return MatrixRep(self, self.n - 1, "standard irrep", standard, key="standard irrep")
        raise ValueError(f"{self.name} irreps available: 'trivial', 'sign', 'standard'; got {name!r}")


def _sum_zero_basis(n, dtype, device):
    """Orthonormal basis of {x ∈ R^n : Σx = 0} (Helmert columns)."""
    basis = torch.zeros(n, n - 1, dtype=dtype, device=device)
    for k in range(1, n):
        basis[:k, k - 1] = 1.0
        basis[k, k - 1] = -k
        basis[:, k - 1] /= math.sqrt(k * (k + 1))
    return basis
