"""Irreps of the planar groups SO(2), O(2), C_n, D_n: labels, the multiplicity syntax, and
the tensor-product rule with its change of basis.

Labels (``PlanarIrrep(freq, prime)``, printed ``"2"`` or ``"0'"``):

- ``"m"`` with m ≥ 1 (SO(2), O(2); 1 ≤ m < n/2 for C_n, D_n): the 2-dim irrep
  ρ_m(R(θ)F^f) = R(mθ)F^f, i.e. z ↦ e^{imθ} z̄^f on z = x₀ + i x₁ (F = diag(1, −1) is z ↦ z̄).
- ``"0"``: the trivial irrep. ``"0'"`` (O(2), D_n): the determinant, (−1)^f.
- ``"n/2"`` (C_n, D_n, n even): (−1)^k at R(2πk/n); ``"n/2'"`` (D_n): (−1)^(k+f).

A prime means "times the determinant"; it exists only on the 1-dim irreps of groups with
reflections. ``SO2().irreps("4x0+2x1+1x2")``, ``O2().irreps("0+0'+2x3")``,
``Dihedral(6).irreps("0'+3'+2x1")``: terms ``MULxLABEL`` (or ``LABEL`` for one copy) joined
by ``+``; ``str`` prints every term as ``MULxLABEL`` and parses back to an equal value.

Tensor products (``_decompose_pair``), written on z = x₀ + i x₁ for 2-dim irreps: the
products z_a z_b (frequency a + b) and z_a z̄_b (frequency a − b) are again "complex lines"
on which a reflection acts by complex conjugation, so

    ρ_a ⊗ ρ_b = ρ_|a−b| ⊕ ρ_(a+b)                      (a ≠ b, both ≥ 1),
    ρ_a ⊗ ρ_a = ρ_0 ⊕ ρ_0' ⊕ ρ_2a    (O(2), D_n; SO(2), C_n: ρ_0 ⊕ ρ_0 ⊕ ρ_2a),

with frequencies reduced mod n for C_n/D_n (a frequency q > n/2 is the conjugate line of
n − q; q = n/2 splits into ``n/2`` ⊕ ``n/2'``). A 1-dim irrep s times a 2-dim one: the line
s·z_b, multiplied by i when s is primed (so that the reflection acts as z ↦ z̄ again). Each
line w contributes the rows (Re w, Im w) of the change of basis, normalised.
"""
from __future__ import annotations

import math
import re
from typing import NamedTuple, Optional

import torch

from gdl.groups._irrep_sum import IrrepSum


class PlanarIrrep(NamedTuple):
    """The label of a planar irrep: frequency and prime (times the determinant)."""

    freq: int
    prime: int = 0

    def __str__(self):
        return f"{self.freq}{chr(39) if self.prime else ''}"


_TERM = re.compile(r"^\s*(?:(\d+)\s*x\s*)?(\d+)\s*(')?\s*$")


class PlanarIrreps(IrrepSum):
    """A sum of irreps of SO(2), O(2), C_n or D_n with multiplicities (module docstring).

    ``PlanarIrreps(group, "4x0+2x1")`` parses the multiplicity syntax; entries may also be
    given as ``[(mul, PlanarIrrep(freq, prime)), ...]`` (or ``(mul, freq)``).
    """

    def __init__(self, group, entries):
        if isinstance(entries, str):
            entries = parse_planar_irreps(group, entries)
        entries = [(mul, PlanarIrrep(label) if isinstance(label, int) else PlanarIrrep(*label)) for mul, label in entries]
        for _, label in entries:
            check_planar_label(group, label)
        super().__init__(group, entries)

    def _label_dim(self, label):
        return _label_dim(self.group, label)

    def _label_key(self, label):
        return (label.freq, label.prime)

    def _label_blocks(self, labels, g, dtype, device):
        spec = self.group._planar_spec()
        blocks = {}
        for label in labels:
            if label == (0, 0):
                continue  # trivial: identity
            blocks[label] = _label_matrix(self.group, spec, label, g, dtype, device)
        return blocks

    def _decompose_pair(self, a, b):
        return _decompose_pair(self.group, a, b)


# -- labels -------------------------------------------------------------------------------------
def _period(group) -> Optional[int]:
    return group._planar_spec()["period"]


def _label_dim(group, label) -> int:
    n = _period(group)
    if label.freq == 0 or (n is not None and 2 * label.freq == n):
        return 1
    return 2


def check_planar_label(group, label: PlanarIrrep) -> None:
    """Raise ``ValueError`` naming the valid labels unless ``label`` is an irrep of ``group``."""
    spec = group._planar_spec()
    n, flips = spec["period"], spec["reflections"]
    valid = _valid_labels_text(group)
    if label.freq < 0 or label.prime not in (0, 1):
        raise ValueError(f"{group} has no irrep {label}: {valid}")
    if n is not None and 2 * label.freq > n:
        raise ValueError(f"{group} has no irrep {label}: frequencies are 0 ≤ j ≤ {n // 2}; {valid}")
    if label.prime and (not flips or _label_dim(group, label) != 1):
        raise ValueError(f"{group} has no irrep {label}: {valid}")


