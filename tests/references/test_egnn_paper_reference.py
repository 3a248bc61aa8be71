"""gdl's EGNN against an EGNN written out from the paper, with the same weights.

Satorras, Hoogeboom, Welling (2021), "E(n) Equivariant Graph Neural Networks", eqs. 3–6 and
the N-body velocity variant (EGNN_vel, eq. 7), as in the reference code ``models/gcl.py``
(``E_GCL_vel``) and ``n_body_system/model.py`` (``EGNN_vel``). For every edge j → i::

    m_ij   = φ_e([h_i, h_j, ‖x_i − x_j‖², a_ij])                                  (3)
    x_i'   = x_i + C Σ_{j ∈ N(i)} clamp((x_i − x_j) φ_x(m_ij), ±100) + φ_v(h_i) v_i  (4), (7)
    m_i    = Σ_{j ∈ N(i)} m_ij                                                    (5)
    h_i'   = h_i + φ_h([h_i, m_i])                                                (6), residual

with C = 1 / |N(i)| (mean over the nodes that send to i; the empty mean is 0), φ_e =
Linear-SiLU-Linear-SiLU, φ_x = Linear-SiLU-Linear(no bias), φ_v = Linear-SiLU-Linear,
φ_h = Linear-SiLU-Linear. The model: h⁰ = Linear(‖v‖), a_ij = [q_i q_j, ‖x_i − x_j‖² at the
input], the same v (the input velocity) at every layer, output x after the last layer.

The reference below is a plain loop-free torch transcription of those formulas: one Linear per
MLP layer (the concatenated input, not gdl's split weights), ``index_add_`` sums and an explicit
in-degree count. It shares nothing with gdl but the weights, which are copied out of gdl's flat
parameter. Graphs are irregular (uneven in-degrees, in-degree ≠ out-degree, a node nobody sends
to, not complete) and the weights are scaled so that the clamp acts on some messages and not
on others. Switching the coordinate mean to a sum, dropping the clamp, or counting the degree
at the source instead of the target makes these tests fail in the fused and in the plain path.
"""
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from gdl.models import EGNN
from gdl.nn.graph import EGNNConv

TOL = 1e-12  # float64: the two computations differ only in summation order


@pytest.fixture(autouse=True)
def _float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)



# ------------------------------------------------------------------------------------- reference
def silu(x):
    return x * torch.sigmoid(x)


def linear(x, weight, bias=None):
    out = x @ weight.T
    return out if bias is None else out + bias


class PaperEGNNLayer:
    """One E_GCL_vel layer, eqs. 3–7, with weights given as full (unsplit) matrices."""

    def __init__(self, conv: EGNNConv, record=None):
        self.record = record  # a list that receives each call's coordinate messages before the clamp
        b = {name: conv.block(name).detach().clone() for name in conv.layout}
        self.w_e1 = torch.cat([b["w_i"], b["w_j"], b["w_s"]], dim=1)  # acts on [h_i, h_j, d², a_ij]
        self.b_e1, self.w_e2, self.b_e2 = b["b_1"], b["w_2"], b["b_2"]
        self.w_x1, self.b_x1, self.w_x2 = b["w_3"], b["b_3"], b["w_4"]
        self.velocity = conv.velocity
        if conv.velocity:
            self.w_v1, self.b_v1, self.w_v2, self.b_v2 = b["w_v1"], b["b_v1"], b["w_v2"], b["b_v2"]
        self.w_h1, self.b_h1, self.w_h2, self.b_h2 = b["w_n1"], b["b_n1"], b["w_n2"], b["b_n2"]
        self.clamp = conv.coords_clamp
        self.mean = conv.coords_aggregation == "mean"

    def __call__(self, h, x, edge_index, v=None, a=None):
        j, i = edge_index[0], edge_index[1]  # edge j → i: j sends, i receives
        n = x.shape[0]
        rel = x[i] - x[j]  # x_i − x_j
        d2 = (rel**2).sum(1, keepdim=True)
        inputs = [h[i], h[j], d2] + ([a] if a is not None else [])
        m = silu(linear(silu(linear(torch.cat(inputs, 1), self.w_e1, self.b_e1)), self.w_e2, self.b_e2))  # (3)
        phi_x = linear(silu(linear(m, self.w_x1, self.b_x1)), self.w_x2)
        trans = rel * phi_x
        if self.record is not None:
            self.record.append(trans.detach().abs())
        if self.clamp is not None:
            trans = torch.clamp(trans, -self.clamp, self.clamp)
        total = torch.zeros(n, 3).index_add_(0, i, trans)
        if self.mean:
            in_degree = torch.zeros(n).index_add_(0, i, torch.ones(i.shape[0]))  # |N(i)|: edges INTO i
            total = total / in_degree.clamp(min=1).unsqueeze(1)
        x_new = x + total  # (4)
        if self.velocity:
            x_new = x_new + linear(silu(linear(h, self.w_v1, self.b_v1)), self.w_v2, self.b_v2) * v  # (7)
        m_i = torch.zeros(n, m.shape[1]).index_add_(0, i, m)  # (5)
        h_new = h + linear(silu(linear(torch.cat([h, m_i], 1), self.w_h1, self.b_h1)), self.w_h2, self.b_h2)  # (6)
        return h_new, x_new


