"""The cotangent Laplacian of a triangle mesh (scipy sparse), for heat kernels and intrinsic geometry."""
from __future__ import annotations

import torch


def cotangent_laplacian(pos: torch.Tensor, face: torch.Tensor):
    """(L, M) as scipy sparse matrices: the cotangent stiffness L (positive semi-definite,
    L_ij = −(cot α_ij + cot β_ij)/2) and the lumped barycentric mass M = diag(area/3 per vertex)."""
    import numpy as np
    import scipy.sparse as sp

    p = pos.detach().to(torch.float64).cpu().numpy()
    f = face.detach().long().cpu().numpy()  # [3, F]
    v = p.shape[0]
    rows, cols, vals = [], [], []
    area = np.zeros(v)
    tri = p[f]  # [3, F, 3]
    double_area = np.linalg.norm(np.cross(tri[1] - tri[0], tri[2] - tri[0]), axis=-1)
    for k in range(3):
        i, j, o = f[(k + 1) % 3], f[(k + 2) % 3], f[k]
        u, w = p[i] - p[o], p[j] - p[o]
        cross = np.linalg.norm(np.cross(u, w), axis=-1)
        cot = (u * w).sum(-1) / np.maximum(cross, 1e-300)
        rows += [i, j]
        cols += [j, i]
        vals += [-0.5 * cot, -0.5 * cot]
        np.add.at(area, f[k], double_area / 6)
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    off = sp.coo_matrix((vals, (rows, cols)), shape=(v, v)).tocsr()
    lap = off - sp.diags(np.asarray(off.sum(1)).ravel())
    return lap.tocsr(), sp.diags(np.maximum(area, 1e-300))
