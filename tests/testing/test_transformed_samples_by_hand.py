"""``transformed_samples``: every moved sample is what the documented action says, checked by hand.

For each (symmetry, label, args) returned for an EGNN-style model on named tensors
(h invariant, pos points, vel vectors, edge_index, batch):

- E(3): the motion (Q, t) is recovered from the moved positions by least squares; Q must be
  orthogonal, the velocities must turn by Q alone, h must not change, the edges and the batch
  must stay, and the model's output on the moved sample must be (h, Q·pos + t) of the original.
- node permutation: σ is recovered by matching the (distinct) rows of h; pos, vel and batch must
  be permuted by the same σ, within graphs, and the edges relabelled by σ⁻¹ in their order.
"""
import torch

from gdl.testing import EuclideanSymmetry, NodePermutation, transformed_samples

from .helpers import TinyEGNN, fully_connected


def _sample(seed=0):
    g = torch.Generator().manual_seed(seed)
    edge_index, batch = fully_connected(2, 4)
    return (torch.randn(8, 16, generator=g, dtype=torch.float64), torch.randn(8, 3, generator=g, dtype=torch.float64),
            torch.randn(8, 3, generator=g, dtype=torch.float64), edge_index, batch)


def _fit_motion(before, after):
    """(Q, t) minimising ‖before Qᵀ + t − after‖ (exact for a rigid motion)."""
    ones = torch.ones(before.shape[0], 1, dtype=before.dtype)
    solution = torch.linalg.lstsq(torch.cat([before, ones], 1), after).solution
    return solution[:3].T, solution[3]


def test_every_e3_sample_is_a_rigid_motion_of_the_original():
    model = TinyEGNN().double()
    h, pos, vel, edge_index, batch = args = _sample()
    with torch.no_grad():
        h_out, pos_out = model(*args)
    moved = transformed_samples(model, *args, symmetry=EuclideanSymmetry(3), n_random=3, n_grid=2)
    assert len(moved) >= 10
    reflections = 0
    for symmetry, label, (h2, pos2, vel2, edge_index2, batch2) in moved:
        assert symmetry == "E(3)"
        q, t = _fit_motion(pos, pos2)
        assert torch.allclose(q @ q.T, torch.eye(3, dtype=torch.float64), atol=1e-12), label
        assert torch.allclose(pos @ q.T + t, pos2, atol=1e-12), label
        assert torch.allclose(vel2, vel @ q.T, atol=1e-12), label  # vectors: no translation
        assert torch.equal(h2, h) and torch.equal(edge_index2, edge_index) and torch.equal(batch2, batch), label
        with torch.no_grad():
            h_moved, pos_moved = model(h2, pos2, vel2, edge_index2, batch2)
        assert torch.allclose(h_moved, h_out, atol=1e-10) and torch.allclose(pos_moved, pos_out @ q.T + t, atol=1e-10)
        reflections += bool(torch.det(q) < 0)
    assert reflections >= 1  # O(3), not only SO(3)


def test_every_permuted_sample_relabels_nodes_edges_and_batch_consistently():
    model = TinyEGNN().double()
    h, pos, vel, edge_index, batch = args = _sample(seed=1)
    moved = transformed_samples(model, *args, symmetry=NodePermutation(), n_random=3)
    assert len(moved) >= 4
    for symmetry, label, (h2, pos2, vel2, edge_index2, batch2) in moved:
        assert symmetry == "node permutation"
        sigma = torch.cdist(h2, h).argmin(1)  # new node k is old node sigma[k]
        assert torch.equal(h2, h[sigma]) and sorted(sigma.tolist()) == list(range(8)), label
        assert torch.equal(pos2, pos[sigma]) and torch.equal(vel2, vel[sigma]), label
        assert torch.equal(batch2, batch[sigma]) and torch.equal(batch2, batch), label  # within graphs
        inverse = torch.empty_like(sigma)
        inverse[sigma] = torch.arange(8)
        relabelled = inverse[edge_index]
        # a graph is a set of edges: the relabelled edges, possibly in another order
        assert sorted(map(tuple, edge_index2.T.tolist())) == sorted(map(tuple, relabelled.T.tolist())), label
        moved_something = not torch.equal(sigma, torch.arange(8)) or not torch.equal(edge_index2, relabelled)
        assert moved_something, label  # no element is the identity on both nodes and edge order
