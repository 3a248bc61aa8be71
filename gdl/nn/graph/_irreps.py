"""Building blocks on e3nn irreps shared by TensorFieldConv and SteerableConv.

- ``edge_spherical_harmonics``: Y(r̂) of edge vectors with ε outside the root, so coincident
  points give finite values and gradients (Y^l(0) = 0 for l > 0).
- ``gate_irreps`` / ``make_gate``: split target irreps into scalars, gates and gated irreps
  for e3nn's ``nn.Gate`` (Weiler et al. 2018): scalars go through SiLU (even) or tanh (odd),
  each l > 0 irrep is multiplied by sigmoid of its own even scalar gate. O(3)-equivariant.
- ``O3TensorProduct``: the steerable linear layer of SEGNN (Brandstetter et al. 2022, §3): an
  e3nn ``FullyConnectedTensorProduct`` of features with steerable attributes (shared weights)
  plus a bias on the even-scalar outputs (the only ones a bias cannot break).
- ``GatedO3TensorProduct``: that layer followed by a gate.
"""
from __future__ import annotations

import math

import torch
from e3nn import nn as e3nn_nn
from e3nn import o3
from torch import nn
from torch.nn import functional as F

from gdl.nn._types import as_irreps
from gdl.nn.graph._attribute_tp import AttributeTensorProduct, attribute_tp_supported


def edge_spherical_harmonics(irreps_sh: o3.Irreps, vec: torch.Tensor, eps: float = 1e-9,
                             normalization: str = "component") -> torch.Tensor:
    """Y(vec / (‖vec‖ + ε)) (e3nn normalisation 'component' or 'integral'); finite at vec = 0."""
    norm = torch.linalg.vector_norm(vec, dim=-1, keepdim=True)
    return o3.spherical_harmonics(irreps_sh, vec / (norm + eps), normalize=False, normalization=normalization)


def gate_irreps(irreps_out: o3.Irreps):
    """(scalars, gates, gated) for a gate whose output is ``irreps_out`` (l = 0 pass, l > 0 gated)."""
    irreps_out = o3.Irreps(irreps_out)
    scalars = o3.Irreps([(mul, ir) for mul, ir in irreps_out if ir.l == 0])
    gated = o3.Irreps([(mul, ir) for mul, ir in irreps_out if ir.l > 0])
    gates = o3.Irreps([(mul, "0e") for mul, _ in gated])
    return scalars, gates, gated


def make_gate(irreps_out: o3.Irreps) -> e3nn_nn.Gate:
    """e3nn ``Gate`` producing ``irreps_out``; its ``irreps_in`` is scalars + gates + gated."""
    scalars, gates, gated = gate_irreps(irreps_out)
    acts = [F.silu if ir.p == 1 else torch.tanh for _, ir in scalars]
    gate = e3nn_nn.Gate(scalars, acts, gates, [torch.sigmoid] * len(gates), gated)
    if gate.irreps_out != o3.Irreps(irreps_out):
        raise ValueError(f"gated irreps must list their scalars (l = 0) first, e.g. {gate.irreps_out}; got {irreps_out}")
    return gate


