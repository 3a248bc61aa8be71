"""The N-body models on CUDA: finite outputs and gradients, E(3) × permutation checks (skipped without CUDA)."""
import pytest
import torch

from gdl.nn import DeviceMismatchError
from gdl.testing import check_equivariance
from gdl.train import get_task

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

F32_RTOL, F64_RTOL = 1e-5, 1e-10  # as tests/models/test_nbody_models.py
NAMES = ["egnn", "segnn", "tfn", "gnn", "linear"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype,rtol", [(torch.float64, F64_RTOL), (torch.float32, F32_RTOL)])
def test_models_on_cuda(name, dtype, rtol, nbody_batch, build_in):
    torch.manual_seed(0)
    with build_in(dtype):
        model = get_task("nbody").models[name].factory().cuda()
    batch = nbody_batch(8, dtype).cuda()
    out = model(batch)
    torch.nn.functional.mse_loss(out, batch.y).backward()
    assert out.device.type == "cuda" and torch.isfinite(out).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    report = check_equivariance(model, batch, rtol=rtol, n_random=2, n_grid=1)
    assert report.per_symmetry["node permutation"] <= rtol
    if name in ("egnn", "tfn", "segnn"):
        assert report.passed, report.table()
    else:
        assert report.per_symmetry["E(3)"] > 1e-2  # the baselines are not E(3)-equivariant


def test_device_mismatch_is_named(nbody_batch):
    model = get_task("nbody").models["egnn"].factory()
    with pytest.raises(DeviceMismatchError, match="module parameters are on cpu but input 'data.pos' is on cuda"):
        model(nbody_batch(2, torch.float32).cuda())
