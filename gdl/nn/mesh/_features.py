"""Rotation-invariant, gauge-equivariant input features of a mesh.

``local_matrix_features`` (GEM-CNN's "matrix features", ``utils/matrix_features.py``): for
each vertex i, the means over its neighbours j of three 3×3 matrices written in i's local
frame (e_x, e_y, n_i),

    M₁ = d dᵀ,   M₂ = n_j n_jᵀ,   M₃ = d n_jᵀ,        d = x_j − x_i,

i.e. with coordinates c(v) = (v·e_x, v·e_y, v·n_i). The coordinates transform under a
gauge change θ_i by ρ_1 ⊕ ρ_0 (the frame turns by −θ_i), so each matrix transforms by
(ρ_1 ⊕ ρ_0) ⊗ (ρ_1 ⊕ ρ_0) = 3ρ_0 ⊕ 2ρ_1 ⊕ ρ_2, decomposed with gdl.groups
(``decompose_tensor_product``'s change of basis Q). Output type: 9ρ_0 ⊕ 6ρ_1 ⊕ 3ρ_2
(``matrix_feature_type()``, dim 27), channels sorted by frequency. Everything is relative
to the mesh (differences of positions, normals, frames from the "neighbour" reference), so
the features are invariant to 3D rotations and translations of the mesh, and a network on
them is too, by construction. Exact.

``heat_kernel_signature`` (Sun, Ovsjanikov & Guibas 2009): HKS(x, t) = Σ_k e^{−λ_k t} φ_k(x)²
from the smallest eigenpairs of the cotangent Laplacian L φ = λ M φ (lumped barycentric
mass M; scipy ``eigsh`` in shift-invert mode), at times log-spaced in
[4 ln 10 / λ_max, 4 ln 10 / λ_1]. Invariant scalars (ρ_0), intrinsic (unchanged by
isometries), invariant to rigid motions. Needs scipy.
"""
from __future__ import annotations

import functools
import math
from typing import Optional

import torch

from gdl.gauge import cotangent_laplacian
from gdl.groups import SO2, FieldType
from gdl.groups._decompose import decompose_tensor_product


@functools.lru_cache(maxsize=1)
def _matrix_change_of_basis():
    coords = SO2().irreps("1x1+1x0")  # (x, y) ρ_1, then z ρ_0
    dec = decompose_tensor_product(coords, coords)
    return dec.irreps, dec.change_of_basis  # Q [9, 9], rows sorted by frequency


def matrix_feature_type() -> FieldType:
    """9ρ_0 ⊕ 6ρ_1 ⊕ 3ρ_2: the type of ``local_matrix_features``."""
    return FieldType.irreps(SO2(), "9x0+6x1+3x2")


def local_matrix_features(pos: torch.Tensor, normal: torch.Tensor, frame_x: torch.Tensor, frame_y: torch.Tensor,
                          edge_index: torch.Tensor, scale: Optional[float] = None) -> torch.Tensor:
    """[V, 27] features of type ``matrix_feature_type()`` (module docstring). ``scale`` divides
    d (default: the mean edge length, so the features do not depend on the mesh's size)."""
    p = pos.to(torch.float64)
    n, fx, fy = (t.to(torch.float64) for t in (normal, frame_x, frame_y))
    src, dst = edge_index[0], edge_index[1]
    keep = src != dst
    src, dst = src[keep], dst[keep]
    d = p[src] - p[dst]
    if scale is None:
        scale = float(d.norm(dim=-1).mean()) if d.shape[0] else 1.0
    d = d / scale
    frame = torch.stack([fx[dst], fy[dst], n[dst]], 1)  # [E, 3 (axis), 3]
    cd = torch.einsum("eak,ek->ea", frame, d)
    cn = torch.einsum("eak,ek->ea", frame, n[src])
    mats = torch.stack([cd[:, :, None] * cd[:, None, :], cn[:, :, None] * cn[:, None, :], cd[:, :, None] * cn[:, None, :]], 1)
    v = p.shape[0]
    total = torch.zeros(v, 3, 9, dtype=torch.float64, device=p.device).index_add_(0, dst, mats.reshape(-1, 3, 9))
    count = torch.zeros(v, dtype=torch.float64, device=p.device).index_add_(0, dst, torch.ones_like(d[:, 0]))
    mean = total / count.clamp_min(1)[:, None, None]
    irreps, q = _matrix_change_of_basis()
    feats = mean @ q.to(p.device).T  # [V, 3 matrices, 9 = 3ρ0 + 2ρ1 + ρ2]
    # regroup by frequency: the ρ0 copies of the three matrices, then their ρ1 copies, then ρ2
    out = []
    for freq in (0, 1, 2):
        for mat in range(3):
            for sl, f in _copy_slices(irreps):
                if f == freq:
                    out.append(feats[:, mat, sl])
    return torch.cat(out, 1).to(pos.dtype)


def _copy_slices(irreps):
    """(slice, frequency) of every copy of every irrep, in channel order."""
    out, start = [], 0
    for mul, label in irreps.entries:
        d = 1 if label.freq == 0 else 2
        for _ in range(mul):
            out.append((slice(start, start + d), int(label.freq)))
            start += d
    return out


def heat_kernel_signature(pos: torch.Tensor, face: torch.Tensor, n_eigs: int = 32, n_times: int = 16) -> torch.Tensor:
    """[V, n_times] heat kernel signature (module docstring), in ``pos.dtype``."""
    import numpy as np
    from scipy.sparse.linalg import eigsh

    v = pos.shape[0]
    if not 2 <= n_eigs < v:
        raise ValueError(f"heat_kernel_signature: n_eigs must lie in [2, {v}) for {v} vertices, got {n_eigs}")
    lap, mass = cotangent_laplacian(pos, face)
    vals, vecs = eigsh(lap, k=n_eigs, M=mass, sigma=-1e-8, which="LM")
    order = np.argsort(vals)
    vals, vecs = np.clip(vals[order], 0, None), vecs[:, order]
    positive = vals[vals > 1e-10 * max(vals.max(), 1e-300)]
    if positive.size == 0:
        raise ValueError("heat_kernel_signature: the Laplacian has no positive eigenvalue (a mesh without area?)")
    times = np.geomspace(4 * math.log(10) / positive.max(), 4 * math.log(10) / positive.min(), n_times)
    hks = (np.exp(-vals[None, :, None] * times[None, None, :]) * vecs[:, :, None] ** 2).sum(1)
    return torch.as_tensor(hks, dtype=pos.dtype)
