"""gdl.nn: equivariant layers that take tensors and types. Graph layers live in ``gdl.nn.graph``,
gauge-equivariant mesh layers in ``gdl.nn.mesh`` (docs/meshes.md).

Shared by every layer (and by mesh / sphere layers to come):

- types: each layer takes its types as a ``FieldType``, e3nn ``Irreps`` or an irreps string
  (``as_irreps``, ``as_channels``), so ``TensorFieldConv(layer.out_type["h"], ...)`` chains;
- one input check with one message format (``check_field``, ``check_edge_index``, …) and named
  dtype / device errors (``DtypeMismatchError``, ``DeviceMismatchError``);
- ``Sequential``: a stack whose connections are type-checked when it is built.

Benchmark models assembled from these layers live in ``gdl.models``; nothing here knows a task.
"""
from gdl.nn import graph
from gdl.nn._checks import (
    DeviceMismatchError,
    DtypeMismatchError,
    check_batch,
    check_edge_attr,
    check_edge_index,
    check_field,
    check_finite,
    check_matches_module,
    check_positions,
    reference_tensor,
)
from gdl.nn._sequential import Sequential, declared_types
from gdl.nn._types import as_channels, as_irreps, describe, same_type
from gdl.nn import mesh  # noqa: E402  (after _checks: the mesh layers use it)

__all__ = [
    "graph", "mesh", "Sequential", "declared_types",
    "as_irreps", "as_channels", "describe", "same_type",
    "check_field", "check_finite", "check_positions", "check_edge_index", "check_edge_attr", "check_batch",
    "check_matches_module", "reference_tensor",
    "DtypeMismatchError", "DeviceMismatchError",
]
