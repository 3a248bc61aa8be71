"""gdl.benchmarks.sht_speed runs end to end on a tiny size and prints its table and scaling."""
from gdl.benchmarks import sht_speed


def test_speed_table_and_scaling_are_printed(capsys):
    rows = sht_speed.speed([2, 4], signals=4, repeats=1, with_torch_harmonics=False)
    out = capsys.readouterr().out
    assert "| L | gdl GL synthesis / analysis (ms)" in out and "L 2→4:" in out
    assert [lmax for lmax, _, _ in rows] == [2, 4]
    for _, times, errors in rows:
        assert set(times) >= {"gdl GL synthesis", "gdl GL analysis", "e3nn synthesis", "e3nn analysis"}
        assert errors["gdl GL"] < 1e-6 and errors["gdl SOFT"] < 1e-6
