"""Potentials: Lennard-Jones and harmonic bonds — values, analytic vs autograd forces, second
derivatives, invariance, and clear errors (coincident atoms, bad shapes)."""
import math

import pytest
import torch

from gdl.thermo import (
    LJ_GLOBAL_MINIMA,
    AutogradPotential,
    CoincidentAtomsError,
    HarmonicBond,
    LennardJones,
    minimize,
    random_cluster,
    safe_distance,
)


def icosahedron(scale=1.1, dtype=torch.float64):
    """LJ13 start: the centre and the 12 vertices of an icosahedron at distance ``scale``."""
    phi = (1 + 5 ** 0.5) / 2
    v = []
    for a in (-1, 1):
        for b in (-phi, phi):
            v += [(0, a, b), (a, b, 0), (b, 0, a)]
    v = torch.tensor(v, dtype=dtype)
    v = v / v.norm(dim=1, keepdim=True) * scale
    return torch.cat([torch.zeros(1, 3, dtype=dtype), v]).unsqueeze(0)


def random_rotation(seed=0, dtype=torch.float64):
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(seed), dtype=dtype))
    q = q * torch.sign(torch.diagonal(r))
    return q


def test_lennard_jones_dimer_minimum_and_the_lj13_icosahedron():
    lj = LennardJones()
    r_min = 2 ** (1 / 6)
    dimer = torch.tensor([[[0.0, 0, 0], [r_min, 0, 0]]], dtype=torch.float64)
    energy, forces = lj.energy_and_forces(dimer)
    assert abs(float(energy) + 1.0) < 1e-14 and float(forces.abs().max()) < 1e-13
    m = minimize(lj, icosahedron(), fmax=1e-7)
    assert bool(m.converged.all())
    assert abs(float(m.energies[0]) - LJ_GLOBAL_MINIMA[13]) < 1e-6


@pytest.mark.parametrize("options", [{}, {"cutoff": 1.8}, {"confine_radius": 1.5}, {"epsilon": 0.7, "sigma": 1.2}])
def test_analytic_forces_equal_autograd_forces(options):
    lj = LennardJones(**options)
    x = random_cluster(3, 8, 1.4, min_distance=0.8, generator=torch.Generator().manual_seed(0))
    energy, forces = lj.energy_and_forces(x)
    with torch.enable_grad():
        leaf = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(lj.energy(leaf).sum(), leaf)
    assert torch.allclose(energy, lj.energy(x), rtol=1e-14)
    assert torch.allclose(forces, -grad, rtol=1e-10, atol=1e-10 * float(grad.abs().max()))


def test_energy_is_twice_differentiable_and_its_hessian_matches_finite_differences_of_forces():
    lj = LennardJones(confine_radius=1.5)
    x = random_cluster(1, 5, 1.2, min_distance=0.85, generator=torch.Generator().manual_seed(1))
    hessian = torch.autograd.functional.hessian(lambda y: lj.energy(y.view(1, 5, 3)).sum(), x.reshape(-1))
    assert torch.isfinite(hessian).all()
    assert torch.allclose(hessian, hessian.T, rtol=1e-10, atol=1e-10)
    direction = torch.randn(15, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    h = 1e-6
    up = lj.forces((x.reshape(-1) + h * direction).view(1, 5, 3)).reshape(-1)
    down = lj.forces((x.reshape(-1) - h * direction).view(1, 5, 3)).reshape(-1)
    assert torch.allclose(-(up - down) / (2 * h), hessian @ direction, rtol=1e-6, atol=1e-6)
    _, forces = lj.energy_and_forces(x.clone().requires_grad_(True), create_graph=True)
    assert forces.requires_grad  # create_graph keeps the graph of the forces


def test_energies_are_invariant_and_forces_equivariant_under_e3_and_permutations():
    lj = LennardJones(confine_radius=1.6)
    bond = HarmonicBond(k=3.0, r0=1.0, pairs=[[0, 1], [1, 2], [2, 5]])
    x = random_cluster(2, 6, 1.3, generator=torch.Generator().manual_seed(3))
    q = random_rotation(4)
    q[:, 0] = -q[:, 0]  # a reflection too
    t = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    for potential in (lj, bond):
        energy, forces = potential.energy_and_forces(x)
        energy_g, forces_g = potential.energy_and_forces(x @ q.T + t)
        assert torch.allclose(energy_g, energy, rtol=1e-12, atol=1e-12)
        assert torch.allclose(forces_g, forces @ q.T, rtol=1e-10, atol=1e-11)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    energy, forces = lj.energy_and_forces(x)
    energy_p, forces_p = lj.energy_and_forces(x[:, perm])
    assert torch.allclose(energy_p, energy, rtol=1e-12) and torch.allclose(forces_p, forces[:, perm], rtol=1e-10, atol=1e-12)


def test_cutoff_shift_makes_the_pair_energy_continuous_and_the_wall_is_negligible_inside():
    lj = LennardJones(cutoff=2.5)
    near = torch.tensor([[[0.0, 0, 0], [2.5 - 1e-9, 0, 0]]], dtype=torch.float64)
    far = torch.tensor([[[0.0, 0, 0], [2.5 + 1e-9, 0, 0]]], dtype=torch.float64)
    assert abs(float(lj.energy(near))) < 1e-9 and float(lj.energy(far)) == 0.0
    walled = LennardJones(confine_radius=2.0)
    x = torch.tensor([[[-0.5, 0, 0], [0.5, 0, 0]]], dtype=torch.float64)
    assert float(walled.wall_energy(x)) < 1e-6
    assert float(walled.wall_energy(4 * x)) > 0.5


def test_harmonic_bond_energy_and_a_finite_gradient_at_coincident_atoms():
    bond = HarmonicBond(k=2.0, r0=1.5, pairs=[[0, 1]])
    x = torch.tensor([[[0.0, 0, 0], [0.0, 0, 2.0]]], dtype=torch.float64)
    assert abs(float(bond.energy(x)) - 0.5 * 2.0 * 0.5 ** 2) < 1e-14
    coincident = torch.zeros(1, 2, 3, dtype=torch.float64)
    _, forces = bond.energy_and_forces(coincident)
    assert torch.isfinite(forces).all() and float(forces.abs().max()) == 0.0
    r2 = torch.tensor([0.0, 4.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(safe_distance(r2).sum(), r2)
    assert torch.equal(g, torch.tensor([0.0, 0.25], dtype=torch.float64))


def test_bad_inputs_raise_clear_errors():
    lj = LennardJones()
    same = torch.tensor([[[0.0, 0, 0], [1.0, 0, 0], [1.0, 0, 0]]], dtype=torch.float64)
    with pytest.raises(CoincidentAtomsError, match="atoms 1 and 2 of replica 0 are at the same point"):
        lj.energy(same)
    with pytest.raises(CoincidentAtomsError):
        lj.energy_and_forces(same)
    with pytest.raises(ValueError, match=r"shape \[R, N, d\]"):
        lj.energy(torch.zeros(4, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN or inf"):
        lj.energy(torch.full((1, 2, 3), math.nan, dtype=torch.float64))
    with pytest.raises(ValueError, match="epsilon must be positive"):
        LennardJones(epsilon=0)
    with pytest.raises(ValueError, match="itself"):
        HarmonicBond(1.0, 1.0, [[0, 0]])
    with pytest.raises(ValueError, match="names atom 5"):
        HarmonicBond(1.0, 1.0, [[0, 5]]).energy(torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="one energy per replica"):
        AutogradPotential(lambda x: x.sum()).energy(torch.zeros(2, 2, 3))
