r"""EnergyModel: an invariant graph model as an energy E(data) with forces F = −∂E/∂pos by autograd.

If the wrapped model's output is invariant under E(3) acting on the positions (and under node
permutations), then E is invariant and F = −∇_pos E is equivariant by construction:

    E(g·x) = E(x)   ⇒   F(g·x) = Q F(x)   for g = (Q, t) ∈ E(3)      (chain rule: ∇(E∘g) = Qᵀ ∇E∘g)

and F permutes with the nodes. ``forward`` returns both as typed outputs (``out_type``: energy an
invariant scalar per graph, forces vectors per node), so ``gdl.testing.check_equivariance`` and
the trainer's monitor verify them like any other model.

Training on forces differentiates F again with respect to the parameters, so the forward must
be differentiable twice. The energy model therefore (i) computes the forces with
``create_graph=True`` while training (``model.train()``; any call can override it), and (ii)
switches every once-differentiable fast path off while it does: gdl's fused EGNN layer
(``EGNNConv(fused=True)``, a hand-written backward marked ``once_differentiable``) and gdl's
fused SEGNN layer (``SteerableConv(fused=True)``, likewise) run with
``fused=False`` (plain autograd, same maths) inside such a call, and with its fast path otherwise.
"""
from __future__ import annotations

import contextlib
import copy
from typing import Callable, Optional, Tuple

import torch
from torch import nn

from gdl.groups import FieldType
from gdl.nn.graph import EGNNConv, SteerableConv, segment_sum
from gdl.nn._types import euclidean_group
from gdl.thermo._potential import Potential, check_configurations


def once_differentiable_layers(model: nn.Module) -> list:
    """The submodules whose fast path is differentiable only once (fused EGNN and SteerableConv layers that are on)."""
    return [m for m in model.modules() if isinstance(m, (EGNNConv, SteerableConv)) and m.fused]


@contextlib.contextmanager
def twice_differentiable(model: nn.Module):
    """Within this block every once-differentiable fast path of ``model`` is off (restored after)."""
    layers = once_differentiable_layers(model)
    for m in layers:
        m.fused = False
    try:
        yield model
    finally:
        for m in layers:
            m.fused = True


def energy_type(dim: int = 3) -> FieldType:
    """An energy: one invariant scalar per graph, [B, 1]."""
    E = euclidean_group(dim)
    return FieldType(E, E.trivial_rep(1))


def force_type(dim: int = 3) -> FieldType:
    """Forces: one vector per node, [N, d] (rotate with Q, ignore translations)."""
    E = euclidean_group(dim)
    return FieldType(E, E.vector_rep())


