"""Adapters: check the field's models as they are, in at most three lines.

    from gdl.testing import adapters, check_equivariance
    report = check_equivariance(adapters.mace(model), batch_dict)          # MACE batch dict
    report = check_equivariance(adapters.schnetpack(model), inputs)        # SchNetPack input dict
    report = check_equivariance(adapters.positional(model), z, pos, batch) # TorchMD-Net, PyG SchNet, ViSNet, DimeNet++

An adapter is a ``torch.nn.Module`` wrapping the model (so the checker sees its parameters,
dtype, device and training mode). It

1. turns the caller's *native* sample into named tensors with gdl's structure names
   (``sample_from``, called by ``check_equivariance``): positions → ``pos`` (points of E(3)),
   pair index arrays → ``edge_index`` [2, E] (one column per pair), the molecule index →
   ``batch``, ``ptr`` kept, per-pair Cartesian vectors (periodic shifts, offsets) →
   ``edge_<name>`` (vectors), everything else under its own name (per-atom arrays are then
   node-level and relabelled by node permutations, per-pair arrays reordered with the pairs);
2. in ``forward`` rebuilds the native input from those tensors — so node permutations
   (σ relabels atoms: ``pos``, ``z`` permuted, pair indices i ↦ σ(i)), edge-order
   permutations (pairs reordered together with their per-pair arrays) and per-molecule
   batching (disjoint unions, ``batch``/``ptr`` shifted) act on the model's own names —
   calls the model, and returns ``{"energy": [B, 1], "forces": [N, 3]}`` (plus declared extra
   outputs);
3. types them: the energy per graph an invariant scalar of E(3) (``0e``), forces vectors
   (``1o``); ``types={"energy": "0o"}`` (e3nn Irreps strings or gdl FieldTypes) overrides a
   type (e.g. to declare a wrong parity on purpose).

Forces are F = −∂E/∂pos: the model's own forces when its output holds them (``forces_key``),
else by autograd in the adapter (``forces=True``). The caller's tensors are never touched:
positions are cloned into a fresh leaf that requires grad, inside ``torch.enable_grad()``,
so a model that calls ``pos.requires_grad_()`` or writes into its input dict does so on the
adapter's copies (no warning, no mutation), and the check needs no ``enable_grad=True``.

Symmetry checked by default: E(3) (rotations, reflections, translations) on ``pos`` and the
outputs, and node permutations (with pair reordering) whenever the sample has a ``batch``
vector — which the adapters always supply (zeros for one molecule). Exact for an
equivariant model up to float rounding. Periodic cells are not moved by E(3) here: check
molecules (non-periodic samples); a periodic sample raises ``EquivarianceSetupError``.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import torch

from gdl.groups import Euclidean, FieldType
from gdl.testing._sample import EquivarianceSetupError, _as_field_type, _is_data, _make_data

E3 = Euclidean(3)


def _type(t) -> FieldType:
    """A gdl FieldType from a FieldType or an e3nn Irreps string (read over E(3): translation-invariant)."""
    if isinstance(t, FieldType):
        return t
    try:
        return FieldType(E3, E3.irreps(str(t)))
    except Exception as exc:  # noqa: BLE001 - re-raised naming the bad type
        raise EquivarianceSetupError(f"adapter type: expected a gdl FieldType or an e3nn Irreps string like '0e', got {t!r} ({exc})") from None


def points() -> FieldType:
    """Positions: points of E(3), x ↦ Qx + t."""
    return FieldType(E3, E3.standard_rep())


def vectors() -> FieldType:
    """Cartesian vectors (forces, shifts): x ↦ Qx."""
    return FieldType(E3, E3.vector_rep())


def scalars(n: int = 1) -> FieldType:
    """Invariant scalars (an energy per graph: [B] or [B, 1])."""
    return FieldType(E3, E3.trivial_rep(n))


class ModelAdapter(torch.nn.Module):
    """Base of the adapters (see the module doc): ``sample_from`` names the native sample,
    ``native`` rebuilds it, ``forward`` calls the model and returns typed outputs.

    Subclasses implement ``sample_from(*inputs) -> dict`` and ``call_native(values) -> raw``
    (values: the named tensors, positions already a fresh leaf); ``energy_of(raw)`` /
    ``forces_of(raw)`` read the outputs.
    """

    def __init__(self, model, *, forces: bool = True, types: Optional[Mapping[str, Any]] = None,
                 extra_outputs: Optional[Mapping[str, Any]] = None, perturb: Optional[Callable] = None):
        super().__init__()
        self.model = model
        self.forces = bool(forces)
        self.extra_outputs = {k: _type(v) for k, v in (extra_outputs or {}).items()}
        out = {"energy": scalars()}
        if self.forces:
            out["forces"] = vectors()
        out.update(self.extra_outputs)
        for k, v in (types or {}).items():
            if k not in out:
                raise EquivarianceSetupError(f"types names output {k!r}; the adapter's outputs are {list(out)}")
            out[k] = _type(v)
        self.out_type = out
        self.in_type = {"pos": points()}
        # planted bugs (the compatibility benchmark, tests): perturb(values) -> an energy term [B] added to the model's
        self.perturb = perturb

    @property
    def report_name(self) -> str:
        """The name the report shows: the wrapped model's class."""
        return type(self.model).__name__

    # -- to be provided by each interface ----------------------------------------------------------
    def sample_from(self, *inputs) -> Dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def call_native(self, values: Dict[str, Any]):  # pragma: no cover - abstract
        raise NotImplementedError

    def energy_of(self, raw) -> torch.Tensor:
        return raw

    def forces_of(self, raw) -> Optional[torch.Tensor]:
        return None

    def extra_of(self, raw, name: str) -> torch.Tensor:
        if isinstance(raw, Mapping) and name in raw:
            return raw[name]
        raise EquivarianceSetupError(f"extra output {name!r} not found in the model's output ({type(raw).__name__})")

    # -- shared -----------------------------------------------------------------------------------
    def _declare(self, values: Dict[str, Any], vector_names: Sequence[str] = ()) -> Dict[str, Any]:
        """Type ``pos`` and the vector inputs present; add ``batch`` (zeros) when missing."""
        if not isinstance(values.get("pos"), torch.Tensor):
            raise EquivarianceSetupError(f"{type(self).__name__}: the sample has no positions (got {list(values)})")
        pos = values["pos"]
        if pos.dim() != 2 or pos.shape[-1] != 3:
            raise EquivarianceSetupError(f"{type(self).__name__}: positions must be [N, 3], got shape {tuple(pos.shape)}")
        if values.get("batch") is None:
            values["batch"] = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
        types = {"pos": points()}
        types.update({n: vectors() for n in vector_names if isinstance(values.get(n), torch.Tensor)})
        self.in_type = types
        return values

    def forward(self, **values) -> Dict[str, torch.Tensor]:
        values = dict(values)
        with torch.enable_grad():
            pos = values["pos"].detach().clone().requires_grad_(self.forces)
            values["pos"] = pos
            raw = self.call_native(values)
            energy = self.energy_of(raw)
            if not isinstance(energy, torch.Tensor):
                raise EquivarianceSetupError(f"{type(self.model).__name__} returned no energy tensor (got {type(energy).__name__})")
            energy = energy.reshape(-1)
            delta = self.perturb(values).reshape(-1) if self.perturb is not None else None
            out = {"energy": (energy if delta is None else energy + delta).reshape(-1, 1)}
            if self.forces:
                forces = self.forces_of(raw)
                if forces is None:
                    total = energy if delta is None else energy + delta
                    if not total.requires_grad:
                        raise EquivarianceSetupError(
                            f"{type(self.model).__name__}'s energy does not depend on the positions through autograd "
                            f"(no grad_fn): forces −∂E/∂pos cannot be computed; pass forces=False")
                    (grad,) = torch.autograd.grad(total.sum(), pos, allow_unused=True)
                    forces = -grad if grad is not None else torch.zeros_like(pos)
                elif delta is not None and delta.requires_grad:  # the model's own forces, plus the planted term's
                    (grad,) = torch.autograd.grad(delta.sum(), pos, allow_unused=True)
                    forces = forces - grad if grad is not None else forces
                out["forces"] = forces
            for name in self.extra_outputs:
                out[name] = self.extra_of(raw, name)
        return {k: v.detach() for k, v in out.items()}


