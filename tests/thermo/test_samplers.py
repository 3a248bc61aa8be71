"""Samplers against exact answers: equipartition, a harmonic bond's ⟨r²⟩, MALA on a 2-D double well,
rotated start + rotated noise = rotated trajectory, replica exchange and annealing, and bad input."""
import math

import pytest
import torch

from gdl.thermo import (
    BAOAB,
    AutogradPotential,
    Potential,
    HarmonicBond,
    LennardJones,
    OverdampedLangevin,
    ReplicaExchange,
    SimulatedAnnealing,
    annealing_schedule,
    geometric_ladder,
    heat_capacity,
    reweighted_heat_capacity,
    mala_log_ratio,
    minimize,
    overdamped_step,
    random_cluster,
)
from tests.thermo.test_potentials import icosahedron, random_rotation

HEIGHT, KT_WELL = 1.0, 0.5


class DoubleWell(Potential):
    """E(x, y) = h (x² − 1)² + y²/2 per 2-D point, with analytic forces (cheaper than autograd)."""

    dim = 2

    def energy(self, x):
        return (HEIGHT * (x[..., 0] ** 2 - 1) ** 2 + 0.5 * x[..., 1] ** 2).sum(-1)

    def energy_and_forces(self, x, create_graph=False):
        force = torch.stack([-4 * HEIGHT * x[..., 0] * (x[..., 0] ** 2 - 1), -x[..., 1]], -1)
        return self.energy(x), force


def double_well():
    return DoubleWell()


def test_the_analytic_double_well_forces_are_minus_the_autograd_gradient():
    x = torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    auto = AutogradPotential(DoubleWell().energy, dim=2)
    assert torch.allclose(DoubleWell().energy_and_forces(x)[1], auto.energy_and_forces(x)[1], rtol=1e-13, atol=1e-13)


def exact_x_histogram(bins=44, lo=-2.2, hi=2.2):
    """Bin probabilities of x under exp(−E/kT) (the y part is Gaussian and factorises), by quadrature."""
    grid = torch.linspace(lo, hi, 100 * bins + 1, dtype=torch.float64)
    density = torch.exp(-HEIGHT * (grid ** 2 - 1) ** 2 / KT_WELL)
    edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64)
    index = (torch.bucketize(grid, edges) - 1).clamp(0, bins - 1)
    p = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, density)
    return p / p.sum(), grid, density


def total_variation(samples, exact, lo=-2.2, hi=2.2):
    hist = torch.histc(samples, exact.numel(), lo, hi)
    return 0.5 * float((hist / hist.sum() - exact).abs().sum())


def well_starts(count, generator):
    x0 = torch.zeros(count, 1, 2, dtype=torch.float64)
    x0[:, 0, 0] = torch.where(torch.rand(count, generator=generator) < 0.5, -1.0, 1.0)
    return x0


def lj13_minimum(replicas):
    return minimize(LennardJones(), icosahedron()).positions.expand(replicas, 13, 3).contiguous()


def test_baoab_equipartition_on_lj13_within_one_percent():
    kT = 0.1
    traj = BAOAB(LennardJones(), kT, 0.005, friction=5.0).run(
        lj13_minimum(256), 300, record_every=5, generator=torch.Generator().manual_seed(0), record_positions=False)
    mean_kinetic = float(traj.kinetic_energies[20:].mean())
    assert abs(mean_kinetic / (1.5 * 13 * kT) - 1) < 0.01
    assert traj.kinetic_energies.shape == (60, 256) and traj.positions is None


def _bond_r2_exact(k, r0, kT):
    r = torch.linspace(1e-9, r0 + 12 * math.sqrt(kT / k), 400001, dtype=torch.float64)
    w = r ** 2 * torch.exp(-k * (r - r0) ** 2 / (2 * kT))  # p(r) ∝ r^(d−1) e^(−E/kT), d = 3
    return float((w * r ** 2).sum() / w.sum())


@pytest.mark.parametrize("sampler", ["baoab", "mala"])
def test_harmonic_bond_mean_square_length_within_one_percent_of_boltzmann(sampler):
    k, r0, kT = 10.0, 1.0, 1.0
    bond = HarmonicBond(k, r0, [[0, 1]])
    x0 = torch.tensor([[0.0, 0, 0], [1, 0, 0]], dtype=torch.float64).expand(1000, 2, 3).contiguous()
    run = BAOAB(bond, kT, 0.05, friction=2.0) if sampler == "baoab" else OverdampedLangevin(bond, kT, 0.02, metropolis=True)
    traj = run.run(x0, 400, record_every=5, generator=torch.Generator().manual_seed(1))
    d = traj.positions[20:, :, 0] - traj.positions[20:, :, 1]
    assert abs(float((d * d).sum(-1).mean()) / _bond_r2_exact(k, r0, kT) - 1) < 0.01


