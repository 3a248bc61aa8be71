"""Numbers in docs/benchmarks.md and docs/layers.md agree with their sources where a test can tell.

- the "published (full protocol)" column of the N-body table = the task registry's published
  numbers (``gdl train``'s results table prints the registry's);
- the EGNN 1000-epoch mean ± std = the per-seed values quoted under the table;
- the parameter counts of the model catalogue = the default models.
"""
import re
import statistics
from pathlib import Path

import pytest

from gdl.train import get_task

DOCS = Path(__file__).resolve().parents[2] / "docs"
MODEL_ROWS = {"EGNN": "egnn", "Linear": "linear", "GNN": "gnn", "TFN": "tfn", "SEGNN": "segnn"}


def _nbody_table():
    text = (DOCS / "benchmarks.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| model | budget (epochs) |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    rows = []
    for line in text.splitlines():
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        if line.startswith("| ") and len(cells) == len(columns) and cells[0] in MODEL_ROWS:
            rows.append(dict(zip(columns, cells)))
    return rows


def test_published_column_matches_the_task_registry():
    published = {k: v.value for k, v in get_task("nbody").published.items()}
    rows = _nbody_table()
    assert {r["model"] for r in rows} == set(MODEL_ROWS)
    for row in rows:
        number = float(row["published (full protocol)"].split()[0])
        assert number == published[MODEL_ROWS[row["model"]]], row["model"]


def test_egnn_1000_epoch_mean_and_std_follow_from_the_per_seed_values():
    text = (DOCS / "benchmarks.md").read_text()
    quoted = re.search(r"Per seed, EGNN at 1000 epochs: ([0-9.]+) \(seed 0\), ([0-9.]+) \(seed 1\), ([0-9.]+) \(seed 2\)",
                       text.replace("\n", " "))
    assert quoted, "the per-seed sentence under the N-body table moved"
    seeds = [float(v) for v in quoted.groups()]
    row = next(r for r in _nbody_table() if r["model"] == "EGNN" and r["budget (epochs)"] == "1000")
    mean, std = (float(v) for v in row["test MSE, mean ± std"].split(" ± "))
    assert round(statistics.mean(seeds), 5) == mean
    assert round(statistics.stdev(seeds), 5) == std


def _catalogue_counts():
    counts = {}
    for line in (DOCS / "layers.md").read_text().splitlines():
        match = re.match(r"\| `(EGNN|TFN|SEGNN|GNN|Linear)` \|.*\| ([0-9,]+)( \(.*\))? \| [^|]+ \|$", line)
        if match:
            counts[match.group(1)] = int(match.group(2).replace(",", ""))
    return counts


@pytest.mark.parametrize("name", ["EGNN", "TFN", "SEGNN", "GNN", "Linear"])
def test_catalogue_parameter_counts_match_the_default_models(name):
    from gdl.train import get_task

    counts = _catalogue_counts()
    assert name in counts, f"docs/layers.md has no parameter count for {name}"
    model = get_task("nbody").models[MODEL_ROWS[name]].factory()
    assert sum(p.numel() for p in model.parameters()) == counts[name]
