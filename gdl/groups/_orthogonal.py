"""Orthogonal matrix groups O(d), SO(d), and SO(3)/O(3) with e3nn irreps.

Elements are orthogonal matrices ([n, d, d], float). SO(3)/O(3) representations wrap
``e3nn.o3.Irreps``: the block for an irrep l is the Wigner-D matrix in e3nn's real basis,
assembled from e3nn's Clebsch–Gordan coefficients (``o3.wigner_3j``) by the recursion

    D^l(R) = Cᵀ (D^1(R) ⊗ D^{l-1}(R)) C,   C = wigner_3j(1, l-1, l) with unit columns,

which is the intertwiner property of the Clebsch–Gordan coefficients, with D^1(R) = Q R Qᵀ
where Q is e3nn's l = 1 basis read off its spherical harmonics (Q = I in e3nn 0.6, which
orders l = 1 as x, y, z). This agrees with ``o3.Irrep.D_from_matrix`` to its
float64 accuracy (~1e-6: e3nn 0.6 builds its generators in float32) and is exact to
~1e-15 in float64, and it costs a few batched matmuls instead of three ``matrix_exp``.
Parity: an irrep with parity p picks up p when det R = -1 (O(3) only).
"""
from __future__ import annotations

import functools
import itertools
import math

import torch
from e3nn import o3

from gdl.groups._errors import GroupElementError
from gdl.groups._group import Group, tolerance
from gdl.groups._irrep_sum import IrrepSum
from gdl.groups._reps import MatrixRep


def _plane_rotation(d, i, j, angle, dtype, device):
    m = torch.eye(d, dtype=dtype, device=device)
    c, s = math.cos(angle), math.sin(angle)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


class OrthogonalGroup(Group):
    """O(d) (or SO(d) with ``special=True``) as d×d orthogonal matrices ([n, d, d], float).

    Haar measure: QR of a Gaussian matrix with the sign fix of Mezzadri (2007); for SO(d)
    the det = -1 half is mapped to SO(d) by a fixed right reflection (Haar-preserving).
    Generators: rotations by 1 rad in the coordinate planes (i, i+1) (dense subgroup), plus
    for O(d) the reflection diag(-1, 1, …) and the inversion -I. Grid: signed permutation
    matrices (with det +1 for SO(d)).
    """

    def __init__(self, d: int, special: bool = False):
        if d < 1:
            raise ValueError(f"OrthogonalGroup needs d ≥ 1, got {d}")
        self.d, self.special = int(d), bool(special)
        self.element_shape = (self.d, self.d)
        self.name = f"{'SO' if special else 'O'}({self.d})"

    def _key(self):
        return ("OrthogonalGroup", self.d, self.special)

    def _identity(self, n, dtype, device):
        return torch.eye(self.d, dtype=dtype, device=device).expand(n, self.d, self.d).clone()

    def _compose(self, a, b):
        return a @ b

    def _inverse(self, a):
        return a.transpose(-1, -2).contiguous()

    def _sample(self, n, generator, dtype, device):
        z = torch.randn(n, self.d, self.d, generator=generator, dtype=torch.float64)
        q, r = torch.linalg.qr(z)
        q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
        if self.special:
            flip = torch.linalg.det(q) < 0
            q[flip, :, 0] = -q[flip, :, 0]
        return self._to(q.to(dtype), device)

    def _generators(self, dtype, device):
        gens = [_plane_rotation(self.d, i, i + 1, 1.0, dtype, device) for i in range(self.d - 1)]
        if not self.special:
            refl = torch.eye(self.d, dtype=dtype, device=device)
            refl[0, 0] = -1
            gens += [refl, -torch.eye(self.d, dtype=dtype, device=device)]
        if not gens:
            return self._identity(0, dtype, device)
        return torch.stack(gens)

    def _grid(self, dtype, device):
        mats = []
        for perm in itertools.permutations(range(self.d)):
            for signs in itertools.product((1.0, -1.0), repeat=self.d):
                m = torch.zeros(self.d, self.d, dtype=dtype)
                m[list(range(self.d)), list(perm)] = torch.tensor(signs, dtype=dtype)
                mats.append(m)
                if len(mats) >= 96:
                    break
        grid = torch.stack(mats)
        if self.special:
            grid = grid[torch.linalg.det(grid) > 0]
        return grid.to(device)

    def _validate(self, g):
        tol = tolerance(g.dtype) * 10
        eye = torch.eye(self.d, dtype=g.dtype, device=g.device)
        err = (g @ g.transpose(-1, -2) - eye).abs().amax() if g.shape[0] else g.new_zeros(())
        if err > tol:
            raise GroupElementError(
                f"{self.name}: elements must be orthogonal matrices; max |g gᵀ - I| = {float(err):.3g} > {tol:.1g}"
            )
        if self.special and g.shape[0] and (torch.linalg.det(g) < 0).any():
            raise GroupElementError(f"{self.name}: elements must have det +1 (got a reflection, det -1)")

    def standard_rep(self):
        """The defining action on R^d: ρ(R) = R."""
        return MatrixRep(self, self.d, "standard", lambda g, dtype, device: g.to(dtype), key="standard")

    def det_rep(self):
        """The one-dimensional rep ρ(R) = det R."""
        return MatrixRep(self, 1, "det", lambda g, dtype, device: torch.linalg.det(g).to(dtype).reshape(-1, 1, 1), key="det")

    def embedding_into(self, other):
        if isinstance(other, OrthogonalGroup) and other.d == self.d and (self.special or not other.special):
            return lambda g: g
        return super().embedding_into(other)


