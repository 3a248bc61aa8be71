"""Graph builders against brute-force numpy / networkx references."""
import itertools

import networkx as nx
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from gdl.nn.graph import builders
from gdl.nn.graph.builders import fully_connected_graph, knn_graph, radius_graph


def random_cloud(seed, num_nodes=40, num_graphs=3, dim=3, shuffle=True):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(num_nodes, dim, generator=g, dtype=torch.float64)
    batch = torch.randint(num_graphs, (num_nodes,), generator=g)
    if not shuffle:
        batch = batch.sort().values
    return pos, batch


def edge_list(edge_index):
    return [tuple(e) for e in edge_index.t().tolist()]


def sorted_by_target(edges):
    return sorted(edges, key=lambda e: (e[1], e[0]))


def brute_force_neighbours(pos, batch, loop, r=None, k=None):
    """(source, target) pairs: per target i, candidates j of the same graph ranked by (d², j)."""
    pos, batch = pos.numpy(), batch.numpy()
    edges = []
    for i in range(len(pos)):
        cands = [j for j in range(len(pos)) if batch[j] == batch[i] and (loop or j != i)]
        d2 = {j: float(((pos[i] - pos[j]) ** 2).sum()) for j in cands}
        if r is not None:
            cands = [j for j in cands if d2[j] < r * r]
        cands.sort(key=lambda j: (d2[j], j))
        if k is not None:
            cands = cands[:k]
        edges += [(j, i) for j in cands]
    return sorted_by_target(edges)


# ----------------------------------------------------------------------------- fully connected


@pytest.mark.parametrize("self_loops", [False, True])
def test_fully_connected_matches_networkx(self_loops):
    _, batch = random_cloud(0, num_nodes=23, num_graphs=4)
    expected = []
    for graph_id in batch.unique().tolist():
        nodes = (batch == graph_id).nonzero().flatten().tolist()
        complete = nx.complete_graph(nodes, create_using=nx.DiGraph)
        expected += list(complete.edges()) + ([(v, v) for v in nodes] if self_loops else [])
    edge_index = fully_connected_graph(batch, self_loops=self_loops)
    assert edge_index.dtype == torch.long and edge_index.shape[0] == 2
    assert edge_list(edge_index) == sorted_by_target(expected)


def test_fully_connected_int_matches_nbody_graph():
    edge_index = fully_connected_graph(5)
    assert edge_index.shape == (2, 20)
    assert edge_list(edge_index) == sorted_by_target([(j, i) for i, j in itertools.permutations(range(5), 2)])
    assert fully_connected_graph(5, self_loops=True).shape == (2, 25)
    assert fully_connected_graph(1).shape == (2, 0)
    assert fully_connected_graph(0).shape == (2, 0)


