"""Symmetries that act on whole samples (not just on tensors).

A ``Symmetry`` knows (1) which elements to try on a given sample — generators first, then
a fixed grid, then seeded random samples — and (2) how a batch of K elements acts on K
stacked copies of a sample's inputs and of a model's outputs. All actions run in float64.

- ``GlobalSymmetry(G)``: one element of G acts on every typed tensor through its field type
  (ρ(g) on the field's axis). ``EuclideanSymmetry(d)`` is G = E(d) (rotations, reflections,
  translations; SE(d) with ``special=True``): points move by x ↦ Qx + t, vectors and e3nn
  irreps rotate by Q (with parity), scalars stay. ``SphereRotation()`` is G = SO(3) acting
  on spherical-harmonic coefficients (exact) and on grid signals through
  ``SphericalGridRep`` (an interpolating action, flagged approximate).
- ``NodePermutation()``: σ ∈ S_N relabels the nodes of a graph (within each graph of a
  batch) and π ∈ S_E reorders its edges (and faces, and the items of every other index
  attribute): node tensors x ↦ x[σ⁻¹], index attributes ↦ σ(index) with their items
  reordered by π, per-item tensors (``edge_attr``) reordered by π, ``batch`` permuted;
  node and per-item outputs move the same way, graph-level outputs are invariant.
- ``GaugeSymmetry()``: a gauge transformation, one SO(2) angle θ_i per vertex (see the
  class for the convention).

Fields whose group has nothing to do with a symmetry (e.g. SO(2) gauge fields under a
global E(3) motion) are invariant under it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch

from gdl.gauge import GaugeTransform
from gdl.groups import SO2, SO3, Euclidean, FieldType, SpecialEuclidean, Symmetric, wrap_angle
from gdl.groups._orthogonal import OrthogonalGroup


@dataclass
class Elements:
    """A batch of group elements (``values``) with a label per element for the report.

    ``traits`` (optional, one set per element) names what each element does — e.g.
    ``{"translation", "improper"}`` for E(d), ``{"nodes", "items"}`` for node permutations —
    so that a report can say "fails only under translations"."""

    values: object
    labels: List[str]
    traits: Optional[List[frozenset]] = None

    def __len__(self):
        return len(self.labels)

    def select(self, index: List[int]) -> "Elements":
        """The elements at ``index`` (a list of positions), as an ``Elements``."""
        v = self.values
        if isinstance(v, GraphRelabelling):
            v = v.select(index)
        elif isinstance(v, torch.Tensor):
            v = v[index]
        else:
            raise TypeError(f"cannot select from element values of type {type(v).__name__}")
        return Elements(v, [self.labels[i] for i in index], [self.traits[i] for i in index] if self.traits else None)


@dataclass
class GraphRelabelling:
    """K relabellings of a graph: node permutations ``nodes`` [K, N] (σ, entry i moves to σ(i))
    and, per item set (``"edge"``, ``"face"``, …), item permutations ``items[name]`` [K, M]."""

    nodes: torch.Tensor
    items: Dict[str, torch.Tensor]

    def __len__(self):
        return self.nodes.shape[0]

    def select(self, index) -> "GraphRelabelling":
        return GraphRelabelling(self.nodes[index], {k: v[index] for k, v in self.items.items()})


def _spread(n_total: int, n_pick: int) -> torch.Tensor:
    """``n_pick`` evenly spread indices in [0, n_total)."""
    if n_pick >= n_total:
        return torch.arange(n_total)
    return torch.linspace(0, n_total - 1, n_pick).round().long()


class Symmetry:
    """Base class: how elements of a group act on a whole sample.

    Subclasses implement ``elements(sample, ...)``, ``act_inputs(g, sample, stacked)`` (returns
    the stacked inputs, every tensor with a leading copy axis K = number of elements) and
    ``act_outputs(g, sample, outputs, types, levels)`` (same for the reference outputs).
    """

    name = "symmetry"
    approximate = False

    def applies_to(self, sample, out_types) -> bool:
        """Whether this symmetry has anything to act on in ``sample``."""
        return True

    def elements(self, sample, *, n_grid: int, n_random: int, seed: int, device) -> Elements:
        raise NotImplementedError

    def act_inputs(self, g, sample, stacked: Dict) -> Dict:
        raise NotImplementedError

    def act_outputs(self, g, sample, outputs: Dict[str, torch.Tensor], types: Dict[str, FieldType], levels) -> Dict:
        raise NotImplementedError

    def is_approximate(self, sample, out_types) -> bool:
        return self.approximate

    def prepare(self, sample) -> None:
        """Called once on the sample before any symmetry acts (e.g. to declare index attributes)."""

    def __repr__(self):
        return self.name


# -- global symmetries ---------------------------------------------------------------------------
def _element_map(sym_group, field_group):
    """The homomorphism taking elements of the symmetry's group to the field's group, or
    ``None`` when the field does not transform under this symmetry (``Group.homomorphism_to``:
    the identity, an inclusion, or E(d) → O(d))."""
    if isinstance(sym_group, Euclidean) and isinstance(field_group, Euclidean) and field_group.d == sym_group.d:
        return lambda g: g
    return sym_group.homomorphism_to(field_group)


class GlobalSymmetry(Symmetry):
    """One element g of ``group`` acts on every typed tensor by its field type's ρ(g)."""

    def __init__(self, group, name: Optional[str] = None):
        self.group = group
        self.name = name or str(group)

    def _act_typed(self, g, tensors: Dict, types: Dict[str, FieldType]) -> Dict:
        out = dict(tensors)
        for name, ftype in types.items():
            if name not in tensors or not isinstance(tensors[name], torch.Tensor):
                continue
            hom = _element_map(self.group, ftype.group)
            if hom is None:
                continue
            x = tensors[name]
            axis = ftype.axis if ftype.axis < 0 else ftype.axis + 1  # the copy axis comes first
            out[name] = ftype.rep.act(hom(g), x, axis=axis)
        return out

    def applies_to(self, sample, out_types) -> bool:
        types = list(sample.types.values()) + [t for t in out_types.values() if t is not None]
        return any(_element_map(self.group, t.group) is not None for t in types)

    def is_approximate(self, sample, out_types) -> bool:
        types = list(sample.types.values()) + [t for t in out_types.values() if t is not None]
        return self.approximate or any(getattr(t.rep, "approximate", False) for t in types)

    def elements(self, sample, *, n_grid, n_random, seed, device) -> Elements:
        dt = torch.float64
        gens = self.group.generators(dtype=dt, device=device)
        grid = self.group.grid(dtype=dt, device=device)
        grid = self.group.select(grid, _spread(self.group.batch_size(grid), n_grid).to(device))
        parts, labels = [gens, grid], []
        labels += [f"generator {i}" for i in range(self.group.batch_size(gens))]
        labels += [f"grid {i}" for i in range(self.group.batch_size(grid))]
        if n_random > 0:
            rnd = self.group.sample(n_random, torch.Generator().manual_seed(seed), dtype=dt)
            parts.append(self.group.to(rnd, device=device))
            labels += [f"random {i}" for i in range(n_random)]
        values = self.group.cat(parts)
        return Elements(values, [f"{lab}: {d}" if d else lab for lab, d in zip(labels, self.describe(values))],
                        self.traits(values))

    def describe(self, g) -> List[str]:
        return [""] * self.group.batch_size(g)

    def traits(self, g) -> Optional[List[frozenset]]:
        """Per element: ``"translation"`` (t ≠ 0, E(d)) and ``"improper"`` (det Q = −1, O(d), E(d));
        ``None`` for other groups."""
        if isinstance(self.group, Euclidean):
            q, t = self.group.linear_part(g), self.group.translation(g).norm(dim=-1)
        elif isinstance(self.group, OrthogonalGroup):
            q, t = g, None
        else:
            return None
        det = torch.linalg.det(q.to(torch.float64))
        out = []
        for i in range(det.shape[0]):
            tags = set()
            if det[i] < 0:
                tags.add("improper")
            if t is not None and t[i] > 0:
                tags.add("translation")
            out.append(frozenset(tags))
        return out

    def act_inputs(self, g, sample, stacked):
        return self._act_typed(g, stacked, sample.types)

    def act_outputs(self, g, sample, outputs, types, levels):
        return self._act_typed(g, outputs, types)


