"""Field types as layers take them: a ``FieldType``, e3nn ``Irreps`` or an irreps string, interchangeably.

A layer's constructor reads each of its types through one of two functions, so that
``TensorFieldConv(layer1.out_type["h"], ...)``, ``TensorFieldConv(o3.Irreps("8x0e+4x1o"), ...)`` and
``TensorFieldConv("8x0e+4x1o", ...)`` build the same layer:

- ``as_irreps(t)``: e3nn irreps, for the E(3) layers. A ``FieldType`` gives its e3nn irreps; a field
  of invariant scalars (``E.trivial_rep(n)``) gives ``n x 0e`` (a scalar is even under O(3)).
- ``as_channels(t)``: a number of invariant channels, for the scalar layers (EGNN's h, GIN's h):
  an int, or any of the above when it holds only invariant scalars (``"16x0e"``, ``E.trivial_rep(16)``).

``describe(t)`` spells a type for messages ("8x0e+4x1o", "16x0e", "points"), and ``type_signature``
is the normal form by which ``gdl.nn.Sequential`` compares an ``out_type`` with the next ``in_type``
(a field of n trivial reps of E(3) and ``n x 0e`` are the same type).
"""
from __future__ import annotations

from typing import Union

from e3nn import o3

from gdl.groups import FieldType, Rep, TrivialRep

TypeLike = Union[FieldType, o3.Irreps, str, int]


def _is_trivial(rep: Rep) -> bool:
    return isinstance(rep, TrivialRep) or all(isinstance(r, TrivialRep) for r in getattr(rep, "reps", (None,)))


def _trivial_field(field_type: FieldType) -> bool:
    return all(_is_trivial(r) for r in field_type.reps)


def _orthogonal_3d(group) -> bool:
    """Does the group act on R³ through O(3) (so that a trivial rep is the irrep 0e)?"""
    return getattr(group, "d", None) == 3


def as_irreps(t: TypeLike, name: str = "irreps") -> o3.Irreps:
    """e3nn ``Irreps`` of a FieldType, Irreps, Irrep, irreps string or list; ``ValueError`` naming ``name`` else."""
    if isinstance(t, FieldType):
        irreps = t.e3nn_irreps
        if irreps is not None:
            return o3.Irreps(irreps)
        if _trivial_field(t):
            return o3.Irreps(f"{t.dim}x0e") if t.dim else o3.Irreps("")
        raise ValueError(f"{name}: field type {t} is not made of O(3) irreps (or invariant scalars); "
                         f"give e3nn irreps such as '8x0e+4x1o'")
    if isinstance(t, bool) or isinstance(t, int):
        raise ValueError(f"{name}: expected irreps (a FieldType, e3nn Irreps or a string such as '8x0e+4x1o'), "
                         f"got the integer {t}")
    try:
        return o3.Irreps(t)
    except (ValueError, AssertionError, TypeError) as exc:
        raise ValueError(f"{name}: cannot read {t!r} as e3nn irreps ({exc})") from None


def as_channels(t: TypeLike, name: str = "channels") -> int:
    """The number of invariant channels of an int, or of a type made only of invariant scalars."""
    if isinstance(t, bool):
        raise ValueError(f"{name}: expected a number of channels or a scalar field type, got {t!r}")
    if isinstance(t, int):
        if t < 0:
            raise ValueError(f"{name}: expected a non-negative number of channels, got {t}")
        return t
    if isinstance(t, FieldType) and t.e3nn_irreps is None:
        if _trivial_field(t):
            return t.dim
        raise ValueError(f"{name}: this layer's features are invariant scalars; got field type {t}")
    irreps = as_irreps(t, name)
    if any(ir != o3.Irrep("0e") for _, ir in irreps):
        raise ValueError(f"{name}: this layer's features are invariant scalars (0e); got irreps {irreps}")
    return irreps.dim


def type_dim(t: TypeLike) -> int:
    if isinstance(t, int):
        return t
    if isinstance(t, FieldType):
        return t.dim
    return as_irreps(t).dim


def describe(t: TypeLike) -> str:
    """The type as messages spell it: irreps ('8x0e+4x1o'), 'n x 0e' scalars, or the rep's name ('points')."""
    if isinstance(t, int):
        return f"{t}x0e"
    if isinstance(t, FieldType):
        if t.e3nn_irreps is not None:
            return str(o3.Irreps(t.e3nn_irreps))
        if _trivial_field(t):
            return f"{t.dim}x0e" if _orthogonal_3d(t.group) else f"{t.dim}x trivial"
        return str(t.rep)
    return str(as_irreps(t))


def type_signature(t):
    """Normal form for comparing types: (group or None, simplified irreps) or (group, rep).

    A ``FieldType`` of O(3) irreps or of invariant scalars of a 3-d group compares by its
    simplified irreps; other field types by their representation. Plain Irreps / strings (e3nn
    modules' ``irreps_in``) carry no group (``None``), and match a field of the same irreps."""
    if isinstance(t, FieldType):
        irreps = t.e3nn_irreps
        if irreps is None and _trivial_field(t) and _orthogonal_3d(t.group):
            irreps = f"{t.dim}x0e"
        if irreps is not None:
            return (t.group, o3.Irreps(irreps).simplify())
        if _trivial_field(t):
            return (t.group, ("trivial", t.dim))
        return (t.group, t.rep)
    if isinstance(t, int):
        return (None, o3.Irreps(f"{t}x0e").simplify())
    return (None, as_irreps(t).simplify())


def same_type(a, b) -> bool:
    """Do two types describe the same field? (a plain irreps matches a FieldType of those irreps)."""
    (group_a, form_a), (group_b, form_b) = type_signature(a), type_signature(b)
    if group_a is not None and group_b is not None and group_a != group_b:
        # E(3) vs O(3) irreps: the same field if the irreps agree (translations act trivially on irreps)
        if not (isinstance(form_a, o3.Irreps) and isinstance(form_b, o3.Irreps)):
            return False
    if isinstance(form_a, o3.Irreps) != isinstance(form_b, o3.Irreps):
        return False
    return form_a == form_b


def euclidean_group(d: int = 3):
    """The group E(d) that the geometric layers declare in their field types."""
    from gdl.groups import Euclidean

    return Euclidean(d)
