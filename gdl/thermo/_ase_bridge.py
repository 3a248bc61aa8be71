"""ASE ``Atoms`` ⇄ PyG ``Data``, both ways, so gdl's models and samplers use ASE's structures and tools.

A ``Data`` made by :func:`atoms_to_data` holds

================  ==========  ===============================================================
``pos``           [N, 3]      Cartesian positions (Å) — E(3) acts as x ↦ Qx + t
``z``             [N]         atomic numbers (int64) — invariant
``cell``          [1, 3, 3]   lattice vectors as rows (Å; zeros for a cluster) — rotates as
                              cell ↦ cell Qᵀ (each row a vector)
``pbc``           [1, 3]      periodic axes (bool)
``edge_index``    [2, E]      j → i (row 0 source, row 1 target, PyG's flow), sorted by
                              target then source
``edge_shift``    [E, 3]      (periodic only) integer cell offsets S of each edge: the edge
                              vector is x_j + S·cell − x_i
``energy``        [1]         (when known) potential energy (eV)
``forces``        [N, 3]      (when known) forces −∂E/∂x (eV/Å) — vectors, F ↦ QF
================  ==========  ===============================================================

The leading axis of size 1 on ``cell``, ``pbc`` and ``energy`` makes them per-graph attributes
that a PyG ``Batch`` concatenates, one row per graph. ``energy`` and ``forces`` are read from
the calculator attached to the ``Atoms`` only when its results belong to the current positions
(``calc.get_property(..., allow_calculation=False)``): nothing is recomputed, and a stale result is
never copied. :func:`data_to_atoms` attaches them back as a ``SinglePointCalculator``, so
``atoms.get_potential_energy()`` works on the way back.

Edges. ``cutoff=None`` connects every ordered pair (clusters: the graph does not depend on the
positions, so it stays valid while atoms move in MD); ``cutoff=r`` keeps pairs with
‖x_j + S·cell − x_i‖ < r (strict, as ``gdl.nn.graph.radius_graph``), built on plain torch
(no pyg-lib / torch-cluster), with periodic images along the ``pbc`` axes (every image within r is an edge, not only the
nearest one, as in ``ase.neighborlist.neighbor_list``). Symmetry: the edge set depends on
positions only through distances, so it is E(3)-invariant and permutation-equivariant.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch

from gdl.nn.graph.builders import fully_connected_graph, radius_graph

__all__ = ["atoms_to_data", "data_to_atoms", "periodic_radius_graph", "edge_vectors"]


def _import_ase():
    try:
        import ase  # noqa: F401
    except ImportError as exc:  # pragma: no cover - ase is in the `thermo` extra
        raise ImportError("gdl.thermo's ASE bridge needs the `ase` package: pip install 'gdl[thermo]' (or ase)") from exc
    return ase


def _check_cutoff(cutoff) -> Optional[float]:
    if cutoff is None:
        return None
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not math.isfinite(cutoff) or cutoff <= 0:
        raise ValueError(f"cutoff must be a finite number > 0 (Å) or None (all pairs), got {cutoff!r}")
    return float(cutoff)


def periodic_radius_graph(pos: torch.Tensor, cell: torch.Tensor, pbc, cutoff: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Edges j → i with ‖x_j + S·cell − x_i‖ < cutoff over the periodic images S ∈ ℤ³ (zero on non-periodic axes).

    Args:
        pos: float [N, 3] positions; cell: float [3, 3] lattice vectors as rows; pbc: 3 bools;
        cutoff: radius (> 0).

    Returns ``(edge_index [2, E], edge_shift [E, 3])`` (shifts as floats holding integers), sorted by
    target, then source, then shift; the self pair i → i is kept for nonzero shifts (an atom sees its
    own images) and dropped for S = 0. Cost O(N² · M) for M = ∏(2 n_a + 1) images, n_a = ⌈cutoff / h_a⌉
    with h_a the spacing of the lattice planes along periodic axis a.
    """
    cutoff = _check_cutoff(cutoff)
    if cutoff is None:
        raise ValueError("periodic_radius_graph needs a cutoff (Å)")
    pos = pos.detach()
    cell = torch.as_tensor(cell, dtype=pos.dtype, device=pos.device).reshape(3, 3)
    pbc = [bool(p) for p in torch.as_tensor(pbc).reshape(-1).tolist()]
    if len(pbc) != 3:
        raise ValueError(f"pbc must hold 3 flags, got {len(pbc)}")
    counts = []
    for axis in range(3):
        if not pbc[axis]:
            counts.append(0)
            continue
        others = [cell[(axis + 1) % 3], cell[(axis + 2) % 3]]
        normal = torch.linalg.cross(others[0], others[1])
        volume = torch.abs(torch.dot(normal, cell[axis]))
        if not float(volume) > 0:
            raise ValueError(f"periodic axis {axis} needs a cell of nonzero volume, got cell {cell.tolist()}")
        spacing = float(volume / torch.linalg.vector_norm(normal))  # distance between lattice planes
        counts.append(int(math.ceil(cutoff / spacing)))
    ranges = [torch.arange(-n, n + 1, device=pos.device, dtype=pos.dtype) for n in counts]
    shifts = torch.cartesian_prod(*ranges).reshape(-1, 3)  # [M, 3]
    offsets = shifts @ cell  # [M, 3]
    n = pos.shape[0]
    diff = pos[None, :, None, :] + offsets[:, None, None, :] - pos[None, None, :, :]  # [M, j, i, 3]
    inside = (diff * diff).sum(-1) < cutoff * cutoff
    zero = (shifts == 0).all(-1)
    eye = torch.eye(n, dtype=torch.bool, device=pos.device)
    inside &= ~(zero[:, None, None] & eye[None])
    m_idx, j_idx, i_idx = inside.nonzero(as_tuple=True)
    order = torch.argsort((i_idx * n + j_idx) * shifts.shape[0] + m_idx)
    edge_index = torch.stack([j_idx[order], i_idx[order]])
    return edge_index, shifts[m_idx[order]]


