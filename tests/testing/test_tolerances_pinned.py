"""The checker's tolerances pinned from both sides, through the public ``check_equivariance``.

Documented in docs/testing.md ("Error metric and tolerances")::

    err(g, o) = ‖f(g·x)_o − ρ_o(g) f(x)_o‖∞ / max(‖f(x)_o‖∞, floor),   floor = 1e-3 · max |typed input|

and the check passes when every err ≤ rtol, rtol = 1e-10 in float64 and 1e-4 in float32.

The modules here have defects of a size known in closed form: y = x + δ·s·e₁ (a fixed
direction, s a fixed scale) on O(3) vectors. Under g = Q the error is δ·s·‖e₁ − Q e₁‖∞, which
is 2δ·s for the inversion (always among the test elements). So each test knows the error the
checker must report, and can tell a mean from a max, a loosened tolerance from the default, and
the output's own scale from the floor.
"""
import pytest
import torch

from gdl.groups import O3, FieldType
from gdl.testing import check_equivariance

VEC = FieldType(O3(), O3().standard_rep())


class ConstantLeak(torch.nn.Module):
    """y_i = a·x_i + δ·s·e₁ at the rows in ``rows`` (all rows when None): O(3)-equivariant iff δ = 0."""

    in_type = VEC
    out_type = VEC

    def __init__(self, delta: float, scale: float, gain: float = 1.0, rows=None):
        super().__init__()
        self.delta, self.scale, self.gain, self.rows = delta, scale, gain, rows

    def forward(self, x):
        leak = torch.zeros_like(x)
        if self.rows is None:
            leak[..., 0] = self.delta * self.scale
        else:
            leak[..., self.rows, 0] = self.delta * self.scale
        return self.gain * x + leak


class Equivariant(torch.nn.Module):
    """y_i = x_i · tanh(‖x_i‖²) − (mean_j x_j): exactly O(3)-equivariant, nonlinear."""

    in_type = VEC
    out_type = VEC

    def forward(self, x):
        return x * torch.tanh((x * x).sum(-1, keepdim=True)) - x.mean(-2, keepdim=True)


def _points(n=16, dtype=torch.float64, seed=0):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def test_default_float64_tolerance_is_1e_10_and_float32_is_1e_4():
    x = _points()
    assert check_equivariance(Equivariant(), x).rtol == 1e-10
    assert check_equivariance(Equivariant(), x.float()).rtol == 1e-4


@pytest.mark.parametrize("seed", range(5))
def test_a_1e_9_relative_leak_in_float64_is_flagged_and_the_correct_module_passes(seed):
    x = _points(seed=seed)
    s = float(x.abs().max())
    leaky = check_equivariance(ConstantLeak(1e-9, s), x, seed=seed)
    assert not leaky.passed and leaky.status == "NOT EQUIVARIANT"
    # the inversion gives exactly 2δ·s over an output of scale ≈ s (1 ± 1e-9)
    assert leaky.max_error == pytest.approx(2e-9, rel=1e-3)
    correct = check_equivariance(ConstantLeak(0.0, s), x, seed=seed)
    assert correct.passed and correct.max_error < 1e-14
    nonlinear = check_equivariance(Equivariant(), x, seed=seed)
    assert nonlinear.passed and nonlinear.max_error < 1e-13


def test_a_leak_just_above_the_float64_tolerance_is_flagged_and_just_below_passes():
    """Pins the tolerance itself: 2δ = 1.6e-10 fails, 2δ = 0.6e-10 passes (a 10× looser or stricter
    default would move one of the two)."""
    x = _points()
    s = float(x.abs().max())
    assert not check_equivariance(ConstantLeak(0.8e-10, s), x).passed
    assert check_equivariance(ConstantLeak(0.3e-10, s), x).passed


def test_float32_tolerance_from_both_sides():
    x = _points(dtype=torch.float32)
    s = float(x.abs().max())
    assert not check_equivariance(ConstantLeak(1e-4, s), x).passed  # 2e-4 > 1e-4
    assert check_equivariance(ConstantLeak(1e-5, s), x).passed  # 2e-5 + float32 noise < 1e-4
    assert check_equivariance(Equivariant(), x).passed


def test_an_error_at_one_node_among_many_counts_at_its_full_size():
    """The error is a max over nodes (‖·‖∞), not a mean: one bad node out of 500 is not diluted.
    (The cloud is one sample [1, 500, 3]: the checker stacks transformed copies on the first axis.)"""
    x = _points(n=500, seed=1).unsqueeze(0)
    s = float(x.abs().max())
    one = check_equivariance(ConstantLeak(1e-6, s, rows=[137]), x)
    every = check_equivariance(ConstantLeak(1e-6, s), x)
    assert not one.passed
    assert one.max_error == pytest.approx(2e-6, rel=1e-3)
    assert one.max_error == pytest.approx(every.max_error, rel=1e-3)


def test_a_small_scale_output_is_judged_against_the_documented_floor():
    """Output ≈ 1e-6·s, far below the floor 1e-3·s (s = max |input|): errors are relative to the floor."""
    x = _points(seed=2)
    s = float(x.abs().max())
    gain = 1e-6
    # absolute error 2δ·s with δ = 2.5e-14: 5e-8 of the output's own scale, 5e-11 of the floor → passes
    small = check_equivariance(ConstantLeak(2.5e-14, s, gain=gain), x)
    assert small.floor == {"out": pytest.approx(1e-3 * s)} or list(small.floor.values()) == [pytest.approx(1e-3 * s)]
    assert small.passed and small.max_error == pytest.approx(5e-11, rel=1e-2)
    # ten times more: 5e-10 of the floor → flagged
    large = check_equivariance(ConstantLeak(2.5e-13, s, gain=gain), x)
    assert not large.passed and large.max_error == pytest.approx(5e-10, rel=1e-2)


def test_atol_replaces_the_floor_by_atol_over_rtol():
    x = _points(seed=3)
    s = float(x.abs().max())
    report = check_equivariance(ConstantLeak(1e-7, s, gain=1e-9), x, atol=1e-6, rtol=1e-3)
    assert list(report.floor.values()) == [pytest.approx(1e-3)]
    assert report.max_error == pytest.approx(2e-7 * s / 1e-3, rel=1e-2)
