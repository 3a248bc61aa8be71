"""Representations: maps from group element batches to matrices, with cheap actions.

A ``Rep`` of a group G on R^dim gives ``matrix(g) -> [n, dim, dim]`` with
ρ(g∘h) = ρ(g)ρ(h), and ``act(g, x, axis)`` = ρ(g) applied to the ``axis`` of ``x``
without forming dense matrices where a cheaper form exists (a gather for permutations,
block-diagonal blocks for direct sums and irreps, factor-wise for tensor products). The
batch rule and ``validate=False`` are those of ``Action`` (``gdl.groups._action``).

Representations are immutable values: ``+`` (direct sum), ``k * rep``, ``@`` (tensor
product), ``dual``, ``restrict``, slicing by field (``rep[1:3]``, ``rep.channels``),
``simplify``, ``sort`` and ``decompose``; equal when they act identically on the channels.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import torch

from gdl.groups._action import Action
from gdl.groups._errors import FieldTypeError, GroupElementError
from gdl.groups._homomorphism import GroupHomomorphism


class Rep(Action):
    """Base class: a linear representation of ``group`` on R^``dim``.

    Contract: ``matrix(g)`` has shape ``[n, dim, dim]`` for every representation (``dim`` is
    the matrix size), ρ(g∘h) = ρ(g)ρ(h) and ρ(e) = I. Representations are immutable values:
    they add (direct sum), multiply by an integer (multiplicity), tensor, dualise, restrict,
    slice by field (``rep[1:3]``), ``simplify``, ``sort`` and (for tensor products of
    irreps) ``decompose``. Two representations are equal when they act identically on the
    channel axis (e.g. ``1x0e+1x0e == 2x0e``).
    """

    is_orthogonal: bool = True

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
    def matrix(self, g, dtype=None, *, validate: bool = True) -> torch.Tensor:
        """ρ(g) as a ``[n, dim, dim]`` tensor (float dtype of ``g``, or ``dtype``)."""
        if validate:
            g = self.group.validate(g)
        dtype = dtype or _float_dtype_of(g)
        return self._matrix(g, dtype, _device_of(g))

    def affine_matrix(self, g, dtype=None, *, validate: bool = True) -> torch.Tensor:
        """[[ρ(g), 0], [0, 1]] (``[n, dim+1, dim+1]``): the same form as ``PointAction``'s."""
        m = self.matrix(g, dtype, validate=validate)
        out = torch.zeros(m.shape[0], self.dim + 1, self.dim + 1, dtype=m.dtype, device=m.device)
        out[:, : self.dim, : self.dim] = m
        out[:, self.dim, self.dim] = 1
        return out

    @property
    def e3nn_irreps(self):
        """The ``e3nn.o3.Irreps`` this representation is made of, or ``None``."""
        return None

    # -- arithmetic ------------------------------------------------------------------------
    def __add__(self, other: "Rep") -> "Rep":
        if not isinstance(other, Rep):
            return NotImplemented
        return direct_sum(self, other)

    def __rmul__(self, k: int) -> "Rep":
        """``k * rep``: k copies (a single-entry sum of irreps multiplies its multiplicity)."""
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            return NotImplemented
        return direct_sum(*([self] * k)) if k else ZeroRep(self.group)

    __mul__ = __rmul__

    def tensor(self, other: "Rep") -> "Rep":
        """The tensor product ρ ⊗ σ (matrix: the Kronecker product)."""
        if not isinstance(other, Rep):
            raise TypeError(f"the tensor product needs two linear representations, got {self} and {other}")
        _same_group(self, other)
        return TensorProductRep(self, other)

    def __matmul__(self, other: "Rep") -> "Rep":
        return self.tensor(other)

    def dual(self) -> "Rep":
        """The dual ρ*(g) = ρ(g⁻¹)ᵀ (equal to ρ for orthogonal reps)."""
        return DualRep(self)

    def restrict(self, subgroup) -> "Rep":
        """The restriction of ρ to ``subgroup`` (through its inclusion homomorphism)."""
        return PullbackRep(subgroup, self, subgroup.embedding(self.group), f"Res[{subgroup}]({self})")

    # -- fields --------------------------------------------------------------------------
    def __getitem__(self, key) -> "Rep":
        """The field (int) or fields (slice) ``key`` as a representation; their channels are
        ``self.channels(key)``, and ``self[key].act(g, x[..., self.channels(key)])`` equals
        ``self.act(g, x)[..., self.channels(key)]``."""
        if isinstance(key, int):
            return self.summands[key]
        self.channels(key)  # validates the key
        picked = self.summands[key]
        return direct_sum(*picked) if picked else ZeroRep(self.group)

    def simplify(self) -> "Rep":
        """The same representation with adjacent equal irreps merged (``1x0+2x0`` → ``3x0``)
        and empty entries dropped; the channel order is unchanged."""
        return self

    def sort(self) -> "Sorting":
        """The fields in canonical order: ``Sorting(rep, p, inv, channels)`` with e3nn's
        conventions, ``inv[new] = old`` and ``p[old] = new`` (indices of fields), and
        ``channels`` the index tensor with ``sorted.act(g, x[..., channels]) ==
        self.act(g, x)[..., channels]``."""
        parts = self.summands
        order = sorted(range(len(parts)), key=lambda i: (_summand_sort_key(parts[i]), i))
        return _sorting(self.group, parts, order, self.slices())

    def decompose(self) -> "Decomposition":
        """An orthogonal change of basis Q to a direct sum of irreps:
        Q ρ(g) Qᵀ = (⊕ ρ_c)(g). Defined for sums of labelled irreps (Q = I) and their tensor
        products (Clebsch–Gordan / the planar product rule)."""
        raise TypeError(
            f"{self}: decompose() needs a sum of labelled irreps or a tensor product of them "
            f"(SO(2), O(2), C_n, D_n, SO(3), O(3) irreps), got a {type(self).__name__}"
        )


