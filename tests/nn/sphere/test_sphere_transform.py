"""SphericalHarmonicTransform: e3nn's basis at the grid points, round trips, rotations, bad input."""
import math

import pytest
import torch
from e3nn import o3

from gdl.groups import SO3, IrrepsRep
from gdl.nn.sphere import SphericalHarmonicTransform, colatitudes_and_weights, normalized_legendre
from gdl.nn.sphere._grids import GRIDS


@pytest.mark.parametrize("grid", GRIDS)
def test_synthesis_is_e3nn_harmonics_at_the_grid_points_in_e3nn_frame(grid):
    """Y_lm(x) = e3nn's Y_lm(Qx), Q: (x, y, z) ↦ (y, z, x), at every grid point (z-up grid)."""
    lmax = 12
    sht = SphericalHarmonicTransform(lmax, grid, dtype=torch.float64)
    coeffs = torch.randn(3, sht.num_coefficients, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    basis = o3.spherical_harmonics(list(range(lmax + 1)), sht.e3nn_points(), normalize=True)  # [K, J, M]
    expected = torch.einsum("bm,kjm->bkj", coeffs, basis)
    assert (sht.synthesis(coeffs) - expected).abs().max() < 1e-12
    # and the z-up frame is the documented one: +z is the north pole (θ = 0 first ring)
    points = sht.points()
    assert torch.allclose(points[..., 2], torch.cos(sht.colatitude.double())[:, None].expand_as(points[..., 2]))


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("lmax", [1, 7, 30, 64])
def test_round_trip_float64_and_float32(grid, lmax):
    gen = torch.Generator().manual_seed(lmax)
    for dtype, tolerance in ((torch.float64, 1e-12), (torch.float32, 1e-6)):
        sht = SphericalHarmonicTransform(lmax, grid, dtype=dtype)
        coeffs = torch.randn(4, sht.num_coefficients, generator=gen, dtype=torch.float64).to(dtype)
        back = sht.analysis(sht.synthesis(coeffs))
        assert ((back - coeffs).norm() / coeffs.norm()).item() < tolerance, (dtype, lmax)


def test_analysis_is_the_projection_onto_the_band():
    """analysis ∘ synthesis of a finer band keeps exactly the degrees ≤ lmax (orthogonality)."""
    fine = SphericalHarmonicTransform(9, "gauss-legendre", nlat=10, nlon=20, dtype=torch.float64)
    coarse = SphericalHarmonicTransform(5, "gauss-legendre", nlat=10, nlon=20, dtype=torch.float64)
    coeffs = torch.randn(2, 100, dtype=torch.float64)
    assert (coarse.analysis(fine.synthesis(coeffs)) - coeffs[:, :36]).abs().max() < 1e-13


def test_leading_axes_are_kept_and_oversampled_grids_work():
    sht = SphericalHarmonicTransform(4, "driscoll-healy", nlat=16, nlon=18, dtype=torch.float64)
    coeffs = torch.randn(2, 3, 25, dtype=torch.float64)
    grid = sht.synthesis(coeffs)
    assert grid.shape == (2, 3, 16, 18)
    assert (sht.analysis(grid) - coeffs).abs().max() < 1e-13


def test_rotating_a_band_limited_signal_rotates_its_coefficients_by_wigner_d():
    """Sampling f(R⁻¹y) (y in e3nn's frame) on the grid and analysing gives D(R) c (e3nn's basis;
    gdl's float64 Wigner-D: e3nn's ``D_from_matrix`` is only ~1e-6 accurate without a float64 default dtype)."""
    lmax = 6
    sht = SphericalHarmonicTransform(lmax, "soft", dtype=torch.float64)
    irreps = o3.Irreps.spherical_harmonics(lmax)
    coeffs = torch.randn(2, sht.num_coefficients, dtype=torch.float64)
    rot = SO3().sample(3, torch.Generator().manual_seed(1), dtype=torch.float64)
    wigner = IrrepsRep(SO3(), irreps).matrix(rot)
    for r, d in zip(rot, wigner):
        moved_points = sht.e3nn_points() @ r  # rows yᵀR = (R⁻¹y)ᵀ
        moved = torch.einsum("bm,kjm->bkj", coeffs, o3.spherical_harmonics(irreps, moved_points, normalize=True))
        expected = coeffs @ d.T
        assert (sht.analysis(moved) - expected).abs().max() < 1e-12


@pytest.mark.parametrize("grid", GRIDS)
def test_quadrature_weights_integrate_the_band(grid):
    """Σ_k w_k P_l(cos θ_k) = ∫ P_l sin θ dθ = 2 δ_l0 for l ≤ 2·lmax."""
    lmax = 10
    sht = SphericalHarmonicTransform(lmax, grid, dtype=torch.float64)
    theta, weights = colatitudes_and_weights(grid, sht.nlat)
    legendre = normalized_legendre(2 * lmax, theta)[0] * math.sqrt(4 * math.pi)  # m = 0: √(2l+1) P_l
    integrals = legendre @ weights
    assert abs(integrals[0] - 2) < 1e-13 and integrals[1:].abs().max() < 1e-13


def test_legendre_recurrence_matches_closed_forms():
    theta = torch.linspace(0.1, 3.0, 7, dtype=torch.float64)
    p = normalized_legendre(3, theta)
    x, s = torch.cos(theta), torch.sin(theta)
    assert torch.allclose(p[0, 2], math.sqrt(5 / (4 * math.pi)) * (3 * x ** 2 - 1) / 2, atol=1e-15)
    assert torch.allclose(p[3, 3], math.sqrt(35 / (64 * math.pi)) * s ** 3, atol=1e-15)
    assert (p[2, :2] == 0).all()


def test_bad_grids_are_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"resolves degrees ≤ 9, got lmax=10"):
        SphericalHarmonicTransform(10, "driscoll-healy", nlat=20, nlon=20)
    with pytest.raises(ValueError, match=r"resolves degrees ≤ 4, got lmax=5"):
        SphericalHarmonicTransform(5, "gauss-legendre", nlat=5, nlon=12)
    with pytest.raises(ValueError, match="resolves degrees"):  # too few longitudes: 2·lmax + 1 needed
        SphericalHarmonicTransform(5, "gauss-legendre", nlat=6, nlon=10)
    with pytest.raises(ValueError, match="even number of colatitudes"):
        SphericalHarmonicTransform(3, "soft", nlat=9, nlon=9)
    with pytest.raises(ValueError, match="unknown spherical grid 'healpix'"):
        SphericalHarmonicTransform(3, "healpix")
    with pytest.raises(ValueError, match="non-negative integer"):
        SphericalHarmonicTransform(-1)


