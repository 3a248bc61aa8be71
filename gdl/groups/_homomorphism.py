"""Group homomorphisms φ: G → H as values acting on element batches.

A ``GroupHomomorphism`` maps a batch of elements of ``source`` to a batch of elements of
``target`` with φ(g∘h) = φ(g)∘φ(h). It pulls representations back (``PullbackRep``: ρ∘φ is a
representation of G for every representation ρ of H), restricts representations to subgroups
(the inclusion), and tells the equivariance checker how a symmetry's elements reach a field
declared over another group (e.g. the projection E(d) → O(d), (Q, t) ↦ Q).
"""
from __future__ import annotations

from typing import Callable


class GroupHomomorphism:
    """φ: ``source`` → ``target``, batched; ``φ(g)`` maps an element batch.

    ``key`` identifies the map for equality (two homomorphisms with the same source, target
    and key are the same map); without a key, a homomorphism equals only itself.
    """

    def __init__(self, source, target, fn: Callable, name: str, key=None):
        self.source, self.target = source, target
        self._fn = fn
        self.name = name
        self._key_extra = key if key is not None else ("object", id(self))

    def __call__(self, g):
        return self._fn(g)

    def then(self, other: "GroupHomomorphism") -> "GroupHomomorphism":
        """The composite ``other ∘ self`` (apply ``self`` first)."""
        if other.source != self.target:
            raise TypeError(f"cannot compose {self} with {other}: {self.target} is not {other.source}")
        if self.is_identity:
            return other
        if other.is_identity:
            return self
        return GroupHomomorphism(
            self.source, other.target, lambda g: other(self(g)), f"{other.name} ∘ {self.name}",
            key=("composite", self._key(), other._key()),
        )

    @property
    def is_identity(self) -> bool:
        return self._key_extra == ("identity",)

    @classmethod
    def identity(cls, group) -> "GroupHomomorphism":
        return cls(group, group, lambda g: g, f"id[{group}]", key=("identity",))

    def _key(self):
        return (self.source, self.target, self._key_extra)

    def __eq__(self, other):
        return isinstance(other, GroupHomomorphism) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"{self.name}: {self.source} → {self.target}"
