"""Graph builders on plain torch: fully connected, radius and k-nearest-neighbour graphs.

PyG's ``radius_graph`` / ``knn_graph`` need pyg-lib or torch-cluster; these do not. All three
follow PyG's flow and conventions:

- ``edge_index[0]`` is the source j, ``edge_index[1]`` the target i (messages j → i);
- ``batch`` (int [N], graph id per node) keeps every edge inside one graph; it need not be sorted;
- the output is deterministic: edges sorted by target, then source (ties in distance are
  broken by the smaller source index).

Symmetry: the graphs depend on positions only through pairwise distances, so they are
invariant under E(d) (up to floating-point rounding of distances at exactly r or at ties)
and equivariant under node permutations (relabel nodes → relabel edges; the edge *order*
follows the new labels).

Cost: O(Σ_g n_g²) time over the graphs g of the batch (all pairs inside each graph, computed
in chunks so memory stays bounded); fine up to ~10⁴ nodes per graph. Squared distances are
computed from differences (never ``torch.cdist``), without gradient: ``edge_index`` is
integer-valued, so gradients of a model flow only through the positions it gathers.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch

from gdl.nn._checks import check_batch, check_positions

__all__ = ["fully_connected_graph", "radius_graph", "knn_graph"]

# Upper bound on the candidate pairs held in memory at once (targets are processed in chunks).
_PAIRS_PER_CHUNK = 1 << 22


def _read_batch(batch: Optional[torch.Tensor], num_nodes: int, device: torch.device) -> torch.Tensor:
    if batch is None:
        return torch.zeros(num_nodes, dtype=torch.long, device=device)
    check_batch(batch, num_nodes, nonnegative=True)
    return batch.to(device=device, dtype=torch.long)


def _read_pos(pos: torch.Tensor) -> torch.Tensor:
    check_positions("pos", pos)
    return pos.detach()


def _group_by_graph(batch: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nodes sorted by graph (stable).

    Returns ``order`` (sorted position → node), ``ptr`` (CSR offsets per graph) and ``graph_of``
    (graph id per sorted position).
    """
    order = torch.argsort(batch, stable=True)
    graph_of = batch[order]
    num_graphs = int(graph_of[-1]) + 1 if graph_of.numel() else 0
    counts = torch.bincount(graph_of, minlength=num_graphs)
    ptr = torch.zeros(num_graphs + 1, dtype=torch.long, device=batch.device)
    ptr[1:] = torch.cumsum(counts, 0)
    return order, ptr, graph_of


