"""The checker runs on the model's device (skipped without CUDA)."""
import pytest
import torch

from gdl.testing import check_equivariance
from gdl.testing.mutations import CORRECT, MUTATIONS

from .helpers import DataModel, nbody_like

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_graph_batch_on_gpu(dtype):
    model = DataModel().to("cuda", dtype)
    batch = nbody_like(8, 5, dtype=dtype)  # a CPU batch: the check moves it to the model's device
    report = check_equivariance(model, batch)
    assert report.passed and report.device.startswith("cuda") and report.dtype == dtype
    leaky = check_equivariance(DataModel(leak=1e-3).to("cuda", dtype), batch)
    assert not leaky.passed


@cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mutations_and_correct_modules_on_gpu(dtype):
    eps = {torch.float64: 1e-6, torch.float32: 1e-3}[dtype]
    for name, case in MUTATIONS.items():
        for seed in range(5):
            model, inputs = case.build(eps, seed, dtype)
            report = check_equivariance(model.cuda(), *[x.cuda() if torch.is_tensor(x) else x for x in inputs], seed=seed)
            assert not report.passed and report.device.startswith("cuda"), (name, seed)
    for name, build in CORRECT.items():
        model, inputs = build(0, dtype)
        report = check_equivariance(model.cuda(), *[x.cuda() if torch.is_tensor(x) else x for x in inputs])
        assert report.passed, (name, report)
