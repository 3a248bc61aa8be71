"""``CSL``: circular skip-link graphs (Murphy et al., "Relational Pooling for Graph Representations", ICML 2019).

Class c ∈ {0, …, 9} is the circulant graph C₄₁(1, R_c) with R = (2, 3, 4, 5, 6, 9, 11, 12, 13, 16):
41 nodes on a cycle (i ~ i ± 1) plus skip links i ~ i ± R_c (mod 41). The ten graphs are
4-regular with 82 edges, pairwise non-isomorphic, and 1-WL cannot tell them apart (colour
refinement stabilises at once on a regular graph), so a message-passing network bounded
by 1-WL with identical node features is at chance (10 %) by construction. Each class
appears as ``num_copies`` = 15 copies with seeded random node relabellings: 150 graphs.

Items are PyG ``Data(edge_index=[2, 164], y=[1], num_nodes=41)`` without node features
(add them with a transform, e.g. ``torch_geometric.transforms.Constant`` or
:class:`gdl.data.RandomWalkPE`). Splits: :func:`gdl.data.stratified_folds`. Dataset card:
``datasets/csl.md``.
"""
from __future__ import annotations

from typing import Callable, Optional

import networkx as nx
import torch
from torch_geometric.data import Data

from gdl.data._cache import CachedInMemoryDataset
from gdl.data._home import dataset_root, hook_repr, save_processed

__all__ = ["CSL", "CSL_SKIPS", "circular_skip_link_graph"]

CSL_SKIPS = (2, 3, 4, 5, 6, 9, 11, 12, 13, 16)
CSL_NUM_NODES = 41
_FORMAT_VERSION = 1


def circular_skip_link_graph(skip: int, num_nodes: int = CSL_NUM_NODES) -> nx.Graph:
    """C_n(1, R): the cycle on ``num_nodes`` nodes plus the links i ~ i ± ``skip`` (mod n)."""
    return nx.circulant_graph(num_nodes, [1, skip])


def _edge_index(graph: nx.Graph, relabel: torch.Tensor) -> torch.Tensor:
    """Both directions of every edge, node v renamed relabel[v], sorted by target then source."""
    edges = torch.tensor(sorted(graph.edges()), dtype=torch.long).t()
    edges = relabel[torch.cat([edges, edges.flip(0)], dim=1)]
    order = torch.argsort(edges[1] * graph.number_of_nodes() + edges[0])
    return edges[:, order]


class CSL(CachedInMemoryDataset):
    """The 150-graph CSL benchmark, generated with networkx (no download).

    Args:
        root: cache folder (default ``$GDL_HOME/csl``).
        transform, pre_transform, pre_filter: PyG hooks.
        seed: seed of the node relabellings.
        num_copies: relabelled copies per class (15 in the standard set).
        force_reload: regenerate even if the cache exists.

    Item ``k`` has class ``k // num_copies``; every copy, the first included, is relabelled by a
    seeded random permutation.
    """

    def __init__(
        self,
        root: Optional[str] = None,
        transform: Optional[Callable] = None,
        pre_transform: Optional[Callable] = None,
        pre_filter: Optional[Callable] = None,
        seed: int = 0,
        num_copies: int = 15,
        force_reload: bool = False,
    ) -> None:
        if isinstance(num_copies, bool) or not isinstance(num_copies, int) or num_copies < 1:
            raise ValueError(f"num_copies must be an int >= 1, got {num_copies!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be an int in [0, 2**63), got {seed!r}")
        self.seed, self.num_copies = int(seed), num_copies
        self.generation = {
            "dataset": "csl",
            "format_version": _FORMAT_VERSION,
            "num_nodes": CSL_NUM_NODES,
            "skips": list(CSL_SKIPS),
            "seed": self.seed,
            "num_copies": num_copies,
            "pre_transform": hook_repr(pre_transform),
            "pre_filter": hook_repr(pre_filter),
        }
        super().__init__(dataset_root("csl", root), transform, pre_transform, pre_filter, force_reload=force_reload)
        self.load_cache()


    @property
    def num_classes(self) -> int:
        return len(CSL_SKIPS)

    def process(self) -> None:
        generator = torch.Generator().manual_seed(self.seed)
        data_list = []
        for label, skip in enumerate(CSL_SKIPS):
            graph = circular_skip_link_graph(skip)
            for _ in range(self.num_copies):
                relabel = torch.randperm(CSL_NUM_NODES, generator=generator)
                data_list.append(Data(edge_index=_edge_index(graph, relabel), y=torch.tensor([label]), num_nodes=CSL_NUM_NODES))
        save_processed(self, data_list)