def test_bad_signals_are_refused():
    sht = SphericalHarmonicTransform(3, "driscoll-healy", dtype=torch.float64)
    with pytest.raises(ValueError, match=r"expected \[..., nlat, nlon\].*8 × 8.*got shape \[2, 8, 7\]"):
        sht.analysis(torch.zeros(2, 8, 7, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"got shape \[2, 15\]"):
        sht.synthesis(torch.zeros(2, 15, dtype=torch.float64))
    bad = torch.zeros(2, 8, 8, dtype=torch.float64)
    bad[1, 3, 4] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        sht.analysis(bad)
    with pytest.raises(TypeError, match="dtype torch.float32 differs"):
        sht.analysis(torch.zeros(8, 8))
    with pytest.raises(TypeError, match="floating-point"):
        sht.synthesis(torch.zeros(16, dtype=torch.long))


def test_casting_the_module_recomputes_from_float64():
    """Built in float32 then .double(): the blocks come from the float64 masters (no float32 rounding)."""
    sht = SphericalHarmonicTransform(20, "gauss-legendre", dtype=torch.float32).double()
    assert sht.analysis_blocks.dtype == torch.float64
    coeffs = torch.randn(2, sht.num_coefficients, dtype=torch.float64)
    assert (sht.analysis(sht.synthesis(coeffs)) - coeffs).abs().max() < 1e-12


@pytest.mark.parametrize("grid", GRIDS)
def test_dense_and_block_methods_are_the_same_maps(grid):
    """method="dense" (small L: one matrix product, built in float64 by the block path) equals the block path."""
    lmax = 9
    dense = SphericalHarmonicTransform(lmax, grid, dtype=torch.float64, method="dense")
    blocks = SphericalHarmonicTransform(lmax, grid, dtype=torch.float64, method="blocks")
    coeffs = torch.randn(2, 3, dense.num_coefficients, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    signal = blocks.synthesis(coeffs)
    assert (dense.synthesis(coeffs) - signal).abs().max() < 1e-12
    assert (dense.analysis(signal) - coeffs).abs().max() < 1e-12
    assert (dense.analysis(signal) - blocks.analysis(signal)).abs().max() < 1e-12
    # cast to float32 from the float64 masters: the round trip keeps float32 accuracy
    dense32 = dense.float()
    back = dense32.analysis(dense32.synthesis(coeffs.float()))
    assert ((back - coeffs.float()).norm() / coeffs.float().norm()).item() < 1e-6


def test_auto_method_is_dense_for_small_and_blocks_for_large_transforms():
    from gdl.nn.sphere._transform import DENSE_MAX_ENTRIES

    small, large = SphericalHarmonicTransform(10), SphericalHarmonicTransform(30)
    assert small.method == "dense" and (11 ** 2) * small.nlat * small.nlon <= DENSE_MAX_ENTRIES
    assert large.method == "blocks" and not hasattr(large, "synthesis_matrix")
    assert "method='dense'" in repr(small)
    with pytest.raises(ValueError, match="method must be one of auto, blocks, dense, got 'fast'"):
        SphericalHarmonicTransform(4, method="fast")
