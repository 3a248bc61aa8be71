"""Spherical convolutions as per-degree spectral products (Cohen et al. 2018, Esteves et al. 2018).

By the convolution theorem a correlation of signals on S² or SO(3) with a learned kernel is,
degree by degree, a product of coefficient blocks; rotating the input multiplies every block
on the left by D^l(R), which commutes with the products below, so all three layers are
exactly SO(3) equivariant in coefficient space (tested ≤ 1e-10 in float64).

- ``S2Conv(output="s2")``: S² → S², out^l_o = Σ_i k^l_io f^l_i with real kernels k^l_io
  that do not depend on m (an isotropic / zonal filter per degree; a complex or m-dependent
  kernel would break equivariance, torch-harmonics #55).
- ``S2Conv(output="so3")``: S² → SO(3), out^l_o[m, n] = Σ_i f^l_i[m] ψ^l_io[n], the outer
  product with the kernel's coefficients ψ̂^l (one free vector of length 2l+1 per degree).
- ``SO3Conv``: SO(3) → SO(3), out^l_o = Σ_i f̂^l_i ψ̂^l_io^T, with a free (2l+1) × (2l+1)
  kernel block per degree.

The two SO(3)-valued layers take ``kernel="spectral"`` (free coefficients, above) or
``kernel="local"`` (values at points near the identity, transformed: ``_kernels``; far fewer
parameters, local filters as in s2cnn). Degrees above the output bandwidth are dropped (the spectral pooling of a layer). A bias is
added to the l = 0 coefficient only (the invariant part).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from gdl.nn.sphere._kernels import (
    s2_kernel_basis,
    s2_near_identity_points,
    so3_kernel_basis,
    so3_near_identity_rotations,
)
from gdl.nn.sphere._features import (
    check_feature,
    feature_type,
    s2_degrees,
    s2_dim,
    so3_dim,
    so3_offsets,
)


def _check_bandwidths(layer: str, lmax_in: int, lmax_out: int) -> tuple:
    for name, value in (("lmax_in", lmax_in), ("lmax_out", lmax_out)):
        if int(value) != value or value < 0:
            raise ValueError(f"{layer}: {name} must be a non-negative integer, got {value!r}")
    if lmax_out > lmax_in:
        raise ValueError(f"{layer}: lmax_out={lmax_out} exceeds lmax_in={lmax_in} (a convolution cannot "
                         f"create degrees its input lacks)")
    return int(lmax_in), int(lmax_out)


def _check_kernel(layer: str, kernel: str) -> str:
    if kernel not in ("spectral", "local"):
        raise ValueError(f"{layer}: kernel must be 'spectral' (free coefficients) or 'local' (values near the "
                         f"identity), got {kernel!r}")
    return kernel


class _LocalKernel(torch.nn.Module):
    """Kernel coefficients = weights [in, out, P] @ basis [P, dim]; the basis re-cast from float64."""

    def __init__(self, in_channels: int, out_channels: int, basis: torch.Tensor):
        super().__init__()
        self._exact = basis
        self.register_buffer("basis", basis.to(torch.get_default_dtype()), persistent=False)
        # unit-variance coefficients at init: Σ_p Y(x_p)² ≈ P (2l+1)/4π, so scale by 1/√(P · in)
        self.weight = nn.Parameter(torch.randn(in_channels, out_channels, basis.shape[0])
                                   / math.sqrt(basis.shape[0] * in_channels))

    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        self.basis = self._exact.to(device=self.basis.device, dtype=self.basis.dtype)
        return out

    def forward(self) -> torch.Tensor:
        return self.weight @ self.basis


def _check_channels(layer: str, in_channels: int, out_channels: int) -> None:
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if int(value) != value or value < 1:
            raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")


class S2Conv(nn.Module):
    """S² → S² (``output="s2"``) or S² → SO(3) (``output="so3"``) spectral convolution.

    Input [..., in_channels, (lmax_in+1)²]; output [..., out_channels, (lmax_out+1)²] (S²) or
    [..., out_channels, Σ_{l ≤ lmax_out} (2l+1)²] (SO(3)). Exactly SO(3) equivariant.
    """

    def __init__(self, in_channels: int, out_channels: int, lmax_in: int, lmax_out: int = None,
                 output: str = "s2", bias: bool = True, kernel: str = "spectral", kernel_points=None):
        super().__init__()
        lmax_out = lmax_in if lmax_out is None else lmax_out
        self.lmax_in, self.lmax_out = _check_bandwidths("S2Conv", lmax_in, lmax_out)
        self.kernel = _check_kernel("S2Conv", kernel)
        _check_channels("S2Conv", in_channels, out_channels)
        if output not in ("s2", "so3"):
            raise ValueError(f"S2Conv: output must be 's2' (S² → S²) or 'so3' (S² → SO(3)), got {output!r}")
        self.in_channels, self.out_channels, self.output = int(in_channels), int(out_channels), output
        self.in_type = feature_type("s2", self.lmax_in)
        self.out_type = feature_type(output, self.lmax_out)
        scale = 1.0 / math.sqrt(in_channels)
        if output == "s2":
            self.weight = nn.Parameter(torch.randn(self.lmax_out + 1, in_channels, out_channels) * scale)
            self.register_buffer("degree", s2_degrees(self.lmax_out), persistent=False)
        elif kernel == "local":
            points = s2_near_identity_points() if kernel_points is None else torch.as_tensor(kernel_points)
            self.local = _LocalKernel(in_channels, out_channels, s2_kernel_basis(self.lmax_out, points))
        else:
            # ψ̂^l_io[n] for every degree, flattened over (l, n): [in, out, (lmax_out+1)²]
            self.weight = nn.Parameter(torch.randn(in_channels, out_channels, s2_dim(self.lmax_out)) * scale)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def extra_repr(self) -> str:
        return (f"{self.in_channels} → {self.out_channels}, lmax {self.lmax_in} → {self.lmax_out}, "
                f"S² → {'S²' if self.output == 's2' else 'SO(3)'}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature("S2Conv", x, "s2", self.lmax_in, self.in_channels)
        x = x[..., : s2_dim(self.lmax_out)]
        if self.output == "s2":
            kernel = self.weight[self.degree]  # [M, in, out], constant in m
            out = torch.einsum("...im,mio->...om", x, kernel)
        else:
            weight = self.local() if self.kernel == "local" else self.weight
            blocks = []
            for l in range(self.lmax_out + 1):
                part = slice(l * l, (l + 1) ** 2)
                block = torch.einsum("...im,ion->...onm", x[..., part], weight[..., part])
                blocks.append(block.reshape(*block.shape[:-2], (2 * l + 1) ** 2))
            out = torch.cat(blocks, -1)
        if self.bias is not None:
            out = torch.cat([out[..., :1] + self.bias[:, None], out[..., 1:]], -1)
        return out


class SO3Conv(nn.Module):
    """SO(3) → SO(3) spectral convolution: out^l_o = Σ_i f̂^l_i ψ̂^l_io^T per degree (exact).

    Input [..., in_channels, Σ_{l ≤ lmax_in} (2l+1)²]; output [..., out_channels,
    Σ_{l ≤ lmax_out} (2l+1)²]. In the stored layout (rows n = copies) block l maps as
    B_out = Σ_i ψ_io B_i; SO(3) acts on the right of B, so the product commutes with it.
    """

    def __init__(self, in_channels: int, out_channels: int, lmax_in: int, lmax_out: int = None, bias: bool = True,
                 kernel: str = "spectral", kernel_rotations=None):
        super().__init__()
        lmax_out = lmax_in if lmax_out is None else lmax_out
        self.lmax_in, self.lmax_out = _check_bandwidths("SO3Conv", lmax_in, lmax_out)
        self.kernel = _check_kernel("SO3Conv", kernel)
        _check_channels("SO3Conv", in_channels, out_channels)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.in_type = feature_type("so3", self.lmax_in)
        self.out_type = feature_type("so3", self.lmax_out)
        self.offsets = so3_offsets(self.lmax_out)
        # ψ̂^l_io as (2l+1)² entries per degree, scaled so the output variance does not grow with l
        scale = torch.cat([torch.full(((2 * l + 1) ** 2,), 1.0 / math.sqrt(2 * l + 1)) for l in range(self.lmax_out + 1)])
        if kernel == "local":
            rotations = so3_near_identity_rotations() if kernel_rotations is None else torch.as_tensor(kernel_rotations)
            self.local = _LocalKernel(in_channels, out_channels, so3_kernel_basis(self.lmax_out, rotations))
        else:
            self.weight = nn.Parameter(torch.randn(in_channels, out_channels, so3_dim(self.lmax_out))
                                       * scale / math.sqrt(in_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def extra_repr(self) -> str:
        return f"{self.in_channels} → {self.out_channels}, lmax {self.lmax_in} → {self.lmax_out}, SO(3) → SO(3)"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature("SO3Conv", x, "so3", self.lmax_in, self.in_channels)
        weight = self.local() if self.kernel == "local" else self.weight
        blocks = []
        for l, start in enumerate(self.offsets):
            d = 2 * l + 1
            part = slice(start, start + d * d)
            xl = x[..., part].reshape(*x.shape[:-1], d, d)  # [..., in, k, m]
            wl = weight[..., part].reshape(self.in_channels, self.out_channels, d, d)  # [in, out, n, k]
            block = torch.einsum("...ikm,ionk->...onm", xl, wl)
            blocks.append(block.reshape(*block.shape[:-2], d * d))
        out = torch.cat(blocks, -1)
        if self.bias is not None:
            out = torch.cat([out[..., :1] + self.bias[:, None], out[..., 1:]], -1)
        return out