def test_fully_connected_bad_input():
    with pytest.raises(ValueError, match="number of nodes"):
        fully_connected_graph(-1)
    with pytest.raises(ValueError, match="integer"):
        fully_connected_graph(torch.zeros(4))
    with pytest.raises(ValueError, match="1-D"):
        fully_connected_graph(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(TypeError):
        fully_connected_graph(3.0)


# ----------------------------------------------------------------------------- radius


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("loop", [False, True])
@pytest.mark.parametrize("max_num_neighbors", [None, 3])
def test_radius_graph_matches_brute_force(seed, loop, max_num_neighbors):
    pos, batch = random_cloud(seed)
    edge_index = radius_graph(pos, 1.3, batch=batch, loop=loop, max_num_neighbors=max_num_neighbors)
    expected = brute_force_neighbours(pos, batch, loop=loop, r=1.3, k=max_num_neighbors)
    assert len(expected) > 0
    assert edge_list(edge_index) == expected


def test_radius_graph_matches_networkx_geometric_graph():
    pos, _ = random_cloud(3, num_nodes=30, num_graphs=1)
    positions = {i: p for i, p in enumerate(pos.tolist())}
    # networkx's brute-force neighbour search uses <= r; no pair sits at exactly r here
    graph = nx.random_geometric_graph(30, 0.9, pos=positions)
    expected = [(j, i) for i, j in graph.edges()] + [(i, j) for i, j in graph.edges()]
    assert edge_list(radius_graph(pos, 0.9)) == sorted_by_target(expected)


def test_radius_graph_is_symmetric_without_cap():
    pos, batch = random_cloud(4)
    edges = set(edge_list(radius_graph(pos, 1.0, batch=batch)))
    assert edges == {(i, j) for j, i in edges}


# ----------------------------------------------------------------------------- knn


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("loop", [False, True])
@pytest.mark.parametrize("k", [1, 4])
def test_knn_graph_matches_brute_force(seed, loop, k):
    pos, batch = random_cloud(seed)
    edge_index = knn_graph(pos, k, batch=batch, loop=loop)
    assert edge_list(edge_index) == brute_force_neighbours(pos, batch, loop=loop, k=k)
    counts = torch.bincount(edge_index[1], minlength=pos.shape[0])
    sizes = torch.bincount(batch)[batch] - (0 if loop else 1)
    assert torch.equal(counts, torch.minimum(sizes, torch.tensor(k)))


def test_knn_graph_ties_broken_by_smaller_index():
    # node 0 at the origin, nodes 1..4 on the unit circle at equal distance: k=2 picks 1 and 2
    pos = torch.tensor([[0.0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], dtype=torch.float64)
    edge_index = knn_graph(pos, 2)
    assert edge_index[0, edge_index[1] == 0].tolist() == [1, 2]


def test_knn_graph_with_fewer_nodes_than_k():
    pos = torch.randn(3, 3)
    assert edge_list(knn_graph(pos, 5)) == sorted_by_target([(j, i) for i, j in itertools.permutations(range(3), 2)])
    assert knn_graph(pos[:1], 3).shape == (2, 0)
    assert knn_graph(pos[:0], 3).shape == (2, 0)


# ----------------------------------------------------------------------------- symmetry


@given(seed=st.integers(0, 10_000), num_graphs=st.integers(1, 4))
def test_builders_are_permutation_equivariant(seed, num_graphs):
    pos, batch = random_cloud(seed, num_nodes=17, num_graphs=num_graphs)
    perm = torch.randperm(17, generator=torch.Generator().manual_seed(seed))  # new node a is old node perm[a]
    relabel = torch.empty_like(perm)
    relabel[perm] = torch.arange(17)  # old node → new label
    for build in (
        lambda p, b: knn_graph(p, 3, batch=b),
        lambda p, b: radius_graph(p, 1.2, batch=b),
        lambda p, b: fully_connected_graph(b),
    ):
        edges = build(pos, batch)
        edges_permuted = build(pos[perm], batch[perm])
        assert set(edge_list(edges_permuted)) == set(edge_list(relabel[edges]))


def test_builders_are_euclidean_invariant():
    pos, batch = random_cloud(7, num_nodes=30)
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    moved = pos @ q.T + torch.tensor([3.0, -2.0, 0.5], dtype=torch.float64)  # includes a reflection when det q < 0
    assert torch.equal(knn_graph(moved, 4, batch=batch), knn_graph(pos, 4, batch=batch))
    assert torch.equal(radius_graph(moved, 1.1, batch=batch), radius_graph(pos, 1.1, batch=batch))


def test_chunked_computation_gives_the_same_graph(monkeypatch):
    pos, batch = random_cloud(5, num_nodes=60, num_graphs=4)
    full = (knn_graph(pos, 5, batch=batch), radius_graph(pos, 1.0, batch=batch, max_num_neighbors=4),
            fully_connected_graph(batch))
    monkeypatch.setattr(builders, "_PAIRS_PER_CHUNK", 7)
    chunked = (knn_graph(pos, 5, batch=batch), radius_graph(pos, 1.0, batch=batch, max_num_neighbors=4),
               fully_connected_graph(batch))
    for a, b in zip(full, chunked):
        assert torch.equal(a, b)


def test_no_gradient_needed_and_float32_works():
    pos = torch.randn(10, 3, requires_grad=True)
    edge_index = radius_graph(pos, 2.0)
    assert not edge_index.requires_grad and edge_index.dtype == torch.long
    one_graph = torch.zeros(10, dtype=torch.long)
    assert edge_list(knn_graph(pos, 2)) == brute_force_neighbours(pos.detach().double(), one_graph, False, k=2)


# ----------------------------------------------------------------------------- bad input


def test_bad_input_raises_clear_errors():
    pos = torch.randn(6, 3)
    nan_pos = pos.clone()
    nan_pos[4, 1] = float("nan")
    with pytest.raises(ValueError, match=r"^'pos' contains non-finite values \(NaN or inf\) at nodes \[4\]$"):
        knn_graph(nan_pos, 2)
    with pytest.raises(ValueError, match="NaN or inf"):
        radius_graph(nan_pos, 1.0)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        knn_graph(pos, 0)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        knn_graph(pos, 2.5)
    with pytest.raises(ValueError, match=r"expected an integer tensor of shape \[6\] \(one graph id per node\) for 'batch'"):
        knn_graph(pos, 2, batch=torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"):
        radius_graph(pos, 1.0, batch=torch.zeros(6))
    with pytest.raises(ValueError, match="non-negative"):
        radius_graph(pos, 1.0, batch=-torch.ones(6, dtype=torch.long))
    with pytest.raises(ValueError, match="r must be a finite number > 0"):
        radius_graph(pos, 0.0)
    with pytest.raises(ValueError, match="r must be a finite number > 0"):
        radius_graph(pos, float("nan"))
    with pytest.raises(ValueError, match="max_num_neighbors"):
        radius_graph(pos, 1.0, max_num_neighbors=0)
    with pytest.raises(ValueError, match=r"expected a floating-point tensor of shape \[num_nodes, dim\] for 'pos'"):
        knn_graph(pos.flatten(), 2)
    with pytest.raises(ValueError, match="floating-point"):
        knn_graph(pos.long(), 2)
