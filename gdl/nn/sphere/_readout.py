"""Invariant readouts of spherical features: the l = 0 coefficient and per-degree norms; per-degree Gram matrices.

For an S² feature the degree-l power |f^l| = (Σ_m (f^l_m)²)^½ is invariant since D^l(R) is
orthogonal; for an SO(3) feature the Frobenius norm of block l is (rows rotate by D^l).
The l = 0 coefficient (√(4π) × the mean over S², or the Haar integral over SO(3)) is kept
with its sign. Output [..., channels · (lmax+1)]: per channel, [c_0, |f^1|, …, |f^L|]. Exact.
"""
from __future__ import annotations

import torch
from torch import nn

from gdl.groups import SO3, FieldType
from gdl.nn.sphere._features import check_feature, feature_type, so3_offsets


class InvariantReadout(nn.Module):
    """Rotation-invariant summary of S² or SO(3) features: [..., C, dim] → [..., C·(lmax+1)]."""

    def __init__(self, channels: int, lmax: int, kind: str = "s2", eps: float = 1e-6):
        super().__init__()
        self.channels, self.lmax, self.kind, self.eps = int(channels), int(lmax), kind, float(eps)
        self.in_type = feature_type(kind, self.lmax)
        self.out_type = FieldType(SO3(), SO3().trivial_rep(self.channels * (self.lmax + 1)))
        if kind == "s2":
            self.bounds = [(l * l, (l + 1) ** 2) for l in range(self.lmax + 1)]
        else:
            self.bounds = [(s, s + (2 * l + 1) ** 2) for l, s in enumerate(so3_offsets(self.lmax))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature("InvariantReadout", x, self.kind, self.lmax, self.channels)
        parts = [x[..., :1]] + [(x[..., a:b].pow(2).sum(-1, keepdim=True) + self.eps ** 2).sqrt()
                                for a, b in self.bounds[1:]]
        out = torch.cat(parts, -1)  # [..., C, L+1]
        return out.reshape(*out.shape[:-2], -1)


class GramReadout(nn.Module):
    """Rotation-invariant cross-channel summary: per-degree Gram matrices of projected features.

    The channels are first mixed per degree, u^l_k = Σ_c W^l_ck f^l_c (a per-degree linear map on
    channels commutes with D^l, so u is a feature of the same kind), then

        G^l_ij = ⟨u^l_i, u^l_j⟩ = Σ_m u^l_im u^l_jm      (S²; Σ over the block's entries for SO(3))

    for i ≤ j and l ≤ lmax — invariant since D^l is orthogonal. Where the per-degree norms of
    :class:`InvariantReadout` are the diagonal (i = j), the off-diagonal entries keep the *relative*
    orientation of different channels' patterns, which the norms lose. Output [..., (lmax+1)·k(k+1)/2]
    (k = ``projected``), each degree's block divided by √(its size). Exact.
    """

    def __init__(self, channels: int, lmax: int, kind: str = "s2", projected: int = 16):
        super().__init__()
        if int(projected) < 1:
            raise ValueError(f"GramReadout: projected must be >= 1, got {projected!r}")
        self.channels, self.lmax, self.kind, self.projected = int(channels), int(lmax), kind, int(projected)
        self.in_type = feature_type(kind, self.lmax)
        k = self.projected
        self.out_type = FieldType(SO3(), SO3().trivial_rep((self.lmax + 1) * k * (k + 1) // 2))
        if kind == "s2":
            self.bounds = [(l * l, (l + 1) ** 2) for l in range(self.lmax + 1)]
        else:
            self.bounds = [(s, s + (2 * l + 1) ** 2) for l, s in enumerate(so3_offsets(self.lmax))]
        self.weight = nn.Parameter(torch.randn(self.lmax + 1, self.channels, k) / self.channels ** 0.5)
        rows, cols = torch.triu_indices(k, k)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)

    def extra_repr(self) -> str:
        return f"{self.channels} channels → {self.projected} projected, lmax={self.lmax}, kind={self.kind!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature("GramReadout", x, self.kind, self.lmax, self.channels)
        parts = []
        for l, (a, b) in enumerate(self.bounds):
            u = torch.einsum("...cm,ck->...km", x[..., a:b], self.weight[l])  # [..., k, block]
            gram = u @ u.transpose(-1, -2) / (b - a) ** 0.5  # [..., k, k]
            parts.append(gram[..., self.rows, self.cols])
        return torch.cat(parts, -1)
