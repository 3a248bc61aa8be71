"""Mesh building blocks for the mesh datasets: icospheres, sphere re-triangulation, random rotations,
edge lengths and geodesic distances on a template.

A triangle mesh is ``pos`` [V, 3] and ``face`` [3, F] (PyG's layout, counter-clockwise seen from
outside, so that (x_b − x_a) × (x_c − x_a) points outwards). Everything here is vectorised numpy /
torch (no Python loop over vertices or faces); geodesic distances use scipy's Dijkstra on the edge
graph (an upper bound of the surface geodesic) or, when ``potpourri3d`` is installed, the heat
method (Crane et al. 2013). On the 642-vertex unit icosphere, against great-circle distances
(pairs more than 0.3 apart), Dijkstra is 6.4 % above on average (max 17.9 %) and the heat method
1.5 % below (``TemplateGeodesics(*icosphere(3)).distance`` vs ``arccos(x_i·x_j)``).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch

__all__ = [
    "icosphere", "icosphere_num_vertices", "sphere_triangulation", "random_rotation", "edge_lengths",
    "mesh_edges", "TemplateGeodesics",
]

_PHI = (1.0 + 5.0 ** 0.5) / 2.0


def icosphere_num_vertices(subdivisions: int) -> int:
    """V = 10·4ˢ + 2 vertices after ``s`` subdivisions (12, 42, 162, 642, 2562, 10242, 40962, …)."""
    return 10 * 4 ** int(subdivisions) + 2


def icosphere(subdivisions: int, dtype: torch.dtype = torch.float64) -> Tuple[torch.Tensor, torch.Tensor]:
    """The unit icosphere: the icosahedron with each triangle split into four ``subdivisions`` times,
    new vertices projected onto the sphere. Returns ``(pos [V, 3], face [3, F])`` with
    V = 10·4ˢ + 2, F = 20·4ˢ, faces oriented outwards. Deterministic (the same mesh every call).
    """
    if isinstance(subdivisions, bool) or not isinstance(subdivisions, int) or not 0 <= subdivisions <= 7:
        raise ValueError(f"icosphere: subdivisions must be an int in 0…7, got {subdivisions!r}")
    p = _PHI
    verts = np.array([[-1, p, 0], [1, p, 0], [-1, -p, 0], [1, -p, 0], [0, -1, p], [0, 1, p], [0, -1, -p], [0, 1, -p],
                      [p, 0, -1], [p, 0, 1], [-p, 0, -1], [-p, 0, 1]], dtype=np.float64)
    faces = np.array([[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2],
                      [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5],
                      [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]], dtype=np.int64)
    verts /= np.linalg.norm(verts, axis=1, keepdims=True)
    for _ in range(subdivisions):
        a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
        pairs = np.concatenate([np.stack([a, b], 1), np.stack([b, c], 1), np.stack([c, a], 1)])  # [3F, 2]
        key = np.sort(pairs, axis=1)
        unique, inverse = np.unique(key, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        mid = verts[unique[:, 0]] + verts[unique[:, 1]]
        mid /= np.linalg.norm(mid, axis=1, keepdims=True)
        new = len(verts) + inverse.reshape(3, -1)  # midpoints of ab, bc, ca per face
        ab, bc, ca = new[0], new[1], new[2]
        faces = np.concatenate([np.stack([a, ab, ca], 1), np.stack([b, bc, ab], 1), np.stack([c, ca, bc], 1),
                                np.stack([ab, bc, ca], 1)])
        verts = np.concatenate([verts, mid])
    faces = _orient_outwards(verts, faces)
    return torch.as_tensor(verts, dtype=dtype), torch.as_tensor(faces.T.copy(), dtype=torch.long)


def _orient_outwards(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Flip every face of a star-shaped (about the origin) mesh whose normal points inwards."""
    tri = verts[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    inward = (normal * tri.mean(1)).sum(1) < 0
    faces = faces.copy()
    faces[inward] = faces[inward][:, [0, 2, 1]]
    return faces


def sphere_triangulation(num_vertices: int, seed: int = 0, jitter: float = 0.3,
                         dtype: torch.dtype = torch.float64) -> Tuple[torch.Tensor, torch.Tensor]:
    """A triangulation of the unit sphere unrelated to the icosphere's: ``num_vertices`` points of a
    Fibonacci spiral, jittered along the sphere by ``jitter`` × the mean spacing and rotated by a
    seeded random rotation, triangulated by their convex hull (the spherical Delaunay triangulation;
    scipy's Qhull). Faces oriented outwards. Used to re-triangulate SynthFAUST test meshes.
    """
    from scipy.spatial import ConvexHull

    if isinstance(num_vertices, bool) or not isinstance(num_vertices, int) or num_vertices < 12:
        raise ValueError(f"sphere_triangulation: num_vertices must be an int >= 12, got {num_vertices!r}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7]))
    k = np.arange(num_vertices) + 0.5
    z = 1.0 - 2.0 * k / num_vertices
    azimuth = np.pi * (1.0 + 5.0 ** 0.5) * k
    r = np.sqrt(1.0 - z ** 2)
    pts = np.stack([r * np.cos(azimuth), r * np.sin(azimuth), z], 1)
    spacing = np.sqrt(4.0 * np.pi / num_vertices)
    pts = pts + jitter * spacing * rng.standard_normal(pts.shape) / np.sqrt(3.0)
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    pts = pts @ random_rotation(rng).T
    faces = _orient_outwards(pts, ConvexHull(pts).simplices.astype(np.int64))
    return torch.as_tensor(pts, dtype=dtype), torch.as_tensor(faces.T.copy(), dtype=torch.long)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A Haar-random rotation matrix in SO(3) [3, 3] (QR of a Gaussian matrix, signs fixed, det +1)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def mesh_edges(face: torch.Tensor) -> torch.Tensor:
    """The undirected edges of a triangle mesh, each once (i < j): [2, E]."""
    face = torch.as_tensor(face, dtype=torch.long)
    pairs = torch.cat([face[[0, 1]], face[[1, 2]], face[[2, 0]]], 1).sort(0).values
    return torch.unique(pairs, dim=1)


def edge_lengths(pos: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """|x_i − x_j| for each edge column (i, j) of ``edges`` [2, E]: [E]."""
    return (pos[edges[0]] - pos[edges[1]]).norm(dim=-1)


class TemplateGeodesics:
    """Geodesic distances between vertices of a fixed template mesh, for the mean geodesic error of a
    correspondence (Kim et al. 2011's protocol: distance on the template between the predicted and the
    true template vertex, divided by √area of the template).

    ``method="dijkstra"`` (default, scipy): shortest paths along mesh edges — exact on the edge graph,
    an upper bound of the surface geodesic. ``method="heat"``: potpourri3d's heat method (needs the
    ``meshes`` extra). The distance matrix is computed once for templates up to ``dense_limit``
    vertices, otherwise rows are computed for the requested source vertices on demand.
    """

    def __init__(self, pos: torch.Tensor, face: torch.Tensor, method: str = "dijkstra", dense_limit: int = 4000):
        if method not in ("dijkstra", "heat"):
            raise ValueError(f"TemplateGeodesics: method must be 'dijkstra' or 'heat', got {method!r}")
        self.pos = np.asarray(torch.as_tensor(pos, dtype=torch.float64))
        self.face = np.asarray(torch.as_tensor(face, dtype=torch.long)).T.copy()  # [F, 3]
        self.method = method
        self.num_vertices = len(self.pos)
        tri = self.pos[self.face]
        self.area = float(0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum())
        self._dense: Optional[np.ndarray] = None
        self._solver = None
        if method == "dijkstra":
            from scipy.sparse import coo_matrix

            edges = np.asarray(mesh_edges(torch.as_tensor(self.face.T)))
            length = np.linalg.norm(self.pos[edges[0]] - self.pos[edges[1]], axis=1)
            n = self.num_vertices
            self._graph = coo_matrix((np.concatenate([length, length]),
                                      (np.concatenate([edges[0], edges[1]]), np.concatenate([edges[1], edges[0]]))),
                                     shape=(n, n)).tocsr()
        if self.num_vertices <= dense_limit:
            self._dense = self._rows(np.arange(self.num_vertices))

    def _rows(self, sources: np.ndarray) -> np.ndarray:
        if self.method == "dijkstra":
            from scipy.sparse.csgraph import dijkstra

            return dijkstra(self._graph, directed=False, indices=sources)
        if self._solver is None:
            import potpourri3d

            self._solver = potpourri3d.MeshHeatMethodDistanceSolver(self.pos, self.face)
        return np.stack([self._solver.compute_distance(int(s)) for s in sources])

    def distance(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Geodesic distance between template vertices ``source[k]`` and ``target[k]`` (float64 [K])."""
        source = torch.as_tensor(source, dtype=torch.long).cpu().numpy().reshape(-1)
        target = torch.as_tensor(target, dtype=torch.long).cpu().numpy().reshape(-1)
        if source.shape != target.shape:
            raise ValueError(f"TemplateGeodesics.distance: source and target differ in shape: {source.shape} vs {target.shape}")
        for name, index in (("source", source), ("target", target)):
            if index.size and (index.min() < 0 or index.max() >= self.num_vertices):
                raise ValueError(f"TemplateGeodesics.distance: {name} vertex indices must lie in [0, {self.num_vertices}), "
                                 f"got range [{index.min()}, {index.max()}]")
        if self._dense is not None:
            return torch.as_tensor(self._dense[source, target])
        unique, inverse = np.unique(source, return_inverse=True)
        rows = self._rows(unique)
        return torch.as_tensor(rows[inverse.reshape(-1), target])

    def normalised_error(self, predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """distance(predicted, target) / √(template area) per vertex (the Princeton-benchmark normalisation)."""
        return self.distance(predicted, target) / self.area ** 0.5