def paper_egnn(model: EGNN, data, record=None):
    """EGNN_vel's forward (n_body_system/model.py) with ``model``'s weights."""
    x, v, q, edge_index = data.pos, data.vel, data.charges, data.edge_index
    j, i = edge_index
    emb = model.embedding
    h = linear(v.norm(dim=1, keepdim=True), emb.weight.detach(), emb.bias.detach())
    a = torch.cat([q[i] * q[j], ((x[i] - x[j]) ** 2).sum(1, keepdim=True)], 1)
    for conv in model.layers:
        h, x = PaperEGNNLayer(conv, record)(h, x, edge_index, v, a)
    return x


# ------------------------------------------------------------------------------------- graphs
def irregular_graph(n=9, seed=0):
    """A random directed graph without self-loops: every node but one receives from 1…n−2 others
    (uneven), node n−1 receives from nobody, and in-degree ≠ out-degree at most nodes."""
    g = torch.Generator().manual_seed(seed)
    src, dst = [], []
    for i in range(n - 1):
        k = 1 + (i * 3) % (n - 2)
        others = [j for j in range(n) if j != i]
        chosen = torch.randperm(len(others), generator=g)[:k]
        src += [others[c] for c in chosen]
        dst += [i] * k
    edge_index = torch.tensor([src, dst])
    order = torch.randperm(edge_index.shape[1], generator=g)  # not sorted by target: the scatter path
    return edge_index[:, order]


def sorted_constant_in_degree(n=8, k=3, seed=1):
    """Sorted by target, every node receives from k others (the fused reshape fast path) but the
    out-degrees are uneven, so a degree counted at the source differs from the in-degree."""
    g = torch.Generator().manual_seed(seed)
    src = []
    for i in range(n):
        weights = torch.tensor([0.0 if j == i else (4.0 if j < 3 else 1.0) for j in range(n)])
        src += torch.multinomial(weights, k, replacement=False, generator=g).tolist()
    return torch.stack([torch.tensor(src), torch.arange(n).repeat_interleave(k)])


def degrees(edge_index, n):
    return torch.bincount(edge_index[1], minlength=n), torch.bincount(edge_index[0], minlength=n)


GRAPHS = {"irregular": irregular_graph, "sorted-constant-in-degree": sorted_constant_in_degree}


def test_the_graphs_are_what_the_tests_need():
    for name, make in GRAPHS.items():
        edge_index = make()
        n = int(edge_index.max()) + 1
        inn, out = degrees(edge_index, n)
        assert not torch.equal(inn, out), name
        assert bool((edge_index[0] != edge_index[1]).all()), name
        assert edge_index.shape[1] < n * (n - 1), name  # not complete
    inn, _ = degrees(irregular_graph(), 9)
    assert len(set(inn.tolist())) >= 4 and inn[-1] == 0


def _sample(n, seed, spread=2.0):
    g = torch.Generator().manual_seed(seed)
    pos = spread * torch.randn(n, 3, generator=g)
    vel = torch.randn(n, 3, generator=g)
    h = torch.randn(n, 6, generator=g)
    return h, pos, vel


