"""Actions of a group on one axis of a tensor: the common base of ``Rep`` and ``PointAction``.

An ``Action`` of a group G on R^dim says how a batch of elements moves the ``dim`` channels
of one tensor axis. Linear actions are representations (``Rep``: ρ(g) is a dim × dim matrix);
the affine action of E(d) on points (x ↦ Qx + t) is an action but not a representation.

Batch rule of ``act``: with a batch of one element, g acts on the whole tensor; with a batch
of n > 1 elements, the leading axis of ``x`` must have size n and element i acts on ``x[i]``.

Validation: ``act(..., validate=True)`` (the default) checks that ``g`` is a batch of group
elements (shape, dtype, finiteness, membership) and that ``x`` is finite. Both checks read
values, so on a GPU they wait for the device (a host sync). Callers that already checked
pass ``validate=False``: only the shape checks remain, which read metadata and never sync.
"""
from __future__ import annotations

import torch

from gdl.groups._errors import FieldTypeError


class Action:
    """Base class: ``group`` acting on R^``dim`` (one tensor axis).

    Subclasses implement ``_act_last(g, x)`` (the action on the last axis of ``x``, for an
    element batch that is already valid).
    """

    is_linear: bool = True
    approximate: bool = False

    def __init__(self, group, dim: int, name: str):
        self.group = group
        self.dim = int(dim)
        self.name = name

    def _act_last(self, g, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- public -------------------------------------------------------------------------
    def act(self, g, x: torch.Tensor, axis: int = -1, *, validate: bool = True) -> torch.Tensor:
        """g·x along ``axis`` of ``x`` (see the module docstring for the batch rule and ``validate``)."""
        if validate:
            g = self.group.validate(g)
            x = self.check(x, axis)
        else:
            self._check_shape(x, axis)
        n = self.group.batch_size(g)
        last = x.movedim(axis, -1)
        if n != 1 and (last.dim() < 2 or last.shape[0] != n):
            raise FieldTypeError(
                f"{self}: a batch of {n} group elements acts on a tensor whose leading axis has "
                f"size {n}; got tensor of shape {list(x.shape)} (representation on axis {axis})"
            )
        if not last.is_floating_point():
            last = last.to(torch.get_default_dtype())
        return self._act_last(g, last).movedim(-1, axis)

    def check(self, x: torch.Tensor, axis: int = -1) -> torch.Tensor:
        """Raise a clear error unless ``x`` is finite and has size ``dim`` on ``axis``."""
        self._check_shape(x, axis)
        if x.is_floating_point() and not torch.isfinite(x).all():
            raise FieldTypeError(f"{self}: input tensor contains non-finite values (NaN or inf)")
        return x

    def _check_shape(self, x, axis):
        if not isinstance(x, torch.Tensor):
            raise FieldTypeError(f"{self}: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() == 0 or not -x.dim() <= axis < x.dim():
            raise FieldTypeError(f"{self}: tensor of shape {list(x.shape)} has no axis {axis}")
        if x.shape[axis] != self.dim:
            raise FieldTypeError(
                f"expected representation {self} (dim {self.dim}) on axis {axis}, "
                f"got tensor of shape {list(x.shape)} with {x.shape[axis]} channels"
            )

    # -- fields -------------------------------------------------------------------------
    @property
    def summands(self) -> tuple:
        """The fields this action is a direct sum of (itself when it is not a sum)."""
        return (self,)

    def __len__(self) -> int:
        return len(self.summands)

    def slices(self) -> list:
        """The channel slice of each summand."""
        out, start = [], 0
        for s in self.summands:
            out.append(slice(start, start + s.dim))
            start += s.dim
        return out

    def channels(self, key) -> slice:
        """The channels of ``self[key]`` (an index or a slice of summands, step 1) as a slice."""
        slices = self.slices()
        if isinstance(key, int):
            return slices[key]
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError(f"{self}: fields are selected by an index or a slice with step 1, got {key!r}")
        picked = range(len(slices))[key]
        if len(picked) == 0:
            start = slices[picked.start].start if picked.start < len(slices) else self.dim
            return slice(start, start)
        return slice(slices[picked[0]].start, slices[picked[-1]].stop)

    def _key(self):
        return (type(self).__name__, self.group, self.dim, self.name)

    def __eq__(self, other):
        return isinstance(other, Action) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return self.name
