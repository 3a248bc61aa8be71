"""A faster evaluation of e3nn's ``FullyConnectedTensorProduct`` with steerable attributes.

SEGNN's layers (``O3TensorProduct``) contract features x (irreps_in1, many channels) with
attributes a (irreps_in2, spherical harmonics: one channel per degree) through shared weights::

    out[z, w, k] = Σ_paths α_p Σ_{u,i,j} W_p[u, w] C^{l1 l2 l3}[i, j, k] x[z, u, i] a[z, j]

(e3nn's 'uvw' instructions with mul_2 = 1; C the Wigner 3j symbols, α_p e3nn's path weights).
e3nn evaluates one einsum per path on slices of x. Here the paths are grouped by the irrep of
x they read: all channels of x with irrep ρ are gathered once into X_ρ [Z, 2l+1, U_ρ], one
matmul applies every path that reads ρ (weights of equal paths concatenated along u, scaled by
α_p), and only the small contraction with C and a is left per (ρ, attribute, output) triple.
Same weights, same layout as e3nn (``weight`` is e3nn's flat weight vector), plain autograd.
``tests/nn/graph/test_graph_attribute_tp.py`` checks it against e3nn in float64.
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


class AttributeTensorProduct(nn.Module):
    """``tp(x, a, weight)`` of an e3nn 'uvw' tensor product (attributes of multiplicity 1), grouped by irrep."""

    def __init__(self, tp: o3.TensorProduct):
        super().__init__()
        if not attribute_tp_supported(tp):
            raise ValueError("AttributeTensorProduct needs weighted 'uvw' paths and attributes of multiplicity 1, "
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