def atoms_to_data(atoms, cutoff: Optional[float] = None, dtype: torch.dtype = torch.float64):
    """A PyG ``Data`` from an ASE ``Atoms`` (fields in the module docstring).

    Args:
        atoms: an ``ase.Atoms``.
        cutoff: ``None`` → all ordered pairs; a radius (Å) → radius graph (periodic images along ``pbc``).
        dtype: floating dtype of ``pos``, ``cell``, ``energy``, ``forces``.
    """
    ase = _import_ase()
    from torch_geometric.data import Data

    if not isinstance(atoms, ase.Atoms):
        raise TypeError(f"atoms_to_data: expected an ase.Atoms, got {type(atoms).__name__}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    cutoff = _check_cutoff(cutoff)
    pos = torch.as_tensor(atoms.get_positions(), dtype=dtype)
    if not torch.isfinite(pos).all():
        raise ValueError("atoms_to_data: the Atoms hold non-finite positions (NaN or inf)")
    cell = torch.as_tensor(atoms.get_cell().array, dtype=dtype)
    pbc = torch.as_tensor(atoms.get_pbc(), dtype=torch.bool)
    data = Data(pos=pos, z=torch.as_tensor(atoms.get_atomic_numbers(), dtype=torch.long),
                cell=cell.unsqueeze(0), pbc=pbc.unsqueeze(0))
    if cutoff is None:
        if bool(pbc.any()):
            raise ValueError("atoms_to_data: a periodic Atoms needs a cutoff (Å) to build edges to periodic images")
        data.edge_index = fully_connected_graph(len(atoms))
    elif bool(pbc.any()):
        data.edge_index, shift = periodic_radius_graph(pos, cell, pbc, cutoff)
        data.edge_shift = shift.to(dtype)
    else:
        data.edge_index = radius_graph(pos, cutoff) if len(atoms) else torch.zeros(2, 0, dtype=torch.long)
    calc = atoms.calc
    if calc is not None:
        energy = _stored_property(calc, "energy", atoms)
        forces = _stored_property(calc, "forces", atoms)
        if energy is not None:
            data.energy = torch.tensor([float(energy)], dtype=dtype)
        if forces is not None:
            data.forces = torch.as_tensor(forces, dtype=dtype).reshape(len(atoms), 3)
    return data


def _stored_property(calc, name: str, atoms):
    """``calc``'s result ``name`` for the current state of ``atoms`` (never computed here; ``None`` if absent or stale)."""
    try:
        return calc.get_property(name, atoms, allow_calculation=False)
    except Exception:  # a calculator that does not implement `name` or the allow_calculation protocol
        return None


def data_to_atoms(data, index: Optional[int] = None):
    """An ASE ``Atoms`` from a ``Data`` (or graph ``index`` of a ``Batch``): positions, numbers, cell, pbc,
    and energy / forces (when present) attached as a ``SinglePointCalculator``."""
    _import_ase()
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    if index is not None:
        if not hasattr(data, "get_example"):
            raise TypeError(f"data_to_atoms: index={index} needs a PyG Batch, got {type(data).__name__}")
        data = data.get_example(index)
    elif getattr(data, "num_graphs", 1) != 1 and hasattr(data, "get_example"):
        raise ValueError(f"data_to_atoms: got a Batch of {data.num_graphs} graphs; pass index=i for one of them")
    for key in ("pos", "z"):
        if getattr(data, key, None) is None:
            raise ValueError(f"data_to_atoms needs data.{key}; got a Data with keys {sorted(data.keys())}")
    pos = data.pos.detach().to(torch.float64).cpu()
    if pos.dim() != 2 or pos.shape[1] != 3:
        raise ValueError(f"data_to_atoms: expected data.pos of shape [N, 3], got {list(pos.shape)}")
    numbers = data.z.detach().cpu().reshape(-1)
    if numbers.shape[0] != pos.shape[0]:
        raise ValueError(f"data_to_atoms: data.z has {numbers.shape[0]} entries for {pos.shape[0]} positions")
    cell = data.cell.detach().to(torch.float64).cpu().reshape(3, 3).numpy() if getattr(data, "cell", None) is not None else None
    pbc = data.pbc.detach().cpu().reshape(3).numpy() if getattr(data, "pbc", None) is not None else False
    atoms = Atoms(numbers=numbers.numpy(), positions=pos.numpy(), cell=cell, pbc=pbc)
    results = {}
    if getattr(data, "energy", None) is not None:
        results["energy"] = float(data.energy.detach().reshape(-1)[0])
    if getattr(data, "forces", None) is not None:
        results["forces"] = data.forces.detach().to(torch.float64).cpu().reshape(-1, 3).numpy()
    if results:
        atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


def edge_vectors(data) -> torch.Tensor:
    """x_j + S·cell − x_i per edge j → i, [E, 3] (S = ``edge_shift`` when present, the cell of the edge's graph)."""
    source, target = data.edge_index
    vec = data.pos.index_select(0, source) - data.pos.index_select(0, target)
    shift = getattr(data, "edge_shift", None)
    if shift is None:
        return vec
    batch = getattr(data, "batch", None)
    cells = data.cell.reshape(-1, 3, 3).to(vec.dtype)
    graph = batch.index_select(0, target) if batch is not None else torch.zeros_like(target)
    return vec + torch.einsum("ea,eab->eb", shift.to(vec.dtype), cells.index_select(0, graph))
