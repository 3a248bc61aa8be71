"""The pytest plugin: registered by entry point, opt-in fixtures, option and marker."""
import subprocess
import sys
import textwrap

import pytest


@pytest.mark.slow
def test_plugin_fixtures_option_and_marker(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        import pytest, torch
        from gdl.groups import O3, FieldType

        class Identity(torch.nn.Module):
            in_type = out_type = FieldType(O3(), O3().standard_rep())
            def forward(self, x):
                return x

        class Broken(Identity):
            def forward(self, x):
                return x + 1e-3 * x[:, :1]

        def test_no_autouse(request):
            assert not {"eq_dtype", "eq_tolerance", "equivariance_check"} & set(request.fixturenames)

        @pytest.mark.equivariance
        def test_identity(equivariance_check, eq_dtype, eq_tolerance):
            report = equivariance_check(Identity(), torch.randn(4, 3, dtype=eq_dtype))
            assert report.dtype == eq_dtype and report.rtol == eq_tolerance
            assert len(report.results) == 4 + 8 + 3  # generators, grid, --gdl-eq-random 3

        def test_broken(equivariance_check):
            with pytest.raises(AssertionError, match="NOT EQUIVARIANT"):
                equivariance_check(Broken(), torch.randn(4, 3))
    '''))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", "--gdl-eq-random", "3",
         "-m", "equivariance or not equivariance", str(tmp_path / "test_user.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed" in proc.stdout  # test_identity ran twice (float32, float64)
