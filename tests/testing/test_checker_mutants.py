"""check_equivariance behaviours that mutation testing found unguarded
(``python -m gdl.benchmarks.mutation checker``; docs/testing.md, "Mutation testing").

Each test states a documented behaviour of the checker — the ``elements=`` forms, the floor of
an all-zero input, the setup errors, the notes and the conditions under which they appear —
on small modules whose errors are known in closed form (y = x + δ·e₁ on O(3) vectors: the
inversion gives exactly 2δ over the output's scale).
"""
import pytest
import torch

from gdl.groups import O3, FieldType
from gdl.testing import (
    Elements,
    EquivarianceSetupError,
    GlobalSymmetry,
    NodePermutation,
    assert_equivariant,
    check_equivariance,
    default_rtol,
)
from gdl.testing._check import float32_scale_note

VEC = FieldType(O3(), O3().standard_rep())
SCALAR = FieldType(O3(), O3().trivial_rep(1))


def _points(n=6, seed=0, dtype=torch.float64):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _o3(n, seed=3):
    return O3().sample(n, torch.Generator().manual_seed(seed), dtype=torch.float64)


class RowWise(torch.nn.Module):
    """y_i = x_i·tanh(‖x_i‖²) + δ·e₁: O(3)- and row-permutation-equivariant iff δ = 0."""

    in_type = out_type = VEC

    def __init__(self, delta=0.0):
        super().__init__()
        self.delta = delta

    def forward(self, x):
        leak = torch.zeros_like(x)
        leak[..., 0] = self.delta
        return x * torch.tanh((x * x).sum(-1, keepdim=True)) + leak


# -- elements= ------------------------------------------------------------------------------------
def test_elements_for_one_symmetry_by_name_by_position_and_for_the_first_only():
    syms = [GlobalSymmetry(O3()), NodePermutation()]
    g = _o3(3)
    default = check_equivariance(RowWise(), _points(), symmetry=syms, n_grid=2, n_random=2)
    n_perm = sum(r.symmetry == "node permutation" for r in default.results)
    assert n_perm > 0
    by_name = check_equivariance(RowWise(), _points(), symmetry=syms, elements={"O(3)": g}, n_grid=2, n_random=2)
    by_position = check_equivariance(RowWise(), _points(), symmetry=syms, elements=[g, None], n_grid=2, n_random=2)
    first_only = check_equivariance(RowWise(), _points(), symmetry=syms, elements=g, n_grid=2, n_random=2)
    for report in (by_name, by_position, first_only):
        assert report.passed
        assert [r.element for r in report.results if r.symmetry == "O(3)"] == ["element 0", "element 1", "element 2"]
        assert torch.equal(report.element_values["O(3)"], g)
        assert sum(r.symmetry == "node permutation" for r in report.results) == n_perm  # its defaults
    # a symmetry the dict does not name gets its defaults, with their labels
    other = check_equivariance(RowWise(), _points(), symmetry=syms, elements={"node permutation": None},
                               n_grid=2, n_random=2)
    assert [r.element for r in other.results] == [r.element for r in default.results]


def test_elements_given_as_elements_keep_their_labels_and_judge_each_element():
    eye = torch.eye(3, dtype=torch.float64)
    g = torch.stack([eye, -eye])
    els = Elements(g, ["identity", "inversion"])
    report = check_equivariance(RowWise(delta=1e-6), _points(), symmetry=O3(), elements=els)
    assert [r.element for r in report.results] == ["identity", "inversion"]
    scale = report.floor["output"]
    errors = [r.errors["output"] for r in report.results]
    assert errors[0] == 0.0 and errors[1] == pytest.approx(2e-6 / scale, rel=1e-6)


