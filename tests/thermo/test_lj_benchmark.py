"""The LJ-cluster benchmark commands run end to end at toy sizes (the real runs are in docs/thermo.md)."""
import json

import pytest

from gdl.benchmarks.lj_clusters import main


def test_minimum_and_heat_capacity_commands_write_their_results(tmp_path, capsys):
    out = tmp_path / "minimum.json"
    main(["minimum", "--atoms", "13", "--seeds", "1", "--replicas", "2", "--steps", "100", "--quench-every", "100",
          "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["target"] == -44.326801 and len(result["seeds"]) == 1
    assert result["best"] >= -44.326802 and result["seeds"][0]["evaluations"] > 200
    cv_out = tmp_path / "cv.json"
    main(["heat-capacity", "--temperatures", "3", "--chains", "2", "--steps", "100", "--out", str(cv_out)])
    cv = json.loads(cv_out.read_text())
    assert len(cv["cv"]) == 3 and all(c > 0 for c in cv["cv"]) and cv["energy_evaluations"] == 600
    assert "peak at kT" in capsys.readouterr().out


def _cv_result(cv, stderr, peak_kT, peak_cv):
    return {"kT": [0.2, 0.3, 0.4], "cv": cv, "stderr": stderr, "args": {"atoms": 13},
            "reweighted_peak_kT": peak_kT, "reweighted_peak_cv_per_atom": peak_cv}


def test_compare_reports_peak_shift_and_differences_in_units_of_the_combined_error(tmp_path, capsys):
    import math

    from gdl.benchmarks.lj_clusters import compare_heat_capacities

    a = _cv_result([40.0, 100.0, 50.0], [1.0, 3.0, 1.0], 0.29, 8.0)
    b = _cv_result([41.0, 96.0, 50.0], [1.0, 4.0, 0.0], 0.30, 7.6)
    result = compare_heat_capacities(a, b)
    assert result["delta_over_sigma"] == pytest.approx([1 / math.sqrt(2), -4 / 5, 0.0])
    assert result["max_abs_delta_over_sigma"] == pytest.approx(0.8)
    assert result["delta_cv_per_atom"] == pytest.approx([1 / 13, -4 / 13, 0.0])
    assert result["peak_kT_relative_difference"] == pytest.approx(0.30 / 0.29 - 1)
    assert result["peak_cv_relative_difference"] == pytest.approx(-0.05)
    with pytest.raises(ValueError, match="same temperature ladder"):
        compare_heat_capacities(a, dict(b, kT=[0.2, 0.3, 0.5]))
    for name, data in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps(data))
    main(["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert "max |ΔC_v|/σ = 0.8" in capsys.readouterr().out


@pytest.mark.slow
def test_a_short_replica_exchange_run_puts_the_lj13_peak_in_the_melting_window():
    """6 temperatures × 2 chains × 4000 steps (~8 s idle, ~40 s on a loaded machine): the multiple-histogram peak
    lies within ±0.04 ε of the long run's kT = 0.288 and is clearly above the solid's 3N k_B (seeds 0–2 gave
    kT 0.295, 0.274, 0.280 and C_v/(N k_B) 8.5, 9.4, 10.3)."""
    from gdl.benchmarks.lj_clusters import heat_capacity_curve

    result = heat_capacity_curve(13, 0.2, 0.4, 6, 2, 4000, 0.01, 20, 2.0, seed=0)
    assert 0.25 <= result["reweighted_peak_kT"] <= 0.33
    assert result["reweighted_peak_cv_per_atom"] > 6.0
    assert result["cv_per_atom"][0] < 4.5 and result["cv_per_atom"][-1] < 5.0  # solid and liquid sides lower
