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

Force fields: ``EGNNEnergy`` (invariant per-graph energy from atomic numbers and positions; wrap it in
``gdl.thermo.EnergyModel`` for forces).
"""
from gdl.models._csl import CSLClassifier
from gdl.models._force_field import EGNNEnergy
from gdl.models._nbody_egnn import EGNN
from gdl.models._nbody_inputs import NBodyInputs, nbody_in_type, nbody_out_type, read_nbody
from gdl.models._nbody_models import GNN, SEGNN, TFN, Linear

__all__ = [
    "EGNN", "TFN", "SEGNN", "GNN", "Linear", "CSLClassifier",
    "NBodyInputs", "read_nbody", "nbody_in_type", "nbody_out_type",
    "EGNNEnergy",
]
