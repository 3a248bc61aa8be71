"""gdl.nn.graph: equivariant and permutation-equivariant graph layers and N-body models.

Layers (each declares ``in_type`` / ``out_type``, see docs/layers.md):
``EGNNConv`` (E(n), Satorras et al. 2021), and graph builders on plain torch.
"""
from gdl.nn.graph._egnn import EGNN
from gdl.nn.graph._egnn_conv import EGNNConv, EGNNOutput
from gdl.nn.graph.builders import fully_connected_graph, knn_graph, radius_graph

__all__ = ["EGNNConv", "EGNNOutput", "EGNN", "fully_connected_graph", "radius_graph", "knn_graph"]
