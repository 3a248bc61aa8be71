"""E(3) motions and node permutations built by hand (numpy/scipy), independent of ``gdl.groups``.

Model tests that use these check gdl's models without gdl's own group code or checker: a bug
in ``gdl.groups`` (a wrong Wigner-D, a transposed action) cannot hide a bug in the model.

- ``orthogonal_matrices(seed)``: rotations from ``scipy.spatial.transform.Rotation`` (det +1) and
  improper ones from numpy's QR of a Gaussian matrix, sign-fixed to det −1 (a reflection times a
  rotation), plus the inversion −I; as float64 torch tensors.
- ``move_points(x, Q, t)`` = x Qᵀ + t (rows are points), ``turn_vectors(v, Q)`` = v Qᵀ.
- ``permute_graph(n, perm, edge_index)``: new node k is old node ``perm[k]``; node tensors become
  ``x[perm]``, and edge j → i becomes inv[j] → inv[i] with inv = perm⁻¹.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation


def rotations(count: int, seed: int) -> list:
    """``count`` Haar-random proper rotations (det +1), float64 [3, 3]."""
    mats = Rotation.random(count, random_state=seed).as_matrix()
    return [torch.from_numpy(np.ascontiguousarray(m)) for m in mats]


def improper_orthogonal(count: int, seed: int) -> list:
    """``count`` orthogonal matrices with det −1 from numpy's QR decomposition."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        q, r = np.linalg.qr(rng.standard_normal((3, 3)))
        q = q * np.sign(np.diag(r))  # Haar on O(3)
        if np.linalg.det(q) > 0:
            q[:, 0] = -q[:, 0]
        out.append(torch.from_numpy(np.ascontiguousarray(q)))
    return out


def orthogonal_matrices(seed: int = 0, count: int = 3) -> list:
    """Rotations, improper matrices and the inversion; each checked to be orthogonal to 1e-14."""
    mats = rotations(count, seed) + improper_orthogonal(count, seed + 1) + [-torch.eye(3, dtype=torch.float64)]
    for q in mats:
        assert torch.allclose(q @ q.T, torch.eye(3, dtype=torch.float64), atol=1e-14)
    return mats


def translations(count: int, seed: int, scale: float = 2.0) -> list:
    rng = np.random.default_rng(seed)
    return [torch.from_numpy(scale * rng.standard_normal(3)) for _ in range(count)]


def move_points(x: torch.Tensor, q: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_i ↦ Q x_i + t for rows x_i."""
    return x @ q.to(x.dtype).T + t.to(x.dtype)


def turn_vectors(v: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """v_i ↦ Q v_i for rows v_i."""
    return v @ q.to(v.dtype).T


def random_permutation(n: int, seed: int) -> np.ndarray:
    """A permutation of range(n) that moves every node when n > 1 (a derangement)."""
    rng = np.random.default_rng(seed)
    while True:
        perm = rng.permutation(n)
        if n < 2 or not np.any(perm == np.arange(n)):
            return perm


def permute_graph(perm, edge_index: torch.Tensor):
    """(perm as a long tensor, relabelled edge_index): new node k is old node perm[k]."""
    perm = torch.as_tensor(np.asarray(perm), dtype=torch.long)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(perm.numel())
    return perm, inverse[edge_index]


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |actual − expected| / max(max |expected|, 1e-300)."""
    return float((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-300))
