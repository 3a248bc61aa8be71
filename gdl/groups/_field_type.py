"""FieldType: how one axis of a tensor transforms under a group.

Layers expose ``in_type`` / ``out_type`` as field types, so a checker needs nothing else.
A field type is a small immutable value: a group and a list of reps whose direct sum acts
on one axis (default: the last, the channel axis).
"""
from __future__ import annotations

from typing import Sequence, Union

import torch

from gdl.groups._errors import FieldTypeError
from gdl.groups._group import Group
from gdl.groups._reps import Rep, ZeroRep, direct_sum


class FieldType:
    """A direct sum of representations acting on one tensor axis.

    >>> from gdl.groups import SO3, FieldType
    >>> t = FieldType.irreps(SO3(), "8x0e+4x1o")
    >>> t.dim
    20
    """

    def __init__(self, group: Group, reps: Union[Rep, Sequence[Rep]], axis: int = -1):
        reps = [reps] if isinstance(reps, Rep) else list(reps)
        for r in reps:
            if r.group != group:
                raise TypeError(f"FieldType over {group} got a representation of {r.group}: {r}")
        self.group = group
        self.reps = tuple(reps)
        self.axis = int(axis)
        self.rep = direct_sum(*reps) if reps else ZeroRep(group)

    @classmethod
    def irreps(cls, group: Group, irreps, axis: int = -1) -> "FieldType":
        """A field of e3nn irreps over SO(3), O(3), or E(3)/SE(3) (translations act trivially)."""
        return cls(group, group.irreps(irreps), axis)

    @property
    def dim(self) -> int:
        return self.rep.dim

    @property
    def size(self) -> int:
        return self.dim

    @property
    def e3nn_irreps(self):
        """The ``e3nn.o3.Irreps`` of this field when it is made of irreps, else ``None``."""
        rep = getattr(self.rep, "rep", self.rep)  # through a pull-back from E(3)
        return getattr(rep, "irreps", None)

    def check(self, x: torch.Tensor) -> torch.Tensor:
        """Raise a ``FieldTypeError`` naming the expected and actual sizes, else return ``x``."""
        if not isinstance(x, torch.Tensor):
            raise FieldTypeError(f"expected a tensor of field type {self}, got {type(x).__name__}")
        if x.dim() == 0 or not -x.dim() <= self.axis < x.dim() or x.shape[self.axis] != self.dim:
            got = x.shape[self.axis] if x.dim() and -x.dim() <= self.axis < x.dim() else "no such axis"
            raise FieldTypeError(
                f"expected field type {self.rep} (dim {self.dim}) of {self.group} on axis {self.axis}, "
                f"got tensor of shape {list(x.shape)} with {got} channels"
            )
        return x

    def transform(self, g, x: torch.Tensor) -> torch.Tensor:
        """ρ(g)·x on this field's axis."""
        self.check(x)
        return self.rep.act(g, x, axis=self.axis)

    def __add__(self, other: "FieldType") -> "FieldType":
        if not isinstance(other, FieldType) or other.group != self.group:
            raise TypeError(f"cannot concatenate field types {self} and {other}")
        return FieldType(self.group, self.reps + other.reps, self.axis)

    def __eq__(self, other):
        return isinstance(other, FieldType) and self.group == other.group and self.rep == other.rep and self.axis == other.axis

    def __hash__(self):
        return hash((self.group, self.rep, self.axis))

    def __repr__(self):
        return f"FieldType[{self.group}]({self.rep})"