# -- tolerances of the other dtypes -----------------------------------------------------------------
@pytest.mark.parametrize("dtype, rtol, passes, fails", [
    (torch.float16, 1e-2, 1e-3, 1e-2),  # errors 2.2e-3 (with rounding) and 2.0e-2 around rtol 1e-2
    (torch.bfloat16, 5e-2, 1e-2, 5e-2),  # errors 2.2e-2 and 1.1e-1 around rtol 5e-2
])
def test_half_precision_tolerances_from_both_sides(dtype, rtol, passes, fails):
    x = _points()
    x = (x / x.abs().max()).to(dtype)
    ok = check_equivariance(RowWiseLinear(passes), x)
    assert ok.rtol == rtol and ok.dtype == dtype and ok.passed, ok.max_error
    bad = check_equivariance(RowWiseLinear(fails), x)
    assert bad.rtol == rtol and not bad.passed


def test_a_dtype_without_its_own_tolerance_gets_float32s():
    assert default_rtol(torch.float8_e4m3fn) == default_rtol(torch.float32) == 1e-4
    assert default_rtol(torch.float64) == 1e-10


class RowWiseLinear(torch.nn.Module):
    """y = x + δ·e₁ (the inversion: error 2δ over a unit-scale output)."""

    in_type = out_type = VEC

    def __init__(self, delta):
        super().__init__()
        self.delta = delta

    def forward(self, x):
        leak = torch.zeros_like(x)
        leak[..., 0] = self.delta
        return x + leak


# -- the floor ------------------------------------------------------------------------------------
def test_an_all_zero_input_takes_the_floor_1e_3_of_a_unit_scale():
    """floor = 1e-3 × max |typed input|, and 1e-3 × 1 when every input is zero (docs/testing.md)."""
    report = check_equivariance(RowWise(delta=1e-6), torch.zeros(4, 3, dtype=torch.float64), symmetry=O3(),
                                elements=-torch.eye(3, dtype=torch.float64).unsqueeze(0))
    assert report.floor == {"output": pytest.approx(1e-3)}
    assert report.max_error == pytest.approx(2e-6 / 1e-3, rel=1e-9)  # |f(−0) − (−f(0))| = 2δ over the floor


def test_the_floor_follows_the_largest_typed_input_not_the_output():
    x = _points(seed=4)
    report = check_equivariance(RowWise(), 1e-6 * x)  # output scale ≈ 1e-6·s (tanh(‖x‖²) ≈ ‖x‖²) ≪ floor 1e-3·s
    assert report.floor == {"output": pytest.approx(1e-3 * 1e-6 * float(x.abs().max()), rel=1e-12)}


# -- setup errors ---------------------------------------------------------------------------------
def test_a_symmetry_that_is_neither_a_symmetry_nor_a_group_is_refused_by_name():
    with pytest.raises(EquivarianceSetupError, match="^symmetry must be a gdl.testing Symmetry or a gdl Group, got 'O3'$"):
        check_equivariance(RowWise(), _points(), symmetry="O3")
    with pytest.raises(EquivarianceSetupError, match="got 'SO3'"):
        check_equivariance(RowWise(), _points(), symmetry=[O3(), "SO3"])


def test_output_type_mismatch_names_the_output_and_both_sizes():
    class TooWide(torch.nn.Module):
        in_type = VEC
        out_type = {"a": VEC, "b": VEC}

        def forward(self, x):
            return {"a": x, "b": torch.cat([x, x], -1)}

    with pytest.raises(Exception, match=r"^output 'b': expected field type .*\(dim 3\).*with 6 channels$"):
        check_equivariance(TooWide(), _points())


# -- the report's identity ----------------------------------------------------------------------
def test_report_names_the_model_its_device_and_its_time():
    class Named(RowWise):
        report_name = "my model"

    report = check_equivariance(Named(), _points())
    assert report.model == "my model" and report.device == "cpu" and report.seconds > 0
    assert check_equivariance(RowWise(), _points()).model == "RowWise"

    def rotate_nothing(x):
        return 2.0 * x

    report = check_equivariance(rotate_nothing, _points(), in_type=VEC, out_type=VEC)
    assert report.passed and report.model == "rotate_nothing" and report.dtype == torch.float64