def _describe_orthogonal(q: torch.Tensor) -> List[str]:
    d = q.shape[-1]
    det = torch.linalg.det(q)
    rot = q * det.sign().reshape(-1, 1, 1) if d % 2 == 1 else q
    out = []
    for i in range(q.shape[0]):
        if d == 3:
            cos = ((torch.diagonal(rot[i]).sum() - 1) / 2).clamp(-1, 1)
            ang = math.degrees(math.acos(float(cos)))
            out.append(f"{'-' if det[i] < 0 else ''}rot {ang:.0f}°")
        elif d == 2:
            ang = math.degrees(math.atan2(float(q[i, 1, 0]), float(q[i, 0, 0])))
            out.append(("refl " if det[i] < 0 else "rot ") + f"{ang:.0f}°")
        else:
            out.append("det -1" if det[i] < 0 else "det +1")
    return out


class EuclideanSymmetry(GlobalSymmetry):
    """E(d) (or SE(d) with ``special=True``) acting on a whole sample.

    Points (``E.standard_rep()``) move by x ↦ Qx + t; vectors (``E.vector_rep()``) and e3nn
    irreps rotate by Q (irreps of parity p pick up p when det Q = −1); scalars and untyped
    ``edge_attr`` stay. Fields declared over O(d)/SO(d) see only Q. Exact.
    ``translation_scale`` sets the spread of the random translations.
    """

    def __init__(self, d: int = 3, special: bool = False, translation_scale: float = 1.0):
        group = (SpecialEuclidean if special else Euclidean)(d, translation_scale=translation_scale)
        super().__init__(group)
        self.d, self.special = d, special

    def describe(self, g):
        rots = _describe_orthogonal(self.group.linear_part(g))
        t = self.group.translation(g).norm(dim=-1)
        return [f"{r}, |t|={float(x):.2g}" if x > 0 else r for r, x in zip(rots, t)]


