r"""A fused forward/backward of one SteerableConv layer (SEGNN), for speed on CPU.

Same maths as ``SteerableConv``'s autograd path (two gated O(3) tensor products on the edges, a
sum at the target, a gated and a linear product on the nodes), computed as one
``torch.autograd.Function`` whose backward is written out by hand. It is differentiable once
(``once_differentiable``): ``SteerableConv(fused=False)`` is the path for higher-order gradients
(``EnergyModel`` switches to it under ``create_graph``). ``tests/nn/graph/test_graph_steerable_fused.py``
checks values and gradients against the autograd path in float64 (≤ 1e-12).

Layout. Inside the layer every feature lives *grouped by irrep*: for each irrep ρ a tensor
X_ρ [rows, 2l+1, U_ρ] holding all channels of type ρ (components first, channels last), so that
mixing channels is one matmul per irrep and the gate acts on whole tensors. Conversions from and
to e3nn's layout [rows, (u, i)] happen once, at the layer's input and output.

Each O(3) tensor product (e3nn 'uvw', attributes of multiplicity 1, weights W_p per path p =
(ρ1, attribute block b, ρ3)) is evaluated *weights first*::

    Y_ρ1[z, i, (p, w)] = Σ_u X_ρ1[z, i, u] W_p[u, w]                  one matmul per input irrep
    out_ρ3[z, k, w]    = Σ_{p → ρ3} Σ_i M_p[z, k, i] Y_p[z, i, w]      M_p = Σ_j C^{l1 l2 l3}[i, j, k] a[z, j]

with the Clebsch–Gordan coefficients contracted with the attributes once per batch
(``M = a · cg``, one matmul, shared by both message products and by both update products).
M_p is applied as a broadcast product when l1 = 0 or l2 = 0 (C[i, 0, k] = c δ_ik), else as a
batched matmul. The first message product reads x = [h_i, h_j, ‖x_j − x_i‖², a_ij]: its
weights act on h *at the nodes* (Y = (h W_i)_i + (h W_j)_j + s W_s), four times fewer rows than
on the edges of a complete 5-body graph; its backward sums the edge gradients at both ends.

Gates (e3nn ``Gate`` as ``make_gate``): even scalars → SiLU, odd scalars → tanh, every l > 0
channel times sigmoid of its gate scalar. Biases sit on the even-scalar outputs of every product.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
from e3nn import o3
from torch import nn
from torch.autograd.function import once_differentiable

from gdl.nn.graph._attribute_tp import _group_blocks

_silu_backward = torch.ops.aten.silu_backward
_SCALAR = o3.Irrep("0e")


def _segment_sum(src: torch.Tensor, index: torch.Tensor, num: int) -> torch.Tensor:
    return src.new_zeros((num,) + tuple(src.shape[1:])).index_add_(0, index, src)


class ProductPlan(nn.Module):
    """One ``O3TensorProduct`` in the grouped layout: its weights per input irrep and its paths.

    ``weights(layer)`` gives W_ρ1 [U_ρ1, C_ρ1] per input irrep ρ1 (e3nn's path weights α_p θ,
    laid side by side per path, zero where e3nn has no path); ``paths`` lists, per path, its
    input group, its columns in Y_ρ1, its output group and where its M_p lies in the
    coefficient table ``coefficients`` (see ``CoefficientTable``).
    """

    def __init__(self, layer, table: "CoefficientTable"):
        super().__init__()
        tp = layer.tp
        self.in_irreps, in_blocks, in_offset, self.in_channels = _group_blocks(tp.irreps_in1)
        self.out_irreps, out_blocks, out_offset, self.out_channels = _group_blocks(tp.irreps_out)
        in_group = {b: g for g, blocks in enumerate(in_blocks) for b in blocks}
        out_group = {b: g for g, blocks in enumerate(out_blocks) for b in blocks}
        keys = sorted({(in_group[ins.i_in1], ins.i_in2, out_group[ins.i_out]) for ins in tp.instructions})
        self.columns = [0] * len(self.in_irreps)  # C_ρ1
        start: Dict[Tuple[int, int, int], int] = {}
        self.paths: List[Tuple[int, int, int, int, int, int, int, int]] = []
        for key in keys:
            g1, b2, g3 = key
            start[key] = self.columns[g1]
            width = self.out_channels[g3]
            l1, l2, l3 = self.in_irreps[g1].l, tp.irreps_in2[b2].ir.l, self.out_irreps[g3].l
            offset = table.offset(l1, b2, l3)
            self.paths.append((g1, start[key], start[key] + width, g3, l1, l2, 2 * l3 + 1, offset))
            self.columns[g1] += width
        index = [torch.full((u, c), -1, dtype=torch.long) for u, c in zip(self.in_channels, self.columns)]
        scale = [torch.zeros(u, c, dtype=torch.float64) for u, c in zip(self.in_channels, self.columns)]
        weight_offset = 0
        for ins in tp.instructions:
            mul_in, _, mul_out = ins.path_shape
            key = (in_group[ins.i_in1], ins.i_in2, out_group[ins.i_out])
            rows = slice(in_offset[ins.i_in1], in_offset[ins.i_in1] + mul_in)
            cols = slice(start[key] + out_offset[ins.i_out], start[key] + out_offset[ins.i_out] + mul_out)
            index[key[0]][rows, cols] = weight_offset + torch.arange(mul_in * mul_out).view(mul_in, mul_out)
            scale[key[0]][rows, cols] = float(ins.path_weight)
            weight_offset += mul_in * mul_out
        self.weight_numel = weight_offset
        for g in range(len(self.in_irreps)):
            self.register_buffer(f"index_{g}", index[g].remainder(weight_offset + 1), persistent=False)
            self.register_buffer(f"scale_{g}", scale[g].to(torch.get_default_dtype()), persistent=False)
        # Biases: every even-scalar output channel, in group order (as O3TensorProduct's bias_index).
        self.bias_group = self.out_irreps.index(_SCALAR) if _SCALAR in self.out_irreps else -1
        self.has_bias = layer.bias is not None

    def weights(self, layer) -> List[torch.Tensor]:
        weight = layer.path_weights()
        extended = torch.cat([weight, weight.new_zeros(1)])
        return [extended[getattr(self, f"index_{g}")] * getattr(self, f"scale_{g}") for g in range(len(self.in_irreps))]


class CoefficientTable(nn.Module):
    """The coefficients M_p = C^{l1 l2 l3} · a of every (l1, attribute block, l3) the products use.

    ``cg`` [J, Σ K·I]: M_all = a · cg holds, per key, M[z, k, i] = Σ_j C[i, j, k] a[z, j] flattened (k, i).
    """

    def __init__(self, irreps_attr: o3.Irreps):
        super().__init__()
        self.irreps_attr = o3.Irreps(irreps_attr)
        self.keys: Dict[Tuple[int, int, int], int] = {}
        self.numel = 0

    def offset(self, l1: int, b2: int, l3: int) -> int:
        key = (l1, b2, l3)
        if key not in self.keys:
            self.keys[key] = self.numel
            self.numel += (2 * l1 + 1) * (2 * l3 + 1)
        return self.keys[key]

    def build(self) -> None:
        slices = self.irreps_attr.slices()
        cg = torch.zeros(self.irreps_attr.dim, self.numel, dtype=torch.float64)
        for (l1, b2, l3), offset in self.keys.items():
            w3j = o3.wigner_3j(l1, self.irreps_attr[b2].ir.l, l3, dtype=torch.float64)  # [I, J, K]
            cg[slices[b2], offset:offset + w3j.shape[0] * w3j.shape[2]] = w3j.permute(1, 2, 0).reshape(w3j.shape[1], -1)
        self.register_buffer("cg", cg.to(torch.get_default_dtype()), persistent=False)

    def forward(self, attr: torch.Tensor) -> torch.Tensor:
        return torch.mm(attr, self.cg)


class GatePlan:
    """The gate after a product, in grouped layout: which groups are scalars (SiLU / tanh), which
    channels of the even-scalar group are gates, and which gate each gated group reads."""

    def __init__(self, gate, product: ProductPlan):
        scalars, gated = gate.irreps_scalars, gate.irreps_gated
        tp_irreps = product.out_irreps
        # e3nn's Activation normalises every function to unit second moment (normalize2mom: f · c)
        constants = {ir.p: float(getattr(act, "cst", 1.0)) for _, ir, act in _activation_paths(gate.act_scalars)}
        self.even_constant, self.odd_constant = constants.get(1, 1.0), constants.get(-1, 1.0)
        gate_paths = _activation_paths(gate.act_gates)
        self.gate_constant = float(getattr(gate_paths[0][2], "cst", 1.0)) if gate_paths else 1.0
        self.num_even = sum(mul for mul, ir in scalars if ir == _SCALAR)  # SiLU channels of the 0e group
        self.even = tp_irreps.index(_SCALAR) if _SCALAR in tp_irreps else -1
        out_irreps, _, _, _ = _group_blocks(gate.irreps_out)
        self.sources: List[Tuple[str, int]] = []  # per output group: ("even" | "odd" | "gated", tp group)
        self.gate_index: Dict[int, Tuple[int, int, Optional[torch.Tensor]]] = {}
        gate_of: Dict[o3.Irrep, List[int]] = {}
        channel = 0  # gate channels counted within sigmoid's input (the 0e group after the scalars)
        for mul, ir in gated:
            gate_of.setdefault(ir, []).extend(range(channel, channel + mul))
            channel += mul
        for ir in out_irreps:
            group = tp_irreps.index(ir)
            if ir == _SCALAR:
                self.sources.append(("even", group))
            elif ir.l == 0:
                self.sources.append(("odd", group))
            else:
                channels = gate_of[ir]
                contiguous = channels == list(range(channels[0], channels[0] + len(channels)))
                self.gate_index[group] = (channels[0], len(channels),
                                          None if contiguous else torch.tensor(channels, dtype=torch.long))
                self.sources.append(("gated", group))

    def gates(self, sigma: torch.Tensor, group: int) -> torch.Tensor:
        start, length, index = self.gate_index[group]
        return sigma.narrow(2, start, length) if index is None else sigma.index_select(2, index.to(sigma.device))

    def forward(self, z: List[torch.Tensor]):
        """(outputs per group of the gate's irreps, sigmoid of the gates or None)."""
        sigma = torch.sigmoid(z[self.even][:, :, self.num_even:]).mul_(self.gate_constant) if self.gate_index else None
        out = []
        for kind, group in self.sources:
            if kind == "even":
                out.append(torch.nn.functional.silu(z[group][:, :, :self.num_even]).mul_(self.even_constant))
            elif kind == "odd":
                out.append(torch.tanh(z[group]).mul_(self.odd_constant))
            else:
                out.append(z[group] * self.gates(sigma, group))
        return out, sigma

    def backward(self, z: List[torch.Tensor], out: List[torch.Tensor], sigma, grad: List[torch.Tensor]):
        """∂L/∂z per product group from ∂L/∂out per gate group."""
        dz: List[Optional[torch.Tensor]] = [None] * len(z)
        d_sigma = torch.zeros_like(sigma) if sigma is not None else None
        d_even = None
        for (kind, group), g, y in zip(self.sources, grad, out):
            if kind == "even":
                d_even = _silu_backward(g * self.even_constant, z[group][:, :, :self.num_even])
            elif kind == "odd":  # y = c tanh(z): y' = c (1 − (y / c)²)
                t = y / self.odd_constant
                dz[group] = g * (1 - t * t) * self.odd_constant
            else:
                dz[group] = g * self.gates(sigma, group)
                contribution = (g * z[group]).sum(1, keepdim=True)
                start, length, index = self.gate_index[group]
                if index is None:
                    d_sigma.narrow(2, start, length).add_(contribution)
                else:
                    d_sigma.index_add_(2, index.to(sigma.device), contribution)
        if self.even >= 0:
            d = torch.empty_like(z[self.even])
            if self.num_even:
                d[:, :, :self.num_even] = d_even
            if sigma is not None:  # σ = c sigmoid(z): σ' = σ (1 − σ / c)
                torch.mul(d_sigma, sigma * (1 - sigma / self.gate_constant), out=d[:, :, self.num_even:])
            dz[self.even] = d
        return dz


def _activation_paths(activation):
    """(mul, irrep, function) per block of an e3nn ``Activation`` (its ``paths``, irreps as ``Irrep``)."""
    return [(mul, o3.Irrep(*ir) if isinstance(ir, tuple) else o3.Irrep(ir), act) for mul, ir, act in activation.paths]


def _rows(x: torch.Tensor) -> torch.Tensor:
    """[R, I, C] → [R·I, C] (explicit sizes: C may be 0)."""
    return x.reshape(x.shape[0] * x.shape[1], x.shape[2])


def _mix(x: List[torch.Tensor], weights: List[torch.Tensor]) -> List[torch.Tensor]:
    """Y_ρ = X_ρ W_ρ per group ([R, I, U] · [U, C] → [R, I, C])."""
    return [torch.mm(_rows(xg), w).view(xg.shape[0], xg.shape[1], w.shape[1])
            for xg, w in zip(x, weights)]


def _accumulate(out: List[Optional[torch.Tensor]], index: int, a: torch.Tensor, b: torch.Tensor) -> None:
    """out[index] += a · b (broadcast), allocating on the first term."""
    if out[index] is None:
        out[index] = a * b
    else:
        out[index].addcmul_(a, b)


def _contract(plan: ProductPlan, y: List[torch.Tensor], m: torch.Tensor, bias) -> List[torch.Tensor]:
    """out_ρ3 = Σ_p M_p Y_p (+ bias on the even scalars), as broadcast products (no small batched matmuls)."""
    rows = m.shape[0]
    out: List[Optional[torch.Tensor]] = [None] * len(plan.out_irreps)
    for g1, c0, c1, g3, l1, l2, k, offset in plan.paths:
        yp = y[g1][:, :, c0:c1]  # [R, I, W]
        i = 2 * l1 + 1
        if l2 == 0:  # C[i, 0, k] = c δ_ik: M_p = M[z, 0, 0] · 1
            _accumulate(out, g3, yp, m[:, offset:offset + 1].unsqueeze(2))
        elif l1 == 0:  # I = 1: an outer product [R, K, 1] · [R, 1, W]
            _accumulate(out, g3, m[:, offset:offset + k].unsqueeze(2), yp)
        else:  # Σ_i M[:, :, i] ⊗ Y[:, i]
            mp = m[:, offset:offset + k * i].view(rows, k, i)
            for j in range(i):
                _accumulate(out, g3, mp[:, :, j:j + 1], yp[:, j:j + 1])
    for g3, o in enumerate(out):
        if o is None:
            out[g3] = m.new_zeros(rows, 2 * plan.out_irreps[g3].l + 1, plan.out_channels[g3])
    if bias is not None:
        out[plan.bias_group] += bias
    return out


def _contract_backward(plan: ProductPlan, y: List[torch.Tensor], m: torch.Tensor, grad: List[torch.Tensor],
                       need_m: bool):
    """(∂L/∂Y per input group, ∂L/∂M_all or None, ∂L/∂bias or None). ∂L/∂Y_p = M_pᵀ ∂L/∂out is written
    straight into the columns of path p (the paths of a group tile its columns)."""
    rows = m.shape[0]
    dy = [torch.empty_like(yg) if plan.columns[g] and any(p[0] == g for p in plan.paths) else torch.zeros_like(yg)
          for g, yg in enumerate(y)]
    dm = torch.zeros_like(m) if need_m else None
    for g1, c0, c1, g3, l1, l2, k, offset in plan.paths:
        g = grad[g3]  # [R, K, W]
        i = 2 * l1 + 1
        yp = y[g1][:, :, c0:c1]
        target = dy[g1][:, :, c0:c1]
        if l2 == 0:
            torch.mul(g, m[:, offset:offset + 1].unsqueeze(2), out=target)
            if need_m:
                dm[:, offset] += (g * yp).sum((1, 2))  # += : paths may share an M_p
        elif l1 == 0:  # ∂Y[z, 0, w] = Σ_k M[z, k] g[z, k, w]
            mp = m[:, offset:offset + k].unsqueeze(2)
            torch.mul(g[:, :1], mp[:, :1], out=target)
            for kk in range(1, k):
                target.addcmul_(g[:, kk:kk + 1], mp[:, kk:kk + 1])
            if need_m:
                dm[:, offset:offset + k] += (g * yp).sum(2)
        else:  # ∂Y[z, j, w] = Σ_k M[z, k, j] g[z, k, w]
            mp = m[:, offset:offset + k * i].view(rows, k, i)
            torch.mul(mp[:, 0].unsqueeze(2), g[:, :1], out=target)
            for kk in range(1, k):
                target.addcmul_(mp[:, kk].unsqueeze(2), g[:, kk:kk + 1])
            if need_m:
                dm[:, offset:offset + k * i] += torch.bmm(g, yp.transpose(1, 2)).view(rows, k * i)
    d_bias = grad[plan.bias_group].sum((0, 1)) if plan.has_bias else None
    return dy, dm, d_bias


def _mix_backward(x: List[torch.Tensor], weights: List[torch.Tensor], dy: List[torch.Tensor], need_x: bool):
    """(∂L/∂W per group, ∂L/∂X per group or None)."""
    dw, dx = [], []
    for xg, w, g in zip(x, weights, dy):
        g2 = _rows(g)
        dw.append(torch.mm(_rows(xg).t(), g2))
        dx.append(torch.mm(g2, w.t()).view(xg.shape) if need_x else None)
    return dw, dx


class SteerablePlan(nn.Module):
    """Everything about one SteerableConv the fused Function needs, built once from its layers."""

    def __init__(self, conv):
        super().__init__()
        self.edge_table = CoefficientTable(conv.irreps_edge_attr)
        self.node_table = CoefficientTable(conv.irreps_node_attr)
        self.message_1 = ProductPlan(conv.message_1.linear, self.edge_table)
        self.message_2 = ProductPlan(conv.message_2.linear, self.edge_table)
        self.update_1 = ProductPlan(conv.update_1.linear, self.node_table)
        self.update_2 = ProductPlan(conv.update_2, self.node_table)
        self.edge_table.build()
        self.node_table.build()
        self.gate_1 = GatePlan(conv.message_1.gate, self.message_1)
        self.gate_2 = GatePlan(conv.message_2.gate, self.message_2)
        self.gate_3 = GatePlan(conv.update_1.gate, self.update_1)
        # h [N, (u, i)] ↔ groups X_ρ [N, I, U]: one gather index, and its inverse for the way back
        self.in_irreps, _, _, self.in_channels = _group_blocks(conv.irreps_in)
        self.out_irreps, _, _, self.out_channels = _group_blocks(conv.irreps_out)
        self.register_buffer("gather_in", self._gather(conv.irreps_in), persistent=False)
        self.register_buffer("scatter_in", torch.argsort(self.gather_in), persistent=False)
        self.register_buffer("gather_out", self._gather(conv.irreps_out), persistent=False)
        self.register_buffer("scatter_out", torch.argsort(self.gather_out), persistent=False)
        # rows of the first message product: [h_i; h_j; scalars] per group; of the first update: [h; m]
        self.message_rows = [self._h_group(ir) for ir in self.message_1.in_irreps]
        self.update_rows = [self._h_group(ir) for ir in self.update_1.in_irreps]
        hidden_irreps, _, _, _ = _group_blocks(conv.irreps_hidden)
        self.update_hidden = [hidden_irreps.index(ir) if ir in hidden_irreps else -1 for ir in self.update_1.in_irreps]
        self.residual = conv.residual
        self.mean = conv.aggregation == "mean"

    @staticmethod
    def _gather(irreps: o3.Irreps) -> torch.Tensor:
        groups, blocks, _, _ = _group_blocks(irreps)
        slices = irreps.slices()
        index = [slices[b].start + u * ir.dim + i for ir, bs in zip(groups, blocks) for i in range(ir.dim)
                 for b in bs for u in range(irreps[b].mul)]
        return torch.tensor(index, dtype=torch.long)

    def _h_group(self, ir: o3.Irrep) -> Tuple[int, int]:
        """(group of h with irrep ir or -1, its channel count U_h): in the product's weights W_ρ, rows
        [c·U_h, (c+1)·U_h) act on the c-th copy of h (message: h_i, h_j; update: h), the rest on the
        scalars s (message) or the aggregated messages (update)."""
        if ir in self.in_irreps:
            g = self.in_irreps.index(ir)
            return g, self.in_channels[g]
        return -1, 0

    def to_groups(self, h: torch.Tensor) -> List[torch.Tensor]:
        flat = h.index_select(1, self.gather_in)
        parts = flat.split([ir.dim * u for ir, u in zip(self.in_irreps, self.in_channels)], 1)
        return [p.view(h.shape[0], ir.dim, u) for p, ir, u in zip(parts, self.in_irreps, self.in_channels)]

    def from_groups(self, groups: List[torch.Tensor], scatter: torch.Tensor) -> torch.Tensor:
        flats = [g.reshape(g.shape[0], g.shape[1] * g.shape[2]) for g in groups]
        flat = torch.cat(flats, 1) if len(flats) > 1 else flats[0]
        return flat.index_select(1, scatter)


class FusedSteerableLayer(torch.autograd.Function):
    """Forward and hand-written backward of one SteerableConv; see the module docstring.

    Inputs: h [N, irreps_in], s = [‖x_j − x_i‖², a_ij] [E, 1 + edge_channels], M_edge = Y(x_j − x_i) · cg
    [E, ·], M_node = ã · cg [N, ·], then the weights W_ρ of the four products (per input group, in
    plan order) and their biases (``None`` where a product has none).
    """

    @staticmethod
    def forward(ctx, plan: SteerablePlan, edges, h, s, m_edge, m_node, *params):
        counts = [len(p.in_irreps) for p in (plan.message_1, plan.message_2, plan.update_1, plan.update_2)]
        w, biases, at = [], [], 0
        for c in counts:
            w.append(list(params[at:at + c]))
            biases.append(params[at + c])
            at += c + 1
        source, target = edges.source, edges.target
        num_nodes, num_edges = h.shape[0], source.shape[0]
        xh = plan.to_groups(h)
        # message 1: weights at the nodes, Y = (h W_i)_i + (h W_j)_j (+ s W_s for the scalars)
        y1 = []
        for g, (hg, u) in enumerate(plan.message_rows):
            wg = w[0][g]
            cols, dim = wg.shape[1], plan.message_1.in_irreps[g].dim
            if hg >= 0:
                node = xh[hg].reshape(num_nodes * dim, u)
                y = torch.mm(node, wg[:u]).view(num_nodes, dim * cols).index_select(0, target)
                y += torch.mm(node, wg[u:2 * u]).view(num_nodes, dim * cols).index_select(0, source)
                y = y.view(num_edges, dim, cols)
                if wg.shape[0] > 2 * u:
                    y.view(num_edges, cols).addmm_(s, wg[2 * u:])
            else:
                y = torch.mm(s, wg).view(num_edges, 1, cols)
            y1.append(y)
        z1 = _contract(plan.message_1, y1, m_edge, biases[0])
        a1, sigma1 = plan.gate_1.forward(z1)
        y2 = _mix(a1, w[1])
        z2 = _contract(plan.message_2, y2, m_edge, biases[1])
        a2, sigma2 = plan.gate_2.forward(z2)
        agg = [_segment_sum(a, target, num_nodes) for a in a2]
        if plan.mean:
            agg = [a * edges.inv_deg.unsqueeze(2) for a in agg]
        # update 1: x = [h, m] per group
        y3 = []
        for g, ((hg, u), ag) in enumerate(zip(plan.update_rows, plan.update_hidden)):
            wg = w[2][g]
            y = torch.mm(_rows(xh[hg]), wg[:u]) if hg >= 0 else None
            if ag >= 0:
                part = torch.mm(_rows(agg[ag]), wg[u:])
                y = part if y is None else y.add_(part)
            y3.append(y.view(num_nodes, plan.update_1.in_irreps[g].dim, wg.shape[1]))
        z3 = _contract(plan.update_1, y3, m_node, biases[2])
        a3, sigma3 = plan.gate_3.forward(z3)
        y4 = _mix(a3, w[3])
        z4 = _contract(plan.update_2, y4, m_node, biases[3])
        out = plan.from_groups(z4, plan.scatter_out)
        if plan.residual:
            out = out + h
        ctx.plan, ctx.edges, ctx.counts = plan, edges, counts
        ctx.has_bias = [b is not None for b in biases]
        ctx.lists = (xh, y1, z1, a1, sigma1, y2, z2, a2, sigma2, agg, y3, z3, a3, sigma3, y4, w)
        ctx.save_for_backward(h, s, m_edge, m_node)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        plan, edges = ctx.plan, ctx.edges
        h, s, m_edge, m_node = ctx.saved_tensors
        xh, y1, z1, a1, sigma1, y2, z2, a2, sigma2, agg, y3, z3, a3, sigma3, y4, w = ctx.lists
        need = ctx.needs_input_grad
        need_h, need_s, need_me, need_mn = need[2], need[3], need[4], need[5]
        source, target = edges.source, edges.target
        num_nodes, num_edges = h.shape[0], source.shape[0]
        grad_out = grad_out.contiguous()

        # update 2 and update 1 (nodes)
        dz4 = _split_groups(grad_out, plan)
        dy4, dmn4, db4 = _contract_backward(plan.update_2, y4, m_node, dz4, need_mn)
        dw4, da3 = _mix_backward(a3, w[3], dy4, True)
        dz3 = plan.gate_3.backward(z3, a3, sigma3, da3)
        dy3, dmn3, db3 = _contract_backward(plan.update_1, y3, m_node, dz3, need_mn)
        dxh = [None] * len(xh)
        dagg = [None] * len(agg)
        dw3 = []
        for g, ((hg, u), ag) in enumerate(zip(plan.update_rows, plan.update_hidden)):
            wg = w[2][g]
            d = _rows(dy3[g])
            parts = []
            if hg >= 0:
                parts.append(torch.mm(_rows(xh[hg]).t(), d))
                dxh[hg] = torch.mm(d, wg[:u].t())
            if ag >= 0:
                parts.append(torch.mm(_rows(agg[ag]).t(), d))
                dagg[ag] = torch.mm(d, wg[u:].t()).view(agg[ag].shape)
            dw3.append(torch.cat(parts, 0) if len(parts) > 1 else parts[0])

        # aggregation and the two message products (edges)
        if plan.mean:
            dagg = [d * edges.inv_deg.unsqueeze(2) for d in dagg]
        da2 = [d.index_select(0, target) for d in dagg]
        dz2 = plan.gate_2.backward(z2, a2, sigma2, da2)
        dy2, dme2, db2 = _contract_backward(plan.message_2, y2, m_edge, dz2, need_me)
        dw2, da1 = _mix_backward(a1, w[1], dy2, True)
        dz1 = plan.gate_1.backward(z1, a1, sigma1, da1)
        dy1, dme1, db1 = _contract_backward(plan.message_1, y1, m_edge, dz1, need_me)
        dw1 = []
        ds = torch.zeros_like(s) if need_s else None
        for g, (hg, u) in enumerate(plan.message_rows):
            wg = w[0][g]
            cols, dim = wg.shape[1], plan.message_1.in_irreps[g].dim
            d = dy1[g]
            parts = []
            if hg >= 0:
                d_flat = d.reshape(num_edges, dim * cols)
                at_target = _segment_sum(d_flat, target, num_nodes).view(num_nodes * dim, cols)
                at_source = _segment_sum(d_flat, source, num_nodes).view(num_nodes * dim, cols)
                node = xh[hg].reshape(num_nodes * dim, u)
                parts += [torch.mm(node.t(), at_target), torch.mm(node.t(), at_source)]
                if need_h:
                    dn = torch.mm(at_target, wg[:u].t()).addmm_(at_source, wg[u:2 * u].t())
                    dxh[hg] = dn if dxh[hg] is None else dxh[hg].add_(dn)
            if wg.shape[0] > 2 * u:
                d2 = d.reshape(num_edges, cols)
                parts.append(torch.mm(s.t(), d2))
                if need_s:
                    ds += torch.mm(d2, wg[2 * u:].t())
            dw1.append(torch.cat(parts, 0) if len(parts) > 1 else parts[0])

        dh = None
        if need_h:
            dh = plan.from_groups([d.view(num_nodes, ir.dim, u) if d is not None else
                                   h.new_zeros(num_nodes, ir.dim, u)
                                   for d, ir, u in zip(dxh, plan.in_irreps, plan.in_channels)], plan.scatter_in)
            if plan.residual:
                dh += grad_out
        dme = dme1 + dme2 if need_me else None
        dmn = dmn3 + dmn4 if need_mn else None
        grads = []
        for dw, db in ((dw1, db1), (dw2, db2), (dw3, db3), (dw4, db4)):
            grads += list(dw) + [db]
        return (None, None, dh, ds, dme, dmn, *grads)


def _split_groups(grad_out: torch.Tensor, plan: SteerablePlan) -> List[torch.Tensor]:
    """∂L/∂out [N, (u, i)] → per output group [N, K, W] (the inverse of ``from_groups``)."""
    flat = grad_out.index_select(1, plan.gather_out)
    parts = flat.split([ir.dim * u for ir, u in zip(plan.out_irreps, plan.out_channels)], 1)
    return [p.view(grad_out.shape[0], ir.dim, u) for p, ir, u in zip(parts, plan.out_irreps, plan.out_channels)]


def fused_supported(conv) -> bool:
    """True when every product of ``conv`` is evaluated by ``AttributeTensorProduct``-style maths
    ('uvw', attributes of multiplicity 1) — the shapes the fused Function handles."""
    from gdl.nn.graph._attribute_tp import attribute_tp_supported

    layers = (conv.message_1.linear, conv.message_2.linear, conv.update_1.linear, conv.update_2)
    return all(attribute_tp_supported(layer.tp) for layer in layers)


def fused_steerable_conv(conv, plan: SteerablePlan, h, vec, edges, node_attr, edge_attr, edge_sh) -> torch.Tensor:
    """SteerableConv.propagate through ``FusedSteerableLayer`` (weights and coefficients prepared here)."""
    dist2 = (vec * vec).sum(-1, keepdim=True)
    s = torch.cat([dist2, edge_attr], 1) if conv.edge_channels else dist2
    m_edge = plan.edge_table(edge_sh)
    m_node = plan.node_table(node_attr)
    params = []
    for product, layer in ((plan.message_1, conv.message_1.linear), (plan.message_2, conv.message_2.linear),
                           (plan.update_1, conv.update_1.linear), (plan.update_2, conv.update_2)):
        params += product.weights(layer) + [layer.bias]
    return FusedSteerableLayer.apply(plan, edges, h, s, m_edge, m_node, *params)
