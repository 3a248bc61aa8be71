"""``GaugeTransform``: one group element h_i per vertex, a change of every tangent frame.

Convention (the one ``gdl.testing.GaugeSymmetry`` checks; docs/testing.md derives it). Edge
e = (j → i): ``edge_index[0, e] = j`` sends, ``edge_index[1, e] = i`` receives. For a gauge
group G ⊂ SO(2) (``SO2()``: angles θ; ``Cyclic(N)``: integers k, angle 2πk/N):

- a vertex field of field type ρ (any rep of G): x_i ↦ ρ(h_i) x_i;
- a connection valued in G (one element g_ij per edge, ρ(g_ij) x_j is x_j in i's frame):
  g_ij ↦ h_i g_ij h_j⁻¹ (through ``G.compose`` / ``G.inverse``: angles wrapped to (−π, π]
  for SO(2), integers mod N for C_N);
- geometric angles, through the homomorphism h ↦ θ(h) ∈ SO(2): the Levi-Civita transport
  α_ij ↦ α_ij + θ_i − θ_j, the log-map angle φ_ij ↦ φ_ij + θ_i, and the frames turn by −θ_i
  (e_x' = cos θ e_x − sin θ e_y, e_y' = sin θ e_x + cos θ e_y), so tangent coordinates turn
  by +θ_i. For G = SO(2) the transport angle *is* the G-connection.

A kernel K(φ) = ρ_out(φ) W ρ_in(−φ) then gives an equivariant message:
K(φ + θ_i) ρ(α + θ_i − θ_j) ρ(θ_j) x_j = ρ(θ_i) K(φ) ρ(α) x_j.

Batches: ``elements`` is a batch of V elements ([V] for SO(2) / C_N), or K stacked copies
[K, V] (K gauge transformations applied to K copies of a sample, as the checker does);
every tensor acted on then carries the same leading copy axis.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch

from gdl.gauge._frames import rotate_frames
from gdl.groups import SO2, FieldType, Group, Rep


class GaugeTransform:
    """h_i ∈ G for every vertex i (G = ``SO2()`` or ``Cyclic(N)``; see the module docstring).

    >>> import torch
    >>> from gdl.groups import SO2
    >>> h = GaugeTransform(SO2(), torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64))
    >>> x = torch.randn(3, 2, dtype=torch.float64)                    # ρ_1 per vertex
    >>> y = h.transform_field(x, SO2().irrep(1))                      # x_i ↦ ρ_1(h_i) x_i
    >>> edge_index = torch.tensor([[0, 1], [1, 2]])                   # 0 → 1, 1 → 2
    >>> alpha = h.transform_connection(torch.zeros(2, dtype=torch.float64), edge_index)  # h_i g h_j⁻¹
    """

    def __init__(self, group: Group, elements):
        if not isinstance(group, Group):
            raise TypeError(f"GaugeTransform: expected a gdl Group (SO2(), Cyclic(N)), got {type(group).__name__}")
        if not isinstance(elements, torch.Tensor):
            raise TypeError(f"GaugeTransform: expected the elements as a torch.Tensor, got {type(elements).__name__}")
        lead = elements.dim() - len(group.element_shape)
        if lead not in (1, 2) or tuple(elements.shape[lead:]) != tuple(group.element_shape):
            raise ValueError(
                f"GaugeTransform over {group}: expected elements of shape [V{''.join(', ' + str(s) for s in group.element_shape)}] "
                f"or [K, V{''.join(', ' + str(s) for s in group.element_shape)}], got {list(elements.shape)}"
            )
        group.validate(elements.reshape(-1, *group.element_shape))
        self.group = group
        self.elements = elements
        self.copies = tuple(elements.shape[: lead - 1])  # () or (K,)
        self.num_nodes = elements.shape[lead - 1]

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def identity(cls, group: Group, num_nodes: int, *, dtype=None, device=None) -> "GaugeTransform":
        return cls(group, group.identity(num_nodes, dtype=dtype, device=device))

    @classmethod
    def random(cls, group: Group, num_nodes: int, generator: Optional[torch.Generator] = None, *, dtype=None,
               device=None) -> "GaugeTransform":
        """Independent (Haar) random elements per vertex."""
        return cls(group, group.sample(num_nodes, generator, dtype=dtype, device=device))

    # -- group law -------------------------------------------------------------------------
    def _flat(self) -> torch.Tensor:
        return self.elements.reshape(-1, *self.group.element_shape)

    def _same(self, other: "GaugeTransform"):
        if not isinstance(other, GaugeTransform) or other.group != self.group:
            raise TypeError(f"GaugeTransform over {self.group}: cannot combine with {other!r}")
        if other.elements.shape != self.elements.shape:
            raise ValueError(
                f"GaugeTransform: element batches differ in shape, {list(self.elements.shape)} vs {list(other.elements.shape)}"
            )

    def compose(self, other: "GaugeTransform") -> "GaugeTransform":
        """``self ∘ other`` vertex by vertex: acting with it = acting with ``other``, then ``self``."""
        self._same(other)
        return GaugeTransform(self.group, self.group.compose(self._flat(), other._flat()).reshape(self.elements.shape))

    def __matmul__(self, other: "GaugeTransform") -> "GaugeTransform":
        return self.compose(other)

    def inverse(self) -> "GaugeTransform":
        return GaugeTransform(self.group, self.group.inverse(self._flat()).reshape(self.elements.shape))

    def angles(self) -> torch.Tensor:
        """θ(h_i) ∈ (−π, π] through the homomorphism G → SO(2), shape ``copies + [V]``."""
        hom = self.group.embedding_into(SO2()) if self.group != SO2() else (lambda g: g)
        theta = hom(self._flat())
        if not theta.is_floating_point():
            theta = theta.to(torch.get_default_dtype())
        return theta.reshape(self.copies + (self.num_nodes,))

    def as_rotations(self) -> "GaugeTransform":
        """The same gauge change as SO(2) angles (how it acts on geometric angles and frames)."""
        return self if self.group == SO2() else GaugeTransform(SO2(), self.angles())

    # -- actions ---------------------------------------------------------------------------
    def transform_field(self, x: torch.Tensor, field_type, axis: Optional[int] = None) -> torch.Tensor:
        """x_i ↦ ρ(h_i) x_i for a vertex field x of shape ``copies + [V, ...]``.

        ``field_type``: a ``FieldType`` over this transform's group (its axis is used) or a
        ``Rep`` (then ``axis``, default −1). Axes count within one vertex's slice of the
        original per-vertex tensor ([V, ...]); negative axes are safest.
        """
        if isinstance(field_type, FieldType):
            rep, ax = field_type.rep, field_type.axis if axis is None else axis
        elif isinstance(field_type, Rep):
            rep, ax = field_type, -1 if axis is None else axis
        else:
            raise TypeError(f"GaugeTransform.transform_field: expected a FieldType or Rep, got {type(field_type).__name__}")
        if rep.group != self.group:
            raise TypeError(f"GaugeTransform over {self.group} cannot act on a field of {rep.group} ({rep})")
        lead = self.copies + (self.num_nodes,)
        if not isinstance(x, torch.Tensor) or tuple(x.shape[: len(lead)]) != lead or x.dim() <= len(lead):
            got = list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"GaugeTransform: a vertex field must have leading shape {list(lead)} (copies, vertices) "
                             f"and a channel axis, got {got}")
        flat = x.reshape((-1, self.num_nodes) + x.shape[len(lead):]).flatten(0, 1)  # [K·V, ...]
        if ax == 0 or ax < -(x.dim() - len(lead)):
            raise ValueError(f"GaugeTransform: field axis {ax} is not a channel axis of a per-vertex tensor {list(x.shape[len(lead) - 1:])}")
        out = rep.act(self._flat(), flat, axis=ax)
        return out.reshape(x.shape)

    def _edge_elements(self, edge_index: torch.Tensor, which: int) -> torch.Tensor:
        """h at ``edge_index[which]`` per edge: ``copies + [E] + element_shape``."""
        if edge_index.dim() == 2:
            if edge_index.shape[0] != 2:
                raise ValueError(f"GaugeTransform: expected edge_index of shape [2, E], got {list(edge_index.shape)}")
            return self.elements.index_select(len(self.copies), edge_index[which])
        if edge_index.dim() == 3 and self.copies and edge_index.shape[:2] == (self.copies[0], 2):
            rows = torch.arange(self.copies[0], device=edge_index.device)[:, None]
            return self.elements[rows, edge_index[:, which]]
        raise ValueError(
            f"GaugeTransform: expected edge_index of shape [2, E] (or [K, 2, E] for {self.copies or 'no'} copies), "
            f"got {list(edge_index.shape)}"
        )

    def _compose_per_edge(self, group: Group, left: torch.Tensor, g: torch.Tensor, right: Optional[torch.Tensor]) -> torch.Tensor:
        """left ∘ g (∘ right) per edge; g may carry extra axes after the edge axis (broadcast)."""
        es = tuple(group.element_shape)
        n_lead = len(self.copies) + 1
        extra = g.dim() - n_lead - len(es)
        if extra < 0 or tuple(g.shape[g.dim() - len(es):]) != es or tuple(g.shape[:n_lead]) != tuple(left.shape[:n_lead]):
            raise ValueError(
                f"GaugeTransform: expected per-edge elements of {group} with leading shape {list(left.shape[:n_lead])}, "
                f"got {list(g.shape)}"
            )
        view = left.shape[:n_lead] + (1,) * extra + es
        left = left.reshape(view).expand(g.shape).reshape(-1, *es)
        out = group.compose(left, g.reshape(-1, *es))
        if right is not None:
            out = group.compose(out, right.reshape(view).expand(g.shape).reshape(-1, *es))
        return out.reshape(g.shape)

    def transform_connection(self, connection: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """g_ij ↦ h_i g_ij h_j⁻¹ for a G-valued connection, shape ``copies + [E, ...]`` (+ G's
        element shape), with i = ``edge_index[1]`` (receiver) and j = ``edge_index[0]``."""
        h_i = self._edge_elements(edge_index, 1)
        h_j_inv = self.group.inverse(self._edge_elements(edge_index, 0).reshape(-1, *self.group.element_shape))
        return self._compose_per_edge(self.group, h_i, connection, h_j_inv.reshape(h_i.shape))

    def transform_transport(self, transport: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Levi-Civita transport angles α_ij ↦ α_ij + θ_i − θ_j (through G → SO(2))."""
        return self.as_rotations().transform_connection(transport, edge_index)

    def transform_neighbour_angle(self, angle: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Log-map angles φ_ij ↦ φ_ij + θ_i (i = receiver), wrapped to (−π, π]."""
        rot = self.as_rotations()
        theta_i = rot._edge_elements(edge_index, 1)
        return rot._compose_per_edge(SO2(), theta_i, angle, None)

    def transform_frames(self, frame_x: torch.Tensor, frame_y: torch.Tensor):
        """Turn each vertex's frame by −θ_i (tangent coordinates then turn by +θ_i)."""
        return rotate_frames(frame_x, frame_y, self.angles().to(frame_x.dtype))

    def transform_data(self, data, field_types: Optional[Dict[str, object]] = None, *, transport: str = "transport",
                       neighbour_angle: str = "neighbour_angle", frames=("frame_x", "frame_y")):
        """A copy of a PyG ``Data`` (one sample, no copy axis) with the gauge changed: the typed
        vertex fields in ``field_types`` ({attribute: FieldType or Rep}), and the geometry
        ``MeshGeometry`` writes (transport, neighbour angle, frames) where present. Normals,
        radii and positions do not change."""
        if self.copies:
            raise ValueError("GaugeTransform.transform_data acts on one sample: build it with [V] elements, not [K, V]")
        out = data.clone()
        for name, ftype in (field_types or {}).items():
            if getattr(data, name, None) is None:
                raise ValueError(f"GaugeTransform.transform_data: the data has no field {name!r} to transform")
            setattr(out, name, self.transform_field(getattr(data, name), ftype))
        ei = getattr(data, "edge_index", None)
        for name, fn in ((transport, self.transform_transport), (neighbour_angle, self.transform_neighbour_angle)):
            if getattr(data, name, None) is not None:
                if ei is None:
                    raise ValueError(f"GaugeTransform.transform_data: {name!r} needs data.edge_index")
                setattr(out, name, fn(getattr(data, name), ei))
        fx, fy = frames
        if getattr(data, fx, None) is not None and getattr(data, fy, None) is not None:
            new_x, new_y = self.transform_frames(getattr(data, fx), getattr(data, fy))
            setattr(out, fx, new_x)
            setattr(out, fy, new_y)
        return out

    def __repr__(self):
        shape = list(self.copies) + [self.num_nodes]
        return f"GaugeTransform[{self.group}]({'×'.join(map(str, shape))} elements)"
