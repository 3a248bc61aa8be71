"""A fused forward/backward of one EGNNConv layer (SiLU activations), for speed on CPU.

Same maths as ``EGNNConv`` with autograd (see that class), but computed as one
``torch.autograd.Function`` whose backward is written out by hand: fewer autograd nodes,
fewer temporaries, and no gradients that nobody needs. ``tests/nn/graph/test_graph_egnn_conv.py``
checks it against the autograd path (values and gradients, float64). It is differentiable
once (``once_differentiable``): use ``EGNNConv(fused=False)`` for higher-order gradients.

Notation (edge e = j → i, i = target, j = source)::

    z1 = (W_i h + b)_i + (W_j h)_j + W_s [d², a]      a1 = silu(z1)
    z2 = W_2 a1 + b_2                                 m  = silu(z2)
    z3 = W_3 m + b_3                                  w  = w_4 · silu(z3)   (tanh(w) if asked)
    t  = u_ij w  (u_ij = x_i − x_j, or normalised)    x' = x + C Σ_j clamp(t) + φ_v(h) v
    h' = h + W_n2 silu(W_n1 [h, Σ_j m] + b_n1) + b_n2
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

_silu_backward = torch.ops.aten.silu_backward
_silu_backward_out = torch.ops.aten.silu_backward.grad_input


def _silu_backward_(grad, z):
    """silu'(z) · grad written into ``grad`` (a temporary): no fresh edge-sized buffer."""
    return _silu_backward_out(grad, z, grad_input=grad)


def _segment_sum(src, index, num):
    return src.new_zeros((num,) + tuple(src.shape[1:])).index_add_(0, index, src)


def _gather_target(x, target, degree):
    """x[target] per edge; a broadcast copy when edges are sorted by target with constant degree."""
    if degree:
        return x.unsqueeze(1).expand(x.shape[0], degree, x.shape[1]).reshape(-1, x.shape[1])
    return x.index_select(0, target)


def _sum_at_target(x, target, num_nodes, degree):
    """Σ over the edges into each node; a reduction when edges are sorted by target with constant degree."""
    if degree:
        return x.view(num_nodes, degree, x.shape[1]).sum(1)
    return _segment_sum(x, target, num_nodes)


def _views(flat, layout):
    """{name: view of ``flat``} for a layout name → (offset, numel, shape); blocks are contiguous and
    in order, except the alias ``w_ij`` = [w_i; w_j]."""
    names = [k for k in layout if k != "w_ij"]
    parts = flat.split([layout[k][1] for k in names])
    views = {k: t.view(layout[k][2]) for k, t in zip(names, parts)}
    if "w_ij" in layout:
        views["w_ij"] = flat[: layout["w_ij"][1]].view(layout["w_ij"][2])
    return views


class ParameterViews:
    """Caches the block views of a flat parameter (its storage survives in-place optimizer updates)."""

    def __init__(self):
        self.key, self.views = None, None

    def __call__(self, flat, layout):
        key = (flat.data_ptr(), flat.dtype, flat.device, flat.shape)
        if key != self.key:
            self.key, self.views = key, _views(flat.detach(), layout)
        return self.views

    def __getstate__(self):  # never pickle or deep-copy cached views
        return {"key": None, "views": None}

    def __setstate__(self, state):
        self.key, self.views = None, None


