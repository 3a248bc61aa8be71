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
        self.pair_columns: Dict[Tuple[int, int, int], Tuple[int, int]] = {}  # pair → (start, stop) within T_b
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
                self.pair_columns[pair] = (size, size + w3j.shape[2])
                size += w3j.shape[2]
            self.m_sizes.append(size)
        # cg[j, (b, i, (q, k))]: per block, the coefficients laid out [I, Σ_q K] row-major.
        cg = torch.cat([torch.cat([c for c, p in zip(columns, pairs) if p[0] == b], 2).reshape(self.irreps_in2.dim, -1)
                        for b in self.blocks], 1)
        self.register_buffer("cg", cg.to(dtype), persistent=False)
        # Paths: (block position, column range in T_b, weight slice, α, output block).
        self.paths: List[Tuple[int, int, int, int, int, float, int]] = []
        offset = 0
        for ins in tp.instructions:
            mul = self.irreps_in1[ins.i_in1].mul
            start, stop = self.pair_columns[(ins.i_in1, ins.i_in2, self.irreps_out[ins.i_out].ir.l)]
            self.paths.append((self.blocks.index(ins.i_in1), start, stop, offset, offset + mul,
                               float(ins.path_weight), ins.i_out))
            offset += mul

    def forward(self, x: torch.Tensor, attr: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        num = x.shape[0]
        coefficients = torch.mm(attr, self.cg).split([self.irreps_in1[b].ir.dim * s
                                                      for b, s in zip(self.blocks, self.m_sizes)], dim=1)
        slices = self.irreps_in1.slices()
        products = []  # T_b [Z, U, Σ_q K]
        for b, m, size in zip(self.blocks, coefficients, self.m_sizes):
            mul, ir = self.irreps_in1[b]
            xb = x[:, slices[b]].reshape(num, mul, ir.dim)
            products.append(torch.bmm(xb, m.view(num, ir.dim, size)))
        outs: List[List[torch.Tensor]] = [[] for _ in self.irreps_out]
        for position, start, stop, w0, w1, alpha, i_out in self.paths:
            w = weight[:, w0:w1] * alpha
            outs[i_out].append(products[position][:, :, start:stop] * w.unsqueeze(2))
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
