"""Acceptance: every deliberately broken module is flagged for all 50 seeds at the smallest ε
(1e-6 in float64, 1e-3 in float32), and every correct module passes for all 50 seeds.
A larger ε only scales the error up (the defects are linear in ε)."""
import pytest
import torch

from gdl.testing import check_equivariance
from gdl.testing.mutations import CORRECT, MUTATIONS

SEEDS = range(50)
SMALLEST_EPS = {torch.float64: 1e-6, torch.float32: 1e-3}
DTYPES = [torch.float64, torch.float32]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(MUTATIONS))
def test_broken_module_flagged_for_every_seed(name, dtype):
    eps = SMALLEST_EPS[dtype]
    missed = []
    for seed in SEEDS:
        model, inputs = MUTATIONS[name].build(eps, seed, dtype)
        report = check_equivariance(model, *inputs, seed=seed)
        assert report.dtype == dtype and report.non_finite is None
        if report.passed:
            missed.append((seed, report.max_error))
    assert not missed, f"{name} (ε={eps}) passed for seeds {missed}"


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(CORRECT))
def test_correct_module_passes_for_every_seed(name, dtype):
    failed = []
    for seed in SEEDS:
        model, inputs = CORRECT[name](seed, dtype)
        report = check_equivariance(model, *inputs, seed=seed)
        if not report.passed:
            failed.append((seed, report.max_error))
    assert not failed, f"{name} failed for seeds {failed}"


def test_mutations_are_caught_by_the_symmetry_they_break():
    """Each defect shows up only under the symmetry it breaks (the others stay at noise)."""
    expect = {
        "order-dependent readout": ("node permutation", "E(3)"),
        "absolute positions": ("E(3)", "node permutation"),
        "untransported message": ("gauge", "node permutation"),
    }
    for name, (breaks, keeps) in expect.items():
        model, inputs = MUTATIONS[name].build(1e-6, 0, torch.float64)
        per = check_equivariance(model, *inputs).per_symmetry
        assert per[breaks] > 1e-8 and per[keeps] < 1e-12, (name, per)
    model, inputs = MUTATIONS["absolute positions"].build(1e-6, 0, torch.float64)
    report = check_equivariance(model, *inputs)
    rotations = [r.max_error for r in report.results if r.symmetry == "E(3)" and "|t|" not in r.element]
    assert max(rotations) < 1e-12  # ‖x‖² is rotation invariant: only translations catch it
    model, inputs = MUTATIONS["wrong parity"].build(1e-6, 0, torch.float64)
    report = check_equivariance(model, *inputs)
    proper = [r.max_error for r in report.results if not r.element.split(": ")[-1].startswith("-")]
    assert max(proper) < 1e-12 and report.max_error > 1e-8  # only reflections catch it
