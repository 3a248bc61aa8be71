"""EGNNConv: E(n)-equivariant message passing (Satorras, Hoogeboom, Welling 2021, eq. 3–7)."""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from gdl.groups import FieldType
from gdl.nn._checks import check_edge_attr, check_edge_index, check_field, check_matches_module
from gdl.nn._types import TypeLike, as_channels, euclidean_group
from gdl.nn.graph._egnn_fused import FusedEGNNLayer, ParameterViews
from gdl.nn.graph._message_passing import (
    EdgeStructure,
    aggregate,
    check_aggregation,
    edge_structure,
    resolve_residual,
    safe_norm,
)


def check_finite_positions(new_pos: torch.Tensor, pos: torch.Tensor, vel: Optional[torch.Tensor] = None,
                           where: str = "EGNNConv") -> None:
    """Raise ``FloatingPointError`` naming the input scale when EGNN output positions are not finite.

    The squared distances enter the messages as features, so coordinates of scale s give hidden
    features growing like s² per layer: beyond about 1e9 (float32) they overflow to inf and the
    output becomes NaN. One reduction per call; the diagnosis is computed only on failure.
    """
    if bool(torch.isfinite(new_pos).all()):
        return
    if not bool(torch.isfinite(pos).all()) or (vel is not None and not bool(torch.isfinite(vel).all())):
        raise FloatingPointError(f"{where}: the input positions or velocities contain NaN or inf")
    scale = float(pos.abs().max())
    speed = float(vel.abs().max()) if vel is not None and vel.numel() else 0.0
    raise FloatingPointError(
        f"{where}: the output positions are not finite although the inputs are: the input coordinates reach "
        f"|x| = {scale:.1e} (velocities {speed:.1e}); squared distances up to {4 * scale * scale:.1e} enter the "
        f"messages as features and overflow {pos.dtype} (max {torch.finfo(pos.dtype).max:.1e}) in the hidden "
        "features. Rescale the coordinates (e.g. to unit scale, as the N-body data) or compute in float64."
    )


class EGNNOutput(NamedTuple):
    h: torch.Tensor
    pos: torch.Tensor


