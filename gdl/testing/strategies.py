"""Hypothesis strategies for property tests of equivariant models.

- ``group_elements(group, n)``: batches of n elements (generators, grid or seeded Haar samples);
- ``point_clouds(...)``: well-separated point clouds, built constructively (jittered lattice
  sites, then a random rotation): no two points closer than ``min_distance`` — no rejection;
- ``graphs(...)``: random graphs from networkx (G(n, p)), as PyG ``Data`` with node features
  and well-separated positions; ``graph_batches(...)``: a PyG ``Batch`` of them;
- ``triangle_meshes(...)``: small closed (perturbed icosphere) or open (perturbed grid)
  triangle meshes as ``Data(pos, face, edge_index)``, optionally with tangent-frame geometry
  from ``gdl.gauge`` (``normal`` per vertex, ``transport`` and ``neighbour_angle`` per edge,
  the convention of ``GaugeSymmetry``);
- ``spherical_signals(lmax, ...)``: band-limited signals on S² as e3nn spherical-harmonic
  coefficients ``[channels, (lmax+1)²]``.

Randomness beyond hypothesis' own draws comes from a drawn integer seed, so the ``ci``
profile (``derandomize=True``) makes every run identical.
"""
from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

__all__ = [
    "group_elements",
    "point_clouds",
    "graphs",
    "graph_batches",
    "triangle_meshes",
    "triangle_mesh",
    "spherical_signals",
    "mesh_geometry",
]

_SEEDS = st.integers(min_value=0, max_value=2**31 - 1)


@st.composite
def group_elements(draw, group, n: int = 1, dtype=torch.float64):
    """A batch of ``n`` elements of a gdl ``group``: its generators/grid or Haar samples."""
    kind = draw(st.sampled_from(["random", "test"]))
    if kind == "test":
        pool = group.test_elements(n_random=0, dtype=dtype)
        size = group.batch_size(pool)
        idx = torch.tensor(draw(st.lists(st.integers(0, size - 1), min_size=n, max_size=n)), dtype=torch.long)
        return group.select(pool, idx)
    return group.sample(n, torch.Generator().manual_seed(draw(_SEEDS)), dtype=dtype)


