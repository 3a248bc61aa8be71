"""SphericalCNN: an SO(3)-invariant classifier of signals on the sphere (Spherical MNIST).

Grid signal [B, C, nlat, nlon] → spherical harmonic analysis (bandwidth ``lmax[0]``; with
``gradient_features`` the exact |∇f|² of each channel joins it, :class:`~gdl.nn.sphere.S2GradientNorm`) →
blocks of (spectral convolution, nonlinearity) with the bandwidth reduced block by block →
invariant readout (``readout="norms"``: l = 0 and per-degree norms; ``"gram"``: per-degree Gram matrices of
``gram_channels`` projected channels, which also keep the channels' relative orientation) → MLP → logits.

Two designs (``design``):

- ``"s2"`` (default, Esteves et al. 2018): S² → S² convolutions with isotropic per-degree
  kernels and grid nonlinearities (``S2GridActivation``, ``oversampling``) between them.
- ``"so3"`` (Cohen et al. 2018, without a (2b)³ grid): S² → SO(3), then SO(3) → SO(3)
  convolutions, with exact gated nonlinearities on the Wigner-D coefficients (``so3_nonlinearity="gated"``)
  or ReLU on an FFT-based SO(3) grid (``"grid"``, ``SO3GridActivation``: approximate, s2cnn's choice); ``kernel``
  ``"local"`` (default: kernels from values near the identity, s2cnn's parametrisation) or
  ``"spectral"`` (free coefficients per degree, many more parameters).

Symmetry: the logits are invariant under rotations of the input signal. Exact in coefficient
space for the ``"so3"`` design (every part is exact); the ``"s2"`` design is approximate by
the aliasing of its grid nonlinearities (decreasing with ``oversampling``). A rotation of the
*grid* signal is itself an interpolation (exact only for band-limited signals).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gdl.groups import SO3, FieldType
from gdl.nn.sphere import (
    GatedActivation,
    GramReadout,
    InvariantReadout,
    S2Conv,
    S2GradientNorm,
    S2GridActivation,
    SO3Conv,
    SO3GridActivation,
    SphericalBatchNorm,
    SphericalGridRep,
    SphericalHarmonicTransform,
)


def _grid_shape(grid: str, bandwidth: int) -> tuple:
    return (bandwidth, 2 * bandwidth) if grid == "gauss-legendre" else (2 * bandwidth, 2 * bandwidth)


class SphericalCNN(nn.Module):
    """Spherical CNN for classification on a bandwidth-``bandwidth`` grid (default 60 × 60 DH, b = 30).

    ``channels[i]`` and ``lmax[i + 1]`` are the width and bandwidth after block i; ``lmax[0]``
    is the bandwidth the input is analysed at (≤ bandwidth − 1). Forward takes a tensor
    [B, in_channels, nlat, nlon] or a PyG ``Data``/``Batch`` whose ``.x`` is that tensor.
    """

    def __init__(self, bandwidth: int = 30, in_channels: int = 1, num_classes: int = 10,
                 grid: str = "driscoll-healy", channels: Sequence[int] = (16, 32, 64),
                 lmax: Sequence[int] = (20, 16, 10, 6), design: str = "s2", activation: str = "relu",
                 oversampling: float = 2.0, hidden: int = 64, kernel: str = "local", batch_norm: bool = True,
                 dropout: float = 0.0, readout: str = "norms", gram_channels: int = 16,
                 gradient_features: bool = False, so3_nonlinearity: str = "gated"):
        super().__init__()
        channels, lmax = tuple(int(c) for c in channels), tuple(int(l) for l in lmax)
        if len(lmax) != len(channels) + 1:
            raise ValueError(f"SphericalCNN: lmax needs one entry more than channels (the input bandwidth "
                             f"first), got channels={channels}, lmax={lmax}")
        if any(b > a for a, b in zip(lmax, lmax[1:])):
            raise ValueError(f"SphericalCNN: lmax must not increase from block to block, got {lmax}")
        if lmax[0] > bandwidth - 1:
            raise ValueError(f"SphericalCNN: lmax[0]={lmax[0]} exceeds what a bandwidth-{bandwidth} grid resolves "
                             f"(≤ {bandwidth - 1})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"SphericalCNN: dropout must be in [0, 1), got {dropout!r}")
        if readout not in ("norms", "gram"):
            raise ValueError(f"SphericalCNN: readout must be 'norms' or 'gram', got {readout!r}")
        if so3_nonlinearity not in ("gated", "grid"):
            raise ValueError(f"SphericalCNN: so3_nonlinearity must be 'gated' or 'grid', got {so3_nonlinearity!r}")
        if design not in ("s2", "so3"):
            raise ValueError(f"SphericalCNN: design must be 's2' or 'so3', got {design!r}")
        self.bandwidth, self.in_channels, self.num_classes = int(bandwidth), int(in_channels), int(num_classes)
        self.grid, self.design, self.channels, self.lmax = grid, design, channels, lmax
        self.nlat, self.nlon = _grid_shape(grid, self.bandwidth)
        self.transform = SphericalHarmonicTransform(lmax[0], grid, nlat=self.nlat, nlon=self.nlon)
        blocks = []
        # |∇f|² of every input channel beside f itself (exact; see S2GradientNorm), batch-normalised with it
        self.gradient = S2GradientNorm(lmax[0]) if gradient_features else None
        self.input_norm = (SphericalBatchNorm(2 * self.in_channels, lmax[0], "s2")
                           if gradient_features and batch_norm else None)
        widths = ((2 if gradient_features else 1) * self.in_channels,) + channels
        for i, (c_in, c_out) in enumerate(zip(widths, widths[1:])):
            l_in, l_out = lmax[i], lmax[i + 1]
            kind = "s2" if design == "s2" else "so3"
            if design == "s2":
                conv = S2Conv(c_in, c_out, l_in, l_out)
                act = S2GridActivation(l_out, activation, oversampling)
            else:
                conv = (S2Conv(c_in, c_out, l_in, l_out, output="so3", kernel=kernel) if i == 0
                        else SO3Conv(c_in, c_out, l_in, l_out, kernel=kernel))
                act = (GatedActivation(c_out, l_out, "so3", activation) if so3_nonlinearity == "gated"
                       else SO3GridActivation(l_out, activation, oversampling))
            blocks += [conv] + ([SphericalBatchNorm(c_out, l_out, kind)] if batch_norm else []) + [act]
        self.blocks = nn.Sequential(*blocks)
        kind = "s2" if design == "s2" else "so3"
        if readout == "norms":
            self.readout = InvariantReadout(channels[-1], lmax[-1], kind)
        else:
            self.readout = GramReadout(channels[-1], lmax[-1], kind, projected=gram_channels)
        features = self.readout.out_type.size
        self.head = nn.Sequential(nn.BatchNorm1d(features), nn.Linear(features, hidden), nn.ReLU(),
                                  *([nn.Dropout(dropout)] if dropout > 0 else []), nn.Linear(hidden, self.num_classes))
        self.out_type = FieldType(SO3(), SO3().trivial_rep(self.num_classes))

    @property
    def input_shape(self) -> tuple:
        return (self.in_channels, self.nlat, self.nlon)

    def points(self) -> torch.Tensor:
        """The input grid's points [nlat, nlon, 3] (z-up, float64)."""
        return self.transform.points()

    def grid_rep(self, lmax: int = None) -> SphericalGridRep:
        """The interpolating SO(3) action on one input channel's flattened grid (for checks)."""
        return SphericalGridRep(self.points().reshape(-1, 3), self.lmax[0] if lmax is None else lmax)

    def extra_repr(self) -> str:
        return f"bandwidth={self.bandwidth}, grid={self.grid!r} {self.nlat}×{self.nlon}, design={self.design!r}"

    def _read_input(self, data) -> torch.Tensor:
        x = getattr(data, "x", data)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"SphericalCNN: expected a tensor [B, {self.in_channels}, {self.nlat}, {self.nlon}] "
                            f"or a Data/Batch with that .x, got {type(data).__name__}")
        if x.dim() != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"SphericalCNN: expected input [B, {self.in_channels}, {self.nlat}, {self.nlon}] "
                             f"({self.grid} grid, bandwidth {self.bandwidth}), got shape {list(x.shape)}")
        return x.to(self.transform.analysis_blocks.dtype)

    def forward(self, data) -> torch.Tensor:
        x = self._read_input(data)
        coefficients = self.transform.analysis(x)  # [B, C, (lmax0+1)²]
        if self.gradient is not None:
            coefficients = torch.cat([coefficients, self.gradient(coefficients)], -2)
            if self.input_norm is not None:
                coefficients = self.input_norm(coefficients)
        features = self.blocks(coefficients)
        return self.head(self.readout(features))
