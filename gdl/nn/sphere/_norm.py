"""Equivariant batch normalisation of spherical features (exact).

For every channel c and degree l the layer divides the degree-l part of the feature by the
root-mean-square of its coefficients over the batch,

    f^l_c ↦ γ_{c,l} f^l_c / √(E_batch[‖f^l_c‖²] / d_l + ε),   d_l = 2l+1 (S²) or (2l+1)² (SO(3)),

and the l = 0 coefficient is first centred, f^0_c ↦ f^0_c − E_batch[f^0_c], with a learned
shift β_c added back (e3nn's ``BatchNorm`` with component normalisation, per degree).

Symmetry: ‖f^l_c‖ and f^0_c are invariant under the rotation D(R) of any sample (D^l is
orthogonal), so the statistics — and hence the scale factors — are the same for rotated
inputs; a per-(channel, degree) positive scalar commutes with the block-diagonal D(R). The
layer is therefore exactly equivariant in training and in evaluation mode (running statistics,
momentum as ``torch.nn.BatchNorm1d``), on S² and SO(3) features alike.
"""
from __future__ import annotations

import torch
from torch import nn

from gdl.nn.sphere._features import check_feature, feature_dim, feature_type, s2_degrees, so3_degrees


class SphericalBatchNorm(nn.Module):
    """Per-(channel, degree) RMS normalisation of [..., channels, dim] S² or SO(3) features (exact).

    ``momentum``: weight of the new batch in the running statistics (as ``BatchNorm1d``);
    ``affine``: learn γ [channels, lmax+1] and β [channels] (the l = 0 shift).
    """

    def __init__(self, channels: int, lmax: int, kind: str = "s2", momentum: float = 0.1, eps: float = 1e-5,
                 affine: bool = True):
        super().__init__()
        feature_dim(kind, lmax)
        if int(channels) != channels or channels < 1:
            raise ValueError(f"SphericalBatchNorm: channels must be a positive integer, got {channels!r}")
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"SphericalBatchNorm: momentum must be in (0, 1], got {momentum!r}")
        self.channels, self.lmax, self.kind = int(channels), int(lmax), kind
        self.momentum, self.eps = float(momentum), float(eps)
        degree = s2_degrees(lmax) if kind == "s2" else so3_degrees(lmax)
        self.register_buffer("degree", degree, persistent=False)
        counts = torch.bincount(degree, minlength=lmax + 1).to(torch.get_default_dtype())
        self.register_buffer("counts", counts, persistent=False)
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_power", torch.ones(channels, lmax + 1))
        if affine:
            self.weight = nn.Parameter(torch.ones(channels, lmax + 1))
            self.bias = nn.Parameter(torch.zeros(channels))
        else:
            self.weight = self.bias = None
        self.in_type = self.out_type = feature_type(kind, self.lmax)

    def extra_repr(self) -> str:
        return f"{self.channels} channels, lmax={self.lmax}, {self.kind}, momentum={self.momentum:g}"

    def _degree_power(self, x: torch.Tensor) -> torch.Tensor:
        """Mean square coefficient per (channel, degree) over the leading axes: [channels, lmax+1]."""
        squares = x.pow(2).reshape(-1, self.channels, x.shape[-1]).mean(0)  # [C, dim]
        power = squares.new_zeros(self.channels, self.lmax + 1).index_add_(1, self.degree, squares)
        return power / self.counts.to(power.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature("SphericalBatchNorm", x, self.kind, self.lmax, self.channels)
        if self.training:
            if x.numel() // (self.channels * x.shape[-1]) < 2:
                raise ValueError("SphericalBatchNorm: training needs more than one sample per channel "
                                 f"(got shape {list(x.shape)})")
            mean = x[..., 0].reshape(-1, self.channels).mean(0)
            centred = torch.cat([x[..., :1] - mean[:, None], x[..., 1:]], -1)
            power = self._degree_power(centred)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), self.momentum)
                self.running_power.lerp_(power.detach().to(self.running_power.dtype), self.momentum)
        else:
            mean, power = self.running_mean.to(x.dtype), self.running_power.to(x.dtype)
            centred = torch.cat([x[..., :1] - mean[:, None], x[..., 1:]], -1)
        scale = (power + self.eps).rsqrt()
        if self.weight is not None:
            scale = scale * self.weight
        out = centred * scale[:, self.degree]
        if self.bias is not None:
            out = torch.cat([out[..., :1] + self.bias[:, None], out[..., 1:]], -1)
        return out