class FusedEGNNLayer(torch.autograd.Function):
    """Forward and hand-written backward of one EGNN(_vel) layer; see the module docstring.

    All weights come in one flat tensor ``flat`` laid out by ``config[-1]`` (name → offset, numel,
    shape); the backward writes their gradients straight into one flat gradient.
    """

    @staticmethod
    def forward(ctx, h, pos, vel, edge_attr, source, target, inv_deg, degree, update_features, config, flat):
        clamp, tanh, normalize, eps, coords_mean, message_mean, residual, layout, cache = config
        p = cache(flat, layout)
        num_nodes = h.shape[0]
        silu = torch.nn.functional.silu
        if degree:  # edges sorted by target, constant degree: x_i and (W_i h)_i broadcast, no gather
            num_edges = source.shape[0]
            diff = (pos.unsqueeze(1) - pos.index_select(0, source).view(num_nodes, degree, -1)).view(num_edges, -1)
        else:
            diff = pos.index_select(0, target) - pos.index_select(0, source)
        dist2 = (diff * diff).sum(1, keepdim=True)
        scalars = torch.cat([dist2, edge_attr], 1) if edge_attr is not None else dist2
        hidden = p["b_1"].shape[0]
        node = h @ p["w_ij"].t()  # [W_i h | W_j h], one matmul for both blocks
        node_i = node[:, :hidden].add_(p["b_1"])
        z1 = node[:, hidden:].index_select(0, source)
        if degree:
            z1.view(num_nodes, degree, hidden).add_(node_i.unsqueeze(1))
        else:
            z1 += node_i.index_select(0, target)
        z1.addmm_(scalars, p["w_s"].t())
        a1 = silu(z1)
        z2 = torch.addmm(p["b_2"], a1, p["w_2"].t())
        m = silu(z2)
        z3 = torch.addmm(p["b_3"], m, p["w_3"].t())
        a3 = silu(z3)
        w = torch.mv(a3, p["w_4"][0]).unsqueeze(1)
        if tanh:
            w = torch.tanh(w)
        if normalize:
            norm = torch.linalg.vector_norm(diff, dim=1, keepdim=True)
            unit = diff / (norm + eps)
        else:
            norm, unit = None, diff
        trans = unit * w
        trans_c = torch.clamp(trans, -clamp, clamp) if clamp is not None else trans
        delta = _sum_at_target(trans_c, target, num_nodes, degree)
        if coords_mean:
            delta *= inv_deg
        new_pos = pos + delta
        if vel is not None:
            zv = torch.addmm(p["b_v1"], h, p["w_v1"].t())
            av = silu(zv)
            speed = (torch.mv(av, p["w_v2"][0]) + p["b_v2"]).unsqueeze(1)
            new_pos.addcmul_(speed, vel)
        else:
            zv = av = speed = None
        if update_features:
            agg = _sum_at_target(m, target, num_nodes, degree)
            if message_mean:
                agg *= inv_deg
            cat = torch.cat([h, agg], 1)
            zn = torch.addmm(p["b_n1"], cat, p["w_n1"].t())
            an = silu(zn)
            out = torch.addmm(p["b_n2"], an, p["w_n2"].t())
            if residual:
                out += h
        else:  # the caller only reads x' (a model's last layer): skip φ_h
            cat = zn = an = None
            out = h.new_empty(0)
        ctx.config, ctx.degree = config, degree
        ctx.save_for_backward(h, vel, source, target, inv_deg, diff, scalars, z1, a1, z2, m, z3, a3, w, norm, unit,
                              trans, zv, av, speed, cat, zn, an, flat)
        return out, new_pos

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_pos):
        clamp, tanh, normalize, eps, coords_mean, message_mean, residual, layout, cache = ctx.config
        (h, vel, source, target, inv_deg, diff, scalars, z1, a1, z2, m, z3, a3, w, norm, unit,
         trans, zv, av, speed, cat, zn, an, flat) = ctx.saved_tensors
        p = cache(flat, layout)
        degree = ctx.degree
        g_flat = torch.empty_like(flat)
        g = _views(g_flat, layout)
        num_nodes, f = h.shape[0], h.shape[1]
        need = ctx.needs_input_grad
        if grad_pos is None:
            grad_pos = h.new_zeros(num_nodes, diff.shape[1])

        # node update h' = h + W_n2 silu(W_n1 [h, agg] + b_n1) + b_n2 (nothing to do if h' is unused)
        if grad_out is None or grad_out.numel() == 0:
            for name in ("w_n1", "b_n1", "w_n2", "b_n2"):
                g[name].zero_()
            g_h, g_agg = h.new_zeros(num_nodes, f), None
        else:
            torch.mm(grad_out.t(), an, out=g["w_n2"])
            torch.sum(grad_out, 0, out=g["b_n2"])
            g_zn = _silu_backward_(grad_out @ p["w_n2"], zn)
            torch.mm(g_zn.t(), cat, out=g["w_n1"])
            torch.sum(g_zn, 0, out=g["b_n1"])
            g_cat = g_zn @ p["w_n1"]
            g_h = g_cat[:, :f] + grad_out if residual else g_cat[:, :f].clone()
            g_agg = g_cat[:, f:]
            if message_mean:
                g_agg = g_agg * inv_deg

        # coordinates x' = x + C Σ clamp(u w) + φ_v(h) v
        g_delta = grad_pos * inv_deg if coords_mean else grad_pos
        g_trans = _gather_target(g_delta, target, degree)
        if clamp is not None:
            g_trans.masked_fill_(trans.abs() > clamp, 0.0)
        g_w = (g_trans * unit).sum(1)
        g_unit = g_trans * w
        if tanh:
            g_w = g_w * (1 - w[:, 0] * w[:, 0])
        torch.mv(a3.t(), g_w, out=g["w_4"][0])
        g_z3 = _silu_backward_(torch.outer(g_w, p["w_4"][0]), z3)
        torch.mm(g_z3.t(), m, out=g["w_3"])
        torch.sum(g_z3, 0, out=g["b_3"])
        if g_agg is None:
            g_m = g_z3 @ p["w_3"]
        elif degree:  # g_m = g_agg[target] + g_z3 W_3, the first term broadcast
            g_m = g_z3 @ p["w_3"]
            g_m.view(num_nodes, degree, -1).add_(g_agg.unsqueeze(1))
        else:
            g_m = g_agg.index_select(0, target).addmm_(g_z3, p["w_3"])

        g_vel = None
        if vel is not None:
            g_speed = (grad_pos * vel).sum(1)
            torch.mv(av.t(), g_speed, out=g["w_v2"][0])
            torch.sum(g_speed, 0, keepdim=True, out=g["b_v2"])
            g_zv = _silu_backward_(torch.outer(g_speed, p["w_v2"][0]), zv)
            torch.mm(g_zv.t(), h, out=g["w_v1"])
            torch.sum(g_zv, 0, out=g["b_v1"])
            g_h.addmm_(g_zv, p["w_v1"])
            if need[2]:
                g_vel = grad_pos * speed

        # messages m = silu(W_2 silu(z1) + b_2)
        g_z2 = _silu_backward_(g_m, z2)
        torch.mm(g_z2.t(), a1, out=g["w_2"])
        torch.sum(g_z2, 0, out=g["b_2"])
        g_z1 = _silu_backward_(g_z2 @ p["w_2"], z1)
        torch.mm(g_z1.t(), scalars, out=g["w_s"])
        g_scalars = g_z1 @ p["w_s"]
        g_node_i = _sum_at_target(g_z1, target, num_nodes, degree)  # contiguous buffers: a scatter
        g_node_j = _segment_sum(g_z1, source, num_nodes)  # into a strided half is ~3x slower
        torch.sum(g_node_i, 0, out=g["b_1"])  # Σ_edges g_z1, summed per node first
        torch.mm(g_node_i.t(), h, out=g["w_i"])
        torch.mm(g_node_j.t(), h, out=g["w_j"])
        g_h.addmm_(g_node_i, p["w_i"]).addmm_(g_node_j, p["w_j"])
        g_edge_attr = g_scalars[:, 1:] if need[3] else None

        # geometry: d² = ‖diff‖², u = diff (or diff / (‖diff‖ + ε)); skipped when x needs no gradient
        g_pos = None
        if need[1]:
            g_diff = diff * (2 * g_scalars[:, :1])
            if normalize:
                denom = norm + eps
                g_diff += g_unit / denom
                radial = (g_unit * diff).sum(1, keepdim=True) / (denom * denom)
                safe = torch.where(norm > 0, norm, torch.ones_like(norm))
                g_diff -= torch.where(norm > 0, radial / safe, torch.zeros_like(norm)) * diff
            else:
                g_diff += g_unit
            g_pos = grad_pos + _sum_at_target(g_diff, target, num_nodes, degree) - _segment_sum(g_diff, source, num_nodes)
        return g_h, g_pos, g_vel, g_edge_attr, None, None, None, None, None, None, g_flat
