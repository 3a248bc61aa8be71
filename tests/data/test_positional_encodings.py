"""Positional-encoding transforms are permutation-equivariant; Center is per graph and translation-invariant."""
import networkx as nx
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_geometric.data import Batch, Data

from gdl.data import CSL_SKIPS, Center, LaplacianEigenPE, RandomWalkPE, circular_skip_link_graph


def graph_data(graph, directed=False):
    edges = torch.tensor(list(graph.edges()), dtype=torch.long).reshape(-1, 2).t()
    if not directed:
        edges = torch.cat([edges, edges.flip(0)], dim=1)
    return Data(edge_index=edges, num_nodes=graph.number_of_nodes())


def permuted(data, perm):
    """Node a of the result is node perm[a] of ``data``."""
    relabel = torch.empty_like(perm)
    relabel[perm] = torch.arange(perm.numel())
    return Data(edge_index=relabel[data.edge_index], num_nodes=data.num_nodes)


def random_graph(seed, n=12, p=0.3, directed=False):
    return graph_data(nx.gnp_random_graph(n, p, seed=seed, directed=directed), directed=directed)


@given(seed=st.integers(0, 10_000), directed=st.booleans())
def test_random_walk_pe_is_permutation_equivariant(seed, directed):
    data = random_graph(seed, directed=directed)
    perm = torch.randperm(data.num_nodes, generator=torch.Generator().manual_seed(seed))
    transform = RandomWalkPE(6, dtype=torch.float64)
    pe = transform(data.clone()).random_walk_pe
    pe_permuted = transform(permuted(data, perm)).random_walk_pe
    assert torch.allclose(pe_permuted, pe[perm], rtol=0, atol=1e-14)


def test_random_walk_pe_known_values():
    # cycle C_8: return probabilities 0, 1/2, 0, 3/8 (= C(4,2)/2^4); an isolated node gets zeros
    cycle = graph_data(nx.cycle_graph(8))
    cycle.num_nodes = 9
    pe = RandomWalkPE(4, dtype=torch.float64)(cycle).random_walk_pe
    assert pe.shape == (9, 4)
    assert torch.allclose(pe[:8], torch.tensor([0.0, 0.5, 0.0, 0.375], dtype=torch.float64).expand(8, 4))
    assert torch.equal(pe[8], torch.zeros(4, dtype=torch.float64))


def test_random_walk_pe_appends_to_x_when_attr_name_is_none():
    data = random_graph(0)
    data.x = torch.ones(data.num_nodes, 2)
    out = RandomWalkPE(3, attr_name=None)(data)
    assert out.x.shape == (data.num_nodes, 5) and out.x.dtype == torch.float32
    assert torch.equal(out.x[:, :2], torch.ones(data.num_nodes, 2))


def simple_spectrum_graph(seed, k):
    """A random connected graph whose first k + 1 normalised-Laplacian eigenvalues are simple."""
    for attempt in range(100):
        graph = nx.gnp_random_graph(14, 0.35, seed=seed * 100 + attempt)
        if not nx.is_connected(graph):
            continue
        data = graph_data(graph)
        values = LaplacianEigenPE(k, mode="raw", include_eigenvalues=True, dtype=torch.float64)(data.clone())
        eigenvalues = torch.cat([torch.zeros(1, dtype=torch.float64), values.laplacian_eigen_pe[0, k:]])
        if float(eigenvalues.diff().min()) > 1e-3:
            return data
    raise AssertionError("no graph with a simple spectrum found")


@pytest.mark.parametrize("seed", range(4))
def test_abs_laplacian_pe_is_equivariant_when_the_spectrum_is_simple(seed):
    k = 5
    data = simple_spectrum_graph(seed, k)
    perm = torch.randperm(14, generator=torch.Generator().manual_seed(seed))
    transform = LaplacianEigenPE(k, mode="abs", include_eigenvalues=True, dtype=torch.float64)
    pe = transform(data.clone()).laplacian_eigen_pe
    assert torch.allclose(transform(permuted(data, perm)).laplacian_eigen_pe, pe[perm], atol=1e-10)
    # the raw eigenvectors are only defined up to sign: |raw| = abs
    raw = LaplacianEigenPE(k, mode="raw", dtype=torch.float64)(data.clone()).laplacian_eigen_pe
    assert torch.allclose(raw.abs(), pe[:, :k], atol=1e-12)