class SphereRotation(GlobalSymmetry):
    """SO(3) rotating signals on the sphere: spherical-harmonic coefficients (e3nn irreps,
    exact) and grid signals typed with ``SphericalGridRep`` (interpolating, approximate —
    the report says so)."""

    def __init__(self):
        super().__init__(SO3(), name="SO(3) on S²")

    def describe(self, g):
        return _describe_orthogonal(g)


class GroupSymmetryDescribed(GlobalSymmetry):
    def describe(self, g):
        if isinstance(self.group, OrthogonalGroup):
            return _describe_orthogonal(g)
        return super().describe(g)


# -- node permutations -------------------------------------------------------------------------
def _within_groups(group_of: torch.Tensor, num_groups: int, device):
    """Layout of items sorted by group: (order, counts, starts, group of sorted item, local position)."""
    m = group_of.shape[0]
    order = torch.argsort(group_of, stable=True)
    counts = torch.bincount(group_of, minlength=num_groups)
    starts = torch.cumsum(counts, 0) - counts
    sorted_group = group_of[order]
    local = torch.arange(m, device=device) - starts[sorted_group]
    return order, counts, starts, sorted_group, local


class _GroupwisePermutations:
    """Permutations of M items that map every group (graph of a batch) to itself."""

    def __init__(self, group_of: torch.Tensor, num_groups: int, device):
        self.m = group_of.shape[0]
        self.device = device
        self.order, counts, self.starts, self.group, self.local = _within_groups(group_of.to(device), num_groups, device)
        self.size = counts[self.group]

    def from_local(self, new_local):  # item order[j] → order[start + new_local[j]]
        p = torch.empty(self.m, dtype=torch.long, device=self.device)
        p[self.order] = self.order[self.starts[self.group] + new_local]
        return p

    def identity(self):
        return torch.arange(self.m, device=self.device)

    def swap(self):
        loc, size = self.local, self.size
        sw = torch.where(loc == 0, torch.ones_like(loc), torch.where(loc == 1, torch.zeros_like(loc), loc))
        return self.from_local(torch.where(size >= 2, sw, loc))

    def shift(self, by: int):
        return self.from_local((self.local + by) % self.size.clamp(min=1))

    def reverse(self):
        return self.from_local(self.size - 1 - self.local)

    def random(self, gen):
        key = self.group.cpu().to(torch.float64) * 2 + torch.rand(self.m, generator=gen, dtype=torch.float64)
        return self.from_local(torch.argsort(torch.argsort(key)).to(self.device) - self.starts[self.group])


