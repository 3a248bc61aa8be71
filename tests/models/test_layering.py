"""gdl.models sits above gdl.nn: importing the layers never imports the benchmark models."""
import subprocess
import sys


def test_gdl_nn_does_not_import_gdl_models_or_train():
    code = ("import sys, gdl.nn, gdl.nn.graph; "
            "bad = sorted(m for m in sys.modules if m.startswith(('gdl.models', 'gdl.train', 'gdl.data'))); "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