class Sorting(NamedTuple):
    """The result of ``Rep.sort()`` (see there)."""

    rep: "Rep"
    p: tuple
    inv: tuple
    channels: torch.Tensor


class Decomposition(NamedTuple):
    """The result of ``Rep.decompose()``: ``change_of_basis`` Q (float64, orthogonal,
    ``[dim, dim]``) with Q ρ(g) Qᵀ = ``irreps``(g), so y = Q x has type ``irreps``."""

    irreps: "Rep"
    change_of_basis: torch.Tensor


def _summand_sort_key(rep):
    key = getattr(rep, "_irrep_sort_key", None)
    return (0, key()) if key is not None else (1, rep.dim, rep.name)


def _sorting(group, parts, order, slices) -> Sorting:
    inv = tuple(order)
    p = [0] * len(order)
    for new, old in enumerate(order):
        p[old] = new
    picked = [parts[i] for i in order]
    channels = [torch.arange(slices[i].start, slices[i].stop) for i in order]
    channels = torch.cat(channels) if channels else torch.zeros(0, dtype=torch.int64)
    rep = direct_sum(*picked) if picked else ZeroRep(group)
    return Sorting(rep, tuple(p), inv, channels)


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
        super().__init__(group, 0, "zero")

    @property
    def summands(self):
        return ()

    def _matrix(self, g, dtype, device):
        return torch.zeros(self.group.batch_size(g), 0, 0, dtype=dtype, device=device)

    def _act_last(self, g, x):
        return x


class TrivialRep(Rep):
    """ρ(g) = I: ``dim`` invariant scalars.

    Over a group with labelled irreps (planar groups, SO(3)/O(3)) it equals ``dim`` copies of
    the trivial irrep and merges with sums of irreps (``trivial_rep(2) + irreps("1o")`` is
    ``2x0e+1x1o``).
    """

    def __init__(self, group, dim: int = 1):
        super().__init__(group, dim, "trivial" if dim == 1 else f"{dim}x trivial")

    def _matrix(self, g, dtype, device):
        return _batched_eye(self.group.batch_size(g), self.dim, dtype, device)

    def _act_last(self, g, x):
        return x.clone()

    def _as_irreps(self):
        """The same representation as a sum of labelled irreps, or ``None``."""
        make = getattr(self.group, "_trivial_irreps", None)
        return make(self.dim) if make is not None else None

    def _merge(self, other):
        if other.group != self.group:
            return None
        if isinstance(other, TrivialRep):
            return TrivialRep(self.group, self.dim + other.dim)
        mine = self._as_irreps()
        if mine is not None and hasattr(other, "entries"):
            return mine._merge(other)
        if isinstance(other, PullbackRep):
            inner = TrivialRep(other.rep.group, self.dim)._merge(other.rep)
            return None if inner is None else PullbackRep(self.group, inner, other.hom, inner.name)
        return None

    def _key(self):
        mine = self._as_irreps()
        return mine._key() if mine is not None else ("TrivialRep", self.group, self.dim)


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
    """ρ₁ ⊕ ρ₂ ⊕ …: block-diagonal; acts block by block. Build it with ``+`` / ``direct_sum``."""

    def __init__(self, reps: Sequence[Rep]):
        reps = tuple(reps)
        group = reps[0].group
        super().__init__(group, sum(r.dim for r in reps), " + ".join(_paren(r) for r in reps))
        self.reps = reps
        self.is_orthogonal = all(r.is_orthogonal for r in reps)

    @property
    def summands(self):
        return tuple(s for r in self.reps for s in r.summands)

    def simplify(self):
        return direct_sum(*(r.simplify() for r in self.reps))

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
    """ρ₁ ⊕ … ⊕ ρ_k, flattening nested sums; adjacent sums of labelled irreps of one group
    (and trivial reps next to them) merge into one sum of irreps, as e3nn's ``Irreps`` add."""
    if not reps:
        raise TypeError("direct_sum needs at least one representation (its group is otherwise unknown)")
    flat = []
    for r in reps:
        if not isinstance(r, Rep):
            raise TypeError(f"direct_sum of linear representations got {r!r} ({type(r).__name__})")
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
    """ρ ⊗ σ on R^(dim ρ · dim σ) (row-major: index i·dim σ + j); acts factor by factor.

    ``decompose()`` gives the change of basis to irreps when both factors are sums of
    labelled irreps (or tensor products of them, or their pull-backs through one
    homomorphism, e.g. E(3) irreps).
    """

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

    def decompose(self) -> Decomposition:
        from gdl.groups._decompose import decompose_tensor_product

        return decompose_tensor_product(self.left, self.right)

    def _key(self):
        return ("TensorProductRep", self.left._key(), self.right._key())


