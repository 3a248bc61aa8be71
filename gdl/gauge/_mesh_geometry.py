"""``MeshGeometry``: ``surface_geometry`` as a PyG ``BaseTransform`` (its own module so that
importing ``gdl.gauge`` does not import torch_geometric until the transform is used)."""
from __future__ import annotations

from typing import Optional

import torch
from torch_geometric.transforms import BaseTransform

from gdl.gauge._cache import cached_surface_geometry
from gdl.gauge._geometry import Reference, surface_geometry
from gdl.gauge._validation import validate_mesh


class MeshGeometry(BaseTransform):
    """Write the gauge geometry of a triangle mesh onto a PyG ``Data`` (the attributes are
    tabled in ``gdl.gauge._geometry``: normal, frames, log map, transport, curvature).

    Needs ``data.pos`` [V, 3] and ``data.face`` [3, F]; adds ``edge_index`` from the faces
    (PyG's ``FaceToEdge``, both directions) when the data has none, and keeps a given one.
    Use it as a ``pre_transform`` to compute the geometry once per mesh and cache it with
    the dataset.

    >>> from torch_geometric.data import Data
    >>> import torch
    >>> pos = torch.tensor([[0., 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=torch.float64)
    >>> data = MeshGeometry()(Data(pos=pos, face=torch.tensor([[0, 1], [1, 3], [2, 2]])))
    >>> data.transport.shape, data.frame_x.shape
    (torch.Size([10]), torch.Size([4, 3]))

    Args:
        reference: ``"neighbour"`` or a direction, see ``surface_geometry``.
        curvature: also write ``angle_deficit`` and ``fan_holonomy``.
        dtype: dtype of the written attributes (default: that of ``pos``); computed in float64.
        validate: check the mesh first (``gdl.gauge.validate_mesh``: no faces, repeated or
            duplicate vertices in a face, zero-area faces, non-manifold edges raise a
            ``MeshValidationError``; isolated vertices and boundaries are allowed). Default ``True``.
        geometry: ``"extrinsic"`` (default) or ``"intrinsic"`` (geodesic log map and vector-heat
            transport through potpourri3d; extra ``mesh``), see ``surface_geometry``.
        cache: compute each mesh's geometry once (``gdl.gauge.cached_surface_geometry``, keyed
            on the ``pos`` / ``face`` / ``edge_index`` tensors). Default ``True``.
    """

    def __init__(self, reference: Reference = "neighbour", curvature: bool = False, dtype: Optional[torch.dtype] = None,
                 validate: bool = True, cache: bool = True, geometry: str = "extrinsic"):
        if geometry not in ("extrinsic", "intrinsic"):
            raise ValueError(f"MeshGeometry: geometry is 'extrinsic' or 'intrinsic' (potpourri3d), got {geometry!r}")
        self.geometry = geometry
        if isinstance(reference, str) and reference != "neighbour":
            raise ValueError(f"MeshGeometry: reference is 'neighbour' or a direction ([3] or [V, 3]), got {reference!r}")
        self.reference = reference
        self.curvature = curvature
        self.dtype = dtype
        self.validate = validate
        self.cache = cache

    def forward(self, data):
        if getattr(data, "pos", None) is None:
            raise ValueError("MeshGeometry: the data has no pos; expected vertex positions [V, 3]")
        if getattr(data, "face", None) is None:
            raise ValueError("MeshGeometry: the data has no face; expected triangles [3, F] (a mesh, not a point cloud or graph)")
        if self.validate:
            validate_mesh(data.pos, data.face, "MeshGeometry")
        compute = cached_surface_geometry if self.cache else surface_geometry
        geo = compute(data.pos, data.face, getattr(data, "edge_index", None), reference=self.reference,
                      curvature=self.curvature, dtype=self.dtype, geometry=self.geometry)
        for key, value in geo.items():
            setattr(data, key, value)
        return data

    def __repr__(self):
        ref = self.reference if isinstance(self.reference, str) else tuple(torch.as_tensor(self.reference).flatten().tolist())[:3]
        return f"{type(self).__name__}(reference={ref!r}, curvature={self.curvature})"