class EnergyModel(nn.Module):
    r"""Wraps an invariant gdl graph model into an energy E(data) → [B] with forces by autograd.

    Args:
        model: takes a PyG ``Data``/``Batch`` with positions ``data.pos`` [N, d] and returns an
            invariant scalar per node ([N] or [N, 1], summed over each graph) or per graph
            ([B] or [B, 1]); its ``in_type`` (a dict keyed by attribute) is this model's ``in_type``.
        dim: dimension d of the positions (3).
        energy_scale, energy_shift: E = scale · model(data) + shift (e.g. dataset statistics).

    Methods (``create_graph=None`` means "while training", i.e. ``self.training``):
        - ``energy(data)`` → E [B]
        - ``energy_and_forces(data, create_graph=None)`` → (E [B], F [N, d]), F = −∂E/∂pos
        - ``forces(data, create_graph=None)`` → F [N, d]
        - ``forward(data)`` → ``{"energy": E [B, 1], "forces": F [N, d]}`` (typed, for checkers and monitors)
        - ``as_potential(template)`` → a ``Potential`` over positions [R, N, d] of copies of ``template``

    Positions enter as a fresh leaf unless ``data.pos`` already requires grad (then gradients
    flow to it). Symmetry: what the wrapped model has, exactly (autograd of an invariant).
    """

    def __init__(self, model: nn.Module, dim: int = 3, energy_scale: float = 1.0, energy_shift: float = 0.0):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"EnergyModel wraps a torch.nn.Module graph model, got {type(model).__name__}")
        self.model, self.dim = model, int(dim)
        self.energy_scale, self.energy_shift = float(energy_scale), float(energy_shift)
        E = euclidean_group(self.dim)
        inner = getattr(model, "in_type", None)
        self.in_type = dict(inner) if isinstance(inner, dict) else {"pos": FieldType(E, E.standard_rep())}
        self.in_type.setdefault("pos", FieldType(E, E.standard_rep()))
        self.out_type = {"energy": energy_type(self.dim), "forces": force_type(self.dim)}

    # -- the energy ------------------------------------------------------------------------
    def _graph_energy(self, data) -> torch.Tensor:
        out = self.model(data)
        if isinstance(out, dict) and "energy" in out:
            out = out["energy"]
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"EnergyModel: the wrapped {type(self.model).__name__} returned {type(out).__name__}; "
                            f"expected a tensor of invariant scalars per node [N] / [N, 1] or per graph [B] / [B, 1]")
        if out.dim() == 2 and out.shape[1] == 1:
            out = out[:, 0]
        num_nodes = int(data.num_nodes)
        batch = getattr(data, "batch", None)
        num_graphs = int(data.num_graphs) if batch is not None and hasattr(data, "num_graphs") else 1
        if batch is None:
            batch = torch.zeros(num_nodes, dtype=torch.long, device=out.device)
        if out.dim() != 1 or out.shape[0] not in (num_nodes, num_graphs):
            raise ValueError(f"EnergyModel: the wrapped {type(self.model).__name__} returned shape {list(out.shape)}; "
                             f"expected one invariant scalar per node ({num_nodes}) or per graph ({num_graphs}), "
                             f"as [N], [N, 1], [B] or [B, 1]")
        if out.shape[0] == num_nodes and num_nodes != num_graphs:
            out = segment_sum(out.unsqueeze(1), batch, num_graphs)[:, 0]
        return self.energy_scale * out + self.energy_shift

    def _positions(self, data) -> torch.Tensor:
        pos = getattr(data, "pos", None)
        if not isinstance(pos, torch.Tensor) or pos.dim() != 2 or pos.shape[1] != self.dim:
            shape = list(pos.shape) if isinstance(pos, torch.Tensor) else type(pos).__name__
            raise ValueError(f"EnergyModel needs positions data.pos of shape [N, {self.dim}], got {shape}")
        if not pos.is_floating_point():
            raise TypeError(f"EnergyModel: data.pos must be floating point, got {pos.dtype}")
        return pos

    def energy(self, data) -> torch.Tensor:
        """E [B] (differentiable as the model is)."""
        self._positions(data)
        return self._graph_energy(data)

    def energy_and_forces(self, data, create_graph: Optional[bool] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """(E [B], F = −∂E/∂pos [N, d]); ``create_graph`` (default: ``self.training``) keeps the graph
        of F for a force loss, on a twice-differentiable path."""
        create_graph = self.training if create_graph is None else bool(create_graph)
        pos = self._positions(data)
        leaf = pos if pos.requires_grad else pos.detach().requires_grad_(True)
        moved = copy.copy(data)
        moved.pos = leaf
        path = twice_differentiable(self.model) if create_graph else contextlib.nullcontext()
        with torch.enable_grad(), path:
            energy = self._graph_energy(moved)
            if not energy.requires_grad:
                raise RuntimeError(f"EnergyModel: the energy of {type(self.model).__name__} does not depend on "
                                   f"data.pos (no gradient path), so it has no forces")
            (grad,) = torch.autograd.grad(energy.sum(), leaf, create_graph=create_graph)
        if not create_graph:
            return energy.detach(), -grad.detach()
        return energy, -grad

    def forces(self, data, create_graph: Optional[bool] = None) -> torch.Tensor:
        return self.energy_and_forces(data, create_graph)[1]

    def forward(self, data) -> dict:
        energy, forces = self.energy_and_forces(data)
        return {"energy": energy.unsqueeze(1), "forces": forces}

    def as_potential(self, template, graph: Optional[Callable] = None) -> "GraphPotential":
        """A ``Potential`` over positions x [R, N, d]: R copies of ``template`` (a PyG ``Data``)
        with their positions replaced; ``graph(pos [R·N, d], batch [R·N]) -> edge_index`` rebuilds the
        edges at every call (e.g. a radius graph), else the template's edges are kept."""
        return GraphPotential(self, template, graph)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, energy_scale={self.energy_scale}, energy_shift={self.energy_shift}"


class GraphPotential(Potential):
    """An ``EnergyModel`` as a ``Potential`` on positions [R, N, d] (``EnergyModel.as_potential``).

    Every attribute of the template except the positions is shared by the R copies; an attribute
    that depends on positions (distances, a radius graph) must be computed by the model, or by
    ``graph`` for the edges. Forces are computed without a graph (sampling, not training)."""

    def __init__(self, energy_model: EnergyModel, template, graph: Optional[Callable] = None):
        pos = getattr(template, "pos", None)
        if not isinstance(pos, torch.Tensor) or pos.dim() != 2:
            raise ValueError("as_potential: the template must be a PyG Data with positions pos [N, d]")
        self.energy_model, self.template, self.graph = energy_model, template, graph
        self.dim = energy_model.dim
        self.num_atoms = pos.shape[0]
        self._batches = {}

    def _batch(self, x: torch.Tensor):
        check_configurations(x, "EnergyModel potential")
        R, N, d = x.shape
        if N != self.num_atoms or d != self.dim:
            raise ValueError(f"EnergyModel potential: the template has {self.num_atoms} atoms in {self.dim} dimensions, "
                             f"got positions of shape {list(x.shape)}")
        if R not in self._batches:
            from torch_geometric.data import Batch

            self._batches[R] = Batch.from_data_list([self.template] * R)
        batch = copy.copy(self._batches[R])
        batch.pos = x.reshape(R * N, d)
        if self.graph is not None:
            batch.edge_index = self.graph(batch.pos.detach(), batch.batch)
        return batch

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        return self.energy_model.energy(self._batch(x))

    def energy_and_forces(self, x: torch.Tensor, create_graph: bool = False):
        """(E [R], F [R, N, d]); with ``create_graph`` and x requiring grad, F stays differentiable in x."""
        batch = self._batch(x)
        energy, forces = self.energy_model.energy_and_forces(batch, create_graph=create_graph)
        return energy, forces.view(x.shape)

    def __repr__(self) -> str:
        return f"GraphPotential({type(self.energy_model.model).__name__}, atoms={self.num_atoms})"