class SO3(OrthogonalGroup):
    """SO(3), rotations of space; elements are rotation matrices ([n, 3, 3], float).

    Haar: uniform (rotation angle θ has density (1 - cos θ)/π on [0, π]). Irreps are e3nn's
    (``irrep(l)`` or ``irreps("4x0e+4x1o")``; under SO(3) parity labels play no role).
    """

    def __init__(self):
        super().__init__(3, special=True)

    def irrep(self, l: int, p: int = 1):
        return IrrepsRep(self, o3.Irreps([(1, (l, p))]))

    def irreps(self, irreps) -> "IrrepsRep":
        """The rep on an ``e3nn.o3.Irreps`` (string or object), block-diagonal Wigner-D."""
        if isinstance(irreps, IrrepsRep):
            irreps = irreps.irreps
        try:
            return IrrepsRep(self, o3.Irreps(irreps))
        except (ValueError, AssertionError, TypeError) as err:
            raise ValueError(
                f"{self} irreps: cannot parse {irreps!r} as e3nn Irreps (terms like '4x0e+2x1o', "
                f"labels l with parity e/o): {err}"
            ) from None

    def _trivial_irreps(self, dim: int) -> "IrrepsRep":
        return IrrepsRep(self, o3.Irreps(f"{dim}x0e"))


class O3(OrthogonalGroup):
    """O(3) = SO(3) × {±I}; elements are orthogonal matrices ([n, 3, 3], float).

    Haar: a uniform rotation times ±I with probability ½ each. Irreps are e3nn's ``(l, p)``:
    an irrep of parity p is multiplied by p under det R = -1 (``"1o"`` = vectors,
    ``"1e"`` = pseudovectors, ``"0o"`` = pseudoscalars).
    """

    def __init__(self):
        super().__init__(3, special=False)

    irrep = SO3.irrep
    irreps = SO3.irreps
    _trivial_irreps = SO3._trivial_irreps