class EGNNConv(nn.Module):
    r"""One E(n)-equivariant graph convolution layer (EGNN, Satorras et al. 2021).

    For every edge j → i (``edge_index[0] = j``, ``edge_index[1] = i``)::

        m_ij = φ_e([h_i, h_j, ‖x_i − x_j‖², a_ij])                       (eq. 3)
        x_i' = x_i + C Σ_j (x_i − x_j) φ_x(m_ij)  [+ φ_v(h_i) v_i]       (eq. 4, eq. 7)
        h_i' = h_i + φ_h([h_i, Σ_j m_ij])                                 (eq. 5–6)

    C Σ_j is the mean over neighbours (``coords_aggregation="mean"``, the reference code) or the
    sum; Σ_j m_ij is the sum (``aggregation="sum"``, paper eq. 5) or the mean. The velocity term
    (``velocity=True``, EGNN_vel, eq. 7) uses the input velocity v_i. Updates are out of place;
    h_i + φ_h(…) is the residual form (``residual=None``: when in and out channels agree).

    Symmetry: E(n) (rotations, reflections, translations) and node permutations, exact.

    Types (``in_type`` / ``out_type``, dicts keyed by argument name, E = ``Euclidean(d)``):
        - h: ``E.trivial_rep(in_channels)`` → ``E.trivial_rep(out_channels)`` (invariant scalars;
          ``in_channels`` may be an int, a scalar ``FieldType`` such as ``layer.out_type["h"]``, or
          ``"16x0e"``)
        - pos: ``E.standard_rep()`` (points, x ↦ Qx + t) → points
        - vel (``velocity=True``): ``E.vector_rep()``
        - edge_attr: [num_edges, edge_channels] invariant edge attributes a_ij

    Args:
        in_channels, out_channels, hidden_channels: widths of h, h' and the MLPs' hidden layers
            (``out_channels``, ``hidden_channels`` default to ``in_channels``).
        edge_channels: width of a_ij (0: none). velocity: add φ_v(h_i) v_i (needs ``vel``).
        coords_aggregation, aggregation: "mean" or "sum" for the position and the message update.
        residual: h' = h + φ_h (``None``: when in = out channels). dim: n of E(n).
        fused: the hand-written forward/backward (below) when the activation is SiLU.

    Stabilisers, with the paper's code as default: φ_x's last layer is Xavier-initialised with
    ``coords_init_gain`` (0.001) and has no bias; each coordinate message (x_i − x_j) φ_x(m_ij) is
    clamped to ±``coords_clamp`` (100; ``None`` disables); ``normalize=True`` uses
    (x_i − x_j) / (‖x_i − x_j‖ + ``normalize_eps``) (ε outside the root, so coincident points give
    finite values and gradients); ``tanh=True`` puts a tanh on φ_x's output.

    Implementation: the first layer of φ_e is split into per-node parts, W [h_i, h_j, d, a] =
    (W_i h)_i + (W_j h)_j + w_d d + W_a a, so the node features are multiplied once per node and
    then gathered, instead of once per edge. All weights are blocks of one flat parameter
    (``flat``; ``block(name)`` views one). With SiLU and ``fused=True`` (default) the layer runs as
    one autograd Function with a hand-written backward (``_egnn_fused.py``, differentiable once;
    ``fused=False`` is the plain autograd path). Edges sorted by target with equal in-degree
    (batched complete graphs) use reshape-and-sum instead of scatters. The fused path multiplies h
    once by all the weights acting on it (W_i, W_j, φ_v's and φ_h's first layers, stacked), and in
    the backward gathers the per-node sums of the edge gradients with one ``embedding_bag`` (bags
    of ``EdgeStructure``); given ``embedding=(s, Linear(1, F))`` (a model's first layer) it uses
    h = W s + b in rank-one form.
    """

    def __init__(
        self,
        in_channels: TypeLike,
        out_channels: Optional[TypeLike] = None,
        hidden_channels: Optional[int] = None,
        edge_channels: int = 0,
        velocity: bool = False,
        coords_aggregation: str = "mean",
        aggregation: str = "sum",
        normalize: bool = False,
        normalize_eps: float = 1.0,
        tanh: bool = False,
        coords_clamp: Optional[float] = 100.0,
        coords_init_gain: float = 0.001,
        residual: Optional[bool] = None,
        activation: type = nn.SiLU,
        dim: int = 3,
        fused: bool = True,
    ):
        super().__init__()
        in_channels = as_channels(in_channels, "in_channels")
        out_channels = in_channels if out_channels is None else as_channels(out_channels, "out_channels")
        hidden_channels = in_channels if hidden_channels is None else as_channels(hidden_channels, "hidden_channels")
        self.in_channels, self.out_channels, self.hidden_channels = in_channels, out_channels, hidden_channels
        self.residual = resolve_residual(residual, in_channels == out_channels, f"{in_channels}x0e", f"{out_channels}x0e")
        self.edge_channels, self.velocity = as_channels(edge_channels, "edge_channels"), bool(velocity)
        self.coords_aggregation = check_aggregation(coords_aggregation, "coords_aggregation")
        self.aggregation = check_aggregation(aggregation)
        self.normalize, self.normalize_eps, self.tanh = bool(normalize), float(normalize_eps), bool(tanh)
        self.coords_clamp = None if coords_clamp is None else float(coords_clamp)
        self.dim = int(dim)
        self.fused = bool(fused)

        # All weights live in one flat parameter (``self.flat``), viewed as named blocks: a small
        # model then has a handful of parameter tensors, so an optimizer step costs a few kernels,
        # not ~10 per weight. φ_e's first Linear is stored split by input block:
        # W [h_i, h_j, d², a] + b = (W_i h + b)_i + (W_j h)_j + W_s [d², a].
        f, hid, out, a = in_channels, hidden_channels, out_channels, self.edge_channels
        edge_bound = (2 * f + 1 + a) ** -0.5  # nn.Linear's default init of the unsplit layer
        blocks = [  # name, shape, init bound (uniform ±bound)
            ("w_i", (hid, f), edge_bound), ("w_j", (hid, f), edge_bound), ("w_s", (hid, 1 + a), edge_bound),
            ("b_1", (hid,), edge_bound),
            ("w_2", (hid, hid), hid ** -0.5), ("b_2", (hid,), hid ** -0.5),  # φ_e's second Linear
            ("w_3", (hid, hid), hid ** -0.5), ("b_3", (hid,), hid ** -0.5),  # φ_x hidden Linear
            ("w_4", (1, hid), coords_init_gain * (6.0 / (hid + 1)) ** 0.5),  # φ_x output: Xavier(gain), no bias
        ]
        if self.velocity:  # φ_v = Linear(F, H) → act → Linear(H, 1)
            blocks += [("w_v1", (hid, f), f ** -0.5), ("b_v1", (hid,), f ** -0.5),
                       ("w_v2", (1, hid), hid ** -0.5), ("b_v2", (1,), hid ** -0.5)]
        blocks += [("w_n1", (hid, f + hid), (f + hid) ** -0.5), ("b_n1", (hid,), (f + hid) ** -0.5),  # φ_h
                   ("w_n2", (out, hid), hid ** -0.5), ("b_n2", (out,), hid ** -0.5)]
        self.layout, offset = {}, 0  # name → (offset, numel, shape) in self.flat
        for name, shape, _ in blocks:
            numel = shape[0] * (shape[1] if len(shape) > 1 else 1)
            self.layout[name] = (offset, numel, shape)
            offset += numel
        self.layout["w_ij"] = (0, 2 * hid * f, (2 * hid, f))  # [W_i; W_j], adjacent blocks (fused path)
        self.flat = nn.Parameter(torch.empty(offset))
        self._views = ParameterViews()
        self.reset_parameters(blocks)
        self.act = activation()

        E = euclidean_group(self.dim)
        self.in_type = {"h": FieldType(E, E.trivial_rep(in_channels)), "pos": FieldType(E, E.standard_rep())}
        if self.velocity:
            self.in_type["vel"] = FieldType(E, E.vector_rep())
        self.out_type = {"h": FieldType(E, E.trivial_rep(out_channels)), "pos": FieldType(E, E.standard_rep())}

    def forward(
        self,
        h: torch.Tensor,
        pos: torch.Tensor,
        edge_index: torch.Tensor,
        vel: Optional[torch.Tensor] = None,
        edge_attr: Optional[torch.Tensor] = None,
    ) -> EGNNOutput:
        check_field("pos", pos, self.in_type["pos"])
        num_nodes = pos.shape[0]
        check_field("h", h, self.in_type["h"], num_nodes)
        check_matches_module(self.flat, "h", h)
        check_matches_module(self.flat, "pos", pos)
        check_edge_index(edge_index, num_nodes)
        if self.velocity:
            if vel is None:
                raise ValueError("'vel': this layer was built with velocity=True, got None")
            check_field("vel", vel, self.in_type["vel"], num_nodes)
        elif vel is not None:
            raise ValueError("'vel': this layer was built with velocity=False; build it with velocity=True to pass velocities")
        check_edge_attr(edge_attr, edge_index.shape[1], self.edge_channels)
        out = self.propagate(h, pos, edge_structure(edge_index, num_nodes, pos.dtype), vel, edge_attr)
        check_finite_positions(out.pos, pos, vel)
        return out

    def reset_parameters(self, blocks=None) -> None:
        """Initialise as the reference: nn.Linear's default U(±1/√fan_in), φ_x's output Xavier with small gain."""
        if blocks is None:
            blocks = self._init_blocks
        self._init_blocks = blocks
        with torch.no_grad():
            for name, _, bound in blocks:
                self.block(name).uniform_(-bound, bound)

    def block(self, name: str) -> torch.Tensor:
        """The named weight block (a view of ``self.flat``), e.g. ``"w_2"`` = φ_e's second Linear weight."""
        offset, numel, shape = self.layout[name]
        return self.flat[offset : offset + numel].view(shape)

    def propagate(self, h, pos, edges: EdgeStructure, vel=None, edge_attr=None,
                  update_features: bool = True, embedding=None) -> EGNNOutput:
        """The layer's maths on validated inputs; ``edges`` = ``edge_structure(edge_index, N, dtype)``,
        computed once per batch (models call this after checking the batch once).
        ``update_features=False`` skips φ_h and returns ``h=None`` (for a model's last layer).
        ``embedding=(s, linear)`` says that h = linear(s) for a ``Linear(1, F)`` and a column s without
        gradient (a model's first layer): then h may be given without gradient, and the fused path
        uses the rank-one form and returns the gradients of ``linear``'s weight and bias instead."""
        if self.fused and type(self.act) is nn.SiLU:
            return self._fused(h, pos, edges, vel, edge_attr, update_features, embedding)
        if embedding is not None and not h.requires_grad:
            h = embedding[1](embedding[0])
        source, target = edges.source, edges.target
        act, w = self.act, self.block
        diff = pos.index_select(0, target) - pos.index_select(0, source)  # x_i − x_j
        dist2 = (diff * diff).sum(-1, keepdim=True)

        node_i = torch.addmm(w("b_1"), h, w("w_i").t())
        node_j = h @ w("w_j").t()
        scalars = torch.cat([dist2, edge_attr], dim=1) if self.edge_channels else dist2
        pre = torch.addmm(node_i.index_select(0, target) + node_j.index_select(0, source), scalars, w("w_s").t())
        m = act(F.linear(act(pre), w("w_2"), w("b_2")))  # m_ij

        weight = torch.mv(act(F.linear(m, w("w_3"), w("b_3"))), w("w_4")[0]).unsqueeze(1)  # φ_x(m_ij)
        if self.tanh:
            weight = torch.tanh(weight)
        if self.normalize:
            diff = diff / (safe_norm(diff) + self.normalize_eps)
        trans = diff * weight
        if self.coords_clamp is not None:
            trans = trans.clamp(-self.coords_clamp, self.coords_clamp)
        new_pos = pos + aggregate(trans, edges, self.coords_aggregation)
        if self.velocity:
            speed = torch.mv(act(F.linear(h, w("w_v1"), w("b_v1"))), w("w_v2")[0]) + w("b_v2")  # φ_v(h_i)
            new_pos = torch.addcmul(new_pos, speed.unsqueeze(1), vel)

        if not update_features:
            return EGNNOutput(None, new_pos)
        agg = aggregate(m, edges, self.aggregation)
        out = F.linear(act(F.linear(torch.cat([h, agg], dim=1), w("w_n1"), w("b_n1"))), w("w_n2"), w("b_n2"))
        if self.residual:
            out = h + out
        return EGNNOutput(out, new_pos)

    def _fused(self, h, pos, edges, vel, edge_attr, update_features=True, embedding=None) -> EGNNOutput:
        config = (self.coords_clamp, self.tanh, self.normalize, self.normalize_eps,
                  self.coords_aggregation == "mean", self.aggregation == "mean", self.residual, self.layout,
                  self._views)
        out, new_pos = FusedEGNNLayer.apply(
            h, pos, vel if self.velocity else None, edge_attr if self.edge_channels else None, edges,
            update_features, config, self.flat,
            *((embedding[0], embedding[1].weight, embedding[1].bias) if embedding is not None else (None, None, None)),
        )
        return EGNNOutput(out if update_features else None, new_pos)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels} → {self.out_channels}, hidden={self.hidden_channels}, edge_channels={self.edge_channels}, "
            f"velocity={self.velocity}, coords_aggregation={self.coords_aggregation!r}, "
            f"aggregation={self.aggregation!r}, residual={self.residual}, normalize={self.normalize}, "
            f"tanh={self.tanh}, coords_clamp={self.coords_clamp}"
        )