class DictModel(ModelAdapter):
    """A model called as ``model(inputs: dict, **call_kwargs)`` (NequIP AtomicDataDict, MACE's
    batch dict, SchNetPack's input dict), connectivity declared by name.

    ``positions``: the key of the positions [N, 3]. Pairs: ``edge_index`` (the key of a
    [2, E] array) or ``pairs=(key_i, key_j)`` (two [P] arrays of atom indices). ``graph_index``:
    the key of the molecule index [N] (``batch``, ``_idx_m``); ``ptr``: the key of the
    [B + 1] offsets if any. ``pair_vectors``: keys of per-pair Cartesian vectors (periodic
    shifts, offsets; rotated with the sample). ``energy``: the output key of the energy per
    graph ([B] or [B, 1]; ``None``: the model returns the energy tensor itself); ``forces_key``: the model's forces key (used when present in the
    output, else autograd). Other keys pass through under their own names: per-atom arrays
    (first axis N) are relabelled with the atoms, per-pair arrays reordered with the pairs.
    """

    def __init__(self, model, *, positions: str, edge_index: Optional[str] = None, pairs: Optional[Tuple[str, str]] = None,
                 graph_index: Optional[str] = None, ptr: Optional[str] = None, pair_vectors: Sequence[str] = (),
                 energy: str = "energy", forces_key: Optional[str] = None, call_kwargs: Optional[Mapping] = None,
                 periodic_keys: Sequence[str] = (), **kwargs):
        super().__init__(model, **kwargs)
        if (edge_index is None) == (pairs is None) and edge_index is not None:
            raise EquivarianceSetupError("DictModel: declare pairs by edge_index=KEY or by pairs=(KEY_I, KEY_J), not both")
        self.keys = {"pos": positions, "batch": graph_index, "ptr": ptr, "edge_index": edge_index}
        self.pairs = tuple(pairs) if pairs is not None else None
        self.pair_vectors = tuple(pair_vectors)
        self.energy_key, self.forces_key = energy, forces_key
        self.call_kwargs = dict(call_kwargs or {})
        self.periodic_keys = tuple(periodic_keys)

    def _renames(self) -> Dict[str, str]:
        """native key → gdl name."""
        ren = {v: k for k, v in self.keys.items() if v is not None}
        ren.update({v: "edge_" + v.lstrip("_") for v in self.pair_vectors})
        return ren

    def sample_from(self, *inputs) -> Dict[str, Any]:
        if len(inputs) != 1 or not isinstance(inputs[0], Mapping):
            if len(inputs) == 1 and _is_data(inputs[0]):
                inputs = ({k: inputs[0][k] for k in inputs[0].keys()},)
            else:
                raise EquivarianceSetupError(
                    f"{type(self).__name__}({type(self.model).__name__}) takes one input dict, got {len(inputs)} inputs "
                    f"of types {[type(x).__name__ for x in inputs]}")
        native = dict(inputs[0])
        for k in self.periodic_keys:
            v = native.get(k)
            if isinstance(v, torch.Tensor) and v.dtype == torch.bool and bool(v.any()):
                raise EquivarianceSetupError(f"{k!r} marks a periodic sample: the adapter checks molecules only "
                                             f"(periodic cells are not moved by E(3) here)")
        required = [("positions", self.keys["pos"]), ("edge_index", self.keys["edge_index"])]
        for role, key in required + [("pair", p) for p in (self.pairs or ())]:
            if key is not None and key not in native:
                raise EquivarianceSetupError(f"{type(self).__name__}: the {role} key {key!r} is not in the sample (keys: {list(native)})")
        ren = self._renames()
        values: Dict[str, Any] = {}
        for k, v in native.items():
            if self.pairs is not None and k in self.pairs:
                continue
            name = ren.get(k, k)
            if name in values or (name != k and name in native and native[name] is not v):
                raise EquivarianceSetupError(f"{type(self).__name__}: native key {k!r} would be renamed to {name!r}, "
                                             f"which the sample already uses")
            values[name] = v
        if self.pairs is not None:
            i, j = native[self.pairs[0]], native[self.pairs[1]]
            if i.shape != j.shape or i.dim() != 1:
                raise EquivarianceSetupError(f"pair arrays {self.pairs} must be two [P] index arrays, got shapes "
                                             f"{tuple(i.shape)} and {tuple(j.shape)}")
            values["edge_index"] = torch.stack([i, j])
        return self._declare(values, ["edge_" + v.lstrip("_") for v in self.pair_vectors])

    def native(self, values: Dict[str, Any]) -> Dict[str, Any]:
        back = {g: n for n, g in self._renames().items()}
        out = {}
        for k, v in values.items():
            if k == "edge_index" and self.pairs is not None:
                out[self.pairs[0]], out[self.pairs[1]] = v[0], v[1]
            elif k == "batch" and self.keys["batch"] is None:
                continue  # added by the adapter for a model without a molecule index
            else:
                out[back.get(k, k)] = v
        return out

    def call_native(self, values):
        return self.model(self.native(values), **self.call_kwargs)

    def energy_of(self, raw):
        if self.energy_key is None and isinstance(raw, torch.Tensor):  # the model returns the energy itself (e3nn networks)
            return raw
        if not isinstance(raw, Mapping) or self.energy_key not in raw:
            got = list(raw) if isinstance(raw, Mapping) else type(raw).__name__
            raise EquivarianceSetupError(f"{type(self.model).__name__}: expected the energy under key {self.energy_key!r}, got {got}")
        return raw[self.energy_key]

    def forces_of(self, raw):
        if self.forces_key is not None and isinstance(raw, Mapping):
            return raw.get(self.forces_key)
        return None