def test_dtype_comes_from_the_first_floating_parameter_else_from_the_inputs():
    class IntegerBufferOnly(RowWise):
        def __init__(self):
            super().__init__()
            self.register_buffer("counts", torch.zeros(2, dtype=torch.long))

    report = check_equivariance(IntegerBufferOnly(), _points(dtype=torch.float32))
    assert report.dtype == torch.float32 and report.rtol == 1e-4
    report = check_equivariance(IntegerBufferOnly(), _points())
    assert report.dtype == torch.float64 and report.rtol == 1e-10

    class Float64Weights(torch.nn.Module):
        in_type = out_type = VEC

        def __init__(self):
            super().__init__()
            self.register_buffer("counts", torch.zeros(2, dtype=torch.long))
            self.gain = torch.nn.Parameter(torch.ones((), dtype=torch.float64))

        def forward(self, x):
            return self.gain * x.to(self.gain.dtype)

    report = check_equivariance(Float64Weights(), _points(dtype=torch.float32))
    assert report.dtype == torch.float64 and report.rtol == 1e-10 and report.passed


# -- notes ------------------------------------------------------------------------------------------
class TwoOutputs(torch.nn.Module):
    in_type = VEC

    def __init__(self, zero):
        super().__init__()
        self.zero = zero
        self.out_type = {name: VEC for name in ("a", "b", "c")}

    def forward(self, x):
        return {n: (torch.zeros_like(x) if n in self.zero else x) for n in ("a", "b", "c")}


@pytest.mark.parametrize("zero, start", [
    (("b",), "output 'b' is identically zero"),
    (("a", "c"), "outputs 'a', 'c' are identically zero"),
    (("a", "b", "c"), "every output is identically zero"),
])
def test_identically_zero_outputs_are_named_in_the_note(zero, start):
    report = check_equivariance(TwoOutputs(zero), _points())
    assert report.passed and report.zero_outputs == list(zero)
    assert report.trivial == (len(zero) == 3)
    notes = [n for n in report.notes if "identically zero" in n]
    assert len(notes) == 1 and notes[0].startswith(start + " on the sample and on every transformed sample")
    with pytest.warns(UserWarning, match="^equivariance check of TwoOutputs: " + start):
        assert_equivariant(TwoOutputs(zero), _points())


def test_a_nonzero_output_has_no_zero_note_and_assert_equivariant_does_not_warn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = assert_equivariant(RowWise(), _points())
    assert report.zero_outputs == [] and not report.notes


def test_an_output_zero_on_the_sample_but_not_when_transformed_is_not_called_zero():
    class ZeroAtTheSample(torch.nn.Module):  # f(x) = relu(x₀)·e₁ on a sample with x₀ < 0: zero there only
        in_type = out_type = VEC

        def forward(self, x):
            out = torch.zeros_like(x)
            out[..., 0] = torch.relu(x[..., 0])
            return out

    x = -_points().abs()
    report = check_equivariance(ZeroAtTheSample(), x)
    assert not report.passed and report.zero_outputs == []
    assert not any("identically zero" in n for n in report.notes)


def test_a_cast_to_a_wider_dtype_is_named_when_the_check_fails():
    class Linear32(torch.nn.Module):  # float32 weights, no e3nn constants; leaks δ·x₀ into every row
        in_type = out_type = VEC

        def __init__(self, leak):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))
            self.leak = leak

        def forward(self, x):
            return self.scale * x + self.leak * x[:, :1]

    model = Linear32(1e-3)
    report = check_equivariance(model, _points(dtype=torch.float32), dtype=torch.float64)
    assert not report.passed and report.dtype == torch.float64
    cast = [n for n in report.notes if n.startswith("the model was cast from float32 to float64")]
    assert len(cast) == 1 and "default_dtype(torch.float64)" in cast[0] and "float64 noise floor" in cast[0]
    assert next(model.parameters()).dtype == torch.float32  # a copy was cast
    assert not any("was cast" in n for n in check_equivariance(Linear32(0.0), _points(dtype=torch.float32),
                                                               dtype=torch.float64).notes)
    narrowed = check_equivariance(Linear32(1e-3).double(), _points(), dtype=torch.float32)
    assert not narrowed.passed and narrowed.dtype == torch.float32 and not any("was cast" in n for n in narrowed.notes)
    same = check_equivariance(Linear32(1e-3), _points(dtype=torch.float32), dtype=torch.float32)
    assert not same.passed and not any("was cast" in n for n in same.notes)


