"""Transport-aware pooling and unpooling between a fine mesh and a coarse level.

With the coarse level of ``gdl.gauge.pooling_geometry`` (each fine vertex q pools to one
coarse vertex p = ``pool_index[q]``, transport angle g_q = g_{q→p} = ``pool_transport[q]``):

    pool:    y_p = mean_{q → p} ρ(g_q) x_q          (the features moved into p's frame first)
    unpool:  x_q = ρ(−g_q) y_{p(q)}                  (copied back into q's frame)

Both are exactly gauge equivariant (θ acting on coarse vertices by θ_{coarse_index[p]}; see
``gdl.gauge._pooling``). GEM-CNN pools the same way (its ``nn/pool.py``).
"""
from __future__ import annotations

import torch
from torch import nn

from gdl.nn._checks import check_field
from gdl.nn.mesh._layout import GaugeFieldLayout, GaugeTypeLike


def _check_pool(x, pool_index, pool_transport, rows, who):
    if not isinstance(pool_index, torch.Tensor) or pool_index.dim() != 1 or pool_index.shape[0] != rows:
        got = list(pool_index.shape) if isinstance(pool_index, torch.Tensor) else type(pool_index).__name__
        raise ValueError(f"{who}: expected pool_index of shape [{rows}] (one coarse vertex per fine vertex), got {got}")
    if not isinstance(pool_transport, torch.Tensor) or pool_transport.shape != pool_index.shape:
        got = list(pool_transport.shape) if isinstance(pool_transport, torch.Tensor) else type(pool_transport).__name__
        raise ValueError(f"{who}: expected pool_transport of shape [{rows}] (one angle per fine vertex), got {got}")


class GaugePooling(nn.Module):
    """y_p = mean_q ρ(g_q) x_q (module docstring). ``forward(x, pool_index, pool_transport,
    num_coarse)``; ``in_type`` = ``out_type`` = ``field_type``."""

    def __init__(self, field_type: GaugeTypeLike):
        super().__init__()
        self.layout = GaugeFieldLayout(field_type, "GaugePooling type")
        self.in_type = {"x": self.layout.field_type}
        self.out_type = self.layout.field_type

    def forward(self, x, pool_index, pool_transport, num_coarse: int):
        check_field("x", x, self.layout.field_type)
        _check_pool(x, pool_index, pool_transport, x.shape[0], "GaugePooling")
        lay = self.layout
        k = torch.arange(lay.max_freq + 1, dtype=x.dtype, device=x.device)
        ang = pool_transport.to(x.dtype)[:, None] * k
        moved = lay.rotate_grouped(lay.group(x), torch.cos(ang), torch.sin(ang))
        num_coarse = int(num_coarse)
        total = x.new_zeros(num_coarse, lay.dim).index_add_(0, pool_index, moved)
        count = x.new_zeros(num_coarse).index_add_(0, pool_index, torch.ones_like(pool_transport, dtype=x.dtype))
        return lay.ungroup(total / count.clamp_min(1)[:, None])


class GaugeUnpooling(nn.Module):
    """x_q = ρ(−g_q) y_{p(q)} (module docstring). ``forward(y, pool_index, pool_transport)``."""

    def __init__(self, field_type: GaugeTypeLike):
        super().__init__()
        self.layout = GaugeFieldLayout(field_type, "GaugeUnpooling type")
        self.in_type = {"y": self.layout.field_type}
        self.out_type = self.layout.field_type

    def forward(self, y, pool_index, pool_transport):
        check_field("y", y, self.layout.field_type)
        _check_pool(y, pool_index, pool_transport, pool_index.shape[0] if isinstance(pool_index, torch.Tensor) else -1,
                    "GaugeUnpooling")
        if pool_index.numel() and int(pool_index.max()) >= y.shape[0]:
            raise ValueError(f"GaugeUnpooling: pool_index refers to coarse vertex {int(pool_index.max())}, "
                             f"but y has {y.shape[0]} rows")
        lay = self.layout
        k = torch.arange(lay.max_freq + 1, dtype=y.dtype, device=y.device)
        ang = pool_transport.to(y.dtype)[:, None] * k
        return lay.ungroup(lay.rotate_grouped(lay.group(y)[pool_index], torch.cos(ang), -torch.sin(ang)))