def _candidate_chunks(batch: torch.Tensor):
    """Yield (order [N], targets [T], candidates [T, M], valid [T, M]) in sorted-node coordinates.

    Row t lists every node of the target's graph (padded to the largest graph in the chunk,
    ``valid`` marks real entries), in increasing sorted position, i.e. increasing node index
    within the graph (the sort is stable).
    """
    order, ptr, graph_of = _group_by_graph(batch)
    num_nodes = batch.numel()
    sizes = (ptr[1:] - ptr[:-1])[graph_of]  # [N] size of each sorted node's graph
    start = 0
    while start < num_nodes:
        # grow the chunk while the padded pair count stays under the budget
        stop = min(num_nodes, start + max(1, _PAIRS_PER_CHUNK // int(sizes[start])))
        width = int(sizes[start:stop].max())
        stop = min(stop, start + max(1, _PAIRS_PER_CHUNK // width))  # the widest graph sets the padding
        targets = torch.arange(start, stop, device=batch.device)
        width = int(sizes[start:stop].max())
        offsets = torch.arange(width, device=batch.device)
        first = ptr[graph_of[targets]]
        candidates = first[:, None] + offsets[None, :]
        valid = offsets[None, :] < sizes[targets][:, None]
        candidates = torch.where(valid, candidates, first[:, None])
        yield order, targets, candidates, valid
        start = stop


def _finish(source: torch.Tensor, target: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Sort edges by (target, source) in original node labels and stack them PyG-style."""
    if source.numel():
        key = target * max(num_nodes, 1) + source
        perm = torch.argsort(key)
        source, target = source[perm], target[perm]
    return torch.stack([source, target], dim=0)


def fully_connected_graph(
    batch_or_num_nodes: Union[int, torch.Tensor], self_loops: bool = False, device: Optional[torch.device] = None
) -> torch.Tensor:
    """All ordered pairs (j → i) of nodes in the same graph.

    Args:
        batch_or_num_nodes: an ``int`` N (one graph of N nodes) or a ``batch`` vector int [N].
        self_loops: include the edges i → i.
        device: device of the result when an ``int`` is given (default: CPU).

    Returns:
        ``edge_index`` int64 [2, E] with E = Σ_g n_g (n_g − 1) (or Σ_g n_g² with self loops),
        sorted by target then source.
    """
    if isinstance(batch_or_num_nodes, bool) or not isinstance(batch_or_num_nodes, (int, torch.Tensor)):
        raise TypeError(
            "fully_connected_graph: expected a number of nodes (int) or a batch vector, "
            f"got {type(batch_or_num_nodes).__name__}"
        )
    if isinstance(batch_or_num_nodes, int):
        if batch_or_num_nodes < 0:
            raise ValueError(f"fully_connected_graph: number of nodes must be >= 0, got {batch_or_num_nodes}")
        batch = torch.zeros(batch_or_num_nodes, dtype=torch.long, device=device)
    else:
        batch = batch_or_num_nodes
        if batch.dim() != 1:
            raise ValueError(f"expected a 1-D vector of graph ids for 'batch', got tensor of shape {list(batch.shape)}")
        batch = _read_batch(batch, batch.numel(), batch.device)
    num_nodes = batch.numel()
    sources, targets = [], []
    for order, target, candidates, valid in _candidate_chunks(batch):
        keep = valid if self_loops else valid & (candidates != target[:, None])
        t = target[:, None].expand_as(candidates)[keep]
        s = candidates[keep]
        sources.append(order[s])
        targets.append(order[t])
    if not sources:
        return torch.zeros(2, 0, dtype=torch.long, device=batch.device)
    return _finish(torch.cat(sources), torch.cat(targets), num_nodes)


def _squared_distances(pos_sorted: torch.Tensor, targets: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    diff = pos_sorted[candidates] - pos_sorted[targets][:, None, :]
    return (diff * diff).sum(-1)


def radius_graph(
    pos: torch.Tensor,
    r: float,
    batch: Optional[torch.Tensor] = None,
    max_num_neighbors: Optional[int] = None,
    loop: bool = False,
) -> torch.Tensor:
    """Edges j → i between nodes of the same graph with ‖x_i − x_j‖ < r.

    Args:
        pos: float [N, d] positions (finite).
        r: cutoff radius (> 0); the comparison is strict, as in PyG / torch-cluster.
        batch: int [N] graph id per node (default: one graph).
        max_num_neighbors: keep at most this many sources per target, the **nearest** ones
            (ties: smaller index). PyG's default of 32 keeps an arbitrary subset; here the
            default ``None`` keeps all.
        loop: include i → i.

    Returns:
        ``edge_index`` int64 [2, E], sorted by target then source.
    """
    pos = _read_pos(pos)
    if isinstance(r, torch.Tensor):
        r = float(r)
    if not isinstance(r, (int, float)) or isinstance(r, bool) or not (r > 0) or r != r or r == float("inf"):
        raise ValueError(f"radius_graph: r must be a finite number > 0, got {r!r}")
    if max_num_neighbors is not None and (
        isinstance(max_num_neighbors, bool) or not isinstance(max_num_neighbors, int) or max_num_neighbors < 1
    ):
        raise ValueError(f"radius_graph: max_num_neighbors must be an int >= 1 or None, got {max_num_neighbors!r}")
    batch = _read_batch(batch, pos.shape[0], pos.device)
    return _neighbour_graph(pos, batch, loop=loop, k=max_num_neighbors, r2=float(r) ** 2)


def knn_graph(pos: torch.Tensor, k: int, batch: Optional[torch.Tensor] = None, loop: bool = False) -> torch.Tensor:
    """Edges j → i from the k nearest nodes j of each node i in its graph.

    Ties in distance are broken by the smaller index of j. A graph with fewer than k other
    nodes gives each of its nodes all of them (as in PyG / torch-cluster). With ``loop=True``
    the node itself is a candidate (at distance 0, so it is always among the k).

    Args:
        pos: float [N, d] positions (finite).
        k: number of neighbours (int >= 1).
        batch: int [N] graph id per node (default: one graph).
        loop: include i → i.

    Returns:
        ``edge_index`` int64 [2, E] with E ≤ k N, sorted by target then source.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"knn_graph: k must be an int >= 1, got {k!r}")
    pos = _read_pos(pos)
    batch = _read_batch(batch, pos.shape[0], pos.device)
    return _neighbour_graph(pos, batch, loop=loop, k=k, r2=None)


def _neighbour_graph(
    pos: torch.Tensor, batch: torch.Tensor, loop: bool, k: Optional[int], r2: Optional[float]
) -> torch.Tensor:
    num_nodes = pos.shape[0]
    sources, targets = [], []
    pos_sorted = None
    for order, target, candidates, valid in _candidate_chunks(batch):
        if pos_sorted is None:
            pos_sorted = pos[order]
        d2 = _squared_distances(pos_sorted, target, candidates)
        keep = valid if loop else valid & (candidates != target[:, None])
        if r2 is not None:
            keep = keep & (d2 < r2)
        if k is not None and k < candidates.shape[1]:
            # rank candidates by (distance, index): a stable sort keeps index order among ties
            ranked = torch.sort(d2, dim=1, stable=True).indices
            kept_first = torch.sort((~torch.gather(keep, 1, ranked)).to(torch.uint8), dim=1, stable=True).indices
            ranked = torch.gather(ranked, 1, kept_first)[:, :k]
            keep = torch.gather(keep, 1, ranked)
            candidates = torch.gather(candidates, 1, ranked)
        t = target[:, None].expand_as(candidates)[keep]
        s = candidates[keep]
        sources.append(order[s])
        targets.append(order[t])
    if not sources:
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device)
    return _finish(torch.cat(sources), torch.cat(targets), num_nodes)
