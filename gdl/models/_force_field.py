"""``EGNNEnergy``: an E(3)-invariant per-graph energy from atomic numbers and positions (force-field model).

The energy model of the ``emt_clusters`` task. Wrapped in ``gdl.thermo.EnergyModel`` it gives forces
F = −∂E/∂x by autograd, E(3)-equivariant by construction; it is twice differentiable (EGNN's plain
autograd path, ``fused=False``: the fused layer is differentiable once), so a force loss trains it.
"""
from __future__ import annotations

import math
from typing import Dict, Optional

import torch
from torch import nn

from gdl.groups import FieldType
from gdl.nn import check_batch, check_edge_index, check_field, check_matches_module
from gdl.nn._types import euclidean_group
from gdl.nn.graph import EGNNConv, segment_sum


def _radial_basis(r2: torch.Tensor, centres: torch.Tensor, width: float, cutoff: float) -> torch.Tensor:
    """Gaussians exp(−(r − μ_k)² / w²) of r = √(r² + 10⁻¹²) times the cosine envelope ½(cos(πr/r_c) + 1) (0 beyond r_c).

    The 10⁻¹² Å² inside the root keeps every derivative finite at r = 0 (coincident atoms) and changes
    r by at most 10⁻⁶ Å; the basis is smooth (C¹ at r_c) and twice differentiable elsewhere.
    """
    r = torch.sqrt(r2 + 1e-12)
    envelope = torch.where(r < cutoff, 0.5 * (torch.cos(math.pi * r / cutoff) + 1), torch.zeros_like(r))
    return torch.exp(-((r - centres) / width) ** 2) * envelope


