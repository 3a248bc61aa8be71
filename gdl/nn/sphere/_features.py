"""Feature layouts of the spherical layers and their field types.

- S² feature, bandwidth L: a tensor [..., channels, (L+1)²] of real spherical-harmonic
  coefficients (e3nn order); axis −1 carries the irreps 0e+1o+2e+…+L (``s2_irreps``), so SO(3)
  acts by the block-diagonal Wigner-D D(R) = ⊕_l D^l(R).
- SO(3) feature, bandwidth L: a tensor [..., channels, Σ_l (2l+1)²] of Wigner-D coefficients
  f̂^l_{mn} of a function on SO(3), f(Q) = Σ_l (2l+1) Σ_{mn} f̂^l_{mn} D^l_{mn}(Q). Block l is
  stored transposed, as (2l+1) rows n of length 2l+1 in m, so that the left action
  (R·f)(Q) = f(R⁻¹Q), f̂^l ↦ D^l(R) f̂^l, rotates every row as one copy of the irrep l: axis −1
  carries (2l+1)×l for each l (``so3_irreps``), e3nn's multiplicity layout.

Both field types are over ``SO3()`` (the channel axis −2 is a batch axis for the group).
"""
from __future__ import annotations

import torch
from e3nn import o3

from gdl.groups import SO3, FieldType


def s2_irreps(lmax: int) -> o3.Irreps:
    return o3.Irreps.spherical_harmonics(lmax)


def so3_irreps(lmax: int) -> o3.Irreps:
    return o3.Irreps([(2 * l + 1, (l, (-1) ** l)) for l in range(lmax + 1)])


def s2_dim(lmax: int) -> int:
    return (lmax + 1) ** 2


def so3_dim(lmax: int) -> int:
    return sum((2 * l + 1) ** 2 for l in range(lmax + 1))


def s2_type(lmax: int) -> FieldType:
    """Field type of an S² feature of bandwidth ``lmax`` (axis −1)."""
    return FieldType.irreps(SO3(), s2_irreps(lmax))


def so3_type(lmax: int) -> FieldType:
    """Field type of an SO(3) feature of bandwidth ``lmax`` (axis −1)."""
    return FieldType.irreps(SO3(), so3_irreps(lmax))


def s2_degrees(lmax: int) -> torch.Tensor:
    """Degree l of every coefficient of an S² feature: [(lmax+1)²]."""
    return torch.cat([torch.full((2 * l + 1,), l, dtype=torch.long) for l in range(lmax + 1)])


def so3_degrees(lmax: int) -> torch.Tensor:
    """Degree l of every coefficient of an SO(3) feature: [Σ (2l+1)²]."""
    return torch.cat([torch.full(((2 * l + 1) ** 2,), l, dtype=torch.long) for l in range(lmax + 1)])


def so3_offsets(lmax: int) -> list:
    """Start of block l in an SO(3) feature."""
    out, start = [], 0
    for l in range(lmax + 1):
        out.append(start)
        start += (2 * l + 1) ** 2
    return out


def feature_dim(kind: str, lmax: int) -> int:
    if kind == "s2":
        return s2_dim(lmax)
    if kind == "so3":
        return so3_dim(lmax)
    raise ValueError(f"spherical feature kind must be 's2' or 'so3', got {kind!r}")


def feature_type(kind: str, lmax: int) -> FieldType:
    return s2_type(lmax) if kind == "s2" else so3_type(lmax)


def check_feature(layer: str, x, kind: str, lmax: int, channels: int) -> None:
    """Raise a clear error unless ``x`` is a finite float tensor [..., channels, dim(kind, lmax)]."""
    dim = feature_dim(kind, lmax)
    name = "S²" if kind == "s2" else "SO(3)"
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{layer}: expected a floating-point tensor of {name} coefficients "
                        f"[..., {channels}, {dim}], got {type(x).__name__ if not isinstance(x, torch.Tensor) else x.dtype}")
    if x.dim() < 2 or x.shape[-1] != dim or x.shape[-2] != channels:
        raise ValueError(f"{layer}: expected {name} features [..., channels={channels}, {dim}] (lmax={lmax}), "
                         f"got shape {list(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{layer}: input contains NaN or inf")