class CentredLeak(torch.nn.Module):
    """d_i + δ·(d_i)₀·1 with d = x − mean(x) (``absolute``: + δ·(x_i)₀·1): a float64 error of
    size δ under rotations, and also under translations when ``absolute``."""

    in_type = FieldType(O3(), O3().standard_rep())

    def __init__(self, delta, absolute=False):
        super().__init__()
        from gdl.groups import Euclidean

        e3 = Euclidean(3)
        self.in_type = FieldType(e3, e3.standard_rep())
        self.out_type = FieldType(e3, e3.vector_rep())
        self.delta, self.absolute = delta, absolute

    def forward(self, x):
        d = x - x.mean(0, keepdim=True)
        source = x if self.absolute else d
        return d + self.delta * source[:, :1].expand_as(d)


def test_float32_scale_note_appears_for_rotation_errors_at_float32_scale_only():
    x = _points(seed=5)
    rotations = check_equivariance(CentredLeak(1e-7), x)
    assert not rotations.passed and 1e-9 < rotations.max_error <= 1e-5
    assert sum("float32 round-off" in n for n in rotations.notes) == 1
    # a pure translation fails as well: absolute positions leak, not rounding
    absolute = check_equivariance(CentredLeak(1e-7, absolute=True), x)
    assert not absolute.passed and 1e-9 < absolute.max_error <= 1e-5
    assert not any("float32 round-off" in n for n in absolute.notes), absolute.notes
    assert not any("only under translations" in n for n in absolute.notes)  # the rotations fail too
    # far above float32 round-off: a plain defect
    large = check_equivariance(CentredLeak(1e-2), x)
    assert not large.passed and not any("float32 round-off" in n for n in large.notes)
    # the note is for float64 checks only
    f32 = check_equivariance(CentredLeak(1e-2), x.float())
    assert not f32.passed and not any("float32 round-off" in n for n in f32.notes)


@pytest.mark.parametrize("max_error, rtol, expected", [
    (1e-8, 1e-10, True),
    (1e-5, 1e-10, True),  # the upper bound belongs to float32 scale
    (1.01e-5, 1e-10, False),
    (1e-9, 1e-10, False),  # the lower bound does not
    (1.01e-9, 1e-10, True),
    (5e-9, 1e-8, False),  # below a loosened rtol: nothing failed there
    (2e-8, 1e-8, True),
])
def test_float32_scale_bounds(max_error, rtol, expected):
    note = float32_scale_note(max_error, rtol, [], False)
    assert bool(note) == expected
    if expected:
        assert f"{max_error:.1e}" in note and "float32 eps 1.2e-7" in note and "default_dtype(torch.float64)" in note


def test_float32_scale_note_is_withheld_when_translations_fail():
    assert float32_scale_note(1e-8, 1e-10, [], True) == ""
    assert float32_scale_note(1e-8, 1e-10, ["E(3): fails only under translations: ..."], False) == ""
    assert float32_scale_note(1e-8, 1e-10, ["E(3): fails only under improper elements ..."], False) != ""


class MaskedSum(torch.nn.Module):
    in_type = out_type = VEC

    def __init__(self, n):
        super().__init__()
        self.drops = torch.nn.ModuleList(torch.nn.Dropout(0.5) for _ in range(n))

    def forward(self, x):
        ones = torch.ones_like(x[:, :1])
        return x * (ones + sum(d(ones) for d in self.drops))


