"""Samples: the inputs of one model call, named, typed, and sorted by what they index.

A *sample* is what a symmetry acts on. Three kinds of model call are understood:

- ``"tensor"``: ``model(x, ...)`` with tensors whose last axis carries a field type
  (``in_type`` a ``FieldType``, a tuple of them, or e3nn ``irreps_in``);
- ``"graph"``: ``model(h=..., pos=..., edge_index=..., batch=...)`` with a dict ``in_type``
  keyed by the forward's parameter names (the CONTRACT of gdl layers);
- ``"data"``: ``model(data)`` with a PyG ``Data``/``Batch`` and a dict ``in_type`` keyed by
  attribute names.

For graphs every tensor gets a *level*: ``node`` (first axis = number of nodes), ``edge``
(first axis = number of edges, or a name starting with ``edge_``), ``graph`` (first axis =
number of graphs of a ``Batch``), the structure entries ``edge_index``, ``batch``, ``ptr``,
or ``index`` for the other *index attributes*; everything else is ``other`` and passes
through unchanged.

Index attributes hold node indices, one item (edge, face, pair, …) per entry of their last
axis (PyG's concatenation axis for them): ``edge_index`` [2, E], ``face`` [3, F], any name
ending in ``_index`` (not ``batch``) whose integer values lie in [0, N), or the names a
``NodePermutation(index_attributes=...)`` declares. Index attributes with the same number of
items M form one *item set* (``edge`` for ``edge_index``'s, else named after the first
attribute, e.g. ``face``); a tensor whose first axis is M (and that is not node-level, or
whose name starts with the set's prefix, e.g. ``edge_`` / ``face_``) is per item and gets
the set's name as its level. Node permutations relabel index attributes and may reorder
the items of every set (a graph is a *set* of edges, a mesh a *set* of faces).

Symmetries act on *stacked copies*: every tensor gets a leading copy axis of size K (one
copy per group element). ``collate`` turns K copies into one model call (a disjoint union
of graphs, or a concatenation along the first axis of tensors), ``split_outputs`` cuts the
outputs back into copies.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import torch

from gdl.groups import FieldType, FieldTypeError, O3

STRUCTURE = ("edge_index", "batch", "ptr")


class EquivarianceSetupError(ValueError):
    """The check cannot be set up: no types declared, names that do not match the forward, …"""


def _is_data(x) -> bool:
    try:
        from torch_geometric.data.data import BaseData
    except ImportError:  # pragma: no cover - torch_geometric is a dependency
        return False
    return isinstance(x, BaseData)


def _is_batch(x) -> bool:
    from torch_geometric.data import Batch

    return isinstance(x, Batch)


# -- types ------------------------------------------------------------------------------------
def _as_field_type(t, what: str):
    if isinstance(t, FieldType):
        return t
    if t is None:
        return None
    try:  # e3nn Irreps (or a string) on a module that declares e3nn irreps: O(3) with parity
        from e3nn import o3

        return FieldType(O3(), O3().irreps(o3.Irreps(t)))
    except Exception as exc:  # noqa: BLE001 - re-raised with the name of the bad entry
        raise EquivarianceSetupError(f"{what}: expected a gdl FieldType or e3nn Irreps, got {t!r} ({exc})") from exc


def declared_types(model, in_type=None, out_type=None):
    """The model's (in_type, out_type): explicit arguments first, then ``in_type``/``out_type``
    attributes, then e3nn's ``irreps_in``/``irreps_out`` (``irreps_in1``/``irreps_in2``)."""
    name = type(model).__name__
    if in_type is None:
        in_type = getattr(model, "in_type", None)
    if in_type is None and getattr(model, "irreps_in", None) is not None:
        in_type = model.irreps_in
    if in_type is None and getattr(model, "irreps_in1", None) is not None:
        in_type = (model.irreps_in1, model.irreps_in2)
    if out_type is None:
        out_type = getattr(model, "out_type", None)
    if out_type is None and getattr(model, "irreps_out", None) is not None:
        out_type = model.irreps_out
    if in_type is None or out_type is None:
        missing = " and ".join(n for n, t in (("in_type", in_type), ("out_type", out_type)) if t is None)
        raise EquivarianceSetupError(
            f"check_equivariance: {name} declares no {missing} (nor e3nn irreps_in/irreps_out); "
            f"declare them on the model or pass in_type=... and out_type=... (gdl FieldTypes)"
        )
    return _normalise_types(in_type, "in_type"), _normalise_types(out_type, "out_type")