def mace(model, **kwargs) -> DictModel:
    """MACE / ScaleShiftMACE: ``model(batch_dict, compute_force=...)`` with ``positions``,
    ``edge_index``, ``batch``, ``ptr``, ``node_attrs``, ``shifts``/``unit_shifts``; output
    ``energy`` [B] and ``forces`` (the model's own, by autograd inside MACE)."""
    options = dict(positions="positions", edge_index="edge_index", graph_index="batch", ptr="ptr",
                   pair_vectors=("shifts",), energy="energy", forces_key="forces",
                   call_kwargs={"training": False, "compute_force": True}, periodic_keys=("pbc",))
    options.update(kwargs)
    return DictModel(model, **options)


def nequip(model, **kwargs) -> DictModel:
    """NequIP / Allegro (AtomicDataDict): ``model(data)`` with ``pos``, ``edge_index``,
    ``batch``, ``atom_types``, ``edge_cell_shift``…; output ``total_energy`` [B, 1] and
    ``forces`` (the model's own when its output holds them, else by autograd)."""
    options = dict(positions="pos", edge_index="edge_index", graph_index="batch", ptr=None,
                   pair_vectors=(), energy="total_energy", forces_key="forces", periodic_keys=("pbc",))
    options.update(kwargs)
    return DictModel(model, **options)