def test_training_mode_hint_lists_three_modules_and_counts_the_rest():
    torch.manual_seed(0)
    report = check_equivariance(MaskedSum(5), _points())
    assert not report.passed
    hint = [n for n in report.notes if "training mode" in n]
    assert len(hint) == 1
    assert "drops.0 (Dropout), drops.1 (Dropout), drops.2 (Dropout) and 2 more" in hint[0]
    torch.manual_seed(0)
    three = [n for n in check_equivariance(MaskedSum(3), _points()).notes if "training mode" in n]
    assert len(three) == 1 and "drops.2 (Dropout):" in three[0] and "more" not in three[0]


def test_a_deterministic_failure_gets_no_determinism_or_training_hint():
    report = check_equivariance(RowWise(delta=1e-3), _points())
    assert not report.passed
    assert not any("not deterministic" in n or "training mode" in n for n in report.notes), report.notes


def test_a_random_forward_is_named_not_deterministic_with_its_size():
    class Noisy(torch.nn.Module):
        in_type = out_type = VEC

        def forward(self, x):
            return x + 1e-3 * torch.randn_like(x)

    torch.manual_seed(0)
    report = check_equivariance(Noisy().eval(), _points())
    hint = [n for n in report.notes if "not deterministic" in n]
    assert not report.passed and len(hint) == 1 and hint[0].startswith("two calls on the same input differ (relative")


# -- the stacked call ---------------------------------------------------------------------------------
def test_a_stacked_call_that_raises_is_named_and_every_element_runs_alone():
    class SixRowsOnly(RowWise):
        def forward(self, x):
            if x.shape[0] != 6:
                raise RuntimeError("expected 6 rows\nsecond line")
            return super().forward(x)

    report = check_equivariance(SixRowsOnly(), _points(6))
    assert report.passed and not report.batched
    assert set(r.mode for r in report.results) == {"one-at-a-time"}
    note = [n for n in report.notes if "stacked call" in n]
    assert note == ["O(3): the stacked call (all elements in one model call) raised RuntimeError: expected 6 rows; "
                    "every element ran one at a time"]


def test_a_stacked_call_whose_outputs_do_not_split_is_named():
    class FirstSixRows(RowWise):
        def forward(self, x):
            return super().forward(x)[:6]

    report = check_equivariance(FirstSixRows(), _points(6))
    assert report.passed and not report.batched
    assert any("returned outputs whose shapes do not split into one copy per element" in n for n in report.notes), \
        report.notes


def test_a_batching_model_is_checked_in_few_calls_and_gets_no_stack_note():
    calls = []
    model = RowWise()
    model.register_forward_hook(lambda *_: calls.append(1))
    report = check_equivariance(model, _points(), n_grid=3, n_random=3)
    assert report.passed and report.batched and not report.notes
    assert len(calls) == 3  # the sample, the stacked call, the probe element alone
    calls.clear()
    report = check_equivariance(model, _points(), n_grid=3, n_random=3, batch_elements=False)
    assert report.passed and not report.batched and len(calls) == 1 + len(report.results)
    assert set(r.mode for r in report.results) == {"one-at-a-time"}


# -- the table and assert_equivariant ---------------------------------------------------------------
def test_table_marks_only_rows_above_rtol_and_shows_missing_errors_as_nan():
    from gdl.testing import ElementResult, EquivarianceReport

    report = EquivarianceReport(model="Toy", dtype=torch.float64, device="cpu", rtol=1e-10, floor={}, outputs=["h", "pos"])
    report.results = [ElementResult("E(3)", "at rtol", {"h": 1e-10, "pos": 0.0}),
                      ElementResult("E(3)", "above", {"h": 2e-10}),
                      ElementResult("E(3)", "below", {"h": 0.0, "pos": 0.0})]
    assert report.passed is False
    rows = report.table().split("\n")[-3:]
    assert [row.endswith("✗") for row in rows] == [False, True, False]  # passing is max_error ≤ rtol
    assert rows[1].split()[3] == "nan"  # 'pos' was not measured under that element


def test_assert_equivariant_passes_its_options_on_and_keeps_the_40_worst_rows():
    x = _points()
    assert assert_equivariant(RowWise(delta=1e-3), x, rtol=1.0).passed  # a loose rtol lets it pass
    with pytest.raises(AssertionError) as info:
        assert_equivariant(RowWise(delta=1e-3), x, n_random=50)
    failing = [line for line in str(info.value).split("\n") if "✗" in line]
    assert len(failing) == 40


