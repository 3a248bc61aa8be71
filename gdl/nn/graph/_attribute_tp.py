"""A faster evaluation of e3nn's ``FullyConnectedTensorProduct`` with steerable attributes.

SEGNN's layers (``O3TensorProduct``) contract features x (irreps_in1, many channels) with
attributes a (irreps_in2, spherical harmonics: one channel per degree) through shared weights::

    out[z, w, k] = Σ_paths α_p Σ_{u,i,j} W_p[u, w] C^{l1 l2 l3}[i, j, k] x[z, u, i] a[z, j]

(e3nn's 'uvw' instructions with mul_2 = 1; C the Wigner 3j symbols, α_p e3nn's path weights).
e3nn evaluates one einsum per path. Here the Clebsch–Gordan coefficients are contracted with
the attribute first (the attribute has one channel, so x ⊗ a = x · (C·a))::

    M_q[z, k, i] = Σ_j C[i, j, k] a[z, j]              one matmul for every pair q = (ρ1, b2, ρ3)
    T_ρ1[z, (q, k), u] = Σ_i M_q[z, k, i] X_ρ1[z, i, u]  one batched matmul per input irrep ρ1
    out_ρ3[z, k, w] = Σ_{q → ρ3, u} T_q[z, k, u] W_ρ3[(q, u), w]   one matmul per output irrep ρ3

X_ρ1 holds every channel of x with irrep ρ1 (blocks of equal irreps merged), W_ρ3 every e3nn path
weight into the output blocks of irrep ρ3, α_p folded in (zero where e3nn has no path). The
cost is three dense matmuls per irrep type instead of per-path einsums or broadcast loops; the
flop count is e3nn's (``AttributeFirstTensorProduct``). ``WeightsFirstTensorProduct`` (gdl's
kernel before issue 16) applies the weights first, Y_ρ1 = X_ρ1 W_ρ1, then C·a per path: cheaper
when the layer narrows (fewer output than input channels). ``AttributeTensorProduct`` picks one
of the two once, at construction (``choose_method``).
Same weights, same layout as e3nn (``weight`` is e3nn's flat weight
vector), plain autograd (differentiable any number of times).
``tests/nn/graph/test_graph_attribute_tp.py`` and ``test_graph_tensor_product_grid.py`` check both against e3nn in
float64 (the second on every (l_max, l_attr) point of ``gdl.benchmarks.tp_grid``).
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import torch
from e3nn import o3
from torch import nn


def attribute_tp_supported(tp: o3.TensorProduct) -> bool:
    """True when every path is weighted 'uvw' and the attributes (input 2) have one channel per irrep."""
    return all(ins.connection_mode == "uvw" and ins.has_weight for ins in tp.instructions) and all(
        mul == 1 for mul, _ in tp.irreps_in2)


def _group_blocks(irreps: o3.Irreps) -> Tuple[List[o3.Irrep], List[List[int]], Dict[int, int], List[int]]:
    """Blocks of ``irreps`` grouped by irrep: (irreps, blocks per group, block → first channel in its group,
    channels per group)."""
    groups: Dict[o3.Irrep, List[int]] = {}
    for block, (_, ir) in enumerate(irreps):
        groups.setdefault(ir, []).append(block)
    offset_of: Dict[int, int] = {}
    channels: List[int] = []
    for blocks in groups.values():
        offset = 0
        for block in blocks:
            offset_of[block] = offset
            offset += irreps[block].mul
        channels.append(offset)
    return list(groups), list(groups.values()), offset_of, channels


class AttributeFirstTensorProduct(nn.Module):
    """The 'uvw' product, attribute first: M = C·a, T_ρ1 = M X_ρ1 (batched), out_ρ3 = T W_ρ3 (one matmul)."""

    def __init__(self, tp: o3.TensorProduct):
        super().__init__()
        if not attribute_tp_supported(tp):
            raise ValueError("AttributeFirstTensorProduct needs weighted 'uvw' paths and attributes of multiplicity 1, "
                             f"got {tp}")
        self.irreps_in1, self.irreps_in2, self.irreps_out = tp.irreps_in1, tp.irreps_in2, tp.irreps_out
        self.weight_numel = tp.weight_numel
        dtype = torch.get_default_dtype()
        in_irreps, in_blocks, in_offset, in_channels = _group_blocks(self.irreps_in1)
        out_irreps, out_blocks, out_offset, out_channels = _group_blocks(self.irreps_out)
        self.in_irreps, self.in_channels = in_irreps, in_channels
        self.out_irreps, self.out_channels = out_irreps, out_channels
        in_group = {b: g for g, blocks in enumerate(in_blocks) for b in blocks}
        out_group = {b: g for g, blocks in enumerate(out_blocks) for b in blocks}

        # X_ρ1[z, i, u]: the blocks of x with irrep ρ1 side by side along u (views when ρ1 has one block).
        self.in_blocks = in_blocks
        # The pairs q = (ρ1, attribute block, ρ3) that some path uses, in a fixed order.
        pairs = sorted({(in_group[ins.i_in1], ins.i_in2, out_group[ins.i_out]) for ins in tp.instructions})
        self.pairs = pairs
        # Per ρ1: its pairs and their rows (q, k) of T_ρ1.
        self.pairs_of_in: List[List[int]] = [[q for q, p in enumerate(pairs) if p[0] == g]
                                             for g in range(len(in_irreps))]
        self.rows_of_in: List[List[int]] = [[out_irreps[pairs[q][2]].dim for q in qs] for qs in self.pairs_of_in]
        # Coefficients: M_all[z, c] = Σ_j a[z, j] cg[j, c], c running over (ρ1, q, k, i).
        attr_slices = self.irreps_in2.slices()
        columns = []
        self.m_sizes: List[int] = []
        for g, qs in enumerate(self.pairs_of_in):
            size = 0
            for q in qs:
                _, b2, g3 = pairs[q]
                l1, l2, l3 = in_irreps[g].l, self.irreps_in2[b2].ir.l, out_irreps[g3].l
                w3j = o3.wigner_3j(l1, l2, l3, dtype=torch.float64)  # [I, J, K]
                block = torch.zeros(self.irreps_in2.dim, w3j.shape[2], w3j.shape[0], dtype=torch.float64)
                block[attr_slices[b2]] = w3j.permute(1, 2, 0)  # [J, K, I]
                columns.append(block.reshape(self.irreps_in2.dim, -1))
                size += w3j.shape[0] * w3j.shape[2]
            self.m_sizes.append(size)
        cg = torch.cat(columns, 1) if columns else torch.zeros(self.irreps_in2.dim, 0, dtype=torch.float64)
        self.register_buffer("cg", cg.to(dtype), persistent=False)

        # W_ρ3[(q, u), w] = weight_ext[index] · scale (weight_ext = [weight, 0]; -1: no path, weight 0).
        self.pairs_of_out: List[List[int]] = [[q for q, p in enumerate(pairs) if p[2] == g]
                                              for g in range(len(out_irreps))]
        weight_offset = 0
        entries: Dict[int, list] = {}
        for ins in tp.instructions:
            mul_in, _, mul_out = ins.path_shape
            q = pairs.index((in_group[ins.i_in1], ins.i_in2, out_group[ins.i_out]))
            entries.setdefault(q, []).append((in_offset[ins.i_in1], mul_in, out_offset[ins.i_out], mul_out,
                                              weight_offset, float(ins.path_weight)))
            weight_offset += mul_in * mul_out
        for g3, qs in enumerate(self.pairs_of_out):
            rows = sum(in_channels[pairs[q][0]] for q in qs)
            index = torch.full((rows, out_channels[g3]), -1, dtype=torch.long)
            scale = torch.zeros(rows, out_channels[g3], dtype=torch.float64)
            row = 0
            for q in qs:
                for u0, mul_in, w0, mul_out, offset, alpha in entries.get(q, []):
                    index[row + u0:row + u0 + mul_in, w0:w0 + mul_out] = (
                        offset + torch.arange(mul_in * mul_out).view(mul_in, mul_out))
                    scale[row + u0:row + u0 + mul_in, w0:w0 + mul_out] = alpha
                row += in_channels[pairs[q][0]]
            self.register_buffer(f"weight_index_{g3}", index.remainder(self.weight_numel + 1), persistent=False)
            self.register_buffer(f"weight_scale_{g3}", scale.to(dtype), persistent=False)
        # Output assembly: block b of irreps_out is the (b's position in ρ3)-th split of ρ3's result.
        self.out_blocks = out_blocks
        self.out_position = {b: (g, blocks.index(b)) for g, blocks in enumerate(out_blocks) for b in blocks}

    def group_weights(self, weight: torch.Tensor) -> List[torch.Tensor]:
        """W_ρ3 [Σ_q U_q, W_ρ3] per output irrep: the e3nn weights of every path into ρ3, α_p folded in."""
        extended = torch.cat([weight, weight.new_zeros(1)])
        return [extended[getattr(self, f"weight_index_{g}")] * getattr(self, f"weight_scale_{g}")
                for g in range(len(self.out_irreps))]

    def forward(self, x: torch.Tensor, attr: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        num = x.shape[0]
        weights = self.group_weights(weight)
        coefficients = torch.mm(attr, self.cg).split(self.m_sizes, dim=1)  # M per ρ1: [Z, (q, k, i)]
        x_blocks = x.split([mul * ir.dim for mul, ir in self.irreps_in1], dim=1)
        pieces: List[torch.Tensor] = [x.new_zeros(0)] * len(self.pairs)  # T_q [Z, K, U]
        for g, ir in enumerate(self.in_irreps):
            if not self.pairs_of_in[g]:
                continue
            views = [x_blocks[b].view(num, self.irreps_in1[b].mul, ir.dim).transpose(1, 2) for b in self.in_blocks[g]]
            xg = torch.cat(views, dim=2) if len(views) > 1 else views[0]  # [Z, I, U]
            m = coefficients[g].view(num, sum(self.rows_of_in[g]), ir.dim)  # [Z, Σ_q K, I]
            t = m * xg if ir.dim == 1 else torch.bmm(m, xg)  # [Z, Σ_q K, U] (l1 = 0: an outer product)
            for q, part in zip(self.pairs_of_in[g], t.split(self.rows_of_in[g], dim=1)):
                pieces[q] = part
        results: List[List[torch.Tensor]] = []
        for g3, ir in enumerate(self.out_irreps):
            qs = self.pairs_of_out[g3]
            muls = [self.irreps_out[b].mul for b in self.out_blocks[g3]]
            if not qs:
                results.append([x.new_zeros(num, mul * ir.dim) for mul in muls])
                continue
            t = torch.cat([pieces[q] for q in qs], dim=2) if len(qs) > 1 else pieces[qs[0]]
            y = torch.mm(t.reshape(num * ir.dim, weights[g3].shape[0]), weights[g3])
            y = y.view(num, ir.dim, self.out_channels[g3])
            y = y.transpose(1, 2)  # [Z, W, K]: e3nn's (w, k) layout
            parts = y.split(muls, dim=1) if len(muls) > 1 else [y]
            results.append([part.reshape(num, mul * ir.dim) for part, mul in zip(parts, muls)])
        outs = [results[g3][position] for g3, position in (self.out_position[b] for b in range(len(self.irreps_out)))]
        return torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]


class WeightsFirstTensorProduct(nn.Module):
    """The 'uvw' product, weights first: Y_ρ1 = X_ρ1 W_ρ1 (one matmul per input irrep), then C·a per path."""

    def __init__(self, tp: o3.TensorProduct):
        super().__init__()
        if not attribute_tp_supported(tp):
            raise ValueError("WeightsFirstTensorProduct needs weighted 'uvw' paths and attributes of multiplicity 1, "
                             f"got {tp}")
        self.irreps_in1, self.irreps_in2, self.irreps_out = tp.irreps_in1, tp.irreps_in2, tp.irreps_out
        self.weight_numel = tp.weight_numel
        in1_slices = self.irreps_in1.slices()

        # Channels of x grouped by irrep, in (component, channel) order: X_ρ[z, i, u] = x[z, index].
        groups: Dict[o3.Irrep, List[int]] = {}
        for block, (mul, ir) in enumerate(self.irreps_in1):
            groups.setdefault(ir, []).append(block)
        self.group_irreps: List[o3.Irrep] = list(groups)
        channel_offset: Dict[int, int] = {}  # block of x → its first channel within its group
        self.group_channels: List[int] = []
        for group, (ir, blocks) in enumerate(groups.items()):
            offset = 0
            for block in blocks:
                channel_offset[block] = offset
                offset += self.irreps_in1[block].mul
            self.group_channels.append(offset)
            index = [in1_slices[b].start + u * ir.dim + i for i in range(ir.dim)
                     for b in blocks for u in range(self.irreps_in1[b].mul)]
            self.register_buffer(f"gather_{group}", torch.tensor(index, dtype=torch.long), persistent=False)

        # Paths (group ρ, attribute block, output block) and the flat e3nn weights each one reads.
        by_key: Dict[Tuple[int, int, int], list] = {}
        weight_offset = 0
        for ins in tp.instructions:
            mul_in, _, mul_out = ins.path_shape
            group = self.group_irreps.index(self.irreps_in1[ins.i_in1].ir)
            by_key.setdefault((group, ins.i_in2, ins.i_out), []).append(
                (channel_offset[ins.i_in1], mul_in, mul_out, weight_offset, float(ins.path_weight)))
            weight_offset += mul_in * mul_out
        self.paths = sorted(by_key)
        # Each path's columns of Y_ρ, in order: its position in the group and its width (mul_out).
        self.path_sizes: List[List[int]] = [[] for _ in self.group_irreps]
        self.path_positions: List[int] = []
        # W_ρ = weight_ext[index_ρ] · scale_ρ, weight_ext = [weight, 0] (entry -1: no path, weight 0).
        index = [torch.full((n, 0), -1, dtype=torch.long) for n in self.group_channels]
        scale = [torch.zeros(n, 0, dtype=torch.float64) for n in self.group_channels]
        for key in self.paths:
            group, _, i_out = key
            mul_out = self.irreps_out[i_out].mul
            self.path_positions.append(len(self.path_sizes[group]))
            self.path_sizes[group].append(mul_out)
            idx = torch.full((self.group_channels[group], mul_out), -1, dtype=torch.long)
            sc = torch.zeros(self.group_channels[group], mul_out, dtype=torch.float64)
            for row, mul_in, _, offset, alpha in by_key[key]:
                idx[row:row + mul_in] = offset + torch.arange(mul_in * mul_out).view(mul_in, mul_out)
                sc[row:row + mul_in] = alpha
            index[group] = torch.cat([index[group], idx], 1)
            scale[group] = torch.cat([scale[group], sc], 1)
        for group in range(len(self.group_irreps)):
            self.register_buffer(f"weight_index_{group}", index[group].remainder(self.weight_numel + 1),
                                 persistent=False)
            self.register_buffer(f"weight_scale_{group}", scale[group].to(torch.get_default_dtype()), persistent=False)
        for (group, i_in2, i_out) in self.paths:
            l1, l2, l3 = self.group_irreps[group].l, self.irreps_in2[i_in2].ir.l, self.irreps_out[i_out].ir.l
            name = f"w3j_{l1}_{l2}_{l3}"
            if not hasattr(self, name):
                self.register_buffer(name, o3.wigner_3j(l1, l2, l3), persistent=False)

    def group_weights(self, weight: torch.Tensor) -> List[torch.Tensor]:
        """W_ρ [U_ρ, columns_ρ] per group: the e3nn weights of every path reading ρ, α_p folded in."""
        extended = torch.cat([weight, weight.new_zeros(1)])
        return [extended[getattr(self, f"weight_index_{g}")] * getattr(self, f"weight_scale_{g}")
                for g in range(len(self.group_irreps))]

    def forward(self, x: torch.Tensor, attr: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        num = x.shape[0]
        weights = self.group_weights(weight)
        mixed = []  # Y_ρ[z, i, c] = Σ_u X_ρ[z, i, u] W_ρ[u, c], split into the columns of each path
        for group, ir in enumerate(self.group_irreps):
            xg = x.index_select(1, getattr(self, f"gather_{group}")).view(num * ir.dim, self.group_channels[group])
            y = torch.mm(xg, weights[group]).view(num, ir.dim, weights[group].shape[1])
            mixed.append(list(y.split(self.path_sizes[group], dim=2)))
        attrs = attr.split([ir.dim for _, ir in self.irreps_in2], dim=1)
        blocks: List[List[torch.Tensor]] = [[] for _ in self.irreps_out]
        for key, position in zip(self.paths, self.path_positions):
            group, i_in2, i_out = key
            l1, l2, l3 = self.group_irreps[group].l, self.irreps_in2[i_in2].ir.l, self.irreps_out[i_out].ir.l
            y = mixed[group][position]  # [Z, I, W]
            a = attrs[i_in2]  # [Z, J]
            w3j = getattr(self, f"w3j_{l1}_{l2}_{l3}")
            # out_T[z, k, w] = Σ_ij C[i, j, k] y[z, i, w] a[z, j], components first (contiguous products)
            if l2 == 0:  # C[i, 0, k] = δ_ik / √(2l+1)
                out = y * (a * w3j[0, 0, 0]).unsqueeze(2)
            else:
                ca = torch.einsum("zj,ijk->zik", a, w3j)  # Σ_j a_j C[i, j, k]: [Z, I, K]
                if l3 == 0:
                    out = (y * ca).sum(1, keepdim=True)  # [Z, I, W] · [Z, I, 1]
                else:
                    out = y[:, :1] * ca[:, 0].unsqueeze(2)  # [Z, 1, W] · [Z, K, 1]
                    for i in range(1, 2 * l1 + 1):
                        out = out + y[:, i:i + 1] * ca[:, i].unsqueeze(2)
            blocks[i_out].append(out)
        outs = []
        for (mul, ir), parts in zip(self.irreps_out, blocks):
            if not parts:
                outs.append(x.new_zeros(num, mul * ir.dim))
                continue
            total = parts[0]
            for p in parts[1:]:
                total = total + p
            outs.append(total.transpose(1, 2).reshape(num, mul * ir.dim))  # e3nn layout [Z, (w, k)]
        return torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]


def choose_method(tp: o3.TensorProduct) -> str:
    """'weights_first' when the product narrows (fewer output than input channels, e.g. a head to 1x1o:
    the per-edge contraction then runs on the narrow side), else 'attribute_first'.

    Both cost the same flops in their matmuls; the per-edge Clebsch–Gordan contraction costs
    Σ Z·K·I·U (attribute first) against Σ Z·K·I·W (weights first). Chosen once at construction.
    """
    channels_in = sum(mul for mul, _ in tp.irreps_in1)
    channels_out = sum(mul for mul, _ in tp.irreps_out)
    return "weights_first" if channels_out < channels_in else "attribute_first"


METHODS = {"attribute_first": AttributeFirstTensorProduct, "weights_first": WeightsFirstTensorProduct}


class AttributeTensorProduct(nn.Module):
    """``tp(x, a, weight)`` of an e3nn 'uvw' product with attributes of multiplicity 1, e3nn's weights and layout.

    ``method``: "attribute_first", "weights_first" or "auto" (``choose_method``: picked once, here).
    """

    def __init__(self, tp: o3.TensorProduct, method: str = "auto"):
        super().__init__()
        if not attribute_tp_supported(tp):
            raise ValueError("AttributeTensorProduct needs weighted 'uvw' paths and attributes of multiplicity 1, "
                             f"got {tp}")
        if method == "auto":
            method = choose_method(tp)
        if method not in METHODS:
            raise ValueError(f"method must be 'auto' or one of {sorted(METHODS)}, got {method!r}")
        self.method = method
        self.evaluation = METHODS[method](tp)
        self.irreps_in1, self.irreps_in2, self.irreps_out = tp.irreps_in1, tp.irreps_in2, tp.irreps_out
        self.weight_numel = tp.weight_numel

    def forward(self, x: torch.Tensor, attr: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return self.evaluation(x, attr, weight)

    def extra_repr(self) -> str:
        return f"{self.irreps_in1} ⊗ {self.irreps_in2} → {self.irreps_out}, method={self.method!r}"