def _coordinate_messages(conv, h, pos, edge_index, a=None):
    """(x_i − x_j) φ_x(m_ij) per edge, from the reference's maths (before the clamp)."""
    ref = PaperEGNNLayer(conv)
    j, i = edge_index
    rel = pos[i] - pos[j]
    inputs = [h[i], h[j], (rel**2).sum(1, keepdim=True)] + ([a] if a is not None else [])
    m = silu(linear(silu(linear(torch.cat(inputs, 1), ref.w_e1, ref.b_e1)), ref.w_e2, ref.b_e2))
    return rel * linear(silu(linear(m, ref.w_x1, ref.b_x1)), ref.w_x2)


def _make_the_clamp_act(conv, h, pos, edge_index, a=None, quantile=0.6):
    """Scale φ_x's output layer so that the clamp bound sits at the ``quantile`` of |message|:
    then about 40% of the coordinate-message components are clipped and the rest are not."""
    size = _coordinate_messages(conv, h, pos, edge_index, a).abs().flatten()
    with torch.no_grad():
        conv.block("w_4").mul_(conv.coords_clamp / torch.quantile(size, quantile))
    size = _coordinate_messages(conv, h, pos, edge_index, a).abs()
    beyond = int((size > conv.coords_clamp).sum())
    assert 0 < beyond < size.numel(), "the clamp must act on some message components and not on others"
    return conv


# ------------------------------------------------------------------------------------- layer tests
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
@pytest.mark.parametrize("graph", list(GRAPHS))
@pytest.mark.parametrize("coords_aggregation", ["mean", "sum"])
def test_layer_equals_the_paper_equations(fused, graph, coords_aggregation):
    edge_index = GRAPHS[graph]()
    n = int(edge_index.max()) + 1
    h, pos, vel = _sample(n, seed=3)
    torch.manual_seed(0)
    conv = EGNNConv(6, 6, 16, velocity=True, coords_aggregation=coords_aggregation, fused=fused)
    _make_the_clamp_act(conv, h, pos, edge_index)

    h_ref, x_ref = PaperEGNNLayer(conv)(h, pos, edge_index, vel)
    out = conv(h, pos, edge_index, vel=vel)
    assert (out.pos - x_ref).abs().max() <= TOL * x_ref.abs().max()
    assert (out.h - h_ref).abs().max() <= TOL * h_ref.abs().max()


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
def test_layer_with_edge_attributes_and_no_velocity(fused):
    edge_index = irregular_graph(n=7, seed=5)
    n = 7
    h, pos, _ = _sample(n, seed=4)
    a = torch.randn(edge_index.shape[1], 2, generator=torch.Generator().manual_seed(9))
    torch.manual_seed(1)
    conv = EGNNConv(6, 6, 12, edge_channels=2, fused=fused)
    _make_the_clamp_act(conv, h, pos, edge_index, a)
    h_ref, x_ref = PaperEGNNLayer(conv)(h, pos, edge_index, None, a)
    out = conv(h, pos, edge_index, edge_attr=a)
    assert (out.pos - x_ref).abs().max() <= TOL * x_ref.abs().max()
    assert (out.h - h_ref).abs().max() <= TOL * h_ref.abs().max()


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
def test_gradients_equal_the_paper_equations(fused):
    """Autograd through the transcription vs gdl's (hand-written, when fused) backward, clamp acting."""
    edge_index = irregular_graph(n=9, seed=2)
    h, pos, vel = _sample(9, seed=6)
    torch.manual_seed(2)
    conv = EGNNConv(6, 6, 16, velocity=True, fused=fused)
    _make_the_clamp_act(conv, h, pos, edge_index)
    weights = torch.randn(9, 3, generator=torch.Generator().manual_seed(7))
    wh = torch.randn(9, 6, generator=torch.Generator().manual_seed(8))

    pos_a, h_a = pos.clone().requires_grad_(), h.clone().requires_grad_()
    out = conv(h_a, pos_a, edge_index, vel=vel)
    ((out.pos * weights).sum() + (out.h * wh).sum()).backward()

    pos_b, h_b = pos.clone().requires_grad_(), h.clone().requires_grad_()
    h_r, x_r = PaperEGNNLayer(conv)(h_b, pos_b, edge_index, vel)
    ((x_r * weights).sum() + (h_r * wh).sum()).backward()
    for got, want in [(pos_a.grad, pos_b.grad), (h_a.grad, h_b.grad)]:
        assert (got - want).abs().max() <= 1e-10 * want.abs().max()