@st.composite
def point_clouds(draw, min_points: int = 2, max_points: int = 8, dim: int = 3, min_distance: float = 0.2,
                 spacing: float = 1.0, dtype=torch.float64):
    """``[n, dim]`` points, pairwise distances ≥ ``min_distance`` by construction.

    Points sit on distinct sites of a cubic lattice of ``spacing``, each moved by at most
    j = (spacing − min_distance)/2 per coordinate (so distinct sites stay ≥ min_distance
    apart), then the cloud is centred and rotated by a random orthogonal matrix.
    """
    if not 0 < min_distance < spacing:
        raise ValueError(f"point_clouds: need 0 < min_distance < spacing, got {min_distance} and {spacing}")
    n = draw(st.integers(min_points, max_points))
    side = max(2, math.ceil(n ** (1.0 / dim)) + 1)
    sites = draw(st.lists(st.integers(0, side**dim - 1), min_size=n, max_size=n, unique=True))
    j = (spacing - min_distance) / 2
    jitter = draw(st.lists(st.floats(-j, j, allow_nan=False, allow_infinity=False), min_size=n * dim, max_size=n * dim))
    idx = torch.tensor(sites, dtype=torch.long)
    coords = torch.stack([(idx // side**k) % side for k in range(dim)], dim=-1).to(torch.float64) * spacing
    pts = coords + torch.tensor(jitter, dtype=torch.float64).reshape(n, dim)
    pts = pts - pts.mean(0)
    gen = torch.Generator().manual_seed(draw(_SEEDS))
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return (pts @ q.T).to(dtype)


@st.composite
def graphs(draw, min_nodes: int = 2, max_nodes: int = 10, edge_probability=None, connected: bool = False,
           node_features: int = 4, positions: bool = True, dtype=torch.float64):
    """A random graph G(n, p) from networkx as PyG ``Data(x, pos, edge_index)`` (both edge
    directions, no self loops); ``connected=True`` adds a random spanning path."""
    import networkx as nx
    from torch_geometric.utils import from_networkx

    n = draw(st.integers(min_nodes, max_nodes))
    p = edge_probability if edge_probability is not None else draw(st.floats(0.1, 0.9))
    seed = draw(_SEEDS)
    g = nx.gnp_random_graph(n, p, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    if connected and n > 1:
        order = torch.randperm(n, generator=gen).tolist()
        g.add_edges_from(zip(order[:-1], order[1:]))
    data = from_networkx(g)
    data.num_nodes = n
    if data.edge_index is None or data.edge_index.numel() == 0:
        data.edge_index = torch.zeros(2, 0, dtype=torch.long)
    data.x = torch.randn(n, node_features, generator=gen, dtype=torch.float64).to(dtype)
    if positions:
        data.pos = draw(point_clouds(n, n, dtype=dtype))
    return data


@st.composite
def graph_batches(draw, min_graphs: int = 1, max_graphs: int = 4, **graph_kwargs):
    """A PyG ``Batch`` of ``graphs(**graph_kwargs)``."""
    from torch_geometric.data import Batch

    items = draw(st.lists(graphs(**graph_kwargs), min_size=min_graphs, max_size=max_graphs))
    return Batch.from_data_list(items)


# -- meshes ---------------------------------------------------------------------------------------
def _icosahedron():
    t = (1 + 5**0.5) / 2
    v = torch.tensor([[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
                      [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]], dtype=torch.float64)
    f = torch.tensor([[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2],
                      [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11],
                      [6, 2, 10], [8, 6, 7], [9, 8, 1]], dtype=torch.long)
    return v / v.norm(dim=1, keepdim=True), f


def _subdivide(v, f):
    """Split each triangle into four; new vertices at edge midpoints, pushed to the sphere."""
    edges = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]).sort(dim=1).values
    uniq, inverse = torch.unique(edges, dim=0, return_inverse=True)
    mid = (v[uniq[:, 0]] + v[uniq[:, 1]]) / 2
    v2 = torch.cat([v, mid / mid.norm(dim=1, keepdim=True)])
    m = inverse.reshape(3, -1) + v.shape[0]  # midpoints of edges (0,1), (1,2), (2,0) per face
    a, b, c = f[:, 0], f[:, 1], f[:, 2]
    f2 = torch.cat([torch.stack([a, m[0], m[2]], 1), torch.stack([b, m[1], m[0]], 1),
                    torch.stack([c, m[2], m[1]], 1), torch.stack([m[0], m[1], m[2]], 1)])
    return v2, f2


def _grid_mesh(rows, cols):
    y, x = torch.meshgrid(torch.arange(rows, dtype=torch.float64), torch.arange(cols, dtype=torch.float64), indexing="ij")
    v = torch.stack([x.flatten(), y.flatten(), torch.zeros(rows * cols, dtype=torch.float64)], 1) / max(rows, cols)
    idx = torch.arange(rows * cols).reshape(rows, cols)
    a, b, c, d = idx[:-1, :-1].flatten(), idx[:-1, 1:].flatten(), idx[1:, :-1].flatten(), idx[1:, 1:].flatten()
    f = torch.cat([torch.stack([a, b, d], 1), torch.stack([a, d, c], 1)])
    return v, f


def _edges_of(faces, num_nodes):
    """Both directions of every edge of ``faces`` [F, 3], sorted by (sender, receiver): [2, E]."""
    from gdl.gauge import face_edges

    return face_edges(faces.T.contiguous(), num_nodes)


def mesh_geometry(pos: torch.Tensor, face: torch.Tensor, edge_index: torch.Tensor, frame_x=None):
    """Tangent frames and per-edge angles of a triangle mesh in float64: a thin wrapper of
    ``gdl.gauge.surface_geometry`` (the one implementation; see it for the maths).

    ``face``: [3, F] (PyG). Normals: area-weighted face normals summed per vertex. Frame of
    vertex i: e_x towards its first neighbour (smallest edge id with receiver i), or along
    ``frame_x`` [V, 3] if given; e_y = n × e_x. Returns a dict with ``normal``, ``frame_x``,
    ``frame_y``, ``neighbour_radius``, ``neighbour_angle`` (φ_ij) and ``transport`` (α_ij).
    Turning every frame by −θ_i changes them exactly as ``GaugeSymmetry`` says
    (α + θ_i − θ_j, φ + θ_i) — tests/testing check this.
    """
    from gdl.gauge import surface_geometry

    reference = "neighbour" if frame_x is None else frame_x
    return surface_geometry(pos, face, edge_index, reference=reference, dtype=torch.float64)


def triangle_mesh(kind: str = "sphere", subdivisions: int = 0, rows: int = 4, cols: int = 4, noise: float = 0.05,
                  seed: int = 0, geometry: bool = True, dtype=torch.float64):
    """A small triangle mesh as ``Data(pos [V,3], face [3,F], edge_index [2,E])`` (both edge
    directions), plus ``transport`` / ``neighbour_angle`` per edge and ``normal`` per vertex
    when ``geometry`` (computed by ``gdl.gauge.surface_geometry``). ``kind="sphere"``: an icosphere (``subdivisions``
    times split) with radial noise, closed; ``kind="grid"``: a flat ``rows × cols`` grid with
    height noise, open. Deterministic for a given ``seed``."""
    from torch_geometric.data import Data

    gen = torch.Generator().manual_seed(seed)
    if kind == "sphere":
        v, f = _icosahedron()
        for _ in range(subdivisions):
            v, f = _subdivide(v, f)
        v = v * (1 + noise * (2 * torch.rand(v.shape[0], 1, generator=gen, dtype=torch.float64) - 1))
    elif kind == "grid":
        v, f = _grid_mesh(rows, cols)
        v[:, 2] += noise * (2 * torch.rand(v.shape[0], generator=gen, dtype=torch.float64) - 1)
    else:
        raise ValueError(f"triangle_mesh: kind is 'sphere' or 'grid', got {kind!r}")
    edge_index = _edges_of(f, v.shape[0])
    data = Data(pos=v.to(dtype), face=f.T.contiguous(), edge_index=edge_index)
    if geometry:
        geo = mesh_geometry(v, f.T.contiguous(), edge_index)
        data.normal = geo["normal"].to(dtype)
        data.transport = geo["transport"].to(dtype)
        data.neighbour_angle = geo["neighbour_angle"].to(dtype)
    return data


@st.composite
def triangle_meshes(draw, kind=None, max_subdivisions: int = 1, noise: float = 0.05, geometry: bool = True,
                    dtype=torch.float64):
    """Strategy over ``triangle_mesh``: ``kind`` drawn when ``None``, up to
    ``max_subdivisions`` icosphere subdivisions, 3–5 × 3–5 grids."""
    kind = kind or draw(st.sampled_from(["sphere", "grid"]))
    return triangle_mesh(kind, subdivisions=draw(st.integers(0, max_subdivisions)), rows=draw(st.integers(3, 5)),
                         cols=draw(st.integers(3, 5)), noise=noise, seed=draw(_SEEDS), geometry=geometry, dtype=dtype)


@st.composite
def spherical_signals(draw, lmax: int = 3, channels: int = 1, dtype=torch.float64):
    """Band-limited signals on S²: coefficients ``[channels, (lmax+1)²]`` on e3nn's
    ``Irreps.spherical_harmonics(lmax)`` (real basis), each degree scaled by 1/(1+l)."""
    from e3nn import o3

    irreps = o3.Irreps.spherical_harmonics(lmax)
    gen = torch.Generator().manual_seed(draw(_SEEDS))
    c = torch.randn(channels, irreps.dim, generator=gen, dtype=torch.float64)
    scale = torch.cat([torch.full((2 * l + 1,), 1.0 / (1 + l), dtype=torch.float64) for l in range(lmax + 1)])
    return (c * scale).to(dtype)