def _normalise_types(t, what):
    from e3nn import o3

    if isinstance(t, (o3.Irreps, str)):
        return _as_field_type(t, what)
    if isinstance(t, dict):
        return {k: _as_field_type(v, f"{what}[{k!r}]") for k, v in t.items()}
    if isinstance(t, (tuple, list)):
        return tuple(_as_field_type(v, f"{what}[{i}]") for i, v in enumerate(t))
    return _as_field_type(t, what)


# -- samples ------------------------------------------------------------------------------------
@dataclass
class Sample:
    """The named inputs of one model call and what each one indexes (see module doc)."""

    kind: str  # "tensor" | "graph" | "data"
    values: Dict[str, Any]
    levels: Dict[str, str]
    types: Dict[str, FieldType]  # typed inputs by name
    call: Callable[[Dict[str, Any]], Any]
    num_nodes: int = 0
    num_edges: int = 0
    num_graphs: int = 1
    accepts_batch: bool = False  # the call can take a `batch` vector (disjoint unions of graphs)
    data_cls: Any = None
    meta: Dict[str, Any] = field(default_factory=dict)
    index_names: List[str] = field(default_factory=list)  # index attributes (edge_index first)
    item_sets: Dict[str, "ItemSet"] = field(default_factory=dict)  # by set name ("edge", "face", …)

    @property
    def is_graph(self) -> bool:
        return self.kind in ("graph", "data")

    def copies(self, k: int) -> Dict[str, Any]:
        """Every tensor with a leading copy axis of size ``k`` (views, no memory)."""
        return {n: (v.unsqueeze(0).expand(k, *v.shape) if isinstance(v, torch.Tensor) else v) for n, v in self.values.items()}

    def node_names(self) -> List[str]:
        return [n for n, lv in self.levels.items() if lv == "node"]

    def item_set_of(self, name: str) -> Optional["ItemSet"]:
        """The item set an index attribute belongs to (``None`` for other names)."""
        for s in self.item_sets.values():
            if name in s.index_names:
                return s
        return None

    def declare_index_attributes(self, names) -> None:
        """Use exactly ``names`` (plus ``edge_index``) as the index attributes; re-sort levels.
        Raises ``EquivarianceSetupError`` for a name that is missing or holds no node indices."""
        names = list(names)
        for name in names:
            v = self.values.get(name)
            if not isinstance(v, torch.Tensor):
                raise EquivarianceSetupError(
                    f"index attribute {name!r} declared, but the sample has no tensor of that name (it has {list(self.values)})")
            if not _holds_node_indices(v, self.num_nodes):
                raise EquivarianceSetupError(
                    f"index attribute {name!r} must be an integer tensor of node indices in [0, {self.num_nodes}), "
                    f"got dtype {v.dtype}" + (f", values in [{int(v.min())}, {int(v.max())}]" if v.numel() and not v.is_floating_point() else ""))
        if isinstance(self.values.get("edge_index"), torch.Tensor) and "edge_index" not in names:
            names.insert(0, "edge_index")
        _classify_graph(self, names)


@dataclass
class ItemSet:
    """Items (edges, faces, pairs, …) that index attributes list along their last axis."""

    name: str
    size: int
    index_names: List[str]

    def graph_of_items(self, values, batch) -> torch.Tensor:
        """The graph of each item (that of its first node); zeros without a ``batch`` vector."""
        idx = values[self.index_names[0]]
        first = idx.reshape(-1, idx.shape[-1])[0] if idx.dim() > 1 else idx
        if isinstance(batch, torch.Tensor) and batch.numel():
            return batch[first]
        return torch.zeros(self.size, dtype=torch.long, device=idx.device)


def _holds_node_indices(v, num_nodes: int) -> bool:
    if not isinstance(v, torch.Tensor) or v.is_floating_point() or v.is_complex() or v.dtype == torch.bool or v.dim() == 0:
        return False
    return v.numel() == 0 or (int(v.min()) >= 0 and int(v.max()) < num_nodes)