def schnetpack(model, **kwargs) -> DictModel:
    """SchNetPack 2 (``NeuralNetworkPotential``): ``model(inputs)`` with ``_positions``,
    ``_atomic_numbers``, pairs ``_idx_i``/``_idx_j``, molecule index ``_idx_m``, ``_n_atoms``,
    per-pair ``_offsets``; output ``energy`` [B] (and ``forces`` when the model has a Forces
    module, else by autograd)."""
    options = dict(positions="_positions", pairs=("_idx_i", "_idx_j"), graph_index="_idx_m", ptr=None,
                   pair_vectors=("_offsets",), energy="energy", forces_key="forces", periodic_keys=("_pbc",))
    options.update(kwargs)
    return DictModel(model, **options)


class PositionalModel(ModelAdapter):
    """A model called with positional tensors, ``model(z, pos, batch)`` (TorchMD-Net, PyG
    SchNet / DimeNet++ / ViSNet): ``names`` are the argument names in order (the one for
    positions must be ``pos``, the molecule index ``batch``). Output: a tensor (the energy
    [B] or [B, 1]) or a tuple, ``energy`` and ``forces_at`` indexing into it (``forces_at``
    ``None``: forces by autograd). The sample: the tensors in ``names`` order, or a PyG
    ``Data``/``Batch`` holding attributes of those names."""

    def __init__(self, model, *, names: Sequence[str] = ("z", "pos", "batch"), energy: int = 0,
                 forces_at: Optional[int] = None, call_kwargs: Optional[Mapping] = None, **kwargs):
        super().__init__(model, **kwargs)
        self.names = tuple(names)
        if "pos" not in self.names:
            raise EquivarianceSetupError(f"PositionalModel: names must include 'pos' (the positions), got {self.names}")
        self.energy_at, self.forces_at = energy, forces_at
        self.call_kwargs = dict(call_kwargs or {})

    def sample_from(self, *inputs) -> Dict[str, Any]:
        if len(inputs) == 1 and _is_data(inputs[0]):
            data = inputs[0]
            values = {n: data[n] for n in self.names if n in data.keys()}
        elif len(inputs) == 1 and isinstance(inputs[0], Mapping):
            values = dict(inputs[0])
        else:
            if len(inputs) > len(self.names):
                raise EquivarianceSetupError(f"PositionalModel: {len(inputs)} inputs for the {len(self.names)} names {self.names}")
            values = dict(zip(self.names, inputs))
        return self._declare(values)

    def call_native(self, values):
        args = [values.get(n) for n in self.names]
        return self.model(*args, **self.call_kwargs)

    def energy_of(self, raw):
        return raw if isinstance(raw, torch.Tensor) else raw[self.energy_at]

    def forces_of(self, raw):
        if self.forces_at is None or isinstance(raw, torch.Tensor):
            return None
        out = raw[self.forces_at]  # TorchMD-Net / ViSNet return (energy, None) without derivative=True
        return out if isinstance(out, torch.Tensor) else None


