"""gdl.nn.graph: equivariant and permutation-equivariant graph layers and N-body models.

Layers (each declares ``in_type`` / ``out_type``; catalogue and measured errors in docs/layers.md):

- ``EGNNConv``: E(n)-equivariant message passing (Satorras et al. 2021).
- ``TensorFieldConv``: TFN / NequIP-style E(3) convolution on e3nn irreps.
- ``SteerableConv``: SEGNN steerable messages and updates (Brandstetter et al. 2022).
- ``GINConv``, ``GraphReadout``: permutation-equivariant / -invariant baselines.
- Graph builders on plain torch: ``fully_connected_graph``, ``radius_graph``, ``knn_graph``.

Models for the charged N-body task (PyG batch with pos, vel, charges → positions [N, 3]):
``EGNN``, ``TFN``, ``SEGNN`` (E(3)-equivariant), ``GNN``, ``Linear`` (baselines); ``MODELS``
maps names to constructors.
"""
from gdl.nn.graph._egnn import EGNN
from gdl.nn.graph._egnn_conv import EGNNConv, EGNNOutput
from gdl.nn.graph._gin_conv import NODE_FEATURES, GINConv, GraphReadout, node_feature_type
from gdl.nn.graph._irreps import GatedO3TensorProduct, O3TensorProduct
from gdl.nn.graph._nbody_models import GNN, SEGNN, TFN, Linear
from gdl.nn.graph._steerable_conv import SteerableConv
from gdl.nn.graph._tensor_field_conv import TensorFieldConv
from gdl.nn.graph.builders import fully_connected_graph, knn_graph, radius_graph

#: N-body model constructors by name (defaults: the reference hyper-parameters).
MODELS = {"egnn": EGNN, "segnn": SEGNN, "tfn": TFN, "gnn": GNN, "linear": Linear}

__all__ = [
    "EGNNConv", "EGNNOutput", "TensorFieldConv", "SteerableConv", "GINConv", "GraphReadout",
    "O3TensorProduct", "GatedO3TensorProduct", "NODE_FEATURES", "node_feature_type",
    "EGNN", "TFN", "SEGNN", "GNN", "Linear", "MODELS",
    "fully_connected_graph", "radius_graph", "knn_graph",
]
