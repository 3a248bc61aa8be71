"""Invariant readout of spherical features: the l = 0 coefficient and per-degree norms.

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
