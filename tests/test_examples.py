"""The layer examples run and report passing equivariance checks (they are the docs' promises)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("layers_*.py")))
def test_layer_example_runs_and_passes(script, tmp_path):
    env = dict(os.environ, GDL_HOME=str(tmp_path), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "passed" in done.stdout, done.stdout[-3000:]
    assert "NOT EQUIVARIANT" not in done.stdout and "non-finite" not in done.stdout, done.stdout[-3000:]