class EGNNEnergy(nn.Module):
    r"""E(x, z) = Σ_i ε(h_i^L): EGNN invariant features of atoms, read out per atom and summed per graph.

    h⁰_i = Embedding(z_i); edge attributes a_ij = RBF(‖x_i − x_j‖) (``num_radial`` Gaussians on
    [0, ``cutoff``] times a cosine envelope); ``num_layers`` ``EGNNConv`` layers update h from
    messages φ_e(h_i, h_j, ‖x_i − x_j‖², a_ij) (the positions are read, never moved: the coordinate
    update of EGNN is not used); ε = Linear → SiLU → Linear(1) per atom, plus a fixed reference energy
    per element, E(x, z) = Σ_i [ε(h_i^L) + e_{z_i}]. The references e_z (buffer ``atomic_energies``
    [max_atomic_number + 1], eV, zero by default) are not trained: set them from data with
    :meth:`set_atomic_energies` (the ``emt_clusters`` task fits them by least squares on the training
    split before training, ``gdl.train.tasks.emt_clusters.fit_atomic_energies``), so the network
    learns only the deviation from them. Without them the readout must build the whole ~0.6–0.8 eV
    per atom of EMT's cluster energies from the features, and 29 epochs left a constant 35–56 meV/atom
    offset (docs/thermo.md). A constant per element does not change the forces or the symmetry.

    Input: a PyG ``Data``/``Batch`` with ``pos`` [N, 3] (Å, points), ``z`` [N] (atomic numbers),
    ``edge_index`` (any graph: the clusters use every pair; the envelope limits the range to
    ``cutoff``), ``batch``. Output: energy [num_graphs, 1] (invariant scalars, one per graph).
    Symmetry: E(3) (rotations, reflections, translations) and node permutations, exact.
    Twice differentiable in ``pos`` (``EGNNConv(fused=False)``; no ``torch.cdist``).
    """

    def __init__(self, hidden_channels: int = 32, num_layers: int = 3, num_radial: int = 16, cutoff: float = 6.0,
                 max_atomic_number: int = 100, atomic_energies: Optional[Dict[int, float]] = None):
        super().__init__()
        if not cutoff > 0:
            raise ValueError(f"cutoff must be > 0 (Å), got {cutoff!r}")
        self.hidden_channels, self.num_layers, self.cutoff = hidden_channels, num_layers, float(cutoff)
        self.max_atomic_number = int(max_atomic_number)
        self.embedding = nn.Embedding(self.max_atomic_number + 1, hidden_channels)
        self.register_buffer("atomic_energies", torch.zeros(self.max_atomic_number + 1))
        if atomic_energies:
            self.set_atomic_energies(atomic_energies)
        self.register_buffer("centres", torch.linspace(0.0, self.cutoff, num_radial))
        self.width = self.cutoff / max(num_radial - 1, 1)
        self.layers = nn.ModuleList(
            EGNNConv(hidden_channels, hidden_channels, hidden_channels, edge_channels=num_radial, fused=False)
            for _ in range(num_layers))
        self.readout = nn.Sequential(nn.Linear(hidden_channels, hidden_channels), nn.SiLU(), nn.Linear(hidden_channels, 1))
        E = euclidean_group(3)
        self.in_type = {"pos": FieldType(E, E.standard_rep())}
        self.out_type = FieldType(E, E.trivial_rep(1))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints written before the per-element references existed load with e_z = 0 (their meaning then)
        key = prefix + "atomic_energies"
        if key not in state_dict:
            state_dict[key] = torch.zeros_like(self.atomic_energies)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def set_atomic_energies(self, energies: Dict[int, float]) -> None:
        """Set the reference energy e_z (eV) of each atomic number z in ``energies`` (the others keep theirs)."""
        if not isinstance(energies, dict):
            raise TypeError(f"atomic_energies: expected a dict {{atomic number: energy}}, got {type(energies).__name__}")
        for z, value in energies.items():
            if isinstance(z, bool) or not isinstance(z, int) or not 1 <= z <= self.max_atomic_number:
                raise ValueError(f"atomic_energies: atomic numbers must be integers in [1, {self.max_atomic_number}], "
                                 f"got {z!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"atomic_energies: the energy of z = {z} must be finite, got {value!r}")
            self.atomic_energies[z] = float(value)

    def forward(self, data) -> torch.Tensor:
        for key in ("pos", "z", "edge_index"):
            if getattr(data, key, None) is None:
                raise ValueError(f"EGNNEnergy needs data.{key}; got a batch with keys {sorted(data.keys())}")
        if getattr(data, "edge_shift", None) is not None:
            raise ValueError("EGNNEnergy reads edge vectors x_j − x_i without periodic images; got a periodic graph "
                             "(data.edge_shift): use clusters (pbc False)")
        pos, z, edge_index = data.pos, data.z, data.edge_index
        check_field("data.pos", pos, self.in_type["pos"])
        check_matches_module(self.centres, "data.pos", pos)
        num_nodes = pos.shape[0]
        if z.shape != (num_nodes,) or z.is_floating_point():
            raise ValueError(f"data.z: expected integer atomic numbers of shape [{num_nodes}], got "
                             f"{z.dtype} of shape {list(z.shape)}")
        if num_nodes and (int(z.min()) < 1 or int(z.max()) > self.max_atomic_number):
            raise ValueError(f"data.z: atomic numbers must lie in [1, {self.max_atomic_number}], got "
                             f"[{int(z.min())}, {int(z.max())}]")
        check_edge_index(edge_index, num_nodes, "data.edge_index")
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(num_nodes, dtype=torch.long, device=pos.device)
        else:
            check_batch(batch, num_nodes, "data.batch")
        num_graphs = int(batch.max()) + 1 if num_nodes else 0
        source, target = edge_index
        diff = pos.index_select(0, target) - pos.index_select(0, source)
        edge_attr = _radial_basis((diff * diff).sum(-1, keepdim=True), self.centres, self.width, self.cutoff)
        h = self.embedding(z)
        for layer in self.layers:
            h = layer(h, pos, edge_index, edge_attr=edge_attr).h
        per_atom = self.readout(h) + self.atomic_energies.index_select(0, z).unsqueeze(1)
        return segment_sum(per_atom, batch, num_graphs)  # [num_graphs, 1]
