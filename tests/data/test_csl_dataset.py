"""CSL: the ten classes are distinct graphs that 1-WL cannot separate; copies are relabellings; folds."""
import warnings

import networkx as nx
import pytest
import torch
from torch_geometric.utils import to_networkx

from gdl.data import CSL, CSL_SKIPS, LaplacianEigenPE, RandomWalkPE, circular_skip_link_graph, stratified_folds


@pytest.fixture(scope="module")
def csl(tmp_path_factory):
    return CSL(root=str(tmp_path_factory.mktemp("csl")))


def as_networkx(data):
    return to_networkx(data, to_undirected=True)


def wl_hash(graph):
    with warnings.catch_warnings():  # networkx >= 3.5 warns that attribute-free hashes changed in 3.5
        warnings.simplefilter("ignore", UserWarning)
        return nx.weisfeiler_lehman_graph_hash(graph, iterations=5)


def test_size_labels_and_regularity(csl):
    assert len(csl) == 150 and csl.num_classes == 10
    assert torch.equal(torch.bincount(csl.y), torch.full((10,), 15))
    for data in csl:
        src, dst = data.edge_index
        assert data.num_nodes == 41 and data.edge_index.shape == (2, 164)
        assert not bool((src == dst).any())
        assert torch.equal(torch.bincount(dst, minlength=41), torch.full((41,), 4))
        assert set(zip(src.tolist(), dst.tolist())) == set(zip(dst.tolist(), src.tolist()))  # undirected


def test_classes_are_distinct_but_1wl_equivalent():
    graphs = [circular_skip_link_graph(skip) for skip in CSL_SKIPS]
    assert all(g.number_of_edges() == 82 and {d for _, d in g.degree()} == {4} for g in graphs)
    # different adjacency spectra prove the ten graphs pairwise non-isomorphic
    spectra = torch.stack([torch.linalg.eigvalsh(torch.tensor(nx.to_numpy_array(g))) for g in graphs])
    gaps = (spectra[:, None] - spectra[None]).abs().amax(-1) + torch.eye(10)
    assert float(gaps.min()) > 1e-3
    assert not any(nx.is_isomorphic(graphs[a], graphs[b]) for a in range(10) for b in range(a + 1, 10))
    # ... yet colour refinement (1-WL) gives all of them one hash: a 1-WL-bounded MPNN is at chance
    assert len({wl_hash(g) for g in graphs}) == 1


def test_copies_are_relabelled_isomorphic_copies(csl):
    graphs = [circular_skip_link_graph(skip) for skip in CSL_SKIPS]
    hashes = set()
    for index, data in enumerate(csl):
        graph = as_networkx(data)
        assert int(data.y) == index // 15
        assert nx.is_isomorphic(graph, graphs[index // 15])
        hashes.add(wl_hash(graph))
    assert len(hashes) == 1
    # the copies really are relabelled: no two copies of a class share their edge lists
    for c in range(10):
        edge_sets = {frozenset(map(tuple, csl[15 * c + i].edge_index.t().tolist())) for i in range(15)}
        assert len(edge_sets) == 15


def test_generation_is_seeded(csl, tmp_path):
    again = CSL(root=str(tmp_path / "a"))
    other = CSL(root=str(tmp_path / "b"), seed=1)
    assert all(torch.equal(csl[i].edge_index, again[i].edge_index) for i in range(150))
    assert not all(torch.equal(csl[i].edge_index, other[i].edge_index) for i in range(150))


def test_random_walk_pe_separates_the_classes(csl):
    """The multiset of RWPE rows (k = 16) is the same within a class and differs between classes."""
    transform = RandomWalkPE(16, dtype=torch.float64)
    signatures = []
    for data in csl:
        rows = transform(data.clone()).random_walk_pe
        signatures.append(rows.sort(dim=0).values)  # column-wise sort: a multiset fingerprint
    signatures = torch.stack(signatures)  # [150, 41, 16]
    labels = csl.y
    distance = (signatures[:, None] - signatures[None]).abs().flatten(2).amax(-1)
    same = labels[:, None] == labels[None]
    assert float(distance[same].max()) < 1e-12
    assert float(distance[~same].min()) > 1e-3  # measured 2.8e-3 (k = 16)


def test_laplacian_eigenvalues_separate_the_classes(csl):
    transform = LaplacianEigenPE(8, mode="eigenspace", include_eigenvalues=True, dtype=torch.float64)
    features = torch.stack([transform(csl[15 * c].clone()).laplacian_eigen_pe[0] for c in range(10)])
    distance = (features[:, None] - features[None]).abs().amax(-1) + torch.eye(10)
    assert float(distance.min()) > 1e-3


def test_stratified_folds(csl):
    folds = stratified_folds(csl.y, num_folds=5, seed=0)
    assert len(folds) == 5
    tests = torch.cat([f["test"] for f in folds])
    assert torch.equal(tests.sort().values, torch.arange(150))  # every graph is tested exactly once
    for fold in folds:
        parts = [fold["train"], fold["val"], fold["test"]]
        assert [len(p) for p in parts] == [90, 30, 30]
        assert torch.equal(torch.cat(parts).sort().values, torch.arange(150))
        assert torch.equal(torch.bincount(csl.y[fold["test"]], minlength=10), torch.full((10,), 3))
        assert torch.equal(torch.bincount(csl.y[fold["val"]], minlength=10), torch.full((10,), 3))
    no_val = stratified_folds(csl.y, validation=False)
    assert [len(no_val[0]["train"]), len(no_val[0]["test"])] == [120, 30] and "val" not in no_val[0]
    assert all(torch.equal(a["test"], b["test"]) for a, b in zip(folds, stratified_folds(csl.y, seed=0)))
    assert not all(torch.equal(a["test"], b["test"]) for a, b in zip(folds, stratified_folds(csl.y, seed=1)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_copies"):
        CSL(root="unused", num_copies=0)
    with pytest.raises(ValueError, match="num_folds"):
        stratified_folds(torch.arange(10), num_folds=2)
    with pytest.raises(ValueError, match="integers"):
        stratified_folds(torch.rand(10))
    with pytest.raises(ValueError, match="cannot split 3 items"):
        stratified_folds(torch.arange(3), num_folds=5)
