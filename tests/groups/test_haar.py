"""Haar sampling, checked with tests that can fail (Kolmogorov–Smirnov at α = 1e-3)."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from gdl.groups import O2, O3, SO2, SO3, Cyclic, Euclidean, OrthogonalGroup, Symmetric

N = 20000
ALPHA = 1e-3


def rotation_angle(r):
    cos = ((torch.diagonal(r, dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    return torch.arccos(cos).numpy()


def so3_angle_cdf(theta):
    """CDF of the rotation angle under Haar measure on SO(3): density (1 − cos θ)/π on [0, π]."""
    return (theta - np.sin(theta)) / np.pi


def test_so3_rotation_angle_follows_haar_density():
    r = SO3().sample(N, torch.Generator().manual_seed(0), dtype=torch.float64)
    assert stats.kstest(rotation_angle(r), so3_angle_cdf).pvalue > ALPHA


def test_so3_rotation_axis_is_uniform():
    r = SO3().sample(N, torch.Generator().manual_seed(1), dtype=torch.float64)
    axis = torch.stack([r[:, 2, 1] - r[:, 1, 2], r[:, 0, 2] - r[:, 2, 0], r[:, 1, 0] - r[:, 0, 1]], -1)
    z = (axis[:, 2] / axis.norm(dim=-1)).numpy()  # uniform on the sphere ⇔ z uniform on [-1, 1]
    assert stats.kstest(z, stats.uniform(-1, 2).cdf).pvalue > ALPHA


def test_the_ks_test_can_fail():
    """A biased sampler (uniform angle about a uniform axis) is rejected by the same test."""
    gen = torch.Generator().manual_seed(2)
    theta = torch.rand(N, generator=gen, dtype=torch.float64) * math.pi
    assert stats.kstest(theta.numpy(), so3_angle_cdf).pvalue < ALPHA


def test_o3_is_half_reflections_and_its_rotation_part_is_haar():
    r = O3().sample(N, torch.Generator().manual_seed(3), dtype=torch.float64)
    det = torch.linalg.det(r)
    assert stats.binomtest(int((det < 0).sum()), N, 0.5).pvalue > ALPHA
    rot = r * det.sign()[:, None, None]
    assert stats.kstest(rotation_angle(rot), so3_angle_cdf).pvalue > ALPHA


@pytest.mark.parametrize("group", [SO2(), O2()])
def test_planar_angles_are_uniform(group):
    g = group.sample(N, torch.Generator().manual_seed(4), dtype=torch.float64)
    theta = (g if g.dim() == 1 else g[:, 0]).numpy()
    assert stats.kstest(theta, stats.uniform(-math.pi, 2 * math.pi).cdf).pvalue > ALPHA


def test_so4_haar_is_invariant_under_left_multiplication():
    """Haar ⇔ the law of Q and of A·Q agree: compare the trace distribution (two-sample KS)."""
    g = OrthogonalGroup(4, special=True)
    q = g.sample(N, torch.Generator().manual_seed(5), dtype=torch.float64)
    a = g.sample(1, torch.Generator().manual_seed(6), dtype=torch.float64)
    tr1 = torch.diagonal(q, dim1=-2, dim2=-1).sum(-1).numpy()
    tr2 = torch.diagonal(a @ g.sample(N, torch.Generator().manual_seed(7), dtype=torch.float64), dim1=-2, dim2=-1).sum(-1).numpy()
    assert stats.ks_2samp(tr1, tr2).pvalue > ALPHA
    assert (torch.linalg.det(q) > 0).all()


@pytest.mark.parametrize("group", [Cyclic(7), Symmetric(3)])
def test_finite_sampling_is_uniform(group):
    g = group.sample(N, torch.Generator().manual_seed(8))
    counts = torch.bincount(group.index(g), minlength=group.order).numpy()
    assert stats.chisquare(counts).pvalue > ALPHA


def test_euclidean_sampling_documented_law():
    """E(3): linear part Haar on O(3), translation N(0, σ² I) with σ = translation_scale."""
    g = Euclidean(3, translation_scale=2.0)
    s = g.sample(N, torch.Generator().manual_seed(9), dtype=torch.float64)
    t = g.translation(s).numpy().ravel() / 2.0
    assert stats.kstest(t, stats.norm.cdf).pvalue > ALPHA
    det = torch.linalg.det(g.linear_part(s))
    assert stats.binomtest(int((det < 0).sum()), N, 0.5).pvalue > ALPHA