def default_index_names(values, num_nodes: int) -> List[str]:
    """``edge_index`` ([2, E] integers), ``face`` and names ending in ``_index`` (not containing
    ``batch``) that hold integer node indices in [0, ``num_nodes``)."""
    names = []
    for k, v in values.items():
        if k == "edge_index":  # the graph's structure: always an index attribute when it is [2, E] integers
            if isinstance(v, torch.Tensor) and v.dim() == 2 and v.shape[0] == 2 and not v.is_floating_point():
                names.append(k)
        elif k == "face" or (k.endswith("_index") and "batch" not in k):
            if _holds_node_indices(v, num_nodes):
                names.append(k)
    names.sort(key=lambda k: k != "edge_index")
    return names


def _set_name(index_name: str) -> str:
    if index_name.endswith("_index"):
        return index_name[: -len("_index")] or index_name
    return index_name


def _classify_graph(sample: "Sample", index_names: List[str]) -> None:
    """Sort every tensor of a graph sample by level (see module doc), with ``index_names``."""
    values, n = sample.values, sample.num_nodes
    sets: Dict[int, ItemSet] = {}
    for name in index_names:
        m = values[name].shape[-1]
        if m not in sets:
            sets[m] = ItemSet(_set_name(name), m, [])
        sets[m].index_names.append(name)
    sample.index_names = list(index_names)
    sample.item_sets = {s.name: s for s in sets.values()}
    sample.num_edges = values["edge_index"].shape[1] if "edge_index" in index_names else 0
    has_batch = isinstance(values.get("batch"), torch.Tensor)
    levels = {}
    for k, v in values.items():
        if k in index_names:
            levels[k] = "edge_index" if k == "edge_index" else "index"
        elif k in STRUCTURE:
            levels[k] = k if isinstance(v, torch.Tensor) else "other"
        elif not isinstance(v, torch.Tensor) or v.dim() == 0:
            levels[k] = "other"
        else:
            prefixed = [s for s in sets.values() if k.startswith(s.name + "_") and v.shape[0] == s.size]
            if prefixed:
                levels[k] = prefixed[0].name
            elif v.shape[0] == n:
                levels[k] = "node"
            elif v.shape[0] in sets:
                levels[k] = sets[v.shape[0]].name
            elif has_batch and v.shape[0] == sample.num_graphs:
                levels[k] = "graph"
            else:
                levels[k] = "other"
    sample.levels = levels


