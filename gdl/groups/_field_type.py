"""FieldType: how one axis of a tensor transforms under a group.

Layers expose ``in_type`` / ``out_type`` as field types, so a checker needs nothing else.
A field type is a small immutable value: a group and a list of actions whose direct sum
acts on one axis (default: the last, the channel axis). The actions are linear
representations (``Rep``), or include points (``PointAction``, x ↦ Qx + t), which then move
affinely while the other blocks move linearly. A field type is sliced by field like e3nn's
``Irreps``: ``ft[1:3]`` is the sub-type and ``ft.channels(slice(1, 3))`` its channels.
"""
from __future__ import annotations

from typing import Sequence, Union

import torch

from gdl.groups._action import Action
from gdl.groups._errors import FieldTypeError
from gdl.groups._group import Group
from gdl.groups._points import affine_sum
from gdl.groups._reps import ZeroRep


class FieldType:
    """A direct sum of representations acting on one tensor axis.

    >>> from gdl.groups import SO3, FieldType
    >>> t = FieldType.irreps(SO3(), "8x0e+4x1o")
    >>> t.dim
    20
    """

    def __init__(self, group: Group, reps: Union[Action, Sequence[Action]], axis: int = -1):
        reps = [reps] if isinstance(reps, Action) else list(reps)
        for r in reps:
            if not isinstance(r, Action):
                raise TypeError(f"FieldType over {group} needs representations (or points), got {r!r}")
            if r.group != group:
                raise TypeError(f"FieldType over {group} got a representation of {r.group}: {r}")
        self.group = group
        self.reps = tuple(reps)
        self.axis = int(axis)
        self.rep = affine_sum(*reps) if reps else ZeroRep(group)

    @classmethod
    def irreps(cls, group: Group, irreps, axis: int = -1) -> "FieldType":
        """A field of irreps: e3nn irreps over SO(3), O(3), or E(3)/SE(3) (translations act
        trivially), or the multiplicity syntax of SO(2), O(2), C_n, D_n (``"4x0+2x1"``)."""
        return cls(group, group.irreps(irreps), axis)

    @property
    def is_linear(self) -> bool:
        """Whether every block moves linearly (``False`` when the type contains points)."""
        return self.rep.is_linear

    @property
    def fields(self) -> tuple:
        """The fields of this type (the summands of its action), in channel order."""
        return self.rep.summands

    def __len__(self) -> int:
        return len(self.fields)

    def __getitem__(self, key) -> "FieldType":
        """The sub-type of field ``key`` (an index or a slice of fields); its channels are
        ``self.channels(key)``."""
        sub = self.rep[key]
        return FieldType(self.group, sub if sub.dim else [], self.axis)

    def channels(self, key) -> slice:
        """The channel slice of ``self[key]`` on this type's axis."""
        return self.rep.channels(key)

    def slices(self) -> list:
        """The channel slice of every field."""
        return self.rep.slices()

    @property
    def dim(self) -> int:
        return self.rep.dim

    @property
    def size(self) -> int:
        return self.dim

    @property
    def e3nn_irreps(self):
        """The ``e3nn.o3.Irreps`` of this field when it is made of e3nn irreps (over SO(3),
        O(3), or E(3)/SE(3) through the projection to the linear part), else ``None``."""
        return self.rep.e3nn_irreps

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

    def transform(self, g, x: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
        """g·x on this field's axis (``validate=False``: see ``Action.act``)."""
        self.check(x)
        return self.rep.act(g, x, axis=self.axis, validate=validate)

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
