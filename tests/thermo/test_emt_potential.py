"""EMTPotential / ASEPotential (gdl.thermo._emt): agreement with ASE, F = −∇E, units, symmetry, errors."""
import numpy as np
import pytest
import torch

ase = pytest.importorskip("ase")
from ase.calculators.emt import EMT, parameters  # noqa: E402
from ase.calculators.lj import LennardJones as ASELennardJones  # noqa: E402
from ase.cluster import Icosahedron  # noqa: E402
from ase.units import kB  # noqa: E402

from gdl.thermo._emt import EMT_ELEMENTS, ASEPotential, EMTPotential, kelvin_to_kT, kT_to_kelvin  # noqa: E402


def replicas(count=3, seed=0):
    atoms = Icosahedron("Cu", 2)
    g = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(atoms.positions).expand(count, -1, -1).clone()
    return atoms, x + 0.08 * torch.randn(x.shape, generator=g, dtype=torch.float64)


def test_energy_and_forces_agree_with_ase_directly():
    atoms, x = replicas()
    potential = EMTPotential("Cu13")
    energy, forces = potential.energy_and_forces(x)
    assert energy.shape == (3,) and forces.shape == (3, 13, 3)
    for r in range(3):
        reference = atoms.copy()
        reference.positions = x[r].numpy()
        reference.calc = EMT()
        assert float(energy[r]) == reference.get_potential_energy()
        assert np.array_equal(forces[r].numpy(), reference.get_forces())
    single_energy, single_forces = potential.energy_and_forces(x[1])  # [N, 3] works too
    assert single_energy.shape == () and torch.equal(single_forces, forces[1])


def test_forces_are_minus_the_finite_difference_gradient():
    _, x = replicas(count=2, seed=1)
    potential = EMTPotential("Cu13")
    _, forces = potential.energy_and_forces(x)
    h = 1e-5
    for atom, axis in [(0, 0), (5, 1), (12, 2)]:
        step = torch.zeros_like(x)
        step[:, atom, axis] = h
        derivative = (potential.energy(x + step) - potential.energy(x - step)) / (2 * h)
        assert torch.allclose(derivative, -forces[:, atom, axis], rtol=1e-6, atol=1e-8)


def test_energy_is_differentiable_once_with_gradient_minus_forces():
    _, x = replicas(count=2, seed=2)
    potential = EMTPotential("Cu13")
    _, forces = potential.energy_and_forces(x)
    x = x.clone().requires_grad_(True)
    (3.0 * potential.energy(x)).sum().backward()
    assert torch.allclose(x.grad, -3.0 * forces, rtol=0, atol=1e-14)


def test_emt_is_rotation_translation_and_permutation_invariant():
    _, x = replicas(count=1, seed=3)
    potential = EMTPotential("Cu13")
    energy, forces = potential.energy_and_forces(x)
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4)))
    perm = torch.randperm(13, generator=torch.Generator().manual_seed(5))
    moved_energy, moved_forces = potential.energy_and_forces((x @ q.T + 1.7)[:, perm])
    assert torch.allclose(moved_energy, energy, rtol=1e-12, atol=0)
    assert torch.allclose(moved_forces, (forces @ q.T)[:, perm], rtol=0, atol=1e-12)


def test_any_ase_calculator_wraps_the_same_way():
    atoms, x = replicas(count=2, seed=6)
    potential = ASEPotential(lambda: ASELennardJones(sigma=2.3, epsilon=0.4, rc=6.0), atoms)
    energy, forces = potential.energy_and_forces(x)
    reference = atoms.copy()
    reference.positions = x[0].numpy()
    reference.calc = ASELennardJones(sigma=2.3, epsilon=0.4, rc=6.0)
    assert float(energy[0]) == pytest.approx(reference.get_potential_energy(), rel=1e-14)
    assert np.allclose(forces[0].numpy(), reference.get_forces(), atol=1e-14)
    assert torch.allclose(potential.masses, torch.full((13,), 63.546, dtype=torch.float64))


def test_units_and_temperature_conversion():
    assert kelvin_to_kT(300.0) == pytest.approx(300.0 * 8.617333262e-5, rel=1e-6)  # ASE: CODATA 2014
    assert kT_to_kelvin(kelvin_to_kT(512.0)) == pytest.approx(512.0, rel=1e-14)
    assert kelvin_to_kT(1.0) == kB
    for bad in (0.0, -5.0, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="temperature must be"):
            kelvin_to_kT(bad)
    with pytest.raises(ValueError, match="kT must be"):
        kT_to_kelvin(-1.0)


def test_element_table_matches_ase():
    assert tuple(sorted(parameters)) == EMT_ELEMENTS


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"no parameters for Fe .*supported elements: Ag, Al, Au"):
        EMTPotential("Fe13")
    with pytest.raises(ValueError, match="no parameters for Si"):
        EMTPotential(["Cu", "Si"])
    with pytest.raises(ValueError, match="cannot read chemical symbols"):
        EMTPotential("Xx2")
    potential = EMTPotential("Cu13")
    _, x = replicas(count=2)
    with pytest.raises(ValueError, match=r"expected positions of shape \[R, 13, 3\]"):
        potential.energy(x[:, :12])
    same = x.clone()
    same[1, 7] = same[1, 2]
    with pytest.raises(ValueError, match="atoms 2 and 7 of replica 1 are at the same point"):
        potential.energy(same)
    broken = x.clone()
    broken[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        potential.energy_and_forces(broken)
    with pytest.raises(TypeError, match="calculator_factory must be a callable"):
        ASEPotential(EMT(), Icosahedron("Cu", 2))