def positional(model, **kwargs) -> PositionalModel:
    """``model(z, pos, batch)`` (see ``PositionalModel``)."""
    return PositionalModel(model, **kwargs)


def torchmd_net(model, **kwargs) -> PositionalModel:
    """TorchMD-Net (TensorNet, equivariant transformer, graph network): ``model(z, pos, batch)``
    returning ``(energy [B, 1], forces or None)``; forces the model's when it returns them."""
    options = dict(names=("z", "pos", "batch"), energy=0, forces_at=1)
    options.update(kwargs)
    return PositionalModel(model, **options)


class PyGModel(ModelAdapter):
    """A model called as ``model(data)`` on a PyG ``Data``/``Batch`` (positions ``positions``,
    default ``pos``); output a tensor (energy), a tuple (``energy``/``forces_at`` index), or a
    dict (``energy``/``forces_at`` keys)."""

    def __init__(self, model, *, positions: str = "pos", energy: Any = 0, forces_at: Any = None, **kwargs):
        super().__init__(model, **kwargs)
        self.positions, self.energy_at, self.forces_at = positions, energy, forces_at
        self._cls = None

    def sample_from(self, *inputs) -> Dict[str, Any]:
        if len(inputs) != 1 or not _is_data(inputs[0]):
            raise EquivarianceSetupError(f"PyGModel takes one PyG Data/Batch, got {[type(x).__name__ for x in inputs]}")
        data = inputs[0]
        self._cls = type(data)
        values = {k: data[k] for k in data.keys()}
        if self.positions != "pos":
            if "pos" in values:
                raise EquivarianceSetupError(f"PyGModel: positions are {self.positions!r} but the Data also has 'pos'")
            values["pos"] = values.pop(self.positions)
        self._had_batch = "batch" in values
        return self._declare(values)

    def call_native(self, values):
        vals = dict(values)
        if self.positions != "pos":
            vals[self.positions] = vals.pop("pos")
        return self.model(_make_data(self._cls, vals))

    def energy_of(self, raw):
        return raw if isinstance(raw, torch.Tensor) else raw[self.energy_at]

    def forces_of(self, raw):
        if self.forces_at is None or isinstance(raw, torch.Tensor):
            return None
        out = raw[self.forces_at]
        return out if isinstance(out, torch.Tensor) else None


