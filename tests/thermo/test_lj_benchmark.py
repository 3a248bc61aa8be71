"""The LJ-cluster benchmark commands run end to end at toy sizes (the real runs are in docs/thermo.md)."""
import json

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
