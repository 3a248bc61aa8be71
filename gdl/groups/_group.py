"""The abstract group: batched elements stored as tensors.

A group element batch is one tensor whose leading axis is the batch (a tuple of such
tensors for direct products). Subclasses implement the algebra on whole batches; nothing
loops over elements in Python.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch

from gdl.groups._errors import GroupElementError

Element = torch.Tensor


class Group:
    """Base class of every gdl group.

    Subclasses define ``element_shape`` (the shape of one element), ``element_kind``
    (``"int"`` or ``"float"``), and implement ``_identity``, ``_compose``, ``_inverse``,
    ``_sample``, ``_generators`` and ``_grid``; ``_validate`` checks membership.
    """

    name: str = "Group"
    element_shape: tuple = ()
    element_kind: str = "float"
    is_finite: bool = False
    is_compact: bool = True

    # -- construction of elements -------------------------------------------------
    def identity(self, n: int = 1, *, dtype=None, device=None) -> Element:
        """``n`` copies of the identity element."""
        return self._identity(n, self._dtype(dtype), device)

    def sample(self, n: int, generator: Optional[torch.Generator] = None, *, dtype=None, device=None) -> Element:
        """``n`` random elements (Haar measure for compact groups; see each class)."""
        return self._sample(n, generator, self._dtype(dtype), device)

    def generators(self, *, dtype=None, device=None) -> Element:
        """A small fixed set of elements that generate the group (a dense subgroup when
        the group is continuous): the exact, deterministic part of every test set."""
        return self._generators(self._dtype(dtype), device)

    def grid(self, *, dtype=None, device=None) -> Element:
        """A fixed, deterministic grid of elements spread over the group."""
        return self._grid(self._dtype(dtype), device)

    def test_elements(self, n_random: int = 8, seed: int = 0, *, dtype=None, device=None) -> Element:
        """identity ∪ generators ∪ grid ∪ ``n_random`` seeded random samples (in that order)."""
        dtype = self._dtype(dtype)
        gen = torch.Generator().manual_seed(seed)
        parts = [
            self.identity(1, dtype=dtype, device=device),
            self.generators(dtype=dtype, device=device),
            self.grid(dtype=dtype, device=device),
        ]
        if n_random > 0:
            parts.append(self._sample(n_random, gen, dtype, device))
        return self.cat(parts)

    # -- algebra ----------------------------------------------------------------------
    def compose(self, a: Element, b: Element) -> Element:
        """The product ``a ∘ b`` (apply ``b`` first), batched; a batch of 1 broadcasts."""
        a, b = self.validate(a), self.validate(b)
        na, nb = self.batch_size(a), self.batch_size(b)
        if na != nb and 1 not in (na, nb):
            raise GroupElementError(
                f"{self.name}.compose: batch sizes {na} and {nb} do not match (and neither is 1)"
            )
        return self._compose(a, b)

    def inverse(self, a: Element) -> Element:
        """The inverse ``a⁻¹``, batched."""
        return self._inverse(self.validate(a))

    def allclose(self, a: Element, b: Element, atol: float = 1e-9) -> bool:
        """Whether two element batches are equal (to ``atol`` for continuous groups)."""
        return bool((self.distance(a, b) <= atol).all())

    def distance(self, a: Element, b: Element) -> torch.Tensor:
        """A per-element distance (0 iff equal) used by tests; default: max abs difference."""
        a, b = self.validate(a), self.validate(b)
        diff = (a.to(torch.float64) - b.to(torch.float64)).abs()
        return diff.flatten(1).amax(dim=1) if diff.dim() > 1 else diff

    # -- finite groups --------------------------------------------------------------
    @property
    def order(self):
        """The number of elements: an ``int`` for finite groups, ``math.inf`` for infinite
        ones (so ``group.order <= 120`` and ``math.isinf(group.order)`` read naturally)."""
        return math.inf

    def elements(self, *, dtype=None, device=None) -> Element:
        raise TypeError(f"{self.name} is not finite: it cannot list its elements")

    def index(self, g: Element) -> torch.Tensor:
        """The position of each element in ``elements()`` (finite groups only)."""
        return self._index(self.validate(g))

    def _index(self, g: Element) -> torch.Tensor:
        raise TypeError(f"{self.name} is not finite: its elements have no index")

    # -- representations ------------------------------------------------------------
    def trivial_rep(self, dim: int = 1):
        """ρ(g) = I on R^dim."""
        from gdl.groups._reps import TrivialRep

        return TrivialRep(self, dim)

    def standard_rep(self):
        raise NotImplementedError(f"{self.name} has no standard representation")

    def regular_rep(self):
        if not self.is_finite:
            raise TypeError(f"{self.name} is infinite: it has no (finite-dimensional) regular representation")
        from gdl.groups._reps import RegularRep

        return RegularRep(self)

    def irrep(self, *label):
        raise NotImplementedError(f"{self.name} does not list irreducible representations")

    def embedding_into(self, other: "Group"):
        """The inclusion ``self → other`` as a function on element batches (subclasses
        extend this). Raises ``TypeError`` when ``self`` is not a known subgroup of ``other``."""
        if other == self:
            return lambda g: g
        raise TypeError(f"{self.name} is not a known subgroup of {other.name}")

    def embedding(self, other: "Group"):
        """The inclusion homomorphism ``self → other`` as a ``GroupHomomorphism`` (for
        ``rep.restrict``). Raises ``TypeError`` when ``self`` is not a known subgroup of ``other``."""
        from gdl.groups._homomorphism import GroupHomomorphism

        if other == self:
            return GroupHomomorphism.identity(self)
        return GroupHomomorphism(self, other, self.embedding_into(other), f"{self} ⊂ {other}", key=("inclusion",))

    def homomorphism_to(self, other: "Group"):
        """The canonical homomorphism ``self → other`` known to gdl — the identity, an
        inclusion of a subgroup, or (for E(d)) the projection to O(d) followed by an inclusion —
        as a ``GroupHomomorphism``; ``None`` when there is none (fields over ``other`` then do
        not transform under ``self``)."""
        try:
            return self.embedding(other)
        except TypeError:
            return None

    # -- element batches --------------------------------------------------------------
    def batch_size(self, g: Element) -> int:
        return g.shape[0]

    def cat(self, parts: Sequence[Element]) -> Element:
        return torch.cat(list(parts), dim=0)

    def select(self, g: Element, index) -> Element:
        """Sub-batch ``g[index]`` (keeps the batch axis for an integer index)."""
        if isinstance(index, int):
            index = slice(index, index + 1) if index != -1 else slice(-1, None)
        return g[index]

    def to(self, g: Element, *, dtype=None, device=None) -> Element:
        """Move / cast a batch (integer groups keep their integer dtype)."""
        if self.element_kind == "int":
            return g.to(device=device) if device is not None else g
        return g.to(dtype=dtype or g.dtype, device=device or g.device)

    def validate(self, g: Element) -> Element:
        """Check that ``g`` is a batch of elements of this group; return it unchanged."""
        if not isinstance(g, torch.Tensor):
            raise GroupElementError(
                f"{self.name}: group elements must be a torch.Tensor batch, got {type(g).__name__}"
            )
        expected = (-1,) + tuple(self.element_shape)
        if g.dim() != len(expected) or tuple(g.shape[1:]) != tuple(self.element_shape):
            raise GroupElementError(
                f"{self.name}: expected an element batch of shape [n, {', '.join(map(str, self.element_shape))}]"
                .replace(", ]", "]")
                + f", got shape {list(g.shape)}"
            )
        if self.element_kind == "int":
            if g.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
                raise GroupElementError(f"{self.name}: elements are integer tensors, got dtype {g.dtype}")
        else:
            if not g.is_floating_point():
                raise GroupElementError(f"{self.name}: elements are floating-point tensors, got dtype {g.dtype}")
            if not torch.isfinite(g).all():
                raise GroupElementError(f"{self.name}: element batch contains non-finite values (NaN or inf)")
        self._validate(g)
        return g

    # -- hooks for subclasses -------------------------------------------------------
    def _validate(self, g: Element) -> None:
        pass

    def _dtype(self, dtype):
        if self.element_kind == "int":
            return torch.int64
        return dtype or torch.get_default_dtype()

    @staticmethod
    def _to(g, device):
        return g if device is None else g.to(device)

    def _identity(self, n, dtype, device):
        raise NotImplementedError

    def _compose(self, a, b):
        raise NotImplementedError

    def _inverse(self, a):
        raise NotImplementedError

    def _sample(self, n, generator, dtype, device):
        raise NotImplementedError

    def _generators(self, dtype, device):
        raise NotImplementedError

    def _grid(self, dtype, device):
        return self._identity(0, dtype, device)

    # -- value semantics ------------------------------------------------------------
    def _key(self):
        return (type(self).__name__,)

    def __eq__(self, other):
        return isinstance(other, Group) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return self.name


def tolerance(dtype: torch.dtype) -> float:
    """Membership tolerance for floating element batches of this dtype."""
    return 1e-9 if dtype == torch.float64 else 1e-4 if dtype == torch.float32 else 1e-2


def wrap_angle(theta: torch.Tensor) -> torch.Tensor:
    """Map angles to (-π, π]."""
    return theta - 2 * math.pi * torch.ceil((theta - math.pi) / (2 * math.pi))
