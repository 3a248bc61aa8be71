"""Representations: maps from group element batches to matrices, with cheap actions.

A ``Rep`` of a group G on R^dim gives ``matrix(g) -> [n, dim, dim]`` with
ρ(g∘h) = ρ(g)ρ(h), and ``act(g, x, axis)`` = ρ(g) applied to the ``axis`` of ``x``
without forming dense matrices where a cheaper form exists (a gather for permutations,
block-diagonal blocks for direct sums and irreps, factor-wise for tensor products).

Batch rule of ``act``: with a batch of one element, ρ(g) acts on the whole tensor; with a
batch of n > 1 elements, the leading axis of ``x`` must have size n and element i acts on
``x[i]``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from gdl.groups._errors import FieldTypeError, GroupElementError


class Rep:
    """Base class: a linear representation of ``group`` on R^``dim``."""

    is_orthogonal: bool = True

    def __init__(self, group, dim: int, name: str):
        self.group = group
        self.dim = int(dim)
        self.name = name

    # -- to implement -------------------------------------------------------------------
    def _matrix(self, g, dtype, device) -> torch.Tensor:
        raise NotImplementedError

    def _act_last(self, g, x: torch.Tensor) -> torch.Tensor:
        """ρ(g) on the last axis of ``x`` (already validated); default: dense matrices."""
        m = self._matrix(g, x.dtype, x.device)
        if m.shape[0] == 1:
            return x @ m[0].transpose(0, 1)
        return torch.einsum("bij,b...j->b...i", m, x)

    # -- public -------------------------------------------------------------------------
    def matrix(self, g, dtype=None) -> torch.Tensor:
        """ρ(g) as a ``[n, dim, dim]`` tensor (float dtype of ``g``, or ``dtype``)."""
        g = self.group.validate(g)
        dtype = dtype or _float_dtype_of(g)
        return self._matrix(g, dtype, _device_of(g))

    def act(self, g, x: torch.Tensor, axis: int = -1) -> torch.Tensor:
        """ρ(g)·x along ``axis`` of ``x`` (see the module docstring for the batch rule)."""
        g = self.group.validate(g)
        x = self.check(x, axis)
        n = self.group.batch_size(g)
        last = x.movedim(axis, -1)
        if n != 1:
            if last.dim() < 2 or last.shape[0] != n:
                raise FieldTypeError(
                    f"{self}: a batch of {n} group elements acts on a tensor whose leading axis has "
                    f"size {n}; got tensor of shape {list(x.shape)} (representation on axis {axis})"
                )
        if not last.is_floating_point():
            last = last.to(torch.get_default_dtype())
        return self._act_last(g, last).movedim(-1, axis)

    def check(self, x: torch.Tensor, axis: int = -1) -> torch.Tensor:
        """Raise a clear error unless ``x`` is finite and has size ``dim`` on ``axis``."""
        if not isinstance(x, torch.Tensor):
            raise FieldTypeError(f"{self}: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() == 0 or not -x.dim() <= axis < x.dim():
            raise FieldTypeError(f"{self}: tensor of shape {list(x.shape)} has no axis {axis}")
        if x.shape[axis] != self.dim:
            raise FieldTypeError(
                f"expected representation {self} (dim {self.dim}) on axis {axis}, "
                f"got tensor of shape {list(x.shape)} with {x.shape[axis]} channels"
            )
        if x.is_floating_point() and not torch.isfinite(x).all():
            raise FieldTypeError(f"{self}: input tensor contains non-finite values (NaN or inf)")
        return x

    # -- arithmetic ------------------------------------------------------------------------
    def __add__(self, other: "Rep") -> "Rep":
        return direct_sum(self, other)

    def __rmul__(self, k: int) -> "Rep":
        if not isinstance(k, int) or k < 0:
            return NotImplemented
        return direct_sum(*([self] * k)) if k else ZeroRep(self.group)

    def tensor(self, other: "Rep") -> "Rep":
        """The tensor product ρ ⊗ σ (matrix: the Kronecker product)."""
        _same_group(self, other)
        return TensorProductRep(self, other)

    def __matmul__(self, other: "Rep") -> "Rep":
        return self.tensor(other)

    def dual(self) -> "Rep":
        """The dual ρ*(g) = ρ(g⁻¹)ᵀ (equal to ρ for orthogonal reps)."""
        return DualRep(self)

    def restrict(self, subgroup) -> "Rep":
        """The restriction of ρ to ``subgroup`` (through its inclusion homomorphism)."""
        return PullbackRep(subgroup, self, subgroup.embedding_into(self.group), f"Res[{subgroup}]({self})")

    def __eq__(self, other):
        return isinstance(other, Rep) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def _key(self):
        return (type(self).__name__, self.group, self.dim, self.name)

    def __repr__(self):
        return self.name


def _float_dtype_of(g):
    if isinstance(g, tuple):
        for part in g:
            if part.is_floating_point():
                return part.dtype
        return torch.get_default_dtype()
    return g.dtype if g.is_floating_point() else torch.get_default_dtype()


def _device_of(g):
    return g[0].device if isinstance(g, tuple) else g.device


def _same_group(a: Rep, b: Rep):
    if a.group != b.group:
        raise TypeError(f"representations of different groups: {a} of {a.group} and {b} of {b.group}")


def _batched_eye(n, dim, dtype, device):
    return torch.eye(dim, dtype=dtype, device=device).expand(n, dim, dim).clone()


class ZeroRep(Rep):
    """The zero-dimensional representation (unit of the direct sum)."""

    def __init__(self, group):
        super().__init__(group, 0, "0")

    def _matrix(self, g, dtype, device):
        return torch.zeros(self.group.batch_size(g), 0, 0, dtype=dtype, device=device)

    def _act_last(self, g, x):
        return x


class TrivialRep(Rep):
    """ρ(g) = I: ``dim`` invariant scalars."""

    def __init__(self, group, dim: int = 1):
        super().__init__(group, dim, "trivial" if dim == 1 else f"{dim}x trivial")

    def _matrix(self, g, dtype, device):
        return _batched_eye(self.group.batch_size(g), self.dim, dtype, device)

    def _act_last(self, g, x):
        return x.clone()


class MatrixRep(Rep):
    """A representation given by a batched matrix function ``fn(g, dtype, device)``."""

    def __init__(self, group, dim, name, fn: Callable, orthogonal: bool = True, key=None):
        super().__init__(group, dim, name)
        self._fn = fn
        self.is_orthogonal = orthogonal
        self._key_extra = key if key is not None else name

    def _matrix(self, g, dtype, device):
        return self._fn(g, dtype, device)

    def _key(self):
        return (type(self).__name__, self.group, self.dim, self._key_extra)


class DirectSumRep(Rep):
    """ρ₁ ⊕ ρ₂ ⊕ …: block-diagonal; acts block by block."""

    def __init__(self, reps: Sequence[Rep]):
        reps = tuple(reps)
        group = reps[0].group
        super().__init__(group, sum(r.dim for r in reps), " + ".join(_paren(r) for r in reps))
        self.reps = reps
        self.is_orthogonal = all(r.is_orthogonal for r in reps)

    def _matrix(self, g, dtype, device):
        n = self.group.batch_size(g)
        out = torch.zeros(n, self.dim, self.dim, dtype=dtype, device=device)
        start = 0
        for r in self.reps:
            out[:, start : start + r.dim, start : start + r.dim] = r._matrix(g, dtype, device)
            start += r.dim
        return out

    def _act_last(self, g, x):
        parts = torch.split(x, [r.dim for r in self.reps], dim=-1)
        return torch.cat([r._act_last(g, p) for r, p in zip(self.reps, parts)], dim=-1)

    def _key(self):
        return ("DirectSumRep", tuple(r._key() for r in self.reps))


def _paren(r: Rep) -> str:
    return f"({r.name})" if isinstance(r, TensorProductRep) else r.name


def direct_sum(*reps: Rep) -> Rep:
    """ρ₁ ⊕ … ⊕ ρ_k, flattening nested sums; e3nn irreps of one group stay one ``IrrepsRep``."""
    flat = []
    for r in reps:
        _same_group(reps[0], r)
        if isinstance(r, DirectSumRep):
            flat.extend(r.reps)
        elif not isinstance(r, ZeroRep):
            flat.append(r)
    if not flat:
        return ZeroRep(reps[0].group)
    merged = [flat[0]]
    for r in flat[1:]:
        combined = merged[-1]._merge(r) if hasattr(merged[-1], "_merge") else None
        if combined is not None:
            merged[-1] = combined
        else:
            merged.append(r)
    return merged[0] if len(merged) == 1 else DirectSumRep(merged)


class TensorProductRep(Rep):
    """ρ ⊗ σ on R^(dim ρ · dim σ) (row-major: index i·dim σ + j); acts factor by factor."""

    def __init__(self, left: Rep, right: Rep):
        super().__init__(left.group, left.dim * right.dim, f"{_paren(left)} ⊗ {_paren(right)}")
        self.left, self.right = left, right
        self.is_orthogonal = left.is_orthogonal and right.is_orthogonal

    def _matrix(self, g, dtype, device):
        a = self.left._matrix(g, dtype, device)
        b = self.right._matrix(g, dtype, device)
        return torch.einsum("bij,bkl->bikjl", a, b).reshape(a.shape[0], self.dim, self.dim)

    def _act_last(self, g, x):
        shape = x.shape
        y = x.reshape(*shape[:-1], self.left.dim, self.right.dim)
        y = self.right._act_last(g, y)
        y = self.left._act_last(g, y.transpose(-1, -2)).transpose(-1, -2)
        return y.reshape(shape)

    def _key(self):
        return ("TensorProductRep", self.left._key(), self.right._key())


class DualRep(Rep):
    """ρ*(g) = ρ(g⁻¹)ᵀ."""

    def __init__(self, rep: Rep):
        super().__init__(rep.group, rep.dim, f"({rep.name})*")
        self.rep = rep
        self.is_orthogonal = rep.is_orthogonal

    def _matrix(self, g, dtype, device):
        return self.rep._matrix(self.group.inverse(g), dtype, device).transpose(-1, -2)

    def _act_last(self, g, x):
        if self.rep.is_orthogonal:  # ρ(g⁻¹)ᵀ = ρ(g)
            return self.rep._act_last(g, x)
        return super()._act_last(g, x)

    def dual(self):
        return self.rep

    def _key(self):
        return ("DualRep", self.rep._key())


class PullbackRep(Rep):
    """ρ∘φ for a homomorphism φ: H → G (restriction to a subgroup, or a rep of a quotient)."""

    def __init__(self, group, rep: Rep, hom: Callable, name: str):
        super().__init__(group, rep.dim, name)
        self.rep, self.hom = rep, hom
        self.is_orthogonal = rep.is_orthogonal

    def _matrix(self, g, dtype, device):
        return self.rep._matrix(self.hom(g), dtype, device)

    def _act_last(self, g, x):
        return self.rep._act_last(self.hom(g), x)

    def _key(self):
        return ("PullbackRep", self.group, self.rep._key(), self.name)


class PermutationRep(Rep):
    """The permutation action of a group whose elements are permutation arrays.

    (ρ(σ)x)[σ(i)] = x[i]; implemented as a gather, never as a dense matrix.
    """

    def __init__(self, group, n: int, name: str = "permutation"):
        super().__init__(group, n, name)

    def _perm(self, g):
        return g

    def _matrix(self, g, dtype, device):
        p = self._perm(g)
        m = torch.zeros(p.shape[0], self.dim, self.dim, dtype=dtype, device=device)
        m.scatter_(1, p.unsqueeze(1), 1.0)  # m[b, p[b, i], i] = 1
        return m

    def _act_last(self, g, x):
        inv = torch.argsort(self._perm(g), dim=-1)  # (ρ(σ)x)[j] = x[σ⁻¹(j)]
        if inv.shape[0] == 1:
            return x.index_select(-1, inv[0])
        index = inv.reshape(inv.shape[0], *([1] * (x.dim() - 2)), self.dim).expand_as(x)
        return torch.gather(x, -1, index)


class RegularRep(Rep):
    """The regular representation of a finite group: ρ(g) e_h = e_{g∘h}."""

    def __init__(self, group):
        super().__init__(group, group.order, "regular")

    def _source_index(self, g):
        """For each g and position j, the index of g⁻¹∘h_j: (ρ(g)x)[j] = x[that]."""
        elements = self.group.elements(device=_device_of(g))
        n, k = self.group.batch_size(g), self.dim
        ginv = self.group.inverse(g)
        rep_g = self.group.select(ginv, torch.arange(n, device=_device_of(g)).repeat_interleave(k))
        rep_h = self.group.select(elements, torch.arange(k, device=_device_of(g)).repeat(n))
        return self.group.index(self.group.compose(rep_g, rep_h)).reshape(n, k)

    def _matrix(self, g, dtype, device):
        src = self._source_index(g)
        m = torch.zeros(src.shape[0], self.dim, self.dim, dtype=dtype, device=device)
        m.scatter_(2, src.unsqueeze(2), 1.0)  # m[b, j, src[b, j]] = 1
        return m

    def _act_last(self, g, x):
        src = self._source_index(g)
        if src.shape[0] == 1:
            return x.index_select(-1, src[0])
        index = src.reshape(src.shape[0], *([1] * (x.dim() - 2)), self.dim).expand_as(x)
        return torch.gather(x, -1, index)