class O3TensorProduct(nn.Module):
    r"""out = W (x ⊗ a) + b: e3nn ``FullyConnectedTensorProduct`` of x with attributes a, bias on 0e outputs.

    Parametrised as SEGNN's ``O3TensorProduct`` (``tp_rescale``, Brandstetter et al. 2022 code):
    for an output block with fan-in F = Σ mul_1·mul_2 over the paths into it, the stored
    parameter θ ~ U(−1/√F, 1/√F) (``torch.nn.Linear``'s init) and the path weight is θ·√F. Path
    weights thus start at U(−1, 1), the scale of e3nn's N(0, 1), but Adam's step on θ moves them
    √F times further — the effective learning rate SEGNN is trained with. The bias on
    even scalars starts at U(−1/√F, 1/√F) like ``torch.nn.Linear``'s. ``rescale=False`` gives
    e3nn's own parametrisation (weights N(0, 1), zero bias).

    With attributes of multiplicity 1 (spherical harmonics) the product is evaluated by
    ``AttributeTensorProduct`` (Clebsch–Gordan coefficients contracted with the attribute first,
    or weights first when the layer narrows; chosen once at construction; same weights, equal to
    e3nn to 1e-12 in float64; faster than e3nn's per-path einsums on the grid of docs/layers.md);
    ``fast=False`` calls e3nn's module.

    Types: x: ``irreps_in``, a: ``irreps_attr`` → ``irreps_out`` (each a ``FieldType``, e3nn
    ``Irreps`` or a string). An output irrep that no path x ⊗ a reaches (and that no bias feeds)
    would be identically zero: the constructor refuses it with a ``ValueError`` naming it.
    """

    def __init__(self, irreps_in, irreps_out, irreps_attr, bias: bool = True, rescale: bool = True,
                 fast: bool = True):
        super().__init__()
        self.irreps_in = as_irreps(irreps_in, "irreps_in")
        self.irreps_out = as_irreps(irreps_out, "irreps_out")
        self.irreps_attr = as_irreps(irreps_attr, "irreps_attr")
        self.tp = o3.FullyConnectedTensorProduct(self.irreps_in, self.irreps_attr, self.irreps_out, shared_weights=True,
                                                 internal_weights=False)
        reached = {ins.i_out for ins in self.tp.instructions}
        unreachable = o3.Irreps([(mul, ir) for i, (mul, ir) in enumerate(self.irreps_out)
                                 if i not in reached and not (bias and ir == o3.Irrep("0e"))])
        if unreachable:
            raise ValueError(
                f"O3TensorProduct({self.irreps_in} ⊗ {self.irreps_attr} → {self.irreps_out}): no path reaches the "
                f"output irreps {unreachable.simplify()}; they would be identically zero. Add inputs or attributes "
                f"that reach them (mind the parity) or drop them from the output")
        self.rescale = bool(rescale)
        self.fast = AttributeTensorProduct(self.tp) if fast and attribute_tp_supported(self.tp) else None
        fan_in = {}
        for ins in self.tp.instructions:
            fan_in[ins.i_out] = fan_in.get(ins.i_out, 0) + ins.path_shape[0] * ins.path_shape[1]
        bound = torch.cat([torch.full((math.prod(ins.path_shape),), fan_in[ins.i_out] ** -0.5)
                           for ins in self.tp.instructions]) if self.tp.instructions else torch.zeros(0)
        if self.rescale:
            weight = (2 * torch.rand(self.tp.weight_numel) - 1) * bound
        else:
            weight = torch.randn(self.tp.weight_numel)
        self.weight = nn.Parameter(weight)
        self.register_buffer("weight_scale", bound.reciprocal() if self.rescale else None, persistent=False)
        index, bias_bound = [], []
        for i_out, ((mul, ir), sl) in enumerate(zip(self.irreps_out, self.irreps_out.slices())):
            if ir == o3.Irrep("0e"):
                index.extend(range(sl.start, sl.stop))
                bias_bound.extend([fan_in.get(i_out, 1) ** -0.5] * mul)
        self.register_buffer("bias_index", torch.tensor(index, dtype=torch.long), persistent=False)
        if bias and index:
            init = (2 * torch.rand(len(index)) - 1) * torch.tensor(bias_bound) if self.rescale else torch.zeros(len(index))
            self.bias = nn.Parameter(init)
        else:
            self.bias = None

    def path_weights(self) -> torch.Tensor:
        """The weights e3nn's tensor product uses: θ·√F (``rescale``) or θ."""
        return self.weight * self.weight_scale if self.weight_scale is not None else self.weight

    def forward(self, x: torch.Tensor, attr: torch.Tensor) -> torch.Tensor:
        product = self.fast if self.fast is not None else self.tp
        out = product(x, attr, self.path_weights())
        if self.bias is not None:
            out = out + out.new_zeros(out.shape[-1]).index_put((self.bias_index,), self.bias)
        return out


class GatedO3TensorProduct(nn.Module):
    """Gate ∘ O3TensorProduct: a steerable non-linear layer (SEGNN's 'O3 swish gate')."""

    def __init__(self, irreps_in, irreps_out, irreps_attr, rescale: bool = True):
        super().__init__()
        self.gate = make_gate(as_irreps(irreps_out, "irreps_out"))
        self.linear = O3TensorProduct(irreps_in, self.gate.irreps_in, irreps_attr, rescale=rescale)
        self.irreps_in, self.irreps_out = self.linear.irreps_in, self.gate.irreps_out

    def forward(self, x: torch.Tensor, attr: torch.Tensor) -> torch.Tensor:
        return self.gate(self.linear(x, attr))
