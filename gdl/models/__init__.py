"""gdl.models: benchmark models assembled from ``gdl.nn`` layers.

Layering: ``gdl.models`` may import ``gdl.groups``, ``gdl.nn`` and ``gdl.data``; ``gdl.train``'s
tasks build these models (the task registry, ``gdl.train.get_task(name).models``, is the one
table of which model serves which benchmark); ``gdl.nn`` never imports ``gdl.models``.

Charged N-body (PyG batch with ``pos``, ``vel``, ``charges``, ``edge_index`` → positions [N, 3]):

- ``EGNN``: EGNN_vel (Satorras et al. 2021), ``EGNNConv`` layers with the velocity term.
- ``TFN``: tensor-field network, ``TensorFieldConv`` layers.
- ``SEGNN``: steerable E(3) GNN (Brandstetter et al. 2022), ``SteerableConv`` layers.
- ``GNN``, ``Linear``: the non-equivariant baselines of the EGNN paper.
- ``read_nbody`` (checked batch fields), ``nbody_in_type`` / ``nbody_out_type`` (declared types).

Circular skip-link graphs: ``CSLClassifier`` (GIN with or without random-walk encodings).

Meshes (PyG batch with ``pos`` [V, 3], ``face`` [3, F] → per-vertex outputs [V, C]): ``GEMCNN``
(gauge-equivariant mesh CNN on ``gdl.nn.mesh``; invariant-descriptor or XYZ input), and the
baselines ``MeshGCN`` (GCN on XYZ) and ``InvariantFeatureMLP`` (``invariant_vertex_features``).
Spherical MNIST (grid image [B, 1, 2b, 2b] or a batch with that ``x`` → logits): ``PlanarCNN``, the
non-equivariant baseline; ``SphericalCNN`` (spherical CNN on ``gdl.nn.sphere``).

Force fields: ``EGNNEnergy`` (invariant per-graph energy from atomic numbers and positions; wrap it in
``gdl.thermo.EnergyModel`` for forces).

Group multiplication tables (batch ``{"a": [B], "b": [B]}`` of element indices → logits [B, |G|]): ``GroupMLP``
(Chughtai et al. 2023's one-hidden-layer MLP over concatenated embeddings; the ``group_tables`` task, grokking).
"""
from gdl.models._csl import CSLClassifier
from gdl.models._force_field import EGNNEnergy
from gdl.models._gem_cnn import GEMCNN
from gdl.models._grokking import GroupMLP
from gdl.models._mesh_baselines import InvariantFeatureMLP, MeshGCN
from gdl.models._mesh_inputs import invariant_vertex_features, read_mesh
from gdl.models._nbody_egnn import EGNN
from gdl.models._nbody_inputs import NBodyInputs, nbody_in_type, nbody_out_type, read_nbody
from gdl.models._nbody_models import GNN, SEGNN, TFN, Linear
from gdl.models._planar_cnn import PlanarCNN
from gdl.models._spherical_cnn import SphericalCNN

__all__ = [
    "EGNN", "TFN", "SEGNN", "GNN", "Linear", "CSLClassifier",
    "SphericalCNN",
    "NBodyInputs", "read_nbody", "nbody_in_type", "nbody_out_type",
    "GEMCNN", "MeshGCN", "InvariantFeatureMLP", "invariant_vertex_features", "read_mesh",
    "PlanarCNN",
    "EGNNEnergy",
    "GroupMLP",
]
