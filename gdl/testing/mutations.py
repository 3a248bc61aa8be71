"""Deliberately broken modules (and their correct twins) that the checker must tell apart.

Each case builds a tiny module with a defect of size ε (ε = 0 gives the correct module) and
a sample to check it on, from a seed:

- ``vector leak``: an e3nn ``o3.Linear`` on O(3) irreps plus ε·(x component of the first
  input vector) added to every output channel (caught by rotations);
- ``wrong parity``: a vector output plus ε·(a × b), a pseudovector declared as ``1o``
  (caught only by reflections);
- ``order-dependent readout``: a graph-level energy plus ε·h[first node of each graph]
  (caught by node permutations);
- ``absolute positions``: an EGNN-style layer whose node features get ε·‖x_i‖² (caught only
  by translations: ‖x‖² is rotation invariant);
- ``untransported message``: a gauge-equivariant mesh convolution
  y_i = Σ_j K(φ_ij) ρ(α_ij) x_j with K(φ) = ρ(φ) W ρ(−φ), plus ε·Σ_j K(φ_ij) x_j (a message
  that forgets to transport x_j into i's frame; caught by gauge transformations).

Correct references that must always pass: the five cases at ε = 0, e3nn's
``FullyConnectedTensorProduct``, gdl reps' own tensor-product action, and an isotropic
filter on spherical-harmonic coefficients. ``python -m gdl.testing.mutation_table`` prints
the detection table of docs/testing.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Tuple

import torch
from e3nn import o3

from gdl.groups import O3, SO2, SO3, Euclidean, FieldType
from gdl.testing._dtype import default_dtype

E3 = Euclidean(3)


# -- O(3) tensor modules ---------------------------------------------------------------------------
class VectorLeak(torch.nn.Module):
    """o3.Linear on ``4x0e+4x1o`` plus ε·x[..., 4] (a vector component) in every output."""

    def __init__(self, eps: float = 0.0, irreps: str = "4x0e+4x1o"):
        super().__init__()
        self.irreps_in = self.irreps_out = o3.Irreps(irreps)
        self.linear = o3.Linear(self.irreps_in, self.irreps_out)
        self.eps = eps
        self.component = self.irreps_in.count("0e")  # first entry of the first vector

    def forward(self, x):
        return self.linear(x) + self.eps * x[..., self.component : self.component + 1]


class WrongParity(torch.nn.Module):
    """Two vectors a, b (``2x1o``) → a + ε·(a × b), declared as a vector ``1o``."""

    def __init__(self, eps: float = 0.0):
        super().__init__()
        self.in_type = FieldType.irreps(O3(), "2x1o")
        self.out_type = FieldType.irreps(O3(), "1o")
        self.eps = eps

    def forward(self, x):
        a, b = x[..., :3], x[..., 3:]
        return a + self.eps * torch.linalg.cross(a, b, dim=-1)


class RepTensorSquare(torch.nn.Module):
    """x ↦ x ⊗ x for vectors, typed by gdl's own tensor-product rep (exactly equivariant)."""

    def __init__(self):
        super().__init__()
        std = O3().standard_rep()
        self.in_type = FieldType(O3(), std)
        self.out_type = FieldType(O3(), std.tensor(std))

    def forward(self, x):
        return (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2)


class IsotropicSphericalFilter(torch.nn.Module):
    """Multiply each degree l of spherical-harmonic coefficients by its own weight w_l
    (a zonal convolution on S²; exactly SO(3)-equivariant)."""

    def __init__(self, lmax: int = 3):
        super().__init__()
        self.irreps = o3.Irreps.spherical_harmonics(lmax)
        self.in_type = self.out_type = FieldType.irreps(SO3(), self.irreps)
        self.weight = torch.nn.Parameter(torch.randn(lmax + 1))
        self.register_buffer("degree", torch.cat([torch.full((2 * l + 1,), l) for l in range(lmax + 1)]))

    def forward(self, x):
        return x * self.weight[self.degree]


