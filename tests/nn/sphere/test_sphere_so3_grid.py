"""SO(3) grid transforms by FFT and the SO(3) grid nonlinearity: exact round trip, the sampled function is
Σ (2l+1) tr(f̂ᵀ D(Q)), aliasing error decreasing with oversampling, exactness for a polynomial."""
import pytest
import torch

from gdl.groups import wigner_d_from_matrix
from gdl.nn.sphere import SO3GridActivation, SO3GridTransform
from gdl.nn.sphere._features import so3_dim, so3_offsets
from gdl.nn.sphere._so3_grid import _rotation, _z_eigenbasis
from gdl.testing import SphereRotation, check_equivariance


def test_z_eigenbasis_diagonalises_rotations_about_z():
    for l in range(5):
        u = _z_eigenbasis(l)
        m = torch.arange(-l, l + 1, dtype=torch.float64)
        d = wigner_d_from_matrix(l, _rotation("z", torch.tensor([0.3], dtype=torch.float64)))[0]
        assert (u @ d.to(torch.complex128) @ u.conj().T - torch.diag(torch.exp(-0.3j * m))).abs().max() < 1e-13
        assert (u @ u.conj().T - torch.eye(2 * l + 1)).abs().max() < 1e-13


def test_synthesis_samples_the_wigner_expansion_and_analysis_inverts_it():
    lmax = 3
    transform = SO3GridTransform(lmax)
    x = torch.randn(2, so3_dim(lmax), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    f = transform.synthesis(x)
    assert f.shape == (2, 8, 8, 8)
    assert (transform.analysis(f) - x).abs().max() < 1e-12
    k, i, j = 2, 3, 5  # f(A(α_i) B(β_k) A(γ_j)) = Σ_l (2l+1) tr(f̂ᵀ D^l(Q)); stored block rows are f̂ᵀ
    q = _rotation("z", transform.alpha[i:i + 1]) @ _rotation("y", transform.beta[k:k + 1]) @ _rotation("z", transform.alpha[j:j + 1])
    value = sum((2 * l + 1) * (x[0, s:s + (2 * l + 1) ** 2].reshape(2 * l + 1, 2 * l + 1).T
                               * wigner_d_from_matrix(l, q)[0]).sum() for l, s in enumerate(so3_offsets(lmax)))
    assert abs(float(value) - float(f[0, k, i, j])) < 1e-12
    finer = SO3GridTransform(lmax, bandwidth=6)  # oversampled grids invert too
    assert (finer.analysis(finer.synthesis(x)) - x).abs().max() < 1e-12


def _so3_aliasing(activation, oversampling, lmax=3):
    torch.manual_seed(0)
    layer = SO3GridActivation(lmax, activation, oversampling)
    x = torch.randn(2, 3, so3_dim(lmax), dtype=torch.float64)
    return check_equivariance(layer, x, symmetry=SphereRotation(), n_grid=0, n_random=2, rtol=1.0).max_error


def test_so3_grid_nonlinearity_error_decreases_with_oversampling_and_a_polynomial_is_exact():
    relu = [_so3_aliasing("relu", s) for s in (1, 2, 4)]
    assert relu[0] > relu[1] > relu[2] and relu[0] > 1e-2 and relu[2] < 1e-2
    assert _so3_aliasing(lambda f: f * f, 2.0) < 1e-10  # f² has degree 2L, resolved by b = 2(L+1)


def test_so3_grid_refuses_bad_arguments():
    with pytest.raises(ValueError, match="resolves degrees ≤ 2, got lmax=4"):
        SO3GridTransform(4, bandwidth=3)
    with pytest.raises(ValueError, match="oversampling must be ≥ 1"):
        SO3GridActivation(3, oversampling=0.5)
    with pytest.raises(ValueError, match=r"expected SO\(3\) features"):
        SO3GridActivation(2)(torch.randn(2, 3, 5))


def test_module_to_a_real_dtype_keeps_the_complex_buffers():
    """``module.to(torch.float32)`` (what the trainer does) casts complex buffers to real ones in PyTorch, silently
    dropping the imaginary part; the transform re-casts them from its complex128 masters instead."""
    import warnings

    from gdl.nn.sphere import SO3GridActivation, SO3GridTransform

    torch.manual_seed(0)
    transform = SO3GridTransform(3, 4)
    x = torch.randn(2, sum((2 * l + 1) ** 2 for l in range(4)), dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Casting complex values to real" on the way
        transform.to(torch.float32)
        assert transform.basis.dtype == torch.complex64 and transform.synthesis_d.dtype == torch.complex64
        assert (transform.analysis(transform.synthesis(x.float())) - x.float()).abs().max() < 1e-5
        transform.to(torch.float64)  # and back to full precision from the masters, not from complex64 copies
        assert transform.basis.dtype == torch.complex128
        assert (transform.analysis(transform.synthesis(x)) - x).abs().max() < 1e-12
        layer = SO3GridActivation(3, "relu", 2.0).to(torch.float32)
    reference = SO3GridActivation(3, "relu", 2.0)
    assert torch.allclose(layer(x.float()).double(), reference(x), atol=1e-5)
