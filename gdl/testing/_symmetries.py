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
  batch): node tensors x ↦ x[σ⁻¹], ``edge_index`` ↦ σ(edge_index) (edge order kept),
  ``batch`` permuted; graph-level outputs are invariant.
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
    """A batch of group elements (``values``) with a label per element for the report."""

    values: object
    labels: List[str]

    def __len__(self):
        return len(self.labels)


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
        return Elements(values, [f"{lab}: {d}" if d else lab for lab, d in zip(labels, self.describe(values))])

    def describe(self, g) -> List[str]:
        return [""] * self.group.batch_size(g)

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
class NodePermutation(Symmetry):
    """Relabel the nodes of each graph: σ ∈ S_N that maps every graph of a batch to itself.

    Node-indexed tensors (first axis = number of nodes) become x[σ⁻¹] (entry i moves to
    σ(i)), ``edge_index`` becomes σ(edge_index) with the edge order kept (so per-edge
    tensors are unchanged), ``batch`` is permuted; node outputs must permute the same way,
    graph-level and edge outputs must not change. Exact.

    Elements: the swap of the first two nodes of every graph, the cyclic shift within every
    graph (together they generate the within-graph permutations), the reversal and double
    shift (grid), then seeded random within-graph permutations.
    """

    name = "node permutation"

    def applies_to(self, sample, out_types) -> bool:
        return sample.num_nodes > 1

    def _graph_layout(self, sample, device):
        n = sample.num_nodes
        batch = sample.values.get("batch")
        if isinstance(batch, torch.Tensor) and batch.numel():
            batch = batch.to(device)
            order = torch.argsort(batch, stable=True)
            counts = torch.bincount(batch, minlength=sample.num_graphs)
        else:
            order = torch.arange(n, device=device)
            counts = torch.tensor([n], device=device)
        starts = torch.cumsum(counts, 0) - counts
        # position of each node (in graph-sorted order) within its graph
        graph_of = torch.repeat_interleave(torch.arange(len(counts), device=device), counts)
        local = torch.arange(n, device=device) - starts[graph_of]
        return order, counts, starts, graph_of, local

    def elements(self, sample, *, n_grid, n_random, seed, device) -> Elements:
        n = sample.num_nodes
        order, counts, starts, graph_of, local = self._graph_layout(sample, device)
        size = counts[graph_of]
        perms, labels = [], []

        def from_local(new_local):  # permutation of node order[j] → order[start + new_local[j]]
            p = torch.empty(n, dtype=torch.long, device=device)
            p[order] = order[starts[graph_of] + new_local]
            return p

        swap = torch.where(local == 0, torch.ones_like(local), torch.where(local == 1, torch.zeros_like(local), local))
        swap = torch.where(size >= 2, swap, local)
        perms += [from_local(swap), from_local((local + 1) % size)]
        labels += ["generator 0: swap nodes 0,1 of each graph", "generator 1: cyclic shift in each graph"]
        grid = [(from_local(size - 1 - local), "reverse each graph"), (from_local((local + 2) % size), "shift by 2")]
        for i, (p, lab) in enumerate(grid[: max(n_grid, 0)]):
            perms.append(p)
            labels.append(f"grid {i}: {lab}")
        gen = torch.Generator().manual_seed(seed)
        for i in range(n_random):
            key = graph_of.cpu().to(torch.float64) * 2 + torch.rand(n, generator=gen, dtype=torch.float64)
            new_local = torch.argsort(torch.argsort(key)).to(device) - starts[graph_of]
            perms.append(from_local(new_local))
            labels.append(f"random {i}")
        values = torch.stack(perms)
        Symmetric(n).validate(values)
        return Elements(values, labels)

    def act_inputs(self, g, sample, stacked):
        inv = torch.argsort(g, dim=-1)  # [K, N]: new[j] = old[σ⁻¹(j)]
        k = g.shape[0]
        rows = torch.arange(k, device=g.device).unsqueeze(1)
        out = dict(stacked)
        for name, lv in sample.levels.items():
            v = stacked.get(name)
            if not isinstance(v, torch.Tensor):
                continue
            if lv == "node" or (lv == "tensor" and v.dim() > 1 and v.shape[1] == sample.num_nodes):
                out[name] = v[rows, inv]
            elif lv == "batch":
                out[name] = v[rows, inv]
            elif lv == "edge_index":
                out[name] = torch.gather(g, 1, v.reshape(k, -1)).reshape(v.shape)
        return out

    def act_outputs(self, g, sample, outputs, types, levels):
        inv = torch.argsort(g, dim=-1)
        rows = torch.arange(g.shape[0], device=g.device).unsqueeze(1)
        out = dict(outputs)
        for name, v in outputs.items():
            lv = levels[name]
            if lv == "node" or (lv == "tensor" and v.dim() > 1 and v.shape[1] == sample.num_nodes):
                out[name] = v[rows, inv]
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