def _signature_names(model) -> List[str]:
    fn = model.forward if isinstance(model, torch.nn.Module) else model
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return []
    return [p.name for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _signature(model):
    fn = model.forward if isinstance(model, torch.nn.Module) else model
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def _fed_by_name(model, data) -> Optional[List[str]]:
    """The forward's parameter names when a ``Data`` should be fed attribute by attribute
    (``forward(x, pos, edge_index)``): every required parameter is an attribute of ``data``
    and the forward is not the PyG habit ``forward(data)`` / ``forward(batch)``."""
    params = _signature(model)
    names = [p.name for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    required = [p.name for p in params.values() if p.name in names and p.default is inspect.Parameter.empty]
    keys = set(_data_keys(data))
    if not required or any(r not in keys for r in required):
        return None
    if len(names) == 1 and names[0] in ("batch", "data"):
        return None
    takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in params.values())
    present = [n for n in names if n in keys]
    return present + ([k for k in _data_keys(data) if k not in present] if takes_kwargs else [])


def _data_keys(data) -> List[str]:
    return list(data.keys()) if callable(getattr(data, "keys", None)) else list(data.keys)


def adapt_inputs(model, inputs) -> tuple:
    """The inputs as the model's adapter names them: a model with a ``sample_from(*inputs)``
    method (the adapters of ``gdl.testing.adapters``) turns the caller's native sample (a MACE
    or SchNetPack dict, ``(z, pos, batch)``, ase ``Atoms``) into one dict of named tensors;
    other models get ``inputs`` unchanged."""
    convert = getattr(model, "sample_from", None)
    if callable(convert):
        return (convert(*inputs),)
    return tuple(inputs)


def _per_node_labels(values, types, names) -> bool:
    """Node-level arrays without any connectivity: a 1-D integer input (atomic numbers, atom
    types) as long as the first axis of a typed input with a channel axis (``(z, pos)``)."""
    lengths = {v.shape[0] for k, v in values.items() if k in types and isinstance(v, torch.Tensor) and v.dim() > 1}
    for k, v in values.items():
        if k in types or not isinstance(v, torch.Tensor) or v.dim() != 1 or v.is_floating_point() or v.dtype == torch.bool:
            continue
        if v.shape[0] > 1 and v.shape[0] in lengths:
            return True
    return False


def build_sample(model, inputs, in_type, *, dtype, device) -> Sample:
    """Bind ``inputs`` to the forward's parameters, cast floats to ``dtype`` on ``device``,
    and sort every tensor by level. Raises a clear error when names or sizes do not match.

    A PyG ``Data``/``Batch`` goes to ``model(data)``, unless the forward's required parameters
    are all attributes of it (``forward(x, pos, edge_index)``): then it is fed by name."""
    if len(inputs) == 0:
        raise EquivarianceSetupError("check_equivariance needs at least one input sample (got none)")
    if len(inputs) == 1 and _is_data(inputs[0]):
        by_name = _fed_by_name(model, inputs[0])
        if by_name is None:
            return _data_sample(model, inputs[0], in_type, dtype, device)
        inputs = ({k: inputs[0][k] for k in by_name},)
    names = _signature_names(model)
    if len(inputs) == 1 and isinstance(inputs[0], dict):
        values = dict(inputs[0])
        keyword = True
    else:
        if names and len(inputs) > len(names):
            raise EquivarianceSetupError(
                f"{type(model).__name__}.forward takes {len(names)} arguments ({', '.join(names)}), got {len(inputs)} inputs"
            )
        if not names:
            names = [f"input{i}" for i in range(len(inputs))]
        values = dict(zip(names, inputs))
        keyword = False
    order = list(values)

    # map the types onto names
    if isinstance(in_type, FieldType):
        types = {order[0]: in_type}
    elif isinstance(in_type, tuple):
        if len(in_type) > len(order):
            raise EquivarianceSetupError(f"in_type declares {len(in_type)} inputs, got {len(order)}")
        types = dict(zip(order, in_type))
    else:
        types = dict(in_type)
        unknown = [k for k in types if k not in values]
        if unknown:
            raise EquivarianceSetupError(
                f"in_type names {unknown} but the inputs given are {order} "
                f"(forward parameters: {names or 'unknown'}); pass those inputs or fix in_type"
            )
    types = {k: v for k, v in types.items() if v is not None}
    values = {k: _cast(v, dtype, device) for k, v in values.items()}
    _check_types(values, types)

    batch = values.get("batch")
    num_nodes = _infer_num_nodes(values, types, batch)
    index_names = default_index_names(values, num_nodes)
    has_batch = isinstance(batch, torch.Tensor) and batch.dim() == 1 and not batch.is_floating_point()
    if not index_names and not has_batch and not _per_node_labels(values, types, names):
        levels = {k: ("tensor" if isinstance(v, torch.Tensor) else "other") for k, v in values.items()}
        first = values[order[0]] if isinstance(values[order[0]], torch.Tensor) else None
        n = first.shape[0] if first is not None and first.dim() > 0 else 0

        def call(vals, _model=model, _order=order, _kw=keyword):
            return _model(**vals) if _kw else _model(*[vals[k] for k in _order])

        return Sample("tensor", values, levels, types, call, num_nodes=n)

    num_graphs = int(batch.max()) + 1 if isinstance(batch, torch.Tensor) and batch.numel() else 1
    accepts_batch = "batch" in names or "batch" in values
    if not num_nodes:
        num_nodes = next((v.shape[0] for k, v in values.items() if k in types and v.dim() > 1), 0)

    def call(vals, _model=model, _order=order, _kw=keyword):
        if _kw:
            return _model(**vals)
        args = [vals[k] for k in _order]
        extra = {k: v for k, v in vals.items() if k not in _order}
        return _model(*args, **extra)

    sample = Sample("graph", values, {}, types, call, num_nodes, 0, num_graphs, accepts_batch)
    _classify_graph(sample, index_names)
    return sample


def _data_sample(model, data, in_type, dtype, device) -> Sample:
    if not isinstance(in_type, dict):
        raise EquivarianceSetupError(
            f"{type(model).__name__} takes a PyG {type(data).__name__}: its in_type must be a dict keyed by "
            f"attribute names (e.g. {{'pos': points, 'vel': vectors}}), got {in_type!r}"
        )
    keys = _data_keys(data)
    unknown = [k for k in in_type if k not in keys]
    if unknown:
        raise EquivarianceSetupError(f"in_type names attributes {unknown} that the {type(data).__name__} lacks (it has {keys})")
    values = {k: _cast(data[k], dtype, device) for k in keys}
    types = {k: v for k, v in in_type.items() if v is not None}
    _check_types(values, types)
    batch = values.get("batch")
    num_nodes = int(data.num_nodes)
    if _is_batch(data):
        num_graphs = int(data.num_graphs)
    else:
        num_graphs = int(batch.max()) + 1 if isinstance(batch, torch.Tensor) and batch.numel() else 1
    cls = type(data)

    def call(vals, _model=model, _cls=cls):
        return _model(_make_data(_cls, vals))

    sample = Sample("data", values, {}, types, call, num_nodes, 0, num_graphs, True, data_cls=cls)
    _classify_graph(sample, default_index_names(values, num_nodes))
    return sample


def _make_data(cls, vals):
    from torch_geometric.data import Batch, Data

    clean = {k: v for k, v in vals.items() if v is not None}
    if issubclass(cls, Batch):
        out = Batch(**clean)
        if "ptr" in clean:
            out._num_graphs = clean["ptr"].numel() - 1
        return out
    try:
        return cls(**clean)
    except TypeError:
        return Data(**clean)


def _cast(v, dtype, device):
    if isinstance(v, torch.Tensor):
        v = v.to(device)
        return v.to(dtype) if v.is_floating_point() else v
    return v


def _check_types(values, types):
    for name, t in types.items():
        v = values[name]
        if not isinstance(v, torch.Tensor):
            raise FieldTypeError(f"input {name!r}: expected a tensor of field type {t}, got {type(v).__name__}")
        try:
            t.check(v)
        except FieldTypeError as exc:
            raise FieldTypeError(f"input {name!r}: {exc}") from None
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise FieldTypeError(f"input {name!r} contains non-finite values (NaN or inf): fix the sample before checking")


def _infer_num_nodes(values, types, batch) -> int:
    if isinstance(batch, torch.Tensor):
        return batch.shape[0]
    for name in types:
        v = values[name]
        if v.dim() > 1 and not name.startswith("edge_"):
            return v.shape[0]
    ei = values.get("edge_index")
    if isinstance(ei, torch.Tensor) and not ei.is_floating_point():
        return int(ei.max()) + 1 if ei.numel() else 0
    return 0


# -- K copies → one call → K copies --------------------------------------------------------------
def collate(sample: Sample, stacked: Dict[str, Any], k: int) -> Optional[Dict[str, Any]]:
    """One call's inputs holding ``k`` stacked copies, or ``None`` when the sample cannot be
    batched (then each copy runs alone)."""
    out = {}
    if sample.kind == "tensor":
        for name, v in stacked.items():
            lv = sample.levels[name]
            if lv == "tensor":
                if v.dim() < 2:
                    return None
                out[name] = v.reshape(k * v.shape[1], *v.shape[2:])
            else:
                out[name] = v
        return out
    n, e, b = sample.num_nodes, sample.num_edges, sample.num_graphs
    dev = sample.values[sample.index_names[0]].device if sample.index_names else None
    per_item = set(sample.item_sets)
    for name, v in stacked.items():
        lv = sample.levels[name]
        if lv in ("node", "edge", "graph") or lv in per_item:
            out[name] = v.reshape(k * v.shape[1], *v.shape[2:])
        elif lv in ("edge_index", "index"):  # node indices shifted per copy, copies joined along the item axis
            shift = (torch.arange(k, device=v.device) * n).view(k, *([1] * (v.dim() - 1)))
            shifted = (v + shift).movedim(0, -2)
            out[name] = shifted.reshape(*shifted.shape[:-2], k * v.shape[-1])
        elif lv == "batch":
            shift = (torch.arange(k, device=v.device) * b).view(k, 1)
            out[name] = (v + shift).reshape(-1)
        elif lv == "ptr":
            counts = torch.diff(v[0])
            out[name] = torch.cat([v.new_zeros(1), torch.cumsum(counts.repeat(k), 0)])
        else:
            out[name] = v if not isinstance(v, torch.Tensor) else v[0]
    if "batch" not in stacked or not isinstance(stacked.get("batch"), torch.Tensor):
        if not sample.accepts_batch:
            if not sample.index_names:
                return None  # no connectivity and no batch vector: stacked copies would merge into one graph
            return out  # a single graph per copy, no batch vector: graph-level outputs cannot be split
        out["batch"] = torch.arange(k, device=dev).repeat_interleave(n)
    return out


def single_copy(stacked: Dict[str, Any], i: int) -> Dict[str, Any]:
    return {n: (v[i] if isinstance(v, torch.Tensor) else v) for n, v in stacked.items()}


def output_dict(raw, out_type) -> Dict[str, torch.Tensor]:
    """The model's return value as {output name: tensor}, in the order of ``out_type``. An
    output of shape [B] typed by a field type of dimension 1 (an energy per graph, an
    invariant scalar per row) gets its channel axis: [B, 1]."""
    outputs = _named_outputs(raw, out_type)
    types = output_types(out_type)
    for name, v in outputs.items():
        t = types.get(name)
        if isinstance(v, torch.Tensor) and v.dim() == 1 and isinstance(t, FieldType) and t.dim == 1 and t.axis == -1:
            outputs[name] = v.unsqueeze(-1)
    return outputs


def _named_outputs(raw, out_type) -> Dict[str, torch.Tensor]:
    if isinstance(out_type, dict):
        names = list(out_type)
        if isinstance(raw, dict):
            missing = [k for k in names if k not in raw]
            if missing:
                raise EquivarianceSetupError(f"out_type names outputs {missing}; the model returned keys {list(raw)}")
            return {k: raw[k] for k in names}
        if isinstance(raw, torch.Tensor):
            if len(names) != 1:
                raise EquivarianceSetupError(f"out_type declares {len(names)} outputs {names}, the model returned one tensor")
            return {names[0]: raw}
        if _is_data(raw):
            return {k: raw[k] for k in names}
        raw = tuple(raw)
        if len(raw) != len(names):
            raise EquivarianceSetupError(f"out_type declares {len(names)} outputs {names}, the model returned {len(raw)}")
        return dict(zip(names, raw))
    if isinstance(out_type, tuple):
        raw = (raw,) if isinstance(raw, torch.Tensor) else tuple(raw)
        if len(raw) != len(out_type):
            raise EquivarianceSetupError(f"out_type declares {len(out_type)} outputs, the model returned {len(raw)}")
        return {f"output{i}": r for i, r in enumerate(raw)}
    if not isinstance(raw, torch.Tensor):
        raise EquivarianceSetupError(f"out_type is one field type, but the model returned {type(raw).__name__}")
    return {"output": raw}


def output_types(out_type) -> Dict[str, FieldType]:
    if isinstance(out_type, dict):
        return {k: v for k, v in out_type.items()}
    if isinstance(out_type, tuple):
        return {f"output{i}": t for i, t in enumerate(out_type)}
    return {"output": out_type}


def output_levels(sample: Sample, outputs: Dict[str, torch.Tensor]) -> Dict[str, str]:
    levels = {}
    for k, v in outputs.items():
        if not sample.is_graph:
            levels[k] = "tensor" if v.dim() > 0 else "other"
        elif v.dim() == 0:
            levels[k] = "other"
        elif v.shape[0] == sample.num_nodes:
            levels[k] = "node"
        elif v.shape[0] == sample.num_graphs:
            levels[k] = "graph"
        else:
            sets = [st for st in sample.item_sets.values() if st.size == v.shape[0]]
            levels[k] = sets[0].name if sets else "other"
    return levels


def split_outputs(sample: Sample, outputs: Dict[str, torch.Tensor], reference: Dict[str, torch.Tensor], k: int):
    """Cut a stacked call's outputs into ``[k, ...]`` copies; ``None`` if the shapes do not fit."""
    out = {}
    for name, ref in reference.items():
        v = outputs[name]
        if ref.dim() == 0 or v.shape != (k * ref.shape[0], *ref.shape[1:]):
            return None
        out[name] = v.reshape(k, *ref.shape)
    return out