class NodePermutation(Symmetry):
    """Relabel the nodes of each graph and reorder its edges: (σ, π) ∈ S_N × S_E, per graph.

    A graph is a set of nodes and a *set* of edges: neither the node labels nor the order of
    the columns of ``edge_index`` may matter. σ relabels nodes (within each graph of a batch):
    node tensors x ↦ x[σ⁻¹] (entry i moves to σ(i)), ``batch`` is permuted, every index
    attribute (``edge_index``, ``face``, ``*_index``, or the names in ``index_attributes``)
    maps its values i ↦ σ(i). π reorders the items of every item set (edges; faces; the
    items of other index attributes) within each graph: the item axis of the index attributes
    and the first axis of per-item tensors (``edge_attr``) move together. Node outputs permute
    by σ, per-item outputs by π, graph-level outputs must not change. Exact (up to the
    rounding of sums taken in another order).

    ``index_attributes``: the names of the index attributes (``edge_index`` is always one);
    ``None`` (default) takes ``face`` and names ending in ``_index`` that hold node indices.

    Elements: the swap of the first two nodes of every graph and the cyclic shift within
    every graph (together they generate the within-graph node permutations; items kept in
    order), the swap of the first two items and the cyclic shift of the items of every graph
    (nodes kept; together they generate the item reorderings), then grid and seeded random
    elements that do both: the reversal and double shift, random within-graph permutations.
    """

    name = "node permutation"

    def __init__(self, index_attributes=None):
        self.index_attributes = tuple(index_attributes) if index_attributes is not None else None

    def prepare(self, sample) -> None:
        if self.index_attributes is not None and sample.is_graph:
            sample.declare_index_attributes(self.index_attributes)

    def applies_to(self, sample, out_types) -> bool:
        return sample.num_nodes > 1

    def _layouts(self, sample, device):
        batch = sample.values.get("batch")
        batch = batch.to(device) if isinstance(batch, torch.Tensor) and batch.numel() else None
        graphs = sample.num_graphs if batch is not None else 1
        node_of = batch if batch is not None else torch.zeros(sample.num_nodes, dtype=torch.long, device=device)
        nodes = _GroupwisePermutations(node_of, graphs, device)
        items = {}
        for name, item_set in getattr(sample, "item_sets", {}).items():
            if item_set.size:
                values = {n: sample.values[n].to(device) for n in item_set.index_names}
                items[name] = _GroupwisePermutations(item_set.graph_of_items(values, batch), graphs, device)
        return nodes, items

    def elements(self, sample, *, n_grid, n_random, seed, device) -> Elements:
        nodes, items = self._layouts(sample, device)
        what = ", ".join(f"{n}s" for n in items)
        rows = []  # (node permutation, {set: item permutation}, label, traits)

        def keep():
            return {k: p.identity() for k, p in items.items()}

        both = frozenset({"nodes", "items"}) if items else frozenset({"nodes"})
        rows.append((nodes.swap(), keep(), "swap nodes 0,1 of each graph", frozenset({"nodes"})))
        rows.append((nodes.shift(1), keep(), "cyclic shift in each graph", frozenset({"nodes"})))
        if any(p.m > 1 for p in items.values()):
            rows.append((nodes.identity(), {k: p.swap() for k, p in items.items()}, f"swap {what} 0,1 of each graph",
                         frozenset({"items"})))
            rows.append((nodes.identity(), {k: p.shift(1) for k, p in items.items()}, f"cyclic shift of {what} in each graph",
                         frozenset({"items"})))
        labels = [f"generator {i}: {lab}" for i, (_, _, lab, _) in enumerate(rows)]
        grid = [(nodes.reverse(), {k: p.reverse() for k, p in items.items()}, "reverse each graph" + (f" and its {what}" if items else "")),
                (nodes.shift(2), {k: p.shift(2) for k, p in items.items()}, "shift by 2" + (f" (and {what})" if items else ""))]
        for i, (pn, pi, lab) in enumerate(grid[: max(n_grid, 0)]):
            rows.append((pn, pi, lab, both))
            labels.append(f"grid {i}: {lab}")
        gen = torch.Generator().manual_seed(seed)
        for i in range(n_random):
            pn = nodes.random(gen)
            rows.append((pn, {k: p.random(gen) for k, p in items.items()}, "", both))
            labels.append(f"random {i}")
        values = GraphRelabelling(torch.stack([r[0] for r in rows]), {k: torch.stack([r[1][k] for r in rows]) for k in items})
        Symmetric(sample.num_nodes).validate(values.nodes)
        return Elements(values, labels, [r[3] for r in rows])

    @staticmethod
    def _parts(g):
        if isinstance(g, GraphRelabelling):
            return g.nodes, g.items
        return g, {}  # a plain [K, N] batch of node permutations: items keep their order

    def act_inputs(self, g, sample, stacked):
        nodes, items = self._parts(g)
        inv = torch.argsort(nodes, dim=-1)  # [K, N]: new[j] = old[σ⁻¹(j)]
        k = nodes.shape[0]
        rows = torch.arange(k, device=nodes.device).unsqueeze(1)
        item_inv = {name: torch.argsort(p, dim=-1) for name, p in items.items()}
        out = dict(stacked)
        for name, lv in sample.levels.items():
            v = stacked.get(name)
            if not isinstance(v, torch.Tensor):
                continue
            if lv == "node" or (lv == "tensor" and v.dim() > 1 and v.shape[1] == sample.num_nodes):
                out[name] = v[rows, inv]
            elif lv == "batch":
                out[name] = v[rows, inv]
            elif lv in ("edge_index", "index"):
                moved = torch.gather(nodes, 1, v.reshape(k, -1)).reshape(v.shape)
                item_set = sample.item_set_of(name)
                if item_set is not None and item_set.name in item_inv:
                    pinv = item_inv[item_set.name]
                    moved = torch.gather(moved, -1, pinv.view(k, *([1] * (v.dim() - 2)), -1).expand(moved.shape))
                out[name] = moved
            elif lv in item_inv:
                out[name] = v[rows, item_inv[lv]]
        return out

    def act_outputs(self, g, sample, outputs, types, levels):
        nodes, items = self._parts(g)
        inv = torch.argsort(nodes, dim=-1)
        rows = torch.arange(nodes.shape[0], device=nodes.device).unsqueeze(1)
        item_inv = {name: torch.argsort(p, dim=-1) for name, p in items.items()}
        out = dict(outputs)
        for name, v in outputs.items():
            lv = levels[name]
            if lv == "node" or (lv == "tensor" and v.dim() > 1 and v.shape[1] == sample.num_nodes):
                out[name] = v[rows, inv]
            elif lv in item_inv:
                out[name] = v[rows, item_inv[lv]]
        return out


