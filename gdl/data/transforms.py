"""PyG transforms: permutation-equivariant positional encodings, and per-graph centring.

Positional encodings (PEs) give each node features computed from the graph alone. A PE is
permutation-equivariant when relabelling the nodes by σ permutes its rows by σ and changes
nothing else; a network fed with such features stays permutation-equivariant, and can go
beyond 1-WL (e.g. on CSL, where all nodes of all classes look alike to colour refinement).

- :class:`RandomWalkPE` — Dwivedi et al. 2022 (LSPE, §3.2): p_i = [(P)_ii, (P²)_ii, …, (P^k)_ii]
  with P = D⁻¹A the random-walk matrix; exactly equivariant.
- :class:`LaplacianEigenPE` — eigenvectors of the normalised Laplacian L = I − D^{-1/2} A D^{-1/2}
  (Dwivedi et al. 2020, "Benchmarking GNNs"). An eigenvector is defined only up to sign, and
  up to a rotation inside a degenerate eigenspace, so the raw vectors are not equivariant;
  ``mode="abs"`` (|v|) removes the sign and is equivariant when λ_1 … λ_k are simple;
  ``mode="eigenspace"`` (Σ_{v ∈ E_λ} v_i², the diagonal of the eigenspace projector, i.e.
  v ⊗ v summed over the eigenspace) is sign- and basis-invariant, hence always equivariant.
- :class:`Center` — subtracts each graph's mean position (translation-invariant output).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

__all__ = ["RandomWalkPE", "LaplacianEigenPE", "Center"]


def _check_graph(data: Data, name: str) -> int:
    edge_index = getattr(data, "edge_index", None)
    num_nodes = data.num_nodes
    if num_nodes is None:
        raise ValueError(f"{name}: the graph has no nodes (num_nodes is None); set data.num_nodes")
    if edge_index is None:
        raise ValueError(f"{name}: the graph has no edge_index")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"{name}: edge_index must have shape [2, num_edges], got {list(edge_index.shape)}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"{name}: edge_index refers to nodes outside [0, {num_nodes})")
    return num_nodes


def _adjacency(edge_index: torch.Tensor, num_nodes: int, symmetric: bool) -> torch.Tensor:
    """Dense float64 adjacency, A[s, t] = number of edges s → t (0/1 and symmetrised if ``symmetric``)."""
    adjacency = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    adjacency.index_put_((edge_index[0], edge_index[1]), torch.ones(edge_index.shape[1], dtype=torch.float64),
                         accumulate=True)
    if symmetric:
        adjacency = ((adjacency + adjacency.T) > 0).to(torch.float64)
    return adjacency


def _attach(data: Data, value: torch.Tensor, attr_name: Optional[str]) -> Data:
    """Store ``value`` as ``data[attr_name]``, or append it to ``data.x`` when ``attr_name`` is None (as PyG)."""
    if attr_name is not None:
        data[attr_name] = value
        return data
    x = getattr(data, "x", None)
    if x is None:
        data.x = value
    else:
        x = x.view(-1, 1) if x.dim() == 1 else x
        data.x = torch.cat([x, value.to(x.device, x.dtype)], dim=-1)
    return data


class RandomWalkPE(BaseTransform):
    """Random-walk positional encoding: node i gets [(P^t)_ii for t = 1 … k], P = D⁻¹A.

    (P^t)_ii is the probability that a random walk from i is back at i after t steps, with
    A[s, t] the number of edges s → t and D the out-degrees (a node without out-edges gets
    zeros). Permutation-equivariant exactly (up to float rounding); cost O(k · E · N) time,
    O(N²) memory.

    Args:
        k: walk lengths 1 … k (int >= 1).
        attr_name: where to store the [N, k] encoding (``None``: append to ``data.x``).
        dtype: dtype of the stored encoding (default: torch's default dtype); computed in float64.
    """

    def __init__(self, k: int, attr_name: Optional[str] = "random_walk_pe", dtype: Optional[torch.dtype] = None):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"RandomWalkPE: k must be an int >= 1, got {k!r}")
        self.k, self.attr_name, self.dtype = k, attr_name, dtype

    def forward(self, data: Data) -> Data:
        num_nodes = _check_graph(data, "RandomWalkPE")
        edge_index = data.edge_index.cpu()
        adjacency = _adjacency(edge_index, num_nodes, symmetric=False)
        degree = adjacency.sum(1, keepdim=True)
        walk = (adjacency / degree.clamp(min=1)).to_sparse()
        power = torch.eye(num_nodes, dtype=torch.float64)
        columns = []
        for _ in range(self.k):
            power = walk @ power
            columns.append(power.diagonal())
        pe = torch.stack(columns, dim=-1).to(self.dtype or torch.get_default_dtype())
        return _attach(data, pe.to(data.edge_index.device), self.attr_name)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(k={self.k}, attr_name={self.attr_name!r})"


class LaplacianEigenPE(BaseTransform):
    """Laplacian-eigenvector positional encoding with sign-invariant options.

    With L = I − D^{-1/2} A D^{-1/2} (A the symmetrised 0/1 adjacency; isolated nodes have
    L_ii = 1) and eigenpairs λ_0 ≤ λ_1 ≤ … (float64 ``eigh``), slot m = 1 … k (λ_0 dropped)
    gives node i the feature

    - ``mode="raw"``: v_m[i] — the usual LapPE; **not** equivariant (arbitrary sign and basis);
    - ``mode="abs"``: |v_m[i]| — sign-invariant; equivariant when λ_1 … λ_k are simple;
    - ``mode="eigenspace"``: Σ_{l : |λ_l − λ_m| ≤ tol} v_l[i]², the diagonal of the projector
      onto λ_m's eigenspace — sign- and basis-invariant, so equivariant even with degenerate
      eigenvalues (on a vertex-transitive graph it is the constant mult(λ_m) / N).

    ``include_eigenvalues=True`` appends λ_1 … λ_k to every node (graph invariants). Graphs with
    fewer than k + 1 nodes are padded with zero slots.

    Args:
        k: number of eigen-slots (int >= 1).
        mode: ``"abs"`` (default), ``"eigenspace"`` or ``"raw"``.
        include_eigenvalues: also store the k eigenvalues per node ([N, 2k] output).
        tol: eigenvalue gap under which eigenvalues count as equal (``"eigenspace"``).
        attr_name: where to store the encoding (``None``: append to ``data.x``).
        dtype: dtype of the stored encoding (default: torch's default dtype).
    """

    MODES = ("abs", "eigenspace", "raw")

    def __init__(
        self,
        k: int,
        mode: str = "abs",
        include_eigenvalues: bool = False,
        tol: float = 1e-6,
        attr_name: Optional[str] = "laplacian_eigen_pe",
        dtype: Optional[torch.dtype] = None,
    ):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"LaplacianEigenPE: k must be an int >= 1, got {k!r}")
        if mode not in self.MODES:
            raise ValueError(f"LaplacianEigenPE: mode must be one of {self.MODES}, got {mode!r}")
        if not tol >= 0:
            raise ValueError(f"LaplacianEigenPE: tol must be >= 0, got {tol!r}")
        self.k, self.mode, self.include_eigenvalues, self.tol = k, mode, include_eigenvalues, tol
        self.attr_name, self.dtype = attr_name, dtype

    def forward(self, data: Data) -> Data:
        num_nodes = _check_graph(data, "LaplacianEigenPE")
        adjacency = _adjacency(data.edge_index.cpu(), num_nodes, symmetric=True)
        degree = adjacency.sum(1)
        inv_sqrt = torch.where(degree > 0, degree.clamp(min=1).rsqrt(), torch.zeros_like(degree))
        laplacian = torch.eye(num_nodes, dtype=torch.float64) - inv_sqrt[:, None] * adjacency * inv_sqrt[None, :]
        eigenvalues, eigenvectors = torch.linalg.eigh(laplacian)
        slots = min(self.k, max(num_nodes - 1, 0))
        values = eigenvalues[1 : slots + 1]
        if self.mode == "raw":
            features = eigenvectors[:, 1 : slots + 1]
        elif self.mode == "abs":
            features = eigenvectors[:, 1 : slots + 1].abs()
        else:
            same = (values[:, None] - eigenvalues[None, :]).abs() <= self.tol  # [slots, N]
            features = (eigenvectors**2) @ same.T.to(torch.float64)  # Σ over each slot's eigenspace
        pad = self.k - slots
        features = torch.nn.functional.pad(features, (0, pad))
        if self.include_eigenvalues:
            values = torch.nn.functional.pad(values, (0, pad))
            features = torch.cat([features, values.expand(num_nodes, -1)], dim=-1)
        pe = features.to(self.dtype or torch.get_default_dtype())
        return _attach(data, pe.to(data.edge_index.device), self.attr_name)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(k={self.k}, mode={self.mode!r}, "
            f"include_eigenvalues={self.include_eigenvalues}, "
            f"tol={self.tol}, attr_name={self.attr_name!r})"
        )


class Center(BaseTransform):
    """Subtract each graph's mean position: x_i ↦ x_i − (1/n_g) Σ_{j ∈ g} x_j.

    The mean is taken over ``data[attrs[0]]`` (default ``pos``) per graph (``data.batch`` when
    present) and subtracted from every attribute in ``attrs`` (e.g. ``("pos", "y")`` for N-body,
    so that input and target share one frame). Translation-invariant, rotation- and
    permutation-equivariant.
    """

    def __init__(self, attrs: Sequence[str] = ("pos",)):
        if isinstance(attrs, str):
            attrs = (attrs,)
        if not attrs:
            raise ValueError("Center: attrs must name at least one attribute, e.g. ('pos',)")
        self.attrs = tuple(attrs)

    def forward(self, data: Data) -> Data:
        for name in self.attrs:
            if getattr(data, name, None) is None:
                raise ValueError(f"Center: the data has no attribute {name!r}")
        pos = data[self.attrs[0]]
        if pos.dim() != 2 or not pos.is_floating_point():
            raise ValueError(f"Center: {self.attrs[0]} must be a float tensor [num_nodes, dim], got {list(pos.shape)}")
        batch = getattr(data, "batch", None)
        if batch is None:
            mean = pos.mean(dim=0, keepdim=True).expand_as(pos)
        else:
            num_graphs = int(batch.max()) + 1 if batch.numel() else 0
            total = pos.new_zeros(num_graphs, pos.shape[1]).index_add_(0, batch, pos)
            count = torch.bincount(batch, minlength=num_graphs).clamp(min=1).to(pos.dtype)
            mean = (total / count[:, None])[batch]
        for name in self.attrs:
            value = data[name]
            if value.shape != pos.shape:
                raise ValueError(
                    f"Center: {name} has shape {list(value.shape)}, expected {list(pos.shape)} like {self.attrs[0]}"
                )
            data[name] = value - mean
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(attrs={self.attrs})"