def test_mala_is_stationary_on_a_double_well_and_its_acceptance_matches_the_exact_density():
    g = torch.Generator().manual_seed(2)
    exact, grid, density = exact_x_histogram()
    dt = 0.2
    traj = OverdampedLangevin(double_well(), KT_WELL, dt, metropolis=True).run(
        well_starts(1000, g), 300, record_every=3, generator=g)
    assert total_variation(traj.positions[20:, :, 0, 0].reshape(-1), exact) < 0.02
    # at stationarity the acceptance rate is E_{x~p, x'~q(.|x)} min(1, ratio): estimate it from exact samples
    cdf = torch.cumsum(density, 0) / density.sum()
    n = 100000
    x = torch.zeros(n, 1, 2, dtype=torch.float64)
    x[:, 0, 0] = grid[torch.searchsorted(cdf, torch.rand(n, generator=g, dtype=torch.float64)).clamp(max=grid.numel() - 1)]
    x[:, 0, 1] = math.sqrt(KT_WELL) * torch.randn(n, generator=g, dtype=torch.float64)
    e, f = double_well().energy_and_forces(x)
    y = overdamped_step(x, f, KT_WELL, dt, torch.randn(x.shape, generator=g, dtype=torch.float64))
    e_new, f_new = double_well().energy_and_forces(y)
    expected = float(torch.exp(mala_log_ratio(x, y, e, e_new, f, f_new, KT_WELL, dt).clamp(max=0)).mean())
    assert abs(float(traj.acceptance.mean()) - expected) < 0.01
    assert 0.3 < expected < 0.95  # a step where the correction matters


def test_unadjusted_langevin_is_biased_and_a_too_large_step_is_reported():
    g = torch.Generator().manual_seed(3)
    exact, _, _ = exact_x_histogram()
    biased = OverdampedLangevin(double_well(), KT_WELL, 0.05).run(well_starts(1000, g), 300, record_every=3, generator=g)
    assert biased.acceptance is None
    assert total_variation(biased.positions[20:, :, 0, 0].reshape(-1), exact) > 0.04  # O(dt) bias, MALA removes it
    with pytest.raises(FloatingPointError, match=r"dt = 0.3 is too large"):
        OverdampedLangevin(double_well(), KT_WELL, 0.3).run(well_starts(1000, g), 100, generator=g)


