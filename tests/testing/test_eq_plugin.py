"""The pytest plugin: registered by entry point, opt-in fixtures, option and marker; fixtures that
build a model class in the target dtype and work inside hypothesis @given tests."""
import subprocess
import sys
import textwrap

import pytest


@pytest.mark.slow
def test_plugin_fixtures_option_and_marker(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        import pytest, torch
        from e3nn import o3
        from hypothesis import given, settings
        from gdl.groups import O3, FieldType
        from gdl.testing import strategies

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

        class Product(torch.nn.Module):  # e3nn constants: built in float32 they stay float32-rounded
            def __init__(self):
                super().__init__()
                torch.manual_seed(0)
                self.tp = o3.FullyConnectedTensorProduct("4x0e+4x1o+2x2e", "0e+1o+2e", "4x0e+4x1o+2x2e")
                self.irreps_in, self.irreps_out = (self.tp.irreps_in1, self.tp.irreps_in2), self.tp.irreps_out

            def forward(self, x, y):
                return self.tp(x, y)

        def _xy(dtype):
            gen = torch.Generator().manual_seed(1)
            return torch.randn(6, 26, generator=gen).to(dtype), torch.randn(6, 9, generator=gen).to(dtype)

        def test_class_is_built_in_the_target_dtype(equivariance_check, eq_dtype):
            report = equivariance_check(Product, *_xy(eq_dtype))
            assert report.dtype == eq_dtype and not report.notes
            assert equivariance_check(build=lambda: Product(), *_xy(eq_dtype)).passed

        def test_cast_after_building_is_named(equivariance_check):
            with pytest.raises(AssertionError, match="float32-built constants"):
                equivariance_check(Product().to(torch.float64), *_xy(torch.float64))

        @settings(max_examples=3, deadline=None)
        @given(points=strategies.point_clouds(min_points=3, max_points=6))
        def test_inside_hypothesis(equivariance_check, eq_dtype, points):
            report = equivariance_check(Identity(), points.to(eq_dtype))
            assert report.passed and report.dtype == eq_dtype
    '''))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", "--gdl-eq-random", "3",
         "-m", "equivariance or not equivariance", str(tmp_path / "test_user.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # test_identity, test_class_... and test_inside_hypothesis ran twice (float32, float64)
    assert "9 passed" in proc.stdout, proc.stdout
    assert "FailedHealthCheck" not in proc.stdout + proc.stderr