def _valid_labels_text(group) -> str:
    spec = group._planar_spec()
    n, flips = spec["period"], spec["reflections"]
    if n is None:
        return "irreps are 0, 1, 2, … (m ≥ 0)" + (", and 0' (the determinant)" if flips else "")
    top = n // 2
    text = f"irreps are 0 … {top}"
    if flips:
        primed = ["0'"] + ([f"{top}'"] if n % 2 == 0 and top > 0 else [])
        text += " and " + ", ".join(primed) + " (times the determinant)"
    return text


def parse_planar_irreps(group, text: str):
    """``"4x0+2x1+1x2"`` → ``[(4, PlanarIrrep(0, 0)), (2, PlanarIrrep(1, 0)), (1, PlanarIrrep(2, 0))]``."""
    if not isinstance(text, str):
        raise TypeError(f"{group} irreps: expected a string like '4x0+2x1', got {type(text).__name__}")
    if text.strip() == "":
        return []
    entries = []
    for term in text.split("+"):
        match = _TERM.match(term)
        if match is None:
            raise ValueError(
                f"{group} irreps: cannot parse {term.strip()!r} in {text!r}: expected terms "
                f"'MULxLABEL' or 'LABEL' joined by '+', e.g. '4x0+2x1'; {_valid_labels_text(group)}"
            )
        mul, freq, prime = match.groups()
        label = PlanarIrrep(int(freq), 1 if prime else 0)
        check_planar_label(group, label)
        entries.append((1 if mul is None else int(mul), label))
    return entries


# -- matrices -----------------------------------------------------------------------------------
def _label_matrix(group, spec, label, g, dtype, device):
    n = spec["period"]
    rot = spec["rotation"](g)  # θ (float) for SO(2)/O(2), k (int) for C_n/D_n
    flip = spec["flip"](g) if spec["reflections"] else None
    if _label_dim(group, label) == 1:
        value = torch.ones(rot.shape[0], dtype=dtype, device=device)
        if label.freq:  # (−1)^k, n even, 2·freq = n
            value = 1 - 2 * torch.remainder(rot, 2).to(dtype)
        if label.prime:
            value = value * (1 - 2 * flip.to(dtype))
        return value.reshape(-1, 1, 1)
    if n is None:
        angle = label.freq * rot.to(dtype)
    else:
        angle = torch.remainder(label.freq * rot, n).to(torch.float64) * (2 * math.pi / n)
        angle = angle.to(dtype)
    c, s = torch.cos(angle), torch.sin(angle)
    if flip is None:
        return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    sign = 1 - 2 * flip.to(dtype)  # R(mθ)F^f: negate the second column where flip = 1
    return torch.stack([torch.stack([c, -s * sign], -1), torch.stack([s, c * sign], -1)], -2)


# -- tensor products ----------------------------------------------------------------------------
_Z = torch.tensor([1.0, 1.0j], dtype=torch.complex128)  # z = x0 + i x1


def _reduce(group, line, q):
    """A complex line w of frequency q (reflections act as w ↦ w̄) as labelled real rows."""
    spec = group._planar_spec()
    n = spec["period"]
    if n is None:
        if q < 0:
            line, q = line.conj(), -q
    else:
        q %= n
        if 2 * q > n:
            line, q = line.conj(), n - q
    re_row, im_row = line.real.clone(), line.imag.clone()
    if q == 0 or (n is not None and 2 * q == n):  # splits into two 1-dim irreps
        second = PlanarIrrep(q, 1 if spec["reflections"] else 0)
        return [(PlanarIrrep(q, 0), re_row[None]), (second, im_row[None])]
    return [(PlanarIrrep(q, 0), torch.stack([re_row, im_row]))]


def _decompose_pair(group, a: PlanarIrrep, b: PlanarIrrep):
    da, db = _label_dim(group, a), _label_dim(group, b)
    n = _period(group)
    if da == 1 and db == 1:
        freq = a.freq + b.freq
        if n is not None:
            freq %= n
        return [(PlanarIrrep(freq, (a.prime + b.prime) % 2), torch.ones(1, 1, dtype=torch.float64))]
    if da == 1 or db == 1:
        scalar, vector = (a, b) if da == 1 else (b, a)
        line = _Z.clone()  # s·z in the row-major (a, b) channel order: [1, i] either way
        if scalar.prime:
            line = 1j * line
        out = _reduce(group, line, scalar.freq + vector.freq)
    else:
        difference = torch.outer(_Z, _Z.conj()).reshape(4)  # z_a z̄_b, frequency a − b
        total = torch.outer(_Z, _Z).reshape(4)  # z_a z_b, frequency a + b
        out = _reduce(group, difference, a.freq - b.freq) + _reduce(group, total, a.freq + b.freq)
    return [(label, rows / rows.norm(dim=1, keepdim=True)) for label, rows in out]
