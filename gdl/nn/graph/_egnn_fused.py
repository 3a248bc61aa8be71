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

Speed notes (CPU, measured with ``python -m gdl.benchmarks.nbody_speed``): the products with h
share one matmul; per-node sums of edge gradients (into and out of each node) are one
``embedding_bag``; gradients are collected and flattened once; Linear biases are added in place
after ``mm`` (faster than ``addmm``'s broadcast copy); the clamp mask exists only when something
was clipped.
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

_silu_backward = torch.ops.aten.silu_backward
_silu_backward_out = torch.ops.aten.silu_backward.grad_input
_embedding_bag = torch.embedding_bag  # (weight, input, offsets, scale_grad, mode 0 = sum, sparse, per_sample_weights)
_flatten = torch._C._nn.flatten_dense_tensors  # one contiguous copy of a list of tensors, in order


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
    """Caches the block views of a flat parameter (its storage survives in-place optimizer updates)
    and the order of its gradient blocks."""

    def __init__(self):
        self.key, self.views, self.grad_order = None, None, None

    def __call__(self, flat, layout):
        key = (flat.data_ptr(), flat.dtype, flat.device, flat.shape)
        if key != self.key:
            self.key, self.views = key, _views(flat.detach(), layout)
            # gradient blocks in flat order, ``w_ij`` standing for the adjacent pair w_i, w_j
            assert layout["w_i"][0] == 0 and layout["w_j"][0] == layout["w_i"][1] and layout["w_ij"][0] == 0
            self.grad_order = ["w_ij"] + [k for k in layout if k not in ("w_ij", "w_i", "w_j")]
        return self.views

    def __getstate__(self):  # never pickle or deep-copy cached views
        return {}

    def __setstate__(self, state):
        self.__init__()


class FusedEGNNLayer(torch.autograd.Function):
    """Forward and hand-written backward of one EGNN(_vel) layer; see the module docstring.

    All weights come in one flat tensor ``flat`` laid out by ``config[-2]`` (name → offset, numel,
    shape); the backward writes their gradients into one flat gradient. ``edges`` is the batch's
    ``EdgeStructure``.

    The products with h share one matmul, h [W_i; W_j; W_v1; W_n1,h]ᵀ (W_n1,h: W_n1's columns
    acting on h). In the backward one ``embedding_bag`` sums g_z1 over the edges into and out of
    each node (``EdgeStructure`` bags); with g_zv and g_zn beside them, one matmul gives the
    gradients of all four weights and one the gradient of h.
    """

    @staticmethod
    def forward(ctx, h, pos, vel, edge_attr, edges, update_features, config, flat, speed, emb_w, emb_b):
        clamp, tanh, normalize, eps, coords_mean, message_mean, residual, layout, cache = config
        p = cache(flat, layout)
        source, target, inv_deg, degree = edges.source, edges.target, edges.inv_deg, edges.degree
        num_nodes, num_edges = h.shape[0], source.shape[0]
        silu = torch.nn.functional.silu
        diff = pos.index_select(0, target) - pos.index_select(0, source)
        dist2 = (diff * diff).sum(1, keepdim=True)
        scalars = torch.cat([dist2, edge_attr], 1) if edge_attr is not None else dist2
        hidden = p["b_1"].shape[0]
        # all products with h in one matmul: node[:, r] = W_i h + b_1, W_j h, (W_v1 h), (W_n1,h h)
        w_node = torch.cat([p["w_ij"]] + ([p["w_v1"]] if vel is not None else []) +
                           ([p["w_n1"][:, : h.shape[1]]] if update_features else []))
        roles = w_node.shape[0] // hidden
        if speed is None:
            node = torch.mm(h, w_node.t())
        else:  # h = speed e^T + b (a model's embedding, h given without gradient): rank one plus a bias
            node = torch.addmm(torch.mv(w_node, emb_b), speed, torch.mv(w_node, emb_w[:, 0]).unsqueeze(0))
        node = node.view(num_nodes, roles, hidden)
        node_i = node[:, 0].add_(p["b_1"])
        z1 = node[:, 1].index_select(0, source)
        if degree:  # edges sorted by target, constant degree: (W_i h)_i broadcasts
            z1.view(num_nodes, degree, hidden).add_(node_i.unsqueeze(1))
        else:
            z1 += node_i.index_select(0, target)
        z1.addmm_(scalars, p["w_s"].t())
        a1 = silu(z1)
        z2 = torch.mm(a1, p["w_2"].t()).add_(p["b_2"])  # faster on CPU than addmm's broadcast bias copy
        m = silu(z2)
        z3 = torch.mm(m, p["w_3"].t()).add_(p["b_3"])
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
        trans_c, clamped = trans, None
        if clamp is not None and trans.numel():
            low, high = torch.aminmax(trans)
            if float(high) > clamp or float(low) < -clamp:  # else (the usual case) no mask in the backward
                trans_c, clamped = torch.clamp(trans, -clamp, clamp), trans.abs() > clamp
        delta = _sum_at_target(trans_c, target, num_nodes, degree)
        if coords_mean:
            delta *= inv_deg
        new_pos = pos + delta
        if vel is not None:
            zv = node[:, 2] + p["b_v1"]
            av = silu(zv)
            speed_v = torch.addmv(p["b_v2"], av, p["w_v2"][0]).unsqueeze(1)
            new_pos.addcmul_(speed_v, vel)
        else:
            zv = av = speed_v = None
        if update_features:
            agg = _sum_at_target(m, target, num_nodes, degree)
            if message_mean:
                agg *= inv_deg
            zn = torch.addmm(node[:, roles - 1], agg, p["w_n1"][:, h.shape[1] :].t()).add_(p["b_n1"])
            an = silu(zn)
            out = torch.mm(an, p["w_n2"].t()).add_(p["b_n2"])
            if residual:
                out += h
        else:  # the caller only reads x' (a model's last layer): skip φ_h
            agg = zn = an = None
            out = h.new_empty(0)
        ctx.config, ctx.edges = config, edges
        ctx.save_for_backward(h, vel, diff, scalars, w_node, z1, a1, z2, m, z3, a3, w, norm, unit, clamped,
                              zv, av, speed_v, agg, zn, an, flat, speed, emb_w, emb_b)
        return out, new_pos

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_pos):
        clamp, tanh, normalize, eps, coords_mean, message_mean, residual, layout, cache = ctx.config
        (h, vel, diff, scalars, w_node, z1, a1, z2, m, z3, a3, w, norm, unit, clamped,
         zv, av, speed_v, agg, zn, an, flat, speed, emb_w, emb_b) = ctx.saved_tensors
        edges = ctx.edges
        source, target, inv_deg, degree = edges.source, edges.target, edges.inv_deg, edges.degree
        p = cache(flat, layout)
        g = {}  # name → gradient block, flattened into one tensor in layout order at the end
        num_nodes, f = h.shape[0], h.shape[1]
        hidden = z1.shape[1]
        roles = w_node.shape[0] // hidden
        need = ctx.needs_input_grad
        if grad_pos is None:
            grad_pos = h.new_zeros(num_nodes, diff.shape[1])

        # node update h' = h + W_n2 silu(W_n1 [h, agg] + b_n1) + b_n2 (nothing to do if h' is unused)
        g_agg = g_zn = None
        if agg is None:
            for name in ("w_n1", "b_n1", "w_n2", "b_n2"):
                g[name] = flat.new_zeros(layout[name][1])
        else:
            if grad_out is None:
                grad_out = h.new_zeros(num_nodes, p["b_n2"].shape[0])
            g["w_n2"] = torch.mm(grad_out.t(), an)
            g["b_n2"] = grad_out.sum(0)
            g_zn = _silu_backward_(grad_out @ p["w_n2"], zn)
            g["b_n1"] = g_zn.sum(0)
            g_agg = g_zn @ p["w_n1"][:, f:]
            if message_mean:
                g_agg *= inv_deg

        # coordinates x' = x + C Σ clamp(u w) + φ_v(h) v
        g_delta = grad_pos * inv_deg if coords_mean else grad_pos
        if degree and clamped is None:  # g_trans = g_delta[target], broadcast
            g_trans = g_delta.unsqueeze(1)
            g_w = (unit.view(num_nodes, degree, -1) * g_trans).sum(2).view(-1)
            g_unit = (w.view(num_nodes, degree, 1) * g_trans).view(unit.shape)
        else:
            g_trans = _gather_target(g_delta, target, degree)
            if clamped is not None:
                g_trans = g_trans.masked_fill(clamped, 0.0)
            g_w = (g_trans * unit).sum(1)
            g_unit = g_trans * w
        if tanh:
            g_w = g_w * (1 - w[:, 0] * w[:, 0])
        g["w_4"] = torch.mv(a3.t(), g_w)
        g_z3 = _silu_backward_(torch.outer(g_w, p["w_4"][0]), z3)
        g["w_3"] = torch.mm(g_z3.t(), m)
        g["b_3"] = g_z3.sum(0)
        if g_agg is None:
            g_m = g_z3 @ p["w_3"]
        elif degree:  # g_m = g_agg[target] + g_z3 W_3, the first term broadcast
            g_m = g_z3 @ p["w_3"]
            g_m.view(num_nodes, degree, -1).add_(g_agg.unsqueeze(1))
        else:
            g_m = g_agg.index_select(0, target).addmm_(g_z3, p["w_3"])

        g_vel = g_zv = None
        if vel is not None:
            g_speed = (grad_pos * vel).sum(1)
            g["w_v2"] = torch.mv(av.t(), g_speed)
            g["b_v2"] = g_speed.sum(0, keepdim=True)
            g_zv = _silu_backward_(torch.outer(g_speed, p["w_v2"][0]), zv)
            g["b_v1"] = g_zv.sum(0)
            if need[2]:
                g_vel = grad_pos * speed_v

        # messages m = silu(W_2 silu(z1) + b_2)
        g_z2 = _silu_backward_(g_m, z2)
        g["w_2"] = torch.mm(g_z2.t(), a1)
        g["b_2"] = g_z2.sum(0)
        g_z1 = _silu_backward_(g_z2 @ p["w_2"], z1)

        # node products: Σ g_z1 over the edges into / out of each node (one gather-sum), g_zv, g_zn
        offsets = edges.bag_offsets if roles == 2 else edges.padded_bag_offsets(roles)
        g_node = _embedding_bag(g_z1, edges.bag_input, offsets, False, 0)[0].view(num_nodes, roles, hidden)
        if g_zv is not None:
            g_node[:, 2] = g_zv
        if g_zn is not None:
            g_node[:, roles - 1] = g_zn
        g_b1 = g_node[:, 0].sum(0)
        g_node = g_node.view(num_nodes, roles * hidden)
        g_h = g_emb_w = g_emb_b = None
        if speed is None:
            g_w_node = torch.mm(g_node.t(), h)  # [g W_i; g W_j; (g W_v1); (g W_n1,h)]
        else:  # h = speed e^T + b: g_W = (g_node^T speed) e^T + (Σ g_node) b^T, g_e = W^T g_node^T speed, …
            g_speed_node, g_sum_node = torch.mv(g_node.t(), speed[:, 0]), g_node.sum(0)
            g_w_node = torch.addr(torch.outer(g_sum_node, emb_b), g_speed_node, emb_w[:, 0])
            g_emb_w, g_emb_b = torch.mv(w_node.t(), g_speed_node), torch.mv(w_node.t(), g_sum_node)
            if g_zn is not None and residual:
                g_emb_w.addmv_(grad_out.t(), speed[:, 0])
                g_emb_b += grad_out.sum(0)
            g_emb_w = g_emb_w.unsqueeze(1)
        g["w_ij"] = g_w_node[: 2 * hidden]
        if g_zv is not None:
            g["w_v1"] = g_w_node[2 * hidden : 3 * hidden]
        if g_zn is not None:
            g["w_n1"] = torch.cat([g_w_node[(roles - 1) * hidden :], torch.mm(g_zn.t(), agg)], 1)
        if speed is not None:
            pass
        elif g_zn is not None and residual:
            g_h = torch.addmm(grad_out, g_node, w_node)
        else:
            g_h = torch.mm(g_node, w_node)
        g["b_1"] = g_b1
        g["w_s"] = torch.mm(scalars.t(), g_z1).t()
        g_edge_attr = g_z1 @ p["w_s"][:, 1:] if need[3] else None

        # geometry: d² = ‖diff‖², u = diff (or diff / (‖diff‖ + ε)); skipped when x needs no gradient
        g_pos = None
        if need[1]:
            g_dist2 = torch.mv(g_z1, p["w_s"][:, 0]).unsqueeze(1)
            g_diff = diff * g_dist2.mul_(2)
            if normalize:
                denom = norm + eps
                g_diff += g_unit / denom
                radial = (g_unit * diff).sum(1, keepdim=True) / (denom * denom)
                safe = torch.where(norm > 0, norm, torch.ones_like(norm))
                g_diff -= torch.where(norm > 0, radial / safe, torch.zeros_like(norm)) * diff
            else:
                g_diff += g_unit
            g_ends = _embedding_bag(g_diff, edges.bag_input, edges.bag_offsets, False, 0)[0].view(num_nodes, 2, -1)
            g_pos = (grad_pos + g_ends[:, 0]).sub_(g_ends[:, 1])  # Σ over edges into i − Σ over edges out of i
        return (g_h, g_pos, g_vel, g_edge_attr, None, None, None, _flatten([g[name] for name in cache.grad_order]),
                None, g_emb_w, g_emb_b)
