"""``GaugeEquivariantConv``: the gauge-equivariant mesh convolution (GEM-CNN, de Haan et al. 2021, eq. 2).

For a vertex i with incoming edges e = (j → i) (``edge_index[0] = j`` sends, ``[1] = i``
receives), log-map radius r_ij and angle φ_ij of j in i's frame, and transport angle α_ij
(ρ(α_ij) x_j is x_j written in i's frame; all as ``gdl.gauge.MeshGeometry`` writes them):

    y_i = K_self x_i + AGG_{j→i}  K(r_ij, φ_ij) ρ_in(α_ij) x_j  + b,

with AGG a sum or a mean over the neighbours (self-loops excluded from it), and

- K(r, φ) = Σ_rings h_ring(r / max_radius) Σ_b w_{ring,b} K_b(φ), the K_b solved from the
  constraint K(φ + θ) = ρ_out(θ) K(φ) ρ_in(−θ) (``solve_kernel_basis``, through gdl.groups);
  h_ring are linear "hat" functions on the FIXED scale ``max_radius`` (a constructor
  argument: never from the batch), with centres 0, 1/(R−1), …, 1 and width 1/(R−1)
  (R = ``n_rings``; R = 1: h(t) = max(0, 1 − t)); edges beyond the last hat get weight 0;
- K_self from the maps commuting with every rotation (``solve_self_interaction_basis``: I
  and J on equal frequencies), on by default (``self_interaction=True``), the term of the
  self-loop at r = 0 where no angle exists;
- b: a bias on the ρ_0 outputs only (a bias on ρ_m, m ≥ 1, would break the symmetry).

**Symmetry.** Gauge equivariant, exact: with x_i ↦ ρ(θ_i)x_i, φ_ij ↦ φ_ij + θ_i and
α_ij ↦ α_ij + θ_i − θ_j (``gdl.testing.GaugeSymmetry``), y_i ↦ ρ_out(θ_i) y_i. Invariant to
rigid motions of the mesh whenever the geometry is (frames from the "neighbour" reference).

**Fused computation.** Every solved kernel satisfies K_b(φ) = ρ_out(φ) K_b(0) ρ_in(−φ), so
the message is ρ_out(φ) W(r) ρ_in(α − φ) x_j with W(r) = Σ_ring h_ring(r) W_ring. Per edge:
gather x_j, rotate it by (α − φ) (cos/sin of multiples, one multiply-add per frequency),
one matmul per ring with the weight scaled by the ring's hat value, rotate by φ, scatter —
in chunks of ``EDGE_CHUNK`` edges, so no [edges × rings × channels × (2L+1)] intermediate is
built and edge temporaries are [chunk × channels] (in cache). Backward recomputes the
rotated inputs chunk by chunk instead of storing them.

**Inputs.** ``conv(x, data)`` with ``data`` a PyG ``Data`` carrying ``edge_index``,
``neighbour_radius``, ``neighbour_angle`` and ``transport`` (``gdl.gauge.MeshGeometry``), or
``conv(x, edge_index, neighbour_radius, neighbour_angle, transport)``. ``x``: [N, in_type.dim]
in the channel order of ``in_type``. Output: [N, out_type.dim].
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from gdl.nn._checks import check_edge_index, check_field, check_finite, check_matches_module, reference_tensor
from gdl.nn.mesh._kernel_basis import solve_kernel_basis, solve_self_interaction_basis
from gdl.nn.mesh._layout import GaugeFieldLayout, GaugeTypeLike

_GEOMETRY = ("edge_index", "neighbour_radius", "neighbour_angle", "transport")


def mesh_geometry_inputs(edge_index, neighbour_radius=None, neighbour_angle=None, transport=None, *, who: str):
    """``(edge_index, radius, angle, transport)`` from a Data (``MeshGeometry`` attributes) or
    from explicit tensors; a clear error naming what is missing."""
    if not isinstance(edge_index, torch.Tensor) and edge_index is not None and hasattr(edge_index, "edge_index"):
        data = edge_index
        missing = [k for k in _GEOMETRY if getattr(data, k, None) is None]
        if missing:
            raise ValueError(f"{who}: the data lacks the mesh geometry {missing}; run it through "
                             f"gdl.gauge.MeshGeometry() first (it writes {list(_GEOMETRY)})")
        edge_index, neighbour_radius, neighbour_angle, transport = (getattr(data, k) for k in _GEOMETRY)
    missing = [k for k, v in zip(_GEOMETRY, (edge_index, neighbour_radius, neighbour_angle, transport)) if v is None]
    if missing:
        raise ValueError(f"{who}: missing mesh geometry {missing}: call it as conv(x, data) on a Data that went "
                         f"through gdl.gauge.MeshGeometry(), or pass edge_index, neighbour_radius, neighbour_angle, transport")
    n_edges = edge_index.shape[1] if isinstance(edge_index, torch.Tensor) and edge_index.dim() == 2 else None
    for name, v in (("neighbour_radius", neighbour_radius), ("neighbour_angle", neighbour_angle), ("transport", transport)):
        if not isinstance(v, torch.Tensor) or v.dim() != 1 or (n_edges is not None and v.shape[0] != n_edges):
            got = list(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise ValueError(f"{who}: expected '{name}' of shape [{n_edges if n_edges is not None else 'E'}] (one value per edge), got {got}")
    return edge_index, neighbour_radius, neighbour_angle, transport


def hat_profile(t: torch.Tensor, n_rings: int) -> torch.Tensor:
    """The ring weights h_ring(t) [E, R] of the module docstring (t = r / max_radius ≥ 0)."""
    if n_rings == 1:
        return (1 - t).clamp_min(0)[:, None]
    centres = torch.linspace(0, 1, n_rings, dtype=t.dtype, device=t.device)
    return (1 - (t[:, None] - centres).abs() * (n_rings - 1)).clamp_min(0)


def _orthonormal(basis: torch.Tensor) -> torch.Tensor:
    """Orthonormalise [B, p, q] matrices in the Frobenius inner product (same span)."""
    flat = basis.reshape(basis.shape[0], -1)
    q, _ = torch.linalg.qr(flat.T)
    return q.T.reshape(basis.shape)


class GaugeEquivariantConv(nn.Module):
    """Gauge-equivariant convolution between SO(2) field types (module docstring).

    Args:
        in_type, out_type: SO(2) field types ρ_0 ⊕ … ⊕ ρ_L with any multiplicities
            (``FieldType``, ``Rep`` or a string such as ``"16x0+16x1+16x2"``).
        max_radius: the fixed radial scale (in the mesh's length unit): hats on r / max_radius.
        n_rings: number of radial hat functions (default 2).
        self_interaction: add K_self x_i (default ``True``).
        aggregation: ``"mean"`` (default; over the neighbours, 0 for none) or ``"sum"``.
        bias: a learnable bias on the ρ_0 outputs (default ``True``).

    ``in_type`` / ``out_type`` are ``FieldType`` s over ``SO2()``.
    """

    def __init__(self, in_type: GaugeTypeLike, out_type: GaugeTypeLike, max_radius: float, n_rings: int = 2,
                 self_interaction: bool = True, aggregation: str = "mean", bias: bool = True):
        super().__init__()
        self.layout_in = GaugeFieldLayout(in_type, "GaugeEquivariantConv in_type")
        self.layout_out = GaugeFieldLayout(out_type, "GaugeEquivariantConv out_type")
        self.in_type = {"x": self.layout_in.field_type}
        self.out_type = self.layout_out.field_type
        if isinstance(max_radius, bool) or not isinstance(max_radius, (int, float)) or not math.isfinite(max_radius) or max_radius <= 0:
            raise ValueError(f"GaugeEquivariantConv: max_radius is the fixed radial scale, a positive number; got {max_radius!r}")
        if isinstance(n_rings, bool) or not isinstance(n_rings, int) or n_rings < 1:
            raise ValueError(f"GaugeEquivariantConv: n_rings is a positive integer, got {n_rings!r}")
        if aggregation not in ("mean", "sum"):
            raise ValueError(f"GaugeEquivariantConv: aggregation is 'mean' or 'sum', got {aggregation!r}")
        self.max_radius = float(max_radius)
        self.n_rings = n_rings
        self.self_interaction = bool(self_interaction)
        self.aggregation = aggregation
        lin, lout = self.layout_in, self.layout_out
        fan_in = max(lin.dim, 1) * (n_rings + (1 if self_interaction else 0))
        std = 1.0 / math.sqrt(fan_in)
        self._pairs, self._self_pairs = [], []
        self._bases, self._self_bases = {}, {}
        self.weight = nn.ParameterDict()
        self.self_weight = nn.ParameterDict()
        for m in range(lout.max_freq + 1):
            for n in range(lin.max_freq + 1):
                if not lout.counts[m] or not lin.counts[n]:
                    continue
                basis = _orthonormal(solve_kernel_basis(m, n).at_zero())
                self._bases[(m, n)] = basis  # float64, cast where used (a buffer would lose digits in .float().double())
                self.weight[f"{m}_{n}"] = nn.Parameter(torch.randn(n_rings, lout.counts[m], lin.counts[n], basis.shape[0]) * std)
                self._pairs.append((m, n))
                if self_interaction:
                    sbasis = solve_self_interaction_basis(m, n)
                    if sbasis.shape[0]:
                        sbasis = _orthonormal(sbasis)
                        self._self_bases[(m, n)] = sbasis
                        self.self_weight[f"{m}_{n}"] = nn.Parameter(torch.randn(lout.counts[m], lin.counts[n], sbasis.shape[0]) * std)
                        self._self_pairs.append((m, n))
        self.bias = nn.Parameter(torch.zeros(lout.counts[0])) if bias and lout.counts[0] else None

    # -- weights in the grouped layout ---------------------------------------------------------
    def _block(self, w: torch.Tensor, basis: torch.Tensor, m: int, n: int) -> torch.Tensor:
        """[..., d_m c_m, d_n c_n] from weights [..., c_m, c_n, B] and basis [B, d_m, d_n]:
        entry ((p, o), (q, i)) = Σ_b w[o, i, b] basis[b, p, q] (component-major, as grouped)."""
        blk = torch.einsum("...oib,bpq->...poqi", w, basis.to(dtype=w.dtype, device=w.device))
        return blk.reshape(*w.shape[:-3], basis.shape[1] * w.shape[-3], basis.shape[2] * w.shape[-2])

    def ring_weights(self) -> torch.Tensor:
        """W_ring in the grouped layouts: [R, out dim, in dim]."""
        lin, lout = self.layout_in, self.layout_out
        ref = next(iter(self.weight.values()))
        full = ref.new_zeros(self.n_rings, lout.dim, lin.dim)
        for m, n in self._pairs:
            om, on = lout.offsets[m], lin.offsets[n]
            blk = self._block(self.weight[f"{m}_{n}"], self._bases[(m, n)], m, n)
            full[:, om : om + blk.shape[1], on : on + blk.shape[2]] = blk
        return full

    def self_weights(self) -> Optional[torch.Tensor]:
        """K_self in the grouped layouts: [out dim, in dim] (``None`` without self-interaction)."""
        if not self.self_interaction:
            return None
        lin, lout = self.layout_in, self.layout_out
        ref = next(iter(self.weight.values()))
        full = ref.new_zeros(lout.dim, lin.dim)
        for m, n in self._self_pairs:
            om, on = lout.offsets[m], lin.offsets[n]
            blk = self._block(self.self_weight[f"{m}_{n}"], self._self_bases[(m, n)], m, n)
            full[om : om + blk.shape[0], on : on + blk.shape[1]] = blk
        return full

    # -- forward ----------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, edge_index, neighbour_radius: Optional[torch.Tensor] = None,
                neighbour_angle: Optional[torch.Tensor] = None, transport: Optional[torch.Tensor] = None) -> torch.Tensor:
        who = "GaugeEquivariantConv"
        edge_index, radius, angle, transport = mesh_geometry_inputs(edge_index, neighbour_radius, neighbour_angle,
                                                                    transport, who=who)
        check_field("x", x, self.layout_in.field_type)
        n = x.shape[0]
        check_edge_index(edge_index, n)
        check_matches_module(reference_tensor(self), "x", x)
        for name, v in (("neighbour_radius", radius), ("neighbour_angle", angle), ("transport", transport)):
            check_finite(name, v, row="edge")
        if (radius < 0).any():
            raise ValueError(f"{who}: 'neighbour_radius' must be ≥ 0 (a distance), got minimum {float(radius.min())}")
        return self._propagate(x, edge_index.long(), radius.to(x.dtype), angle.to(x.dtype), transport.to(x.dtype))

    def _propagate(self, x, edge_index, radius, angle, transport):
        lin, lout = self.layout_in, self.layout_out
        n = x.shape[0]
        src, dst = edge_index[0], edge_index[1]
        keep = src != dst
        if not bool(keep.all()):
            src, dst, radius, angle, transport = src[keep], dst[keep], radius[keep], angle[keep], transport[keep]
        xg = lin.group(x)
        y = x.new_zeros(n, lout.dim)
        if src.numel():
            profile = hat_profile(radius / self.max_radius, self.n_rings)  # [E, R]
            k_in = torch.arange(lin.max_freq + 1, dtype=x.dtype, device=x.device)
            k_out = torch.arange(lout.max_freq + 1, dtype=x.dtype, device=x.device)
            beta = (transport - angle)[:, None] * k_in
            phi = angle[:, None] * k_out
            y = _fused_messages(xg, src, dst, n, lin, lout, self.ring_weights(), profile,
                                torch.cos(beta), torch.sin(beta), torch.cos(phi), torch.sin(phi))
            if self.aggregation == "mean":
                degree = torch.zeros(n, dtype=x.dtype, device=x.device).index_add_(0, dst, torch.ones_like(radius))
                y = y / degree.clamp_min(1)[:, None]
        if self.self_interaction and self._self_pairs:
            y = y + xg @ self.self_weights().transpose(0, 1)
        if self.bias is not None:
            y = torch.cat([y[:, : lout.counts[0]] + self.bias, y[:, lout.counts[0]:]], 1)
        return lout.ungroup(y)

    def extra_repr(self) -> str:
        return (f"{self.layout_in.field_type.rep} → {self.layout_out.field_type.rep}, max_radius={self.max_radius}, "
                f"n_rings={self.n_rings}, self_interaction={self.self_interaction}, aggregation={self.aggregation!r}")


def _fused_messages(xg, src, dst, num_nodes, lin, lout, weights, profile, cos_in, sin_in, cos_out, sin_out):
    """Σ_{e → i} ρ_out(φ_e) Σ_ring h_ring(r_e) W_ring ρ_in(α_e − φ_e) x_src(e): [N, out dim]."""
    return _FusedMessages.apply(xg, weights, src, dst, num_nodes, profile, cos_in, sin_in, cos_out, sin_out, lin, lout)


#: edges per chunk of the fused kernel: its temporaries ([chunk × channels]) stay in cache
EDGE_CHUNK = 4096


class _FusedMessages(torch.autograd.Function):
    """Forward and backward of ``_fused_messages``, in chunks of ``EDGE_CHUNK`` edges, each
    chunk scattered into the [N, out dim] result at once: edge temporaries are
    [chunk × channels], and the rotated inputs u_e = ρ_in(α − φ) x_j are recomputed in
    backward instead of stored. Returns the aggregated sum [N, out dim] (not per edge)."""

    @staticmethod
    def forward(ctx, xg, weights, src, dst, num_nodes, profile, cos_in, sin_in, cos_out, sin_out, lin, lout):
        y = xg.new_zeros(num_nodes, lout.dim)
        wt = weights.transpose(1, 2)
        for s in range(0, src.shape[0], EDGE_CHUNK):
            e = slice(s, s + EDGE_CHUNK)
            u = lin.rotate_grouped(xg[src[e]], cos_in[e], sin_in[e])
            prof = profile[e]
            t = torch.mm(u, wt[0]).mul_(prof[:, 0:1])
            for ring in range(1, weights.shape[0]):
                t.addcmul_(torch.mm(u, wt[ring]), prof[:, ring : ring + 1])
            y.index_add_(0, dst[e], lout.rotate_grouped(t, cos_out[e], sin_out[e]))
        ctx.save_for_backward(xg, weights, src, dst, profile, cos_in, sin_in, cos_out, sin_out)
        ctx.layouts = (lin, lout)
        return y

    @staticmethod
    def backward(ctx, grad):
        xg, weights, src, dst, profile, cos_in, sin_in, cos_out, sin_out = ctx.saved_tensors
        lin, lout = ctx.layouts
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_x = torch.zeros_like(xg) if need_x else None
        grad_w = torch.zeros_like(weights) if need_w else None
        grad = grad.contiguous()
        for s in range(0, src.shape[0], EDGE_CHUNK):
            e = slice(s, s + EDGE_CHUNK)
            grad_t = lout.rotate_grouped(grad[dst[e]], cos_out[e], -sin_out[e])  # ρ_out(−φ) g
            prof = profile[e]
            u = lin.rotate_grouped(xg[src[e]], cos_in[e], sin_in[e]) if need_w else None
            grad_u = None
            for ring in range(weights.shape[0]):
                scaled = grad_t * prof[:, ring : ring + 1]
                if need_w:
                    grad_w[ring].addmm_(scaled.transpose(0, 1), u)
                if need_x:
                    grad_u = torch.mm(scaled, weights[ring]) if grad_u is None else grad_u.addmm_(scaled, weights[ring])
            if need_x:
                grad_x.index_add_(0, src[e], lin.rotate_grouped(grad_u, cos_in[e], -sin_in[e]))
        return grad_x, grad_w, None, None, None, None, None, None, None, None, None, None