class DualRep(Rep):
    """ρ*(g) = ρ(g⁻¹)ᵀ."""

    def __init__(self, rep: Rep):
        super().__init__(rep.group, rep.dim, f"({rep.name})*")
        self.rep = rep
        self.is_orthogonal = rep.is_orthogonal

    def _matrix(self, g, dtype, device):
        return self.rep._matrix(self.group._inverse(g), dtype, device).transpose(-1, -2)

    def _act_last(self, g, x):
        if self.rep.is_orthogonal:  # ρ(g⁻¹)ᵀ = ρ(g)
            return self.rep._act_last(g, x)
        return super()._act_last(g, x)

    def dual(self):
        return self.rep

    def _key(self):
        return ("DualRep", self.rep._key())


class PullbackRep(Rep):
    """ρ∘φ for a homomorphism φ: H → G (restriction to a subgroup, or a rep of a quotient,
    e.g. E(3) irreps through E(3) → O(3)). Fields, sorting and simplification are those of
    ρ, pulled back; pull-backs through the same ``GroupHomomorphism`` merge in sums."""

    def __init__(self, group, rep: Rep, hom: Callable, name: str):
        super().__init__(group, rep.dim, name)
        self.rep, self.hom = rep, hom
        self.is_orthogonal = rep.is_orthogonal

    def _matrix(self, g, dtype, device):
        return self.rep._matrix(self.hom(g), dtype, device)

    def _act_last(self, g, x):
        return self.rep._act_last(self.hom(g), x)

    def _same_map(self, other):
        return isinstance(other, PullbackRep) and other.group == self.group and (
            other.hom is self.hom or (isinstance(self.hom, GroupHomomorphism) and self.hom == other.hom)
        )

    def _pull(self, rep):
        return PullbackRep(self.group, rep, self.hom, rep.name)

    def _merge(self, other):
        if self._same_map(other):
            inner = self.rep._merge(other.rep) if hasattr(self.rep, "_merge") else None
        elif isinstance(other, TrivialRep) and other.group == self.group:
            inner = self.rep._merge(TrivialRep(self.rep.group, other.dim)) if hasattr(self.rep, "_merge") else None
        else:
            return None
        return None if inner is None else self._pull(inner)

    @property
    def summands(self):
        parts = self.rep.summands
        return (self,) if len(parts) == 1 else tuple(self._pull(r) for r in parts)

    def simplify(self):
        return self._pull(self.rep.simplify())

    def sort(self):
        inner = self.rep.sort()
        return inner._replace(rep=self._pull(inner.rep))

    def decompose(self):
        inner = self.rep.decompose()
        return inner._replace(irreps=self._pull(inner.irreps))

    def __rmul__(self, k):
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            return NotImplemented
        return self._pull(k * self.rep) if k else ZeroRep(self.group)

    __mul__ = __rmul__

    @property
    def e3nn_irreps(self):
        return self.rep.e3nn_irreps

    @property
    def _irrep_sort_key(self):
        return getattr(self.rep, "_irrep_sort_key", None)

    def _key(self):
        hom = self.hom._key() if isinstance(self.hom, GroupHomomorphism) else ("callable", self.name)
        return ("PullbackRep", self.group, self.rep._key(), hom)


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
        ginv = self.group._inverse(g)
        rep_g = self.group.select(ginv, torch.arange(n, device=_device_of(g)).repeat_interleave(k))
        rep_h = self.group.select(elements, torch.arange(k, device=_device_of(g)).repeat(n))
        return self.group._index(self.group._compose(rep_g, rep_h)).reshape(n, k)

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
