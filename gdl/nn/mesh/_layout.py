"""SO(2) gauge field types as the mesh layers read them, and their frequency-grouped layout.

A mesh layer takes its types as a ``FieldType`` over ``SO2()`` made of irreps ρ_m (e.g.
``FieldType.irreps(SO2(), "4x0+2x1+1x2")``), a bare ``Rep`` of such irreps, or the string
``"4x0+2x1+1x2"``; the channels are in the type's order (each entry ``mul`` copies of its
irrep, a copy of ρ_m being two channels (cos, sin)).

Internally the layers work in a *grouped* layout that puts each frequency together:
[the c_0 scalars | the c_1 cos-parts, the c_1 sin-parts | … | the c_L cos-parts, the c_L
sin-parts], so a rotation by angle ψ per row is one multiply-add per frequency block.
``GaugeFieldLayout.to_grouped`` / ``from_grouped`` are channel permutations (exact).
"""
from __future__ import annotations

from typing import List, Tuple, Union

import torch

from gdl.groups import SO2, FieldType, Rep

GaugeTypeLike = Union[FieldType, Rep, str]


def _entries_of(rep: Rep, name: str) -> List[Tuple[int, int]]:
    out = []
    for field in rep.summands if hasattr(rep, "summands") else (rep,):
        entries = getattr(field, "entries", None)
        if entries is None and hasattr(field, "_as_irreps"):
            irreps = field._as_irreps()
            entries = None if irreps is None else irreps.entries
        if entries is None:
            raise ValueError(f"{name}: expected SO(2) irreps ρ_m (e.g. '4x0+2x1+1x2'), got the representation {field}")
        for mul, label in entries:
            if getattr(label, "prime", 0):
                raise ValueError(f"{name}: SO(2) has no primed irreps; got {label} in {rep}")
            out.append((int(mul), int(label.freq)))
    return out


def as_gauge_type(t: GaugeTypeLike, name: str = "type") -> FieldType:
    """A ``FieldType`` over ``SO2()`` of irreps ρ_m from a FieldType, Rep or string (module docstring)."""
    if isinstance(t, str):
        try:
            return FieldType.irreps(SO2(), t)
        except ValueError as exc:
            raise ValueError(f"{name}: cannot read {t!r} as SO(2) irreps ({exc})") from None
    if isinstance(t, Rep):
        t = FieldType(t.group, t)
    if not isinstance(t, FieldType):
        raise TypeError(f"{name}: expected an SO(2) field type (FieldType, Rep or a string such as '4x0+2x1'), "
                        f"got {type(t).__name__}")
    if t.group != SO2():
        raise ValueError(f"{name}: expected a field type over SO(2) (the gauge group of meshes), got one over {t.group}")
    _entries_of(t.rep, name)
    return t


class GaugeFieldLayout:
    """Channel bookkeeping of an SO(2) field type (module docstring).

    Attributes: ``entries`` [(mul, freq)] in channel order; ``counts[m]`` = number of copies
    of ρ_m (m = 0 … ``max_freq``); ``dim``; ``to_grouped`` / ``from_grouped`` index tensors
    ([dim]) with ``x[:, to_grouped]`` grouped and ``g[:, from_grouped]`` back;
    ``offsets[m]`` the first grouped channel of frequency m.
    """

    def __init__(self, field_type: GaugeTypeLike, name: str = "type"):
        self.field_type = as_gauge_type(field_type, name)
        self.entries = _entries_of(self.field_type.rep, name)
        self.max_freq = max((f for mul, f in self.entries if mul), default=0)
        self.counts = [0] * (self.max_freq + 1)
        for mul, f in self.entries:
            self.counts[f] += mul
        self.dim = self.field_type.dim
        # original channel index of (freq, copy, component), copies numbered in channel order
        where = {m: ([], []) for m in range(self.max_freq + 1)}
        start = 0
        for mul, f in self.entries:
            d = 1 if f == 0 else 2
            for c in range(mul):
                for comp in range(d):
                    where[f][comp].append(start + c * d + comp)
            start += mul * d
        order, self.offsets = [], []
        for m in range(self.max_freq + 1):
            self.offsets.append(len(order))
            order += where[m][0] + (where[m][1] if m else [])
        self.to_grouped = torch.tensor(order, dtype=torch.long)
        self.from_grouped = torch.argsort(self.to_grouped)
        self.is_grouped = bool(torch.equal(self.to_grouped, torch.arange(self.dim)))

    def block_dim(self, m: int) -> int:
        return self.counts[m] * (1 if m == 0 else 2)

    def group(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.is_grouped else x.index_select(-1, self.to_grouped.to(x.device))

    def ungroup(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.is_grouped else x.index_select(-1, self.from_grouped.to(x.device))

    def rotate_grouped(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """ρ(ψ_e) x_e in the grouped layout, with ``cos``/``sin`` [E, L+1] = cos/sin(m ψ_e)
        (written block by block into one output: no concatenation)."""
        out = torch.empty_like(x)
        c0 = self.counts[0]
        if c0:
            out[:, :c0] = x[:, :c0]
        for m in range(1, self.max_freq + 1):
            c = self.counts[m]
            if c == 0:
                continue
            o = self.offsets[m]
            a, b = x[:, o : o + c], x[:, o + c : o + 2 * c]
            out_a, out_b = out[:, o : o + c], out[:, o + c : o + 2 * c]
            cm, sm = cos[:, m : m + 1], sin[:, m : m + 1]
            torch.mul(a, cm, out=out_a)
            out_a.addcmul_(b, sm, value=-1)
            torch.mul(a, sm, out=out_b)
            out_b.addcmul_(b, cm)
        return out
