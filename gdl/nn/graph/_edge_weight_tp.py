"""A faster evaluation of e3nn's 'uvu' tensor product with per-edge weights (TFN / NequIP filters).

TensorFieldConv's product contracts node features x (irreps_in1) with edge spherical harmonics
a (irreps_in2, one channel per degree) through weights w produced per edge by a radial network::

    out_p[z, u, k] = α_p w_p[z, u] Σ_{i,j} C^{l1 l2 l3}[i, j, k] x_p[z, u, i] a[z, j]

(e3nn's 'uvu' instructions with mul_2 = 1; C the Wigner 3j symbols, α_p e3nn's path weights,
``shared_weights=False``). e3nn evaluates one einsum per path. Here the Clebsch–Gordan
coefficients are contracted with the attribute first, x ⊗ a = x · (C·a)::

    M[z, i, (q, k)] = Σ_j a[z, j] C_q[i, j, k]          one matmul for every (block, attribute, irrep) pair
    T_b[z, u, (q, k)] = Σ_i x_b[z, u, i] M_b[z, i, (q, k)]   one batched matmul per input block b
    out_p = α_p w_p[z, u] T_b[z, u, k ∈ q(p)]           elementwise, already in e3nn's (u, k) layout

Same weights, same layout as e3nn, plain autograd (differentiable any number of times);
``tests/nn/graph/test_graph_edge_weight_tensor_product.py`` checks it against e3nn in float64.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import torch
from e3nn import o3
from torch import nn


def edge_weight_tp_supported(tp: o3.TensorProduct) -> bool:
    """True for per-edge weighted 'uvu' paths (``shared_weights=False``) with attributes of multiplicity 1."""
    return (not tp.shared_weights and bool(tp.instructions)
            and all(ins.connection_mode == "uvu" and ins.has_weight for ins in tp.instructions)
            and all(mul == 1 for mul, _ in tp.irreps_in2))


class EdgeWeightTensorProduct(nn.Module):
    """``tp(x, a, weight)`` of an e3nn 'uvu' product with per-edge weights [Z, weight_numel], by batched matmuls."""

    def __init__(self, tp: o3.TensorProduct):
        super().__init__()
        if not edge_weight_tp_supported(tp):
            raise ValueError("EdgeWeightTensorProduct needs per-edge weighted 'uvu' paths (shared_weights=False) and "
                             f"attributes of multiplicity 1, got {tp}")
        self.irreps_in1, self.irreps_in2, self.irreps_out = tp.irreps_in1, tp.irreps_in2, tp.irreps_out
        self.weight_numel = tp.weight_numel
        dtype = torch.get_default_dtype()
        # Pairs q = (input block, attribute block, output irrep dim l3) in order, grouped by input block.
        pairs = sorted({(ins.i_in1, ins.i_in2, self.irreps_out[ins.i_out].ir.l) for ins in tp.instructions})
        self.blocks: List[int] = sorted({p[0] for p in pairs})
        attr_slices = self.irreps_in2.slices()
        columns, self.m_sizes = [], []
        for b in self.blocks:
            size = 0
            l1 = self.irreps_in1[b].ir.l
            for pair in pairs:
                if pair[0] != b:
                    continue
                _, b2, l3 = pair
                w3j = o3.wigner_3j(l1, self.irreps_in2[b2].ir.l, l3, dtype=torch.float64)  # [I, J, K]
                block = torch.zeros(self.irreps_in2.dim, w3j.shape[0], w3j.shape[2], dtype=torch.float64)
                block[attr_slices[b2]] = w3j.permute(1, 0, 2)  # [J, I, K]
                columns.append(block)
                size += w3j.shape[2]
            self.m_sizes.append(size)
        # cg[j, (b, i, (q, k))]: per block, the coefficients laid out [I, Σ_q K] row-major.
        cg = torch.cat([torch.cat([c for c, p in zip(columns, pairs) if p[0] == b], 2).reshape(self.irreps_in2.dim, -1)
                        for b in self.blocks], 1)
        self.register_buffer("cg", cg.to(dtype), persistent=False)
        self.in_dims = [mul * ir.dim for mul, ir in self.irreps_in1]
        self.m_sizes_flat = [self.irreps_in1[b].ir.dim * s for b, s in zip(self.blocks, self.m_sizes)]
        # Per input block, the widths K of its pairs (T_b's column splits) and each pair's split number.
        self.pair_widths: List[List[int]] = []
        split_of: Dict[Tuple[int, int, int], int] = {}
        for b in self.blocks:
            own = [p for p in pairs if p[0] == b]
            self.pair_widths.append([2 * p[2] + 1 for p in own])
            split_of.update({p: n for n, p in enumerate(own)})
        # Paths, in e3nn's weight order: (block position, pair split, α, output block); weight slice = mul_1.
        self.paths: List[Tuple[int, int, float, int]] = []
        self.path_muls: List[int] = []
        for ins in tp.instructions:
            pair = (ins.i_in1, ins.i_in2, self.irreps_out[ins.i_out].ir.l)
            self.paths.append((self.blocks.index(ins.i_in1), split_of[pair], float(ins.path_weight), ins.i_out))
            self.path_muls.append(self.irreps_in1[ins.i_in1].mul)

    def forward(self, x: torch.Tensor, attr: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        num = x.shape[0]
        coefficients = torch.mm(attr, self.cg).split(self.m_sizes_flat, dim=1)
        x_blocks = x.split(self.in_dims, dim=1)
        weights = weight.split(self.path_muls, dim=1)
        columns = []  # per input block: T_b [Z, U, Σ_q K] split into its pairs (l1 = 0: M split, x kept apart)
        for b, m, size, widths in zip(self.blocks, coefficients, self.m_sizes, self.pair_widths):
            mul, ir = self.irreps_in1[b]
            xb = x_blocks[b].view(num, mul, ir.dim)
            m = m.view(num, ir.dim, size)
            t = m if ir.dim == 1 else torch.bmm(xb, m)
            columns.append(t.split(widths, dim=2) if len(widths) > 1 else [t])
        outs: List[List[torch.Tensor]] = [[] for _ in self.irreps_out]
        for (position, pair, alpha, i_out), w in zip(self.paths, weights):
            b = self.blocks[position]
            if self.irreps_in1[b].ir.dim == 1:  # (α w x)[z, u] M[z, k]: the weight scales x before the outer product
                scaled = x_blocks[b] * (w * alpha)
                outs[i_out].append(scaled.unsqueeze(2) * columns[position][pair])
            else:
                outs[i_out].append(columns[position][pair] * (w * alpha).unsqueeze(2))
        blocks = []
        for (mul, ir), parts in zip(self.irreps_out, outs):
            if not parts:
                blocks.append(x.new_zeros(num, mul * ir.dim))
                continue
            total = parts[0]
            for part in parts[1:]:
                total = total + part
            blocks.append(total.reshape(num, mul * ir.dim))
        return torch.cat(blocks, dim=1) if len(blocks) > 1 else blocks[0]