def test_the_trivial_warning_points_at_the_caller():
    with pytest.warns(UserWarning, match="identically zero") as record:
        assert_equivariant(TwoOutputs(("a", "b", "c")), _points())
    # at the caller's frame, not inside the checker (mutmut's trampoline adds a frame of its own)
    ours = [w for w in record if "identically zero" in str(w.message)]
    assert len(ours) == 1
    assert not ours[0].filename.replace("\\", "/").endswith("gdl/testing/_check.py")
    assert ours[0].filename == __file__ or "mutmut" in ours[0].filename


def test_transformed_samples_are_in_the_model_dtype():
    from gdl.testing import transformed_samples

    for dtype in (torch.float32, torch.float64):
        moved = transformed_samples(RowWise(), _points(dtype=dtype), n_random=2)
        assert moved and all(args[0].dtype == dtype for _, _, args in moved)


# -- defaults, timing and the edges of the sample (second round of mutation testing) ---------------
def test_the_default_seed_is_0_for_the_checker_and_for_transformed_samples():
    from gdl.testing import transformed_samples

    x = _points()
    default = check_equivariance(RowWise(), x, symmetry=O3(), n_grid=0, n_random=3)
    seeded = check_equivariance(RowWise(), x, symmetry=O3(), n_grid=0, n_random=3, seed=0)
    other = check_equivariance(RowWise(), x, symmetry=O3(), n_grid=0, n_random=3, seed=1)
    assert torch.equal(default.element_values["O(3)"], seeded.element_values["O(3)"])
    assert not torch.equal(default.element_values["O(3)"], other.element_values["O(3)"])

    def moved(**kwargs):
        return [args[0] for _, _, args in transformed_samples(RowWise(), x, symmetry=O3(), **kwargs)]

    # by default: the generators and ONE random element (n_random=1, n_grid=0), seed 0
    assert len(moved()) == len(moved(n_random=1)) == len(moved(n_random=2)) - 1
    assert all(torch.equal(a, b) for a, b in zip(moved(), moved(seed=0)))
    assert not torch.equal(moved()[-1], moved(seed=1)[-1])


def test_a_non_finite_reference_output_returns_at_once_with_the_time_spent():
    import time

    class NaNOut(RowWise):
        def forward(self, x):
            return super().forward(x) * float("nan")

    start = time.perf_counter()
    report = check_equivariance(NaNOut(), _points())
    elapsed = time.perf_counter() - start
    assert report.non_finite.startswith("model returned non-finite output (NaN or inf) in 'output' on the untransformed")
    assert report.results == [] and not report.passed
    assert 0.0 < report.seconds <= elapsed


def test_an_empty_output_has_scale_0_and_is_named_trivial():
    class EmptyToo(torch.nn.Module):
        in_type = VEC
        out_type = {"y": VEC, "none": VEC}

        def forward(self, x):
            return {"y": RowWise()(x), "none": x[:0]}

    report = check_equivariance(EmptyToo(), _points())
    assert report.passed and report.zero_outputs == ["none"]
    assert report.floor["none"] == pytest.approx(1e-3 * float(_points().abs().max()))  # the floor: scale 0
    assert all(r.errors["none"] == 0.0 for r in report.results)


def test_comparisons_run_in_float64_for_a_float32_model():
    class Identity32(torch.nn.Module):  # exactly equivariant; its only error is float32 rounding of g·x
        in_type = out_type = VEC

        def __init__(self):
            super().__init__()
            self.one = torch.nn.Parameter(torch.ones((), dtype=torch.float32))

        def forward(self, x):
            return self.one * x

    x = _points(dtype=torch.float32)
    g = _o3(4)
    report = check_equivariance(Identity32(), x, symmetry=O3(), elements=g)
    assert report.passed and report.dtype == torch.float32
    # the reference: ρ(g) f(x) in float64 from the float32 output; the actual: f(g·x) rounded to float32
    ref = x.double()
    expected = torch.einsum("kij,nj->kni", g, ref)
    actual = expected.float().double()
    want = ((actual - expected).abs().flatten(1).amax(1) / float(ref.abs().max())).tolist()
    got = [r.errors["output"] for r in report.results]
    assert got == pytest.approx(want, rel=1e-12, abs=0.0) and max(got) > 0