@pytest.mark.parametrize("sampler", ["baoab", "overdamped", "mala"])
def test_rotating_the_start_and_the_noise_rotates_the_trajectory(sampler):
    lj = LennardJones(confine_radius=2.5)
    x0 = lj13_minimum(2) + 0.05 * torch.randn(2, 13, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    q = random_rotation(5)
    make = {"baoab": lambda: BAOAB(lj, 0.1, 0.005), "overdamped": lambda: OverdampedLangevin(lj, 0.1, 1e-3),
            "mala": lambda: OverdampedLangevin(lj, 0.1, 1e-3, metropolis=True)}[sampler]
    plain = make().run(x0, 500, record_every=100, generator=torch.Generator().manual_seed(6))
    rotated = make().run(x0 @ q.T, 500, record_every=100, generator=torch.Generator().manual_seed(6),
                         noise=lambda xi: xi @ q.T)
    assert float((rotated.positions - plain.positions @ q.T).abs().max()) <= 1e-12
    assert float((rotated.energies - plain.energies).abs().max()) <= 1e-12 * float(plain.energies.abs().max())
    if sampler == "mala":
        assert torch.equal(rotated.acceptance, plain.acceptance)


def test_replica_exchange_samples_every_temperature_of_a_double_well():
    """The cold replica cannot cross the barrier alone (E_b/kT = 10); swaps with the hot ones give
    the exact symmetric histogram at every temperature."""
    g = torch.Generator().manual_seed(7)
    global KT_WELL
    kTs = geometric_ladder(0.1, 2.0, 5)
    x0 = torch.zeros(1000, 5, 1, 2, dtype=torch.float64)
    x0[..., 0, 0] = -1.0  # every chain starts in the left well
    traj = ReplicaExchange(double_well(), kTs, 0.05, swap_every=5, friction=0.5).run(x0, 800, record_every=10, generator=g)
    assert traj.energies.shape == (80, 1000, 5) and traj.positions.shape == (80, 1000, 5, 1, 2)
    assert traj.swap_acceptance.shape == (4,) and bool((traj.swap_acceptance > 0.2).all())
    walkers = traj.walkers[-1]
    assert torch.equal(walkers.sort(1).values, torch.arange(5).expand(1000, 5))  # a permutation per chain
    saved = KT_WELL
    try:
        for k in (0, 2):
            KT_WELL = float(kTs[k])
            exact, _, _ = exact_x_histogram()
            xs = traj.positions[40:, :, k, 0, 0].reshape(-1)
            assert total_variation(xs, exact) < 0.04, f"temperature {k}"
            assert abs(float((xs > 0).double().mean()) - 0.5) < 0.05
    finally:
        KT_WELL = saved
    cold_alone = BAOAB(double_well(), float(kTs[0]), 0.05, friction=0.5).run(x0[:, 0], 800, record_every=10, generator=g)
    assert float((cold_alone.positions[:, :, 0, 0] > 0).double().mean()) < 0.05


def test_heat_capacity_of_harmonic_samples_is_d_times_n():
    """U = ½ Σ x² at kT: Var(U) = (dN/2) kT², so C_v = dN/2 + dN/2 = dN."""
    g = torch.Generator().manual_seed(8)
    kTs = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    x = torch.randn(20000, 3, 4, 3, generator=g, dtype=torch.float64) * kTs.sqrt().view(1, 3, 1, 1)
    u = 0.5 * (x * x).sum((-1, -2))
    cv = heat_capacity(u, kTs, num_atoms=4, dim=3)
    assert torch.allclose(cv, torch.full((3,), 12.0, dtype=torch.float64), rtol=0.03)
    # reweighting the pooled samples to temperatures between (and at) the ladder's gives the same answer
    between = reweighted_heat_capacity(u[:4000], kTs, [0.5, 0.7, 1.0, 1.4, 2.0], num_atoms=4, dim=3)
    assert torch.allclose(between, torch.full((5,), 12.0, dtype=torch.float64), rtol=0.05)


def test_annealing_schedule_and_annealing_finds_the_lj7_minimum():
    schedule = annealing_schedule(1.0, 0.01, 4)
    assert torch.allclose(schedule, torch.tensor([10 ** -0.5, 0.1, 10 ** -1.5, 0.01], dtype=torch.float64))
    g = torch.Generator().manual_seed(9)
    x0 = random_cluster(16, 7, 1.2, generator=g)
    lj = LennardJones(confine_radius=2.0)
    traj = SimulatedAnnealing(lj, 0.3, 0.02, 0.005).run(x0, 800, record_every=100, generator=g, record_positions=False)
    assert torch.allclose(traj.kT[-1], torch.full((16,), 0.02, dtype=torch.float64))
    quenched = minimize(LennardJones(), traj.final_positions)
    assert bool(quenched.converged.all())
    assert abs(float(quenched.energies.min()) - (-16.505384)) < 1e-5  # LJ7 global minimum (Cambridge Cluster Database)


def test_bad_temperatures_steps_and_shapes_raise_clear_errors():
    lj = LennardJones()
    for kT in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="positive temperature"):
            BAOAB(lj, kT, 0.01)
        with pytest.raises(ValueError, match="positive temperature"):
            OverdampedLangevin(lj, kT, 0.01)
    with pytest.raises(ValueError, match="positive temperature"):
        ReplicaExchange(lj, [0.1, 0.0], 0.01)
    with pytest.raises(ValueError, match="increase strictly"):
        ReplicaExchange(lj, [0.2, 0.1], 0.01)
    with pytest.raises(ValueError, match="kT_start > kT_end"):
        SimulatedAnnealing(lj, 0.1, 0.2, 0.01)
    with pytest.raises(ValueError, match="dt must be a positive"):
        BAOAB(lj, 0.1, 0.0)
    with pytest.raises(ValueError, match="friction"):
        BAOAB(lj, 0.1, 0.01, friction=-1.0)
    with pytest.raises(ValueError, match=r"\[R, N, d\]"):
        BAOAB(lj, 0.1, 0.01).run(torch.zeros(13, 3), 1)
    with pytest.raises(ValueError, match="one temperature per replica"):
        BAOAB(lj, [0.1, 0.2], 0.01).run(lj13_minimum(3), 1)
    with pytest.raises(ValueError, match="ladder has 3"):
        ReplicaExchange(lj, [0.1, 0.2, 0.3], 0.01).run(lj13_minimum(2), 1)
    with pytest.raises(FloatingPointError, match=r"dt = 0.1 is too large"):
        BAOAB(lj, 0.3, 0.1).run(lj13_minimum(4), 200, generator=torch.Generator().manual_seed(0))
