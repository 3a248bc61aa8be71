"""EquivarianceReport's summaries and printout on a report with known numbers (no model runs).

docs/testing.md ("The report"): ``max_error`` is the largest relative error over everything,
``passed`` is ``max_error ≤ rtol`` with every output finite, ``per_output`` / ``per_symmetry`` /
``per_element`` are maxima over the other axes, ``mean_per_output`` a mean over elements,
``errors(symmetry)`` the [elements, outputs] float64 table; the table marks failing rows with ✗
and ``max_rows`` keeps the worst rows.
"""
import math

import torch

from gdl.testing import check_equivariance
from gdl.testing._report import ElementResult, EquivarianceReport


def _report(non_finite=None, notes=(), approximate=None):
    report = EquivarianceReport(model="Toy", dtype=torch.float64, device="cpu", rtol=1e-10,
                                floor={"h": 1.0, "pos": 2.0}, outputs=["h", "pos"], notes=list(notes),
                                approximate=approximate or {}, non_finite=non_finite)
    report.results = [
        ElementResult("E(3)", "rot x 1 rad", {"h": 1e-16, "pos": 3e-16}),
        ElementResult("E(3)", "reflection", {"h": 5e-9, "pos": 2e-12}),
        ElementResult("node permutation", "swap 0 1", {"h": 0.0, "pos": 4e-11}),
        ElementResult("node permutation", "shift", {"h": 7e-15, "pos": 0.0}),
    ]
    return report


def test_maxima_means_and_labels():
    r = _report()
    assert r.max_error == 5e-9 and not r.passed and r.status == "NOT EQUIVARIANT"
    assert r.per_output == {"h": 5e-9, "pos": 4e-11}
    assert r.mean_per_output == {"h": (1e-16 + 5e-9 + 0.0 + 7e-15) / 4, "pos": (3e-16 + 2e-12 + 4e-11 + 0.0) / 4}
    assert r.per_symmetry == {"E(3)": 5e-9, "node permutation": 4e-11}
    assert r.symmetries == ["E(3)", "node permutation"]
    assert r.elements == ["E(3) / rot x 1 rad", "E(3) / reflection", "node permutation / swap 0 1",
                          "node permutation / shift"]
    assert r.per_element == {"E(3) / rot x 1 rad": 3e-16, "E(3) / reflection": 5e-9,
                             "node permutation / swap 0 1": 4e-11, "node permutation / shift": 7e-15}
    assert r.results[1].max_error == 5e-9 and ElementResult("s", "e", {}).max_error == 0.0


def test_errors_table_is_float64_elements_by_outputs():
    r = _report()
    full = r.errors()
    assert full.dtype == torch.float64 and full.shape == (4, 2)
    assert full[1, 0].item() == 5e-9 and full[2, 1].item() == 4e-11
    perm = r.errors("node permutation")
    assert perm.shape == (2, 2) and perm.tolist() == [[0.0, 4e-11], [7e-15, 0.0]]


def test_passed_is_max_error_at_most_rtol_inclusive():
    r = _report()
    r.rtol = 5e-9
    assert r.passed and r.status == "passed"
    r.rtol = 4.999e-9
    assert not r.passed
    empty = EquivarianceReport(model="Toy", dtype=torch.float32, device="cpu", rtol=1e-4, floor={}, outputs=[])
    assert empty.max_error == 0.0 and empty.passed


def test_non_finite_output_fails_with_its_own_status():
    r = _report(non_finite="model returned non-finite output (NaN or inf) in 'h' on the untransformed input")
    assert math.isnan(r.max_error) and not r.passed
    assert r.status == "model returned non-finite output"
    assert "non-finite output (NaN or inf) in 'h'" in r.summary()


def test_summary_line():
    r = _report(notes=["the model was cast"], approximate={"SO(3) on S²": True, "E(3)": False})
    first, *rest = r.summary().split("\n")
    assert first.startswith("equivariance of Toy: NOT EQUIVARIANT — max relative error 5.00e-09 (rtol 1e-10, float64, cpu, 4 elements)")
    assert first.endswith("[approximate action: SO(3) on S²]")
    # one line per symmetry with its verdict and the mode that produced it, then the notes
    assert rest == ["  E(3): NOT EQUIVARIANT (one-at-a-time), max 5.0e-09; node permutation: passed (batched), max 4.0e-11",
                    "  note: the model was cast"]
    assert "approximate" not in _report().summary()
    assert repr(r) == "<EquivarianceReport Toy: NOT EQUIVARIANT, max_error=5.00e-09, rtol=1e-10>"


def test_table_rows_marks_and_worst_rows():
    r = _report()
    lines = r.table().split("\n")
    summary = r.summary().split("\n")
    n = len(summary)
    assert lines[:n] == summary
    head = lines[n].split()
    assert head == ["symmetry", "element", "h", "pos"]
    assert set(lines[n + 1].strip()) == {"-"} and len(lines[n + 1]) == len(lines[n])
    rows = lines[n + 2:]
    assert len(rows) == 4
    assert [row.endswith("✗") for row in rows] == [False, True, False, False]
    assert "5.00e-09" in rows[1] and "2.00e-12" in rows[1] and rows[0].split()[-1] == "3.00e-16"
    worst = r.table(max_rows=2).split("\n")[n + 2:]
    assert len(worst) == 2 and "reflection" in worst[0] and "swap 0 1" in worst[1]
    assert str(r) == r.table()
    r.rtol = 1e-15
    rows = r.table().split("\n")[len(r.summary().split("\n")) + 2:]
    assert [row.endswith("✗") for row in rows] == [False, True, True, True]  # max > 1e-15


def test_a_real_report_table_names_the_failing_element():
    class Leak(torch.nn.Module):
        from gdl.groups import O3, FieldType

        in_type = out_type = FieldType(O3(), O3().standard_rep())

        def forward(self, x):
            return x + torch.tensor([1e-6, 0.0, 0.0], dtype=x.dtype)

    report = check_equivariance(Leak(), torch.randn(6, 3, dtype=torch.float64))
    failing = [line for line in report.table().split("\n") if "✗" in line]
    assert all(line.endswith("✗  (confirmed one-at-a-time)") for line in failing)
    assert failing and len(failing) == sum(r.max_error > report.rtol for r in report.results)