@pytest.mark.parametrize("skip", CSL_SKIPS)
def test_eigenspace_laplacian_pe_is_equivariant_with_degenerate_eigenvalues(skip):
    data = graph_data(circular_skip_link_graph(skip))
    perm = torch.randperm(41, generator=torch.Generator().manual_seed(skip))
    transform = LaplacianEigenPE(6, mode="eigenspace", include_eigenvalues=True, dtype=torch.float64)
    pe = transform(data.clone()).laplacian_eigen_pe
    assert torch.allclose(transform(permuted(data, perm)).laplacian_eigen_pe, pe[perm], atol=1e-10)
    # vertex-transitive graph: the eigenspace projector's diagonal is mult(λ) / 41 at every node
    assert torch.allclose(pe[:, :6], pe[:1, :6].expand(41, 6), atol=1e-10)
    multiplicity = pe[0, :6] * 41
    assert torch.allclose(multiplicity, multiplicity.round(), atol=1e-8) and bool((multiplicity >= 2 - 1e-8).all())


def test_eigenspace_mode_on_random_graphs_and_projector_trace():
    data = random_graph(3, n=15, p=0.4)
    pe = LaplacianEigenPE(14, mode="eigenspace", dtype=torch.float64)(data.clone()).laplacian_eigen_pe
    assert torch.allclose(pe.sum(0), torch.ones(14, dtype=torch.float64), atol=1e-10)  # trace of a rank-1 projector
    perm = torch.randperm(15, generator=torch.Generator().manual_seed(0))
    permuted_pe = LaplacianEigenPE(14, mode="eigenspace", dtype=torch.float64)(permuted(data, perm)).laplacian_eigen_pe
    assert torch.allclose(permuted_pe, pe[perm], atol=1e-10)


def test_laplacian_pe_pads_small_graphs():
    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
    pe = LaplacianEigenPE(4, include_eigenvalues=True, dtype=torch.float64)(data).laplacian_eigen_pe
    assert pe.shape == (2, 8)
    assert torch.allclose(pe[:, 0], torch.full((2,), 2**-0.5, dtype=torch.float64))  # |v_1| of the edge graph
    assert torch.allclose(pe[:, 4], torch.full((2,), 2.0, dtype=torch.float64))  # λ_1 = 2
    assert not bool(pe[:, 1:4].any()) and not bool(pe[:, 5:].any())
    single = LaplacianEigenPE(3)(Data(edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=1))
    assert single.laplacian_eigen_pe.shape == (1, 3)
    lonely = Data(edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=1)
    assert RandomWalkPE(3)(lonely).random_walk_pe.shape == (1, 3)


def test_center_is_per_graph_and_translation_invariant():
    g = torch.Generator().manual_seed(0)
    graphs = [Data(pos=torch.randn(n, 3, generator=g, dtype=torch.float64), y=torch.randn(n, 3, generator=g,
                                                                                          dtype=torch.float64))
              for n in (3, 5)]
    batch = Batch.from_data_list([d.clone() for d in graphs])
    out = Center(("pos", "y"))(batch.clone())
    for i, data in enumerate(graphs):
        part = out.batch == i
        assert torch.allclose(out.pos[part].mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-14)
        shift = data.pos.mean(0)
        assert torch.allclose(out.y[part], data.y - shift, atol=1e-14)
    moved = graphs[0].clone()
    moved.pos = moved.pos + torch.tensor([5.0, -1.0, 2.0], dtype=torch.float64)
    assert torch.allclose(Center()(moved).pos, Center()(graphs[0].clone()).pos, atol=1e-13)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        RandomWalkPE(0)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        LaplacianEigenPE(0)
    with pytest.raises(ValueError, match="mode must be one of"):
        LaplacianEigenPE(2, mode="sign")
    with pytest.raises(ValueError, match="outside"):
        RandomWalkPE(2)(Data(edge_index=torch.tensor([[0], [5]]), num_nodes=3))
    with pytest.raises(ValueError, match="no edge_index"):
        LaplacianEigenPE(2)(Data(x=torch.ones(3, 1)))
    with pytest.raises(ValueError, match="no attribute 'y'"):
        Center(("pos", "y"))(Data(pos=torch.randn(3, 3)))
    with pytest.raises(ValueError, match="shape"):
        Center(("pos", "y"))(Data(pos=torch.randn(3, 3), y=torch.randn(3, 1)))
