"""Sequential: layers chained on plain tensors, their types checked where they connect, at construction.

The idea of escnn's ``SequentialModule`` without a tensor wrapper: every gdl layer declares
``in_type`` / ``out_type`` (e3nn modules: ``irreps_in`` / ``irreps_out``), so a stack can refuse
a wrong connection when it is built, naming both types, instead of failing (or silently
broadcasting) at the first batch.
"""
from __future__ import annotations

import inspect
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from gdl.groups import FieldType, FieldTypeError
from gdl.nn._types import describe, same_type, type_dim


def declared_types(module: nn.Module) -> Tuple[object, object]:
    """(in_type, out_type) of a layer: ``in_type``/``out_type``, else e3nn's ``irreps_in``/``irreps_out``."""
    in_type, out_type = getattr(module, "in_type", None), getattr(module, "out_type", None)
    if in_type is None and out_type is None:
        in_type, out_type = getattr(module, "irreps_in", None), getattr(module, "irreps_out", None)
    if in_type is None or out_type is None:
        raise TypeError(f"{type(module).__name__} declares no in_type/out_type (nor e3nn irreps_in/irreps_out), so "
                        f"Sequential cannot check what it connects; give it those attributes or compose it by hand")
    return in_type, out_type


def _spell(t) -> str:
    group = f" of {t.group}" if isinstance(t, FieldType) else ""
    return f"{describe(t)} (dim {type_dim(t)}){group}"


def _fields(t, field: str) -> Dict[str, object]:
    """A declared type as {name: type}: dict types as they are, a single type as {field: type}."""
    return dict(t) if isinstance(t, dict) else {field: t}


class Sequential(nn.Module):
    r"""Layers applied in order to a chained field (default ``"h"``), type-checked at construction.

    ``Sequential(layer_1, …, layer_n, field="h")`` checks, for every k, that the ``field`` entry of
    layer k's ``out_type`` equals the ``field`` entry of layer k+1's ``in_type`` (types are compared
    as values: ``E.trivial_rep(16)``, ``FieldType.irreps(E, "16x0e")`` and ``"16x0e"`` agree), and so
    does every other field both declare (e.g. EGNNConv's output ``pos`` and TensorFieldConv's input
    ``pos``). A mismatch raises ``FieldTypeError`` naming both layers and both types. Layers with
    dict types (``{"h": ..., "pos": ...}``) and layers with one type (e3nn modules) mix freely.

    ``forward(h, **inputs)``: layer k is called as ``layer(h, **inputs it accepts)`` (by the names
    of its ``forward`` arguments, e.g. ``pos``, ``edge_index``, ``node_attr``). A tensor output is
    the new h; a named tuple or dict output (EGNNConv's ``(h, pos)``) gives the new h and updates
    the other inputs it names, so later layers see the updated positions. Returns the last
    layer's output as it is.

    Types: in_type = the first layer's, out_type = the last layer's.

    >>> from gdl.nn import Sequential
    >>> from gdl.nn.graph import EGNNConv, TensorFieldConv
    >>> net = Sequential(EGNNConv(8, 16), TensorFieldConv("16x0e", "8x0e+4x1o"))
    >>> Sequential(EGNNConv(8, 16), TensorFieldConv("8x0e", "8x0e+4x1o"))
    Traceback (most recent call last):
    ...
    gdl.groups._errors.FieldTypeError: Sequential: layer 0 (EGNNConv) outputs 'h' of type 16x0e (dim 16) of E(3), but layer 1 (TensorFieldConv) expects 'h' of type 8x0e (dim 8) of E(3)
    """

    def __init__(self, *layers: nn.Module, field: str = "h"):
        super().__init__()
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        self.field = field
        self.layers = nn.ModuleList(layers)
        types = [declared_types(layer) for layer in layers]
        for k in range(len(layers) - 1):
            outputs, inputs = _fields(types[k][1], field), _fields(types[k + 1][0], field)
            for side, where, declared in ((k, "out_type", outputs), (k + 1, "in_type", inputs)):
                if field not in declared:
                    raise FieldTypeError(f"Sequential: layer {side} ({type(layers[side]).__name__}) has no field "
                                         f"{field!r} in its {where} (it declares {sorted(declared)})")
            for name in [field] + sorted(set(outputs) & set(inputs) - {field}):
                if not same_type(outputs[name], inputs[name]):
                    raise FieldTypeError(
                        f"Sequential: layer {k} ({type(layers[k]).__name__}) outputs {name!r} of type "
                        f"{_spell(outputs[name])}, but layer {k + 1} ({type(layers[k + 1]).__name__}) expects "
                        f"{name!r} of type {_spell(inputs[name])}")
        self.in_type, self.out_type = types[0][0], types[-1][1]
        self._accepts = [self._argument_names(layer) for layer in layers]

    @staticmethod
    def _argument_names(layer: nn.Module) -> Optional[frozenset]:
        """Keyword names ``layer.forward`` takes after the chained field (``None``: it takes ``**kwargs``)."""
        parameters = list(inspect.signature(layer.forward).parameters.values())[1:]
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return None
        return frozenset(p.name for p in parameters
                         if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY))

    def forward(self, h: torch.Tensor, **inputs):
        out = h
        for layer, accepts in zip(self.layers, self._accepts):
            kwargs = inputs if accepts is None else {k: v for k, v in inputs.items() if k in accepts}
            out = layer(h, **kwargs)
            if isinstance(out, torch.Tensor):
                h = out
                continue
            fields = out._asdict() if hasattr(out, "_asdict") else out
            if not isinstance(fields, dict) or self.field not in fields:
                raise TypeError(f"Sequential: {type(layer).__name__} returned {type(out).__name__}; expected a tensor "
                                f"or a named tuple / dict with the field {self.field!r}")
            h = fields[self.field]
            inputs = {**inputs, **{k: v for k, v in fields.items() if k != self.field and v is not None}}
        return out

    def __getitem__(self, index):
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)