def test_pure_translations_are_the_elements_with_q_identity_and_a_nonzero_shift():
    from gdl.groups import Euclidean
    from gdl.testing._check import _pure_translations

    e3 = Euclidean(3)
    eye = torch.eye(3, dtype=torch.float64)
    rot = _o3(1)[0]
    shift = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    q = torch.stack([eye, eye, rot, rot])
    t = torch.stack([torch.zeros(3, dtype=torch.float64), shift, shift, torch.zeros(3, dtype=torch.float64)])
    g = e3.from_parts(q, t)
    assert _pure_translations(GlobalSymmetry(e3), g) == [1]  # not the identity (t = 0), nor a rotation
    assert _pure_translations(GlobalSymmetry(O3()), _o3(3)) == []


def test_training_mode_hint_counts_from_the_fourth_module():
    torch.manual_seed(0)
    four = [n for n in check_equivariance(MaskedSum(4), _points()).notes if "training mode" in n]
    assert len(four) == 1 and "drops.2 (Dropout) and 1 more:" in four[0]


def test_the_determinism_hint_reads_named_outputs():
    class NoisyPair(torch.nn.Module):
        in_type = VEC
        out_type = {"a": VEC, "b": VEC}

        def forward(self, x):
            return {"a": x + 1e-3 * torch.randn_like(x), "b": 2 * x}

    torch.manual_seed(0)
    report = check_equivariance(NoisyPair(), _points())
    hint = [n for n in report.notes if "not deterministic" in n]
    assert not report.passed and len(hint) == 1 and hint[0].startswith("two calls on the same input differ")


class RowCountScale(torch.nn.Module):
    """y = x·(1 + ε·N), N the number of rows of the call: equivariant on every single sample, but
    a stacked call of K + 1 copies moves the untransformed copy by ε·K·n·|x|."""

    in_type = out_type = VEC

    def __init__(self, eps):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return x * (1 + self.eps * x.shape[0])


@pytest.mark.parametrize("fraction", [0.5, 0.2])
def test_a_stacked_call_off_by_a_fraction_of_rtol_falls_back_to_single_calls(fraction):
    n, k = 6, 3
    rtol = default_rtol(torch.float64)
    model = RowCountScale(fraction * rtol / (k * n))  # the copy moves by `fraction` × rtol of the scale
    report = check_equivariance(model, _points(n), symmetry=O3(), elements=_o3(k))
    assert report.passed and not report.batched
    note = [n for n in report.notes if "did not reproduce the results of single calls" in n]
    assert len(note) == 1 and "mixes the copies of a batch (e.g. x − mean(x) or x − x[0] over the whole" in note[0]
    tiny = check_equivariance(RowCountScale(0.01 * rtol / (k * n)), _points(n), symmetry=O3(), elements=_o3(k))
    assert tiny.passed and tiny.batched and not tiny.notes  # 1 % of rtol: the stack reproduces the reference


