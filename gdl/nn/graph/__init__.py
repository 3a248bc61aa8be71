"""gdl.nn.graph: equivariant and permutation-equivariant graph layers.

Layers (each declares ``in_type`` / ``out_type`` and takes its types as a ``FieldType``, e3nn
``Irreps`` or an irreps string; catalogue and measured errors in docs/layers.md):

- ``EGNNConv``: E(n)-equivariant message passing (Satorras et al. 2021).
- ``TensorFieldConv``: TFN / NequIP-style E(3) convolution on e3nn irreps.
- ``SteerableConv``: SEGNN steerable messages and updates (Brandstetter et al. 2022).
- ``O3TensorProduct``, ``GatedO3TensorProduct``: SEGNN's steerable linear / gated layers.
- ``GINConv``, ``GraphReadout``: permutation-equivariant / -invariant layers.
- The message-passing skeleton they share: ``edge_structure`` (per-batch edge bookkeeping,
  ``EdgeStructure``), ``aggregate`` (sum / mean at the target), ``edge_spherical_harmonics``.
- Graph builders on plain torch: ``fully_connected_graph``, ``radius_graph``, ``knn_graph``.

Ready benchmark models (N-body, CSL) live in ``gdl.models``.
"""
from gdl.nn.graph._egnn_conv import EGNNConv, EGNNOutput
from gdl.nn.graph._gin_conv import NODE_FEATURES, GINConv, GraphReadout, node_feature_type
from gdl.nn.graph._irreps import GatedO3TensorProduct, O3TensorProduct, edge_spherical_harmonics
from gdl.nn.graph._message_passing import EdgeStructure, aggregate, edge_structure, segment_sum
from gdl.nn.graph._steerable_conv import SteerableConv
from gdl.nn.graph._tensor_field_conv import TensorFieldConv
from gdl.nn.graph.builders import fully_connected_graph, knn_graph, radius_graph

__all__ = [
    "EGNNConv", "EGNNOutput", "TensorFieldConv", "SteerableConv", "GINConv", "GraphReadout",
    "O3TensorProduct", "GatedO3TensorProduct", "NODE_FEATURES", "node_feature_type",
    "EdgeStructure", "edge_structure", "aggregate", "segment_sum", "edge_spherical_harmonics",
    "fully_connected_graph", "radius_graph", "knn_graph",
]