# ------------------------------------------------------------------------------------- model test
def _nbody_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    graphs = []
    for k, make in enumerate([irregular_graph, sorted_constant_in_degree, irregular_graph]):
        edge_index = make(seed=seed + k)
        n = int(edge_index.max()) + 1
        graphs.append(Data(pos=2.0 * torch.randn(n, 3, generator=g), vel=torch.randn(n, 3, generator=g),
                           charges=torch.randint(0, 2, (n, 1), generator=g).double() * 2 - 1, edge_index=edge_index))
    return Batch.from_data_list(graphs)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
@pytest.mark.parametrize("clamp_acts", [False, True], ids=["reference-init", "clamp-acts"])
def test_model_equals_the_paper_model(fused, clamp_acts):
    """The 4-layer N-body EGNN (rank-one embedding, skipped last node update) vs EGNN_vel's forward."""
    torch.manual_seed(3)
    model = EGNN(hidden_channels=16, num_layers=4, fused=fused)
    data = _nbody_batch()
    if clamp_acts:  # clamp bound at the median coordinate message of the unclamped model, every layer
        messages = []
        for conv in model.layers:
            conv.coords_clamp = None
        with torch.no_grad():
            paper_egnn(model, data, messages)
        bound = float(torch.cat([m.flatten() for m in messages]).median())
        for conv in model.layers:
            conv.coords_clamp = bound
    messages = []
    with torch.no_grad():
        want = paper_egnn(model, data, messages)
        got = model(data)
    assert (got - want).abs().max() <= TOL * want.abs().max()
    assert (want - data.pos).abs().max() > 1e-3  # the layers really move the points
    if clamp_acts:
        clipped = [float((m > bound).double().mean()) for m in messages]
        assert all(0 < c < 1 for c in clipped), clipped  # the clamp acts in every layer, never on everything


def test_model_uses_the_input_velocity_at_every_layer():
    """EGNN_vel adds φ_v(h) v with the input v in each layer (not the velocity implied by x updates)."""
    torch.manual_seed(4)
    model = EGNN(hidden_channels=8, num_layers=3)
    data = _nbody_batch(seed=1)
    with torch.no_grad():
        got = model(data)
        want = paper_egnn(model, data)
    assert (got - want).abs().max() <= TOL * want.abs().max()


def test_reference_tells_mean_from_sum_and_target_from_source():
    """Sanity of the reference itself: the variants it must tell apart differ by far more than TOL."""
    edge_index = irregular_graph()
    h, pos, vel = _sample(9, seed=3)
    torch.manual_seed(0)
    conv = EGNNConv(6, 6, 16, velocity=True)
    ref = PaperEGNNLayer(conv)
    _, x_mean = ref(h, pos, edge_index, vel)
    ref.mean = False
    _, x_sum = ref(h, pos, edge_index, vel)
    ref.mean = True
    _, x_flipped = ref(h, pos, edge_index.flip(0), vel)  # degree counted at the other end (and flow)
    assert (x_mean - x_sum).abs().max() > 1e3 * TOL * x_mean.abs().max()
    assert (x_mean - x_flipped).abs().max() > 1e3 * TOL * x_mean.abs().max()


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
def test_clamp_acting_on_one_sign_only(fused):
    """Only positive message components beyond the bound: a clamp that needs both signs to act fails."""
    edge_index = irregular_graph(n=9, seed=4)
    h, pos, vel = _sample(9, seed=8)
    torch.manual_seed(5)
    conv = EGNNConv(6, 6, 16, velocity=True, fused=fused)
    messages = _coordinate_messages(conv, h, pos, edge_index)
    if messages.max() < -messages.min():
        with torch.no_grad():
            conv.block("w_4").neg_()
        messages = -messages
    conv.coords_clamp = float(messages.max() - messages.min()) / 2
    assert bool((messages > conv.coords_clamp).any()) and not bool((messages < -conv.coords_clamp).any())
    h_ref, x_ref = PaperEGNNLayer(conv)(h, pos, edge_index, vel)
    out = conv(h, pos, edge_index, vel=vel)
    assert (out.pos - x_ref).abs().max() <= TOL * x_ref.abs().max()