def test_elements_of_a_direct_product_are_counted_by_the_group():
    from gdl.groups import Cyclic, DirectProduct

    group = DirectProduct(O3(), Cyclic(4))
    ftype = FieldType(group, group.standard_rep())

    class Double(torch.nn.Module):
        in_type = out_type = ftype

        def forward(self, x):
            return 2 * x

    g = group.sample(3, torch.Generator().manual_seed(0), dtype=torch.float64)
    x = torch.randn(5, ftype.dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    report = check_equivariance(Double(), x, symmetry=group, elements=g)
    assert report.passed and [r.element for r in report.results] == ["element 0", "element 1", "element 2"]
    perm = torch.stack([torch.randperm(5, generator=torch.Generator().manual_seed(s)) for s in range(2)])
    by_hand = check_equivariance(RowWise(), _points(5), symmetry=NodePermutation(), elements=perm)
    assert by_hand.passed and [r.element for r in by_hand.results] == ["element 0", "element 1"]


def test_cast_note_names_both_dtypes_everywhere():
    class Leak32(torch.nn.Module):
        in_type = out_type = VEC

        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, x):
            return self.scale * x + 1e-3 * x[:, :1]

    report = check_equivariance(Leak32(), _points(dtype=torch.float32), dtype=torch.float64)
    note = next(n for n in report.notes if "was cast" in n)
    assert "from float32 to float64" in note and "keep float32 rounding" in note
    assert "build it in float64 (`with gdl.testing.default_dtype(torch.float64)" in note


def test_transformed_samples_move_the_sample_the_model_sees():
    """A float32 model given float64 points: the points are first rounded to float32 (the sample
    the checker and the model see), then moved exactly and rounded again."""
    from gdl.testing import transformed_samples

    class Model32(RowWise):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones((), dtype=torch.float32))

    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    g = _o3(3)
    moved = [args[0] for _, _, args in transformed_samples(Model32(), x, symmetry=O3(), elements=g)]
    sample = x.float().double()
    for gi, m in zip(g, moved):
        assert m.dtype == torch.float32
        assert torch.equal(m, (sample @ gi.T).float())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a second device (CUDA) to tell devices apart")
def test_transformed_samples_are_on_the_model_device():
    from gdl.testing import transformed_samples

    model = RowWise().cuda()
    model.w = torch.nn.Parameter(torch.ones((), dtype=torch.float64, device="cuda"))
    moved = transformed_samples(model, _points(), symmetry=O3())  # the points on the CPU
    assert moved and all(args[0].device.type == "cuda" for _, _, args in moved)


def test_training_mode_hint_names_dropout_layers_not_a_model_named_after_them():
    from gdl.testing._diagnose import training_mode_modules

    class ManyDropouts(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = torch.nn.Dropout(0.1)
            self.norm = torch.nn.BatchNorm1d(3)
            self.linear = torch.nn.Linear(3, 3)

    class OtherLibraryBatchNorm(torch.nn.Module):  # a leaf layer of another library, known by its name
        pass

    model = ManyDropouts()
    assert training_mode_modules(model) == ["drop (Dropout)", "norm (BatchNorm1d)"]
    assert training_mode_modules(OtherLibraryBatchNorm()) == ["(root) (OtherLibraryBatchNorm)"]
    assert training_mode_modules(model.eval()) == []


def test_an_element_exactly_at_rtol_passes_in_the_stacked_call_without_a_rerun():
    x = _points()
    errors = [r.errors["output"] for r in check_equivariance(RowWise(delta=1e-6), x, n_grid=2, n_random=2).results]
    rtol = max(errors)
    assert rtol > 0
    report = check_equivariance(RowWise(delta=1e-6), x, n_grid=2, n_random=2, rtol=rtol)
    assert report.passed and report.max_error == rtol  # passing is max_error ≤ rtol
    assert report.batched and set(r.mode for r in report.results) == {"batched"} and not report.notes


def test_a_failing_translation_in_the_first_symmetry_still_withholds_the_float32_note():
    from gdl.groups import Euclidean

    x = _points(seed=5)
    report = check_equivariance(CentredLeak(1e-7, absolute=True), x, symmetry=[Euclidean(3), NodePermutation()])
    assert not report.passed and 1e-9 < report.max_error <= 1e-5
    assert {r.symmetry for r in report.results} == {"E(3)", "node permutation"}
    assert not any("float32 round-off" in n for n in report.notes), report.notes
    # and without the failing translations the note is there, whatever symmetry comes last
    rotations = check_equivariance(CentredLeak(1e-7), x, symmetry=[Euclidean(3), NodePermutation()])
    assert sum("float32 round-off" in n for n in rotations.notes) == 1
