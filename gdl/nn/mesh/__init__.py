"""gdl.nn.mesh: gauge-equivariant layers on triangle meshes (GEM-CNN, de Haan et al. 2021).

Features are SO(2) fields ρ_0 ⊕ … ⊕ ρ_L per vertex (``FieldType`` over ``SO2()``); the
geometry (log map, transport) is what ``gdl.gauge.MeshGeometry`` writes on a PyG ``Data``.
Every layer declares ``in_type`` / ``out_type``. See docs/meshes.md for the gauge picture,
conventions and measured errors.
"""
from gdl.nn.mesh._blocks import GaugeLinear, GaugeResNetBlock
from gdl.nn.mesh._conv import GaugeEquivariantConv, hat_profile, mesh_geometry_inputs
from gdl.nn.mesh._kernel_basis import KernelBasis, solve_kernel_basis, solve_self_interaction_basis
from gdl.nn.mesh._layout import GaugeFieldLayout, as_gauge_type
from gdl.nn.mesh._features import heat_kernel_signature, local_matrix_features, matrix_feature_type
from gdl.nn.mesh._pooling import GaugePooling, GaugeUnpooling
from gdl.nn.mesh._nonlinearities import GatedNonlinearity, NormNonlinearity, RegularNonlinearity

__all__ = [
    "GaugeEquivariantConv", "GaugeLinear", "GaugeResNetBlock",
    "NormNonlinearity", "GatedNonlinearity", "RegularNonlinearity", "GaugePooling", "GaugeUnpooling",
    "local_matrix_features", "matrix_feature_type", "heat_kernel_signature",
    "hat_profile", "mesh_geometry_inputs",
    "KernelBasis", "solve_kernel_basis", "solve_self_interaction_basis",
    "GaugeFieldLayout", "as_gauge_type",
]
