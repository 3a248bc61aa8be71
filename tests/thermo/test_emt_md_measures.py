"""The measures of gdl.benchmarks.emt_md: the cluster RDF and the energy-histogram distance."""
import math

import torch

from gdl.benchmarks.emt_md import energy_histogram_distance, rdf


def test_rdf_of_a_rigid_triangle_peaks_at_its_side_and_normalises():
    side = 2.5
    triangle = torch.tensor([[0.0, 0.0, 0.0], [side, 0.0, 0.0], [side / 2, side * math.sqrt(3) / 2, 0.0]],
                            dtype=torch.float64)
    frames = triangle.expand(5, -1, -1)
    centres, g, density = rdf(frames, r_max=6.0, width=0.1)
    assert abs(float(centres[density.argmax()]) - side) < 0.1
    assert float(density.sum() * 0.1) == pytest_approx(1.0)
    # g(r) = V ⟨Σ_{i≠j} δ(r − r_ij)⟩ / (N(N−1) 4πr²): all 3 pairs in one shell
    shell = int(density.argmax())
    edges = torch.arange(0.0, 6.0 + 0.05, 0.1, dtype=torch.float64)
    volume_shell = 4 / 3 * math.pi * (edges[shell + 1] ** 3 - edges[shell] ** 3)
    assert float(g[shell]) == pytest_approx(float(4 / 3 * math.pi * 6.0 ** 3 / volume_shell))


def pytest_approx(value):
    import pytest

    return pytest.approx(value, rel=1e-9)


def test_energy_histogram_distance_is_zero_for_equal_samples_and_two_for_disjoint():
    a = torch.linspace(0.0, 1.0, 101, dtype=torch.float64)
    assert energy_histogram_distance(a, a.clone()) == 0.0
    assert abs(energy_histogram_distance(a, a + 10.0) - 2.0) < 1e-9