def pyg(model, **kwargs) -> PyGModel:
    """``model(data)`` on a PyG ``Data``/``Batch`` (see ``PyGModel``)."""
    return PyGModel(model, **kwargs)


class Calculator(ModelAdapter):
    """An ASE-style calculator: ``calc.get_potential_energy(atoms)`` and ``calc.get_forces(atoms)``
    (numpy, eV and eV/Å). The sample: one ``ase.Atoms`` (or any object with ``numbers``,
    ``get_positions()``, ``copy()``, ``set_positions()``, ``set_atomic_numbers()``; ``pbc`` all
    False). Each call builds a copy of the atoms at the transformed positions (the caller's
    atoms are not touched); one structure per call (calculators take no batches). Forces are the
    calculator's own. Float64."""

    def __init__(self, calculator, **kwargs):
        super().__init__(torch.nn.Identity(), **kwargs)
        self.calculator = calculator
        self._atoms = None

    def sample_from(self, *inputs) -> Dict[str, Any]:
        if len(inputs) != 1 or not hasattr(inputs[0], "get_positions"):
            raise EquivarianceSetupError(f"Calculator adapter takes one ase.Atoms, got {[type(x).__name__ for x in inputs]}")
        atoms = inputs[0]
        pbc = getattr(atoms, "pbc", None)
        if pbc is not None and bool(torch.as_tensor(pbc).any()):
            raise EquivarianceSetupError("Calculator adapter: periodic atoms (pbc set) are not supported; check a molecule")
        self._atoms = atoms.copy()
        pos = torch.as_tensor(atoms.get_positions(), dtype=torch.float64)
        numbers = torch.as_tensor(atoms.numbers, dtype=torch.long)
        return self._declare({"z": numbers, "pos": pos})

    def forward(self, **values):
        if self._atoms is None:
            raise EquivarianceSetupError("Calculator adapter: call check_equivariance with the atoms (sample_from) first")
        atoms = self._atoms.copy()
        atoms.set_atomic_numbers(values["z"].cpu().numpy())
        atoms.set_positions(values["pos"].detach().to(torch.float64).cpu().numpy())
        atoms.calc = self.calculator
        dtype, device = values["pos"].dtype, values["pos"].device
        with torch.enable_grad():  # a calculator may differentiate with torch inside
            energy = torch.as_tensor(float(self.calculator.get_potential_energy(atoms)), dtype=dtype, device=device).reshape(1)
            forces = self.calculator.get_forces(atoms) if self.forces else None
        if self.perturb is not None:
            energy = energy + self.perturb(dict(values, pos=values["pos"].detach())).reshape(-1)
        out = {"energy": energy.reshape(1, 1)}
        if self.forces:
            out["forces"] = torch.as_tensor(forces, dtype=dtype, device=device)
        return out


def ase_calculator(calculator, **kwargs) -> Calculator:
    """An ASE-style calculator (see ``Calculator``)."""
    return Calculator(calculator, **kwargs)


__all__ = [
    "ModelAdapter", "DictModel", "PositionalModel", "PyGModel", "Calculator",
    "mace", "nequip", "schnetpack", "positional", "torchmd_net", "pyg", "ase_calculator",
    "points", "vectors", "scalars",
]