# -- gauge transformations -----------------------------------------------------------------------
class GaugeSymmetry(Symmetry):
    """A gauge transformation: one SO(2) element θ_i per vertex (a change of tangent frame).

    Convention (edge e = (j → i): ``edge_index[0, e] = j`` sends, ``edge_index[1, e] = i``
    receives; the element h_i = θ_i acts on features by ρ(h_i)):

    - vertex features typed over ``SO2()`` (direct sums of ρ_m): x_i ↦ ρ(θ_i) x_i;
    - transport angles (``transport``, per edge; ρ(α_ij) x_j expresses x_j in i's frame):
      g_ij ↦ h_i g_ij h_j⁻¹, i.e. α_ij ↦ α_ij + θ_i − θ_j;
    - neighbour angles (``neighbour_angle``, per edge: the polar angle of log_i(x_j) in i's
      frame; the frame turns by −θ_i so tangent coordinates turn by +θ_i): φ_ij ↦ φ_ij + θ_i.

    (GEM-CNN's code writes the same transformation with a_i = −θ_i: x_i ↦ ρ(−a_i)x_i,
    α ↦ α − a_i + a_j, φ ↦ φ − a_i.) Angles are wrapped to (−π, π]. Outputs typed over SO2
    rotate by ρ(θ_i); other outputs are invariant. Exact. The action itself is
    ``gdl.gauge.GaugeTransform`` (the one implementation in gdl); this class picks the
    elements and routes the sample's tensors to it.

    Elements: the constant angle 1 rad at every vertex (a global rotation of all frames),
    1 rad at vertex 0 only (a local change), grid: θ_i = 2πi/N and alternating ±2, then
    seeded uniform random angles per vertex.
    """

    name = "gauge"

    def __init__(self, transport: str = "transport", neighbour_angle: str = "neighbour_angle"):
        self.transport = transport
        self.neighbour_angle = neighbour_angle
        self.group = SO2()

    def applies_to(self, sample, out_types) -> bool:
        typed = any(t.group == self.group for t in list(sample.types.values()) + list(out_types.values()) if t is not None)
        return typed or self.transport in sample.values or self.neighbour_angle in sample.values

    def elements(self, sample, *, n_grid, n_random, seed, device) -> Elements:
        n = sample.num_nodes
        dt = torch.float64
        idx = torch.arange(n, device=device, dtype=dt)
        thetas = [torch.ones(n, dtype=dt, device=device), (idx == 0).to(dt)]
        labels = ["generator 0: 1 rad at every vertex", "generator 1: 1 rad at vertex 0"]
        grid = [(2 * math.pi * idx / max(n, 1), "θ_i = 2πi/N"), (2.0 * (1 - 2 * (idx % 2)), "θ_i = ±2 alternating")]
        for i, (t, lab) in enumerate(grid[: max(n_grid, 0)]):
            thetas.append(t)
            labels.append(f"grid {i}: {lab}")
        gen = torch.Generator().manual_seed(seed)
        for i in range(n_random):
            thetas.append((math.pi - 2 * math.pi * torch.rand(n, generator=gen, dtype=dt)).to(device))
            labels.append(f"random {i}")
        return Elements(wrap_angle(torch.stack(thetas)), labels)

    def _rotate(self, gauge, tensors, types, levels):
        out = dict(tensors)
        for name, ftype in types.items():
            v = tensors.get(name)
            if ftype is None or ftype.group != self.group or not isinstance(v, torch.Tensor):
                continue
            if levels.get(name) not in ("node", "tensor") or v.shape[1] != gauge.num_nodes:
                raise ValueError(f"gauge field {name!r} must be per vertex (first axis = number of vertices)")
            out[name] = gauge.transform_field(v, ftype)
        return out

    def act_inputs(self, theta, sample, stacked):
        gauge = GaugeTransform(self.group, theta)  # [K copies, N vertices]
        out = self._rotate(gauge, stacked, sample.types, sample.levels)
        ei = stacked.get("edge_index")
        if self.transport in stacked or self.neighbour_angle in stacked:
            if not isinstance(ei, torch.Tensor):
                raise ValueError("a gauge transformation of transport / neighbour angles needs edge_index")
            if self.transport in stacked:
                out[self.transport] = gauge.transform_transport(stacked[self.transport], ei)
            if self.neighbour_angle in stacked:
                out[self.neighbour_angle] = gauge.transform_neighbour_angle(stacked[self.neighbour_angle], ei)
        return out

    def act_outputs(self, theta, sample, outputs, types, levels):
        return self._rotate(GaugeTransform(self.group, theta), outputs, types, levels)


