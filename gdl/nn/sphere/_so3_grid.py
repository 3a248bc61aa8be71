"""SO(3) grid transforms by FFT (SOFT-type) and the pointwise nonlinearity on SO(3) features.

An SO(3) feature of bandwidth L (``_features``) is the function f(Q) = Σ_l (2l+1) tr(f̂^lᵀ D^l(Q))
(real Wigner-D in e3nn's basis, gdl's float64 ``wigner_d_from_matrix``). On the Euler grid
Q_ikj = A(α_i) B(β_k) A(γ_j) — A about z, B about y, α_i = γ_i = 2πi/N, β_k = π(2k+1)/2N
(SOFT colatitudes), N = 2b — it is evaluated without any dense [grid × coefficients] buffer:

1. U^l diagonalises the rotations about z in the real basis, U D^l(A(α)) U† = diag(e^{−imα})
   (computed once, in float64, by an eigen-decomposition; its phases cancel below), so
   D^l(Q) = U† E(α) d^l(β) E(γ) U with d^l(β) = U D^l(B(β)) U† and E(α) = diag(e^{−imα});
2. with G^l = U f̂^lᵀ U†: f(α, β_k, γ) = Σ_{m,n} e^{−imα} e^{−inγ} S_k[m, n],
   S_k[m, n] = Σ_l (2l+1) G^l_{nm} d^l_{mn}(β_k) — O(N L³) products over the N colatitudes;
3. one 2-D FFT over (m, n) per β_k gives all (α_i, γ_j): O(N³ log N).

Analysis is the quadrature f̂^l = Σ_Q w_Q f(Q) D^l(Q) with the Haar weights w_ikj = w_k / N² (the SOFT
colatitude weights normalised to Σ w_k = 1), the same three steps in reverse; it is exact for band-limited
f when b ≥ L + 1 (tested: round trip ≤ 1e-12 in float64). Buffers: d^l(β_k) padded, [N, L+1, 2L+1, 2L+1]
complex — O(N L³), against e3nn's dense [2N, N, 2N, Σ(2l+1)²] D buffer (O(L⁶), 466 MB at L = 6, res 20).

``SO3GridActivation`` (approximate): f̂ ↦ analysis_L'(φ(synthesis(f̂))) on a grid of bandwidth
b = ⌈s (L+1)⌉ (``oversampling`` s). φ(f) is not band-limited: its degrees above the grid's resolution
alias, which is the only equivariance error. Measured relative equivariance error, L = 4, 4 channels × 2
signals of unit-variance coefficients, float64, mean over 4 random rotations
(``python -m gdl.benchmarks.sht_speed --so3-aliasing``; docs/spheres.md):

    s =      1        2        4          (grid N³, N = 2⌈s(L+1)⌉ = 10, 20, 40)
    ReLU   8.7e-2   6.0e-3   6.8e-4
    SiLU   8.8e-2   6.1e-3   7.4e-4
    GELU   8.7e-2   6.0e-3   7.1e-4

(for reference, e3nn's dense ``SO3Activation`` ReLU at L = 4: 1.6e-3 on its 40 × 20 × 40 grid, reference note).

A polynomial φ(f) = f² is exact on a grid with b ≥ 2L + 1 (tested ≤ 1e-10).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from gdl.groups import wigner_d_from_matrix
from gdl.nn.sphere._features import check_feature, feature_type, so3_offsets
from gdl.nn.sphere._grids import colatitudes_and_weights


def _rotation(axis: str, angle: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    z, o = torch.zeros_like(angle), torch.ones_like(angle)
    if axis == "z":
        rows = [[c, -s, z], [s, c, z], [z, z, o]]
    else:
        rows = [[c, z, s], [z, o, z], [-s, z, c]]
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


def _z_eigenbasis(l: int) -> torch.Tensor:
    """U [2l+1, 2l+1] complex128, rows ordered m = −l…l, with U D^l(A(α)) U† = diag(e^{−imα}) for every α.

    Eigenvectors of D^l(A(α0)) at α0 = 2π/(2l+1), whose eigenvalues e^{−imα0} are the distinct (2l+1)-th roots
    of unity (well separated, so the unit eigenvectors are orthonormal to rounding); e^{−imα0} names m."""
    width = 2 * l + 1
    alpha0 = 2 * math.pi / width
    d = wigner_d_from_matrix(l, _rotation("z", torch.tensor([alpha0], dtype=torch.float64)))[0]
    values, vectors = torch.linalg.eig(d.to(torch.complex128))
    steps = torch.remainder(torch.round(-torch.angle(values) / alpha0).long(), width)  # ≡ m (mod 2l+1)
    orders = torch.where(steps > l, steps - width, steps)
    if sorted(orders.tolist()) != list(range(-l, l + 1)):
        raise RuntimeError(f"SO(3) grid: could not order the z-rotation eigenvectors of degree {l} (got {orders.tolist()})")
    return vectors[:, torch.argsort(orders)].conj().T


class SO3GridTransform(nn.Module):
    """SO(3) features of bandwidth ``lmax`` ↔ samples on the N × N × N Euler grid (N = 2b; see the module doc).

    ``synthesis(x [..., Σ(2l+1)²]) -> f [..., N(β), N(α), N(γ)]``; ``analysis`` the inverse (exact for b ≥ lmax + 1).
    """

    def __init__(self, lmax: int, bandwidth: int = None):
        super().__init__()
        bandwidth = lmax + 1 if bandwidth is None else int(bandwidth)
        if int(lmax) != lmax or lmax < 0:
            raise ValueError(f"SO3GridTransform: lmax must be a non-negative integer, got {lmax!r}")
        if bandwidth < lmax + 1:
            raise ValueError(f"SO3GridTransform: a bandwidth-{bandwidth} grid resolves degrees ≤ {bandwidth - 1}, "
                             f"got lmax={lmax} (needs bandwidth ≥ {lmax + 1})")
        self.lmax, self.bandwidth, self.n = int(lmax), bandwidth, 2 * bandwidth
        n, width = self.n, 2 * self.lmax + 1
        beta, weights = colatitudes_and_weights("soft", n)
        weights = weights / weights.sum()
        basis = torch.zeros(self.lmax + 1, width, width, dtype=torch.complex128)
        small_d = torch.zeros(n, self.lmax + 1, width, width, dtype=torch.complex128)
        rot_b = _rotation("y", beta)
        for l in range(self.lmax + 1):
            u = _z_eigenbasis(l)
            part = slice(self.lmax - l, self.lmax + l + 1)
            basis[l, part, part] = u
            small_d[:, l, part, part] = u @ wigner_d_from_matrix(l, rot_b).to(torch.complex128) @ u.conj().T
        degrees = torch.arange(self.lmax + 1, dtype=torch.float64)
        orders = torch.arange(-self.lmax, self.lmax + 1, dtype=torch.float64)
        angles = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
        phase = torch.exp(1j * self.lmax * angles)  # Σ_{m=−L}^{L} e^{−imα} X_m = e^{iLα} FFT(X_{p−L})[α]
        self._exact = {
            "basis": basis,  # U^l, padded into [L+1, 2L+1, 2L+1]
            "synthesis_d": small_d * (2 * degrees + 1)[None, :, None, None],
            "analysis_d": small_d * (weights / (n * n))[:, None, None, None].to(torch.complex128),
            "phase": phase,
        }
        for name, value in self._exact.items():
            self.register_buffer(name, value, persistent=False)
        self.register_buffer("fft_index", torch.remainder(orders.long(), n), persistent=False)
        self.register_buffer("beta", beta, persistent=False)
        self.register_buffer("alpha", angles, persistent=False)

    def extra_repr(self) -> str:
        return f"lmax={self.lmax}, bandwidth={self.bandwidth} (grid {self.n}³)"

    def _apply(self, fn, *args, **kwargs):
        """``module.to(torch.float32)`` would cast complex buffers to *real* ones (PyTorch drops the imaginary part,
        with only a warning): the complex buffers are held out of the cast and re-made from their complex128
        masters, at the complex dtype matching the requested precision (complex128 for float64, complex64 below)
        on the requested device (found by applying ``fn`` to a float64 probe)."""
        held = {name: self._buffers.pop(name) for name in self._exact}
        try:
            out = super()._apply(fn, *args, **kwargs)
            probe = fn(torch.zeros((), dtype=torch.float64, device=held["basis"].device))
        finally:
            self._buffers.update(held)
        dtype = torch.complex128 if probe.dtype == torch.float64 else torch.complex64
        for name, exact in self._exact.items():
            self._buffers[name] = exact.to(device=probe.device, dtype=dtype)
        return out

    def _to_padded(self, x: torch.Tensor) -> torch.Tensor:
        """Stored blocks (rows n, columns m: f̂ᵀ) → [B, L+1, 2L+1, 2L+1] zero-padded real."""
        out = x.new_zeros(x.shape[0], self.lmax + 1, 2 * self.lmax + 1, 2 * self.lmax + 1)
        for l, start in enumerate(so3_offsets(self.lmax)):
            d = 2 * l + 1
            part = slice(self.lmax - l, self.lmax + l + 1)
            out[:, l, part, part] = x[:, start:start + d * d].reshape(-1, d, d)
        return out

    def _from_padded(self, padded: torch.Tensor) -> torch.Tensor:
        blocks = []
        for l in range(self.lmax + 1):
            part = slice(self.lmax - l, self.lmax + l + 1)
            blocks.append(padded[:, l, part, part].reshape(padded.shape[0], -1))
        return torch.cat(blocks, -1)

    def synthesis(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        real = x.reshape(-1, x.shape[-1])
        stored = self._to_padded(real).to(torch.complex128 if real.dtype == torch.float64 else torch.complex64)
        u = self.basis.to(stored.dtype)
        g = u @ stored @ u.conj().transpose(-1, -2)  # G^l = U f̂ᵀ U†, [B, L+1, n, m]
        s = torch.einsum("blnm,klmn->bkmn", g, self.synthesis_d.to(stored.dtype))  # S_k[m, n]
        f = torch.fft.fft2(s, s=(self.n, self.n))  # Σ_{p,q} e^{−i(pα + qγ)} S[p−L, q−L]
        phase = self.phase.to(stored.dtype)
        f = f * phase[:, None] * phase[None, :]
        return f.real.to(x.dtype).reshape(*lead, self.n, self.n, self.n)

    def analysis(self, f: torch.Tensor) -> torch.Tensor:
        lead = f.shape[:-3]
        grid = f.reshape(-1, self.n, self.n, self.n)
        spectrum = torch.fft.fft2(grid)  # Σ_{i,j} f e^{−i(p α_i + q γ_j)}
        spectrum = spectrum.index_select(-2, self.fft_index).index_select(-1, self.fft_index)  # [B, k, m, n]
        complex_dtype = spectrum.dtype
        m = torch.einsum("bkmn,klmn->blmn", spectrum, self.analysis_d.to(complex_dtype))  # Σ_Q w f D_c(Q)
        u = self.basis.to(complex_dtype)
        coefficients = u.conj().transpose(-1, -2) @ m @ u  # f̂ = U† M U, [B, L+1, m, n]
        stored = coefficients.real.transpose(-1, -2)  # rows n, columns m
        return self._from_padded(stored.contiguous()).to(f.dtype).reshape(*lead, -1)


class SO3GridActivation(nn.Module):
    """Pointwise φ on SO(3) through an oversampled Euler grid (approximate; see the module doc).

    Input SO(3) features [..., C, Σ_{l ≤ lmax} (2l+1)²], output the same at ``lmax_out`` (≤ lmax).
    """

    approximate = True

    def __init__(self, lmax: int, activation="relu", oversampling: float = 2.0, lmax_out: int = None):
        from gdl.nn.sphere._activation import _activation

        super().__init__()
        lmax_out = lmax if lmax_out is None else lmax_out
        if not oversampling >= 1.0:
            raise ValueError(f"SO3GridActivation: oversampling must be ≥ 1, got {oversampling!r}")
        if lmax_out > lmax or lmax_out < 0:
            raise ValueError(f"SO3GridActivation: lmax_out must be in [0, lmax={lmax}], got {lmax_out}")
        self.lmax, self.lmax_out, self.oversampling = int(lmax), int(lmax_out), float(oversampling)
        self.activation = _activation(activation)
        bandwidth = math.ceil(self.oversampling * (self.lmax + 1))
        self.to_grid = SO3GridTransform(self.lmax, bandwidth)
        self.from_grid = SO3GridTransform(self.lmax_out, bandwidth)
        self.in_type = feature_type("so3", self.lmax)
        self.out_type = feature_type("so3", self.lmax_out)

    def extra_repr(self) -> str:
        return f"lmax {self.lmax} → {self.lmax_out}, oversampling={self.oversampling:g} (grid {self.to_grid.n}³)"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature("SO3GridActivation", x, "so3", self.lmax, x.shape[-2] if x.dim() >= 2 else 1)
        return self.from_grid.analysis(self.activation(self.to_grid.synthesis(x)))