@functools.lru_cache(maxsize=None)
def _cg_basis(l: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    c = o3.wigner_3j(1, l - 1, l, dtype=torch.float64).reshape(3 * (2 * l - 1), 2 * l + 1)
    c = c / c.norm(dim=0, keepdim=True)
    return c.to(dtype=dtype, device=device)


@functools.lru_cache(maxsize=None)
def _l1_basis(dtype: torch.dtype, device: str):
    """Q with Y¹(x) ∝ Q x: e3nn's l = 1 basis; ``None`` for e3nn 0.6's x, y, z order (Q = I)."""
    q = o3.spherical_harmonics(1, torch.eye(3, dtype=torch.float64), normalize=True).transpose(0, 1)
    q = torch.round(q / q.abs().amax())  # a signed permutation up to the normalisation
    return None if torch.equal(q, torch.eye(3, dtype=q.dtype)) else q.to(dtype=dtype, device=device)


def wigner_d_from_matrix(l: int, rot: torch.Tensor) -> torch.Tensor:
    """D^l(R) in e3nn's real basis for rotation matrices ``rot`` [n, 3, 3] (see module doc)."""
    n = rot.shape[0]
    if l == 0:
        return torch.ones(n, 1, 1, dtype=rot.dtype, device=rot.device)
    if l == 1:
        q = _l1_basis(rot.dtype, str(rot.device))
        return rot if q is None else q @ rot @ q.transpose(0, 1)
    prev = wigner_d_from_matrix(l - 1, rot)
    c = _cg_basis(l, rot.dtype, str(rot.device))
    kron = torch.einsum("bij,bkl->bikjl", rot, prev).reshape(n, 3 * (2 * l - 1), 3 * (2 * l - 1))
    return c.transpose(0, 1) @ kron @ c


class IrrepsRep(IrrepSum):
    """The representation of SO(3)/O(3) on e3nn ``Irreps``: block-diagonal Wigner-D.

    An ``IrrepSum`` whose labels are e3nn's ``Irrep`` (``"4x0e+4x1o"``), so it adds, slices,
    simplifies and sorts as e3nn's ``Irreps`` do, and tensor products decompose by e3nn's
    Clebsch–Gordan coefficients (``o3.wigner_3j``). ``act`` applies each D^l once per
    distinct l to all its copies (a batched matmul on a ``[..., mul, 2l+1]`` view), never
    building the full block-diagonal matrix.
    """

    def __init__(self, group, irreps):
        if not isinstance(group, OrthogonalGroup) or group.d != 3:
            raise TypeError(f"e3nn irreps are representations of SO(3) or O(3), not of {group}")
        self.irreps = o3.Irreps(irreps)
        super().__init__(group, [(mul, ir) for mul, ir in self.irreps])

    def _label_dim(self, label):
        return label.dim

    def _label_key(self, label):
        return (label.l, label.p)

    def _new(self, entries):
        return IrrepsRep(self.group, o3.Irreps([(mul, ir) for mul, ir in entries]))

    @property
    def e3nn_irreps(self):
        return self.irreps

    def _decompose_pair(self, a, b):
        return _clebsch_gordan_rows(a, b)

    def _blocks(self, g, dtype):
        """{(l, p): D} for the distinct irreps, with parity applied for det R = -1."""
        rot = g.to(dtype)
        det = torch.linalg.det(rot) if not self.group.special else None
        if det is not None:
            rot = rot * det.sign().reshape(-1, 1, 1)
        cache, blocks = {}, {}
        for _, ir in self.irreps:
            if ir.l not in cache:
                cache[ir.l] = wigner_d_from_matrix(ir.l, rot)
            d = cache[ir.l]
            if det is not None and ir.p == -1:
                d = d * det.sign().reshape(-1, 1, 1)
            blocks[(ir.l, ir.p)] = d
        return blocks

    def _matrix(self, g, dtype, device):
        blocks = self._blocks(g, dtype)
        out = torch.zeros(g.shape[0], self.dim, self.dim, dtype=dtype, device=device)
        for (mul, ir), sl in zip(self.irreps, self.irreps.slices()):
            d = blocks[(ir.l, ir.p)]
            for k in range(mul):
                s = sl.start + k * ir.dim
                out[:, s : s + ir.dim, s : s + ir.dim] = d
        return out

    def _act_last(self, g, x):
        blocks = self._blocks(g, x.dtype)
        parts = []
        for (mul, ir), sl in zip(self.irreps, self.irreps.slices()):
            d = blocks[(ir.l, ir.p)]
            y = x[..., sl].reshape(*x.shape[:-1], mul, ir.dim)
            if d.shape[0] == 1:
                y = y @ d[0].transpose(0, 1)
            else:
                y = torch.einsum("bij,b...mj->b...mi", d, y)
            parts.append(y.reshape(*x.shape[:-1], mul * ir.dim))
        return torch.cat(parts, dim=-1) if parts else x


@functools.lru_cache(maxsize=None)
def _clebsch_gordan_rows(a: o3.Irrep, b: o3.Irrep):
    """ρ_a ⊗ ρ_b = ⊕_{|l_a − l_b| ≤ l ≤ l_a + l_b} ρ_(l, p_a p_b), rows W_l = √(2l+1)·C_lᵀ from
    e3nn's ``wigner_3j(l_a, l_b, l)`` (unit rows: C has Frobenius norm 1), so that
    W_l (D^a ⊗ D^b) = D^l W_l — the recursion ``wigner_d_from_matrix`` is built on."""
    out = []
    for l in range(abs(a.l - b.l), a.l + b.l + 1):
        c = o3.wigner_3j(a.l, b.l, l, dtype=torch.float64).reshape(a.dim * b.dim, 2 * l + 1)
        w = c.transpose(0, 1)
        out.append((o3.Irrep(l, a.p * b.p), w / w.norm(dim=1, keepdim=True)))
    return out
