"""The numbers behind docs/thermo.md "Learning as thermodynamics": gdl.thermo.landscape against exact answers.

    OMP_NUM_THREADS=1 python -m gdl.benchmarks.landscape_checks [--json out.json]

On the N-body EGNN (``nbody`` task's model, hidden 2, one layer: 59 parameters, float64, an untrained
model at seed 0 on 4 charged 5-body systems) and on a quadratic with a known indefinite spectrum:

- the dense Hessian (d Hessian-vector products) against ``torch.autograd.functional.hessian``;
- Lanczos top / bottom eigenvalues against ``torch.linalg.eigvalsh`` (relative error, products used);
- Hutchinson (100 probes) and Hutch++ (45 products) against the exact trace, in standard errors;
- SLQ trace (4 probes × 30 steps);
- the largest relative change of λ_top, λ_bottom, trace and SLQ density under a random rotation of the data;
- power iteration vs Lanczos on spectrum {−13126, 3122, …} (the issue's example);
- double-backward vs torch.func products on a small MLP: difference and time per product;
- when ``curvlinops`` (``curvlinops-for-pytorch``) imports: its ``HessianLinearOperator`` on the same
  model/batches: λ_max by ``scipy.sparse.linalg.eigsh`` and its Hutchinson trace, side by side
  (an optional reference, never a gdl dependency).
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Optional

import torch


def egnn_objective(rotation=None):
    from gdl.benchmarks.nbody_speed import nbody_batch
    from gdl.thermo import Objective
    from gdl.train import get_task

    task = get_task("nbody")
    torch.manual_seed(0)
    model = task.build_model("egnn", {"hidden_channels": 2, "num_layers": 1}).double()
    batch = nbody_batch(4, dtype=torch.float64)
    if rotation is not None:
        batch.pos, batch.vel, batch.y = batch.pos @ rotation.T, batch.vel @ rotation.T, batch.y @ rotation.T
    return task, model, batch, Objective.from_task(task, model, [batch])


def reference_hessian(objective):
    from torch.func import functional_call

    from gdl.thermo import twice_differentiable, unflatten

    names = {id(p): n for n, p in objective.model.named_parameters()}
    keys = [names[id(p)] for p in objective.params()]

    class Swapped(torch.nn.Module):
        def __init__(self, values):
            super().__init__()
            self.values = values

        def forward(self, batch):
            return functional_call(objective.model, self.values, (batch,))

    def loss_of(w):
        values = dict(zip(keys, unflatten(w, objective.params())))
        return sum(weight * objective.loss_fn(Swapped(values), b) for weight, b in zip(objective.weights, objective.batches))

    with twice_differentiable(objective.model):
        return torch.autograd.functional.hessian(loss_of, objective.parameter_vector())


def run() -> dict:
    from gdl.thermo import Objective
    from gdl.thermo import landscape as L

    out: dict = {}
    task, model, batch, objective = egnn_objective()
    exact = reference_hessian(objective)
    eigenvalues = torch.linalg.eigvalsh(exact)
    out["parameters"] = objective.dim
    out["dense_vs_autograd_functional_max_abs"] = float((L.dense_hessian(objective) - exact).abs().max())
    out["eigenvalues_exact_top3"] = eigenvalues[-3:].flip(0).tolist()
    out["eigenvalues_exact_bottom2"] = eigenvalues[:2].tolist()
    top = L.top_hessian_eigenvalues(objective, k=3, tol=1e-10, seed=1)
    bottom = L.bottom_hessian_eigenvalues(objective, k=2, tol=1e-10, seed=1)
    out["lanczos_top_relative_error"] = float(((top.eigenvalues - eigenvalues[-3:].flip(0)) / eigenvalues[-3:].flip(0)).abs().max())
    out["lanczos_top_products"] = top.n_products
    out["lanczos_bottom_relative_error"] = float(((bottom.eigenvalues - eigenvalues[:2]) / eigenvalues[:2]).abs().max())
    trace = float(torch.trace(exact))
    hutch = L.hutchinson_trace(objective, n_probes=100, seed=0)
    plus = L.hutchpp_trace(objective, n_products=45, seed=0)
    slq = L.spectral_density(objective, n_iterations=30, n_probes=4, seed=0)
    out["trace_exact"] = trace
    out["hutchinson_100"] = [hutch.value, hutch.standard_error, (hutch.value - trace) / hutch.standard_error]
    out["hutchpp_45"] = [plus.value, plus.standard_error, (plus.value - trace) / max(plus.standard_error, 1e-300)]
    out["slq_trace_4x30"] = slq.trace

    g = torch.Generator().manual_seed(7)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    rotated = egnn_objective(q)[3]
    grid = torch.linspace(-5, 5, 201, dtype=torch.float64)
    changes = {}
    for name, f in {
        "lambda_top3": lambda o: L.top_hessian_eigenvalues(o, k=3, seed=2, max_iterations=20).eigenvalues,
        "lambda_bottom2": lambda o: L.bottom_hessian_eigenvalues(o, k=2, seed=2, max_iterations=20).eigenvalues,
        "hutchinson_8": lambda o: torch.tensor([L.hutchinson_trace(o, n_probes=8, seed=4).value]),
        "slq_density": lambda o: L.spectral_density(o, n_iterations=10, n_probes=2, seed=5, sigma=0.1, grid=grid).density,
    }.items():
        a, b = f(objective), f(rotated)
        changes[name] = float((a - b).abs().max() / a.abs().max())
    out["rotation_relative_change"] = changes

    spectrum = torch.tensor([-13126.0, 3122.0, 250.0, 40.0, 3.0, 0.5, 0.0, -7.0, -900.0, 12.0], dtype=torch.float64)
    u, _ = torch.linalg.qr(torch.randn(10, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    a = u @ torch.diag(spectrum) @ u.T
    quadratic = torch.nn.Module()
    quadratic.w = torch.nn.Parameter(torch.randn(10, dtype=torch.float64))
    quad = Objective(quadratic, lambda m, A: 0.5 * m.w @ A @ m.w, [0.5 * (a + a.T)])
    power = L.power_iteration(quad, n_iterations=2000, tol=1e-12, seed=0)
    out["indefinite"] = {"power_iteration": power.eigenvalue, "power_products": power.n_products,
                         "lanczos_top": L.top_hessian_eigenvalues(quad, seed=0).max}

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1)).double()
    x, y = torch.randn(256, 8, dtype=torch.float64), torch.randn(256, 1, dtype=torch.float64)
    mlp_objective = Objective(mlp, lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), [(x, y)])
    v = torch.randn(mlp_objective.dim, dtype=torch.float64)
    timings = {}
    for method in ("double_backward", "func"):
        operator = L.HessianOperator(mlp_objective, method=method, cache_graph=False)
        operator @ v
        t0 = time.perf_counter()
        for _ in range(20):
            hv = operator @ v
        timings[method] = ((time.perf_counter() - t0) / 20, hv)
    out["mlp_products"] = {"parameters": mlp_objective.dim, "max_abs_difference": float((timings["func"][1] - timings["double_backward"][1]).abs().max()),
                           "ms_double_backward": 1e3 * timings["double_backward"][0], "ms_func": 1e3 * timings["func"][0]}
    class Forward(torch.nn.Module):  # curvlinops calls model_func(X): here the task's forward on the PyG batch
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, data):
            return task.run_forward(self.model, data)

    out["curvlinops"] = curvlinops_side_by_side({
        "nbody_egnn_59": (Forward(), objective, [(batch, batch.y)]),
        "mlp_321": (mlp, mlp_objective, [(x, y)]),
    })
    return out


def curvlinops_side_by_side(cases) -> Optional[dict]:
    """curvlinops' ``HessianLinearOperator`` on the same models and batches as gdl (None when not installed).

    ``cases``: {name: (forward module X ↦ prediction, gdl Objective, [(X, y)])}, all with the mean-squared-error
    loss. Per case: λ_max by ``scipy.sparse.linalg.eigsh(which="LA")`` on ``to_scipy()``, the dense trace, and
    the same from gdl (Lanczos, dense); a case curvlinops cannot run records its error.
    """
    try:
        import curvlinops
    except ImportError:
        return None
    from scipy.sparse.linalg import eigsh

    from gdl.thermo import twice_differentiable
    from gdl.thermo import landscape as L

    from importlib.metadata import version

    out = {"version": version("curvlinops-for-pytorch")}
    for name, (forward, objective, data) in cases.items():
        try:
            with twice_differentiable(objective.model):
                operator = curvlinops.HessianLinearOperator(
                    forward, torch.nn.MSELoss(reduction="mean"), objective.params(), data,
                    batch_size_fn=lambda X: X.num_graphs if hasattr(X, "num_graphs") else X.shape[0])
                dense = operator @ torch.eye(objective.dim, dtype=torch.float64)
                top = float(eigsh(operator.to_scipy(), k=1, which="LA", tol=1e-12)[0][0])
        except Exception as exc:  # noqa: BLE001  (a reference that cannot run this model: record why)
            out[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
            continue
        ours = L.top_hessian_eigenvalues(objective, tol=1e-12, seed=0).max
        ours_dense = L.dense_hessian(objective)
        out[name] = {"parameters": objective.dim, "lambda_max_curvlinops": top, "lambda_max_gdl": ours,
                     "lambda_max_relative_difference": abs(top - ours) / abs(ours),
                     "trace_curvlinops": float(torch.trace(torch.as_tensor(dense))),
                     "trace_gdl": float(torch.trace(ours_dense)),
                     "dense_max_abs_difference": float((torch.as_tensor(dense) - ours_dense).abs().max())}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = run()
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