def derive_symmetries(sample, out_types) -> List[Symmetry]:
    """The symmetries implied by the declared types: one global symmetry per group found
    (E(d), O(3), …), a gauge symmetry for SO(2) fields on graphs with transport angles, and
    node permutations when the sample is a graph."""
    groups = []
    for t in list(sample.types.values()) + list(out_types.values()):
        if t is not None and t.group not in groups:
            groups.append(t.group)
    syms: List[Symmetry] = []
    gauge = GaugeSymmetry()
    for grp in groups:
        if grp == SO2() and sample.is_graph and (gauge.transport in sample.values or gauge.neighbour_angle in sample.values):
            syms.append(gauge)
        elif isinstance(grp, Euclidean):
            syms.append(EuclideanSymmetry(grp.d, special=grp.special))
        elif isinstance(grp, Symmetric) and sample.is_graph:
            continue  # permutation types on graphs are handled by NodePermutation
        else:
            syms.append(GroupSymmetryDescribed(grp))
    # an E(d) symmetry subsumes the O(d)/SO(d) acting on the same fields
    euclid = [s for s in syms if isinstance(s, EuclideanSymmetry)]
    if euclid:
        syms = [s for s in syms if not (isinstance(s, GroupSymmetryDescribed) and any(
            _element_map(e.group, s.group) is not None for e in euclid))]
    if sample.is_graph and sample.num_nodes > 1:
        syms.append(NodePermutation())
    return syms