# -- graph modules ---------------------------------------------------------------------------------
def _graph_first_nodes(batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
    idx = torch.arange(batch.shape[0], device=batch.device)
    first = torch.full((num_graphs,), batch.shape[0], dtype=torch.long, device=batch.device)
    return first.scatter_reduce(0, batch, idx, reduce="amin")


class OrderDependentReadout(torch.nn.Module):
    """energy_G = mean_{i ∈ G} MLP([h_i, Σ_j ‖x_i − x_j‖²]) + ε·h[first node of G, 0]."""

    def __init__(self, eps: float = 0.0, hidden: int = 8):
        super().__init__()
        self.in_type = {"h": FieldType(E3, E3.trivial_rep(hidden)), "pos": FieldType(E3, E3.standard_rep())}
        self.out_type = {"energy": FieldType(E3, E3.trivial_rep(1))}
        self.mlp = torch.nn.Sequential(torch.nn.Linear(hidden + 1, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
        self.eps = eps

    def forward(self, h, pos, edge_index, batch):
        src, dst = edge_index
        d2 = ((pos[dst] - pos[src]) ** 2).sum(-1, keepdim=True)
        agg = torch.zeros(h.shape[0], 1, dtype=h.dtype, device=h.device).index_add_(0, dst, d2)
        per_node = self.mlp(torch.cat([h, agg / 10], -1))
        num_graphs = int(batch.max()) + 1
        counts = torch.bincount(batch, minlength=num_graphs).to(h.dtype).unsqueeze(1)
        energy = torch.zeros(num_graphs, 1, dtype=h.dtype, device=h.device).index_add_(0, batch, per_node) / counts
        return energy + self.eps * h[_graph_first_nodes(batch, num_graphs), :1]


class AbsolutePositionLayer(torch.nn.Module):
    """An EGNN-style layer (Satorras et al. 2021, eq. 3–6) whose features also get ε·‖x_i‖²."""

    def __init__(self, eps: float = 0.0, hidden: int = 8):
        super().__init__()
        self.in_type = {"h": FieldType(E3, E3.trivial_rep(hidden)), "pos": FieldType(E3, E3.standard_rep())}
        self.out_type = {"h": FieldType(E3, E3.trivial_rep(hidden)), "pos": FieldType(E3, E3.standard_rep())}
        self.edge = torch.nn.Sequential(torch.nn.Linear(2 * hidden + 1, hidden), torch.nn.SiLU())
        self.coord = torch.nn.Linear(hidden, 1)
        self.node = torch.nn.Linear(2 * hidden, hidden)
        self.eps = eps

    def forward(self, h, pos, edge_index):
        src, dst = edge_index
        diff = pos[dst] - pos[src]
        m = self.edge(torch.cat([h[dst], h[src], (diff**2).sum(-1, keepdim=True)], -1))
        agg = torch.zeros_like(h).index_add_(0, dst, m)
        pos_out = pos + torch.zeros_like(pos).index_add_(0, dst, diff * self.coord(m)) / 4
        h_out = h + self.node(torch.cat([h, agg], -1)) + self.eps * (pos**2).sum(-1, keepdim=True)
        return h_out, pos_out


class EGNNStack(torch.nn.Module):
    """``layers`` correct EGNN-style layers (``AbsolutePositionLayer`` with ε = 0) in a row."""

    def __init__(self, layers: int = 4, hidden: int = 64):
        super().__init__()
        self.layers = torch.nn.ModuleList(AbsolutePositionLayer(0.0, hidden) for _ in range(layers))
        self.in_type, self.out_type = self.layers[0].in_type, self.layers[0].out_type

    def forward(self, h, pos, edge_index):
        for layer in self.layers:
            h, pos = layer(h, pos, edge_index)
        return h, pos


class GaugeConvolution(torch.nn.Module):
    """y_i = Σ_{j→i} K(φ_ij) ρ(α_ij) x_j with K(φ) = ρ(φ) W ρ(−φ) on ρ_0 ⊕ ρ_1 ⊕ ρ_2 fields,
    plus the defect ε·Σ_j K(φ_ij) x_j (x_j not transported into i's frame).

    Gauge convention of ``GaugeSymmetry``: x_i ↦ ρ(θ_i)x_i, α_ij ↦ α_ij + θ_i − θ_j,
    φ_ij ↦ φ_ij + θ_i; then K(φ + θ_i) ρ(α + θ_i − θ_j) ρ(θ_j) = ρ(θ_i) K(φ) ρ(α)."""

    def __init__(self, eps: float = 0.0):
        super().__init__()
        rep = SO2().irrep(0) + SO2().irrep(1) + SO2().irrep(2)
        self.rep = rep
        self.in_type = {"x": FieldType(SO2(), rep)}
        self.out_type = FieldType(SO2(), rep)
        self.weight = torch.nn.Parameter(torch.randn(rep.dim, rep.dim) / rep.dim**0.5)
        self.eps = eps

    def kernel(self, phi, v):
        return self.rep.act(phi, self.rep.act(-phi, v) @ self.weight.transpose(0, 1))

    def forward(self, x, edge_index, transport, neighbour_angle):
        src, dst = edge_index
        moved = self.rep.act(transport, x[src])
        messages = self.kernel(neighbour_angle, moved + self.eps * x[src])
        return torch.zeros_like(x).index_add_(0, dst, messages)


# -- samples -----------------------------------------------------------------------------------------
def random_graph_batch(num_graphs: int, nodes: int, generator: torch.Generator, dtype=torch.float64):
    """Fully connected graphs (no self loops), PyG flow, with a ``batch`` vector."""
    i, j = torch.meshgrid(torch.arange(nodes), torch.arange(nodes), indexing="ij")
    mask = i != j
    one = torch.stack([j[mask], i[mask]])
    edge_index = (one.unsqueeze(1) + (torch.arange(num_graphs) * nodes).view(1, -1, 1)).reshape(2, -1)
    batch = torch.arange(num_graphs).repeat_interleave(nodes)
    pos = torch.randn(num_graphs * nodes, 3, generator=generator, dtype=torch.float64).to(dtype)
    return edge_index, batch, pos


def random_neighbourhood_graph(nodes: int, degree: int, generator: torch.Generator):
    """Each vertex receives edges from ``degree`` distinct random other vertices."""
    scores = torch.rand(nodes, nodes, generator=generator)
    scores.fill_diagonal_(-1.0)
    src = torch.topk(scores, degree, dim=1).indices.reshape(-1)
    dst = torch.arange(nodes).repeat_interleave(degree)
    return torch.stack([src, dst])


@dataclass
class MutationCase:
    """A named module family: ``build(eps, seed, dtype) -> (module, inputs)``."""

    name: str
    caught_by: str
    build: Callable[[float, int, torch.dtype], Tuple[torch.nn.Module, tuple]]


def _seeded(seed, dtype):
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _vector_leak(eps, seed, dtype):
    gen = _seeded(seed, dtype)
    with _default_dtype(dtype):
        model = VectorLeak(eps)
    x = torch.randn(16, model.irreps_in.dim, generator=gen, dtype=torch.float64).to(dtype)
    return model, (x,)


def _wrong_parity(eps, seed, dtype):
    gen = _seeded(seed, dtype)
    return WrongParity(eps), (torch.randn(16, 6, generator=gen, dtype=torch.float64).to(dtype),)


def _readout(eps, seed, dtype):
    gen = _seeded(seed, dtype)
    model = OrderDependentReadout(eps).to(dtype)
    edge_index, batch, pos = random_graph_batch(4, 5, gen, dtype)
    h = torch.randn(pos.shape[0], 8, generator=gen, dtype=torch.float64).to(dtype)
    return model, (h, pos, edge_index, batch)


def _absolute(eps, seed, dtype):
    gen = _seeded(seed, dtype)
    model = AbsolutePositionLayer(eps).to(dtype)
    edge_index, _, pos = random_graph_batch(1, 5, gen, dtype)
    h = torch.randn(pos.shape[0], 8, generator=gen, dtype=torch.float64).to(dtype)
    return model, (h, pos, edge_index)


def _gauge(eps, seed, dtype):
    gen = _seeded(seed, dtype)
    model = GaugeConvolution(eps).to(dtype)
    n = 8
    edge_index = random_neighbourhood_graph(n, 3, gen)
    x = torch.randn(n, model.rep.dim, generator=gen, dtype=torch.float64).to(dtype)
    e = edge_index.shape[1]
    transport = (torch.rand(e, generator=gen, dtype=torch.float64) * 6.2 - 3.1).to(dtype)
    angle = (torch.rand(e, generator=gen, dtype=torch.float64) * 6.2 - 3.1).to(dtype)
    return model, (x, edge_index, transport, angle)


_default_dtype = default_dtype  # the name noise_floor imports


MUTATIONS: Dict[str, MutationCase] = {
    c.name: c
    for c in [
        MutationCase("vector leak", "rotations", _vector_leak),
        MutationCase("wrong parity", "reflections", _wrong_parity),
        MutationCase("order-dependent readout", "node permutations", _readout),
        MutationCase("absolute positions", "translations", _absolute),
        MutationCase("untransported message", "gauge transformations", _gauge),
    ]
}


_TP_CACHE: Dict[torch.dtype, torch.nn.Module] = {}


def _tensor_product(seed, dtype):
    gen = _seeded(seed, dtype)
    if dtype not in _TP_CACHE:  # building costs ~50 ms; re-draw the weights per seed instead
        with _default_dtype(dtype):  # build in the target dtype: CG coefficients keep its precision
            _TP_CACHE[dtype] = o3.FullyConnectedTensorProduct("4x0e+4x1o+2x2e", "0e+1o+2e", "4x0e+4x1o+2x2e")
    tp = _TP_CACHE[dtype]
    with torch.no_grad():
        tp.weight.copy_(torch.randn(tp.weight.shape, generator=gen, dtype=torch.float64))
    x = torch.randn(16, tp.irreps_in1.dim, generator=gen, dtype=torch.float64).to(dtype)
    y = torch.randn(16, tp.irreps_in2.dim, generator=gen, dtype=torch.float64).to(dtype)
    return tp, (x, y)


def _rep_square(seed, dtype):
    gen = _seeded(seed, dtype)
    return RepTensorSquare(), (torch.randn(16, 3, generator=gen, dtype=torch.float64).to(dtype),)


def _spherical(seed, dtype):
    gen = _seeded(seed, dtype)
    model = IsotropicSphericalFilter(3).to(dtype)
    return model, (torch.randn(4, model.irreps.dim, generator=gen, dtype=torch.float64).to(dtype),)


CORRECT: Dict[str, Callable] = {
    "e3nn FullyConnectedTensorProduct": _tensor_product,
    "gdl rep tensor product x ⊗ x": _rep_square,
    "isotropic filter on SH coefficients": _spherical,
    **{f"{name} (ε = 0)": (lambda seed, dtype, c=c: c.build(0.0, seed, dtype)) for name, c in MUTATIONS.items()},
}
