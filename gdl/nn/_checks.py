"""The one input check of gdl's layers and models, with one message format.

Every layer's ``forward`` checks its tensors here before computing (models check a batch once
and then call their layers' unchecked ``propagate``). The messages name the argument, the
expected type and what arrived::

    FieldTypeError: expected field type 8x0e+4x1o (dim 12) on axis -1 of 'h' ([num_nodes, 12]),
                    got tensor of shape [5, 16] with 16 channels
    FieldTypeError: expected 5 rows (one per node) in 'vel', got tensor of shape [4, 3]
    ValueError:     'pos' contains non-finite values (NaN or inf)
    DtypeMismatchError: module parameters are float32 but input 'h' is float64; call .double() on
                    the module or cast the input
    DeviceMismatchError: module parameters are on cpu but input 'h' is on cuda:0; call .to('cuda:0')
                    on the module or move the input

Cost: shape and dtype checks read metadata only. The finiteness check and the range check of
``edge_index`` read one value back from the device each (as gdl's layers always have); nothing else
synchronises.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from gdl.groups import FieldTypeError
from gdl.nn._types import TypeLike, describe, type_dim


class DtypeMismatchError(TypeError):
    """A module's parameters and its input have different floating-point dtypes."""


class DeviceMismatchError(RuntimeError):
    """A module's parameters and its input live on different devices."""


_CAST = {torch.float64: "double", torch.float32: "float", torch.float16: "half", torch.bfloat16: "bfloat16"}


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def check_field(name: str, x, expected: TypeLike, rows: Optional[int] = None, row: str = "node",
                finite: bool = True) -> None:
    """Raise unless ``x`` is a float tensor [rows, dim] carrying the field type ``expected`` on axis -1.

    ``expected``: a ``FieldType``, e3nn ``Irreps``, an irreps string, or an int (invariant channels).
    ``rows`` (optional) is the number of rows (nodes, edges, graphs: ``row`` names one).
    ``finite=False`` skips the NaN/inf check (one host read on GPU)."""
    dim = type_dim(expected)
    if not isinstance(x, torch.Tensor):
        raise FieldTypeError(f"expected a tensor of field type {describe(expected)} (dim {dim}) for '{name}', "
                             f"got {type(x).__name__}")
    if x.dim() != 2 or x.shape[1] != dim:
        got = f"with {x.shape[-1]} channels" if x.dim() else "(a scalar)"
        raise FieldTypeError(f"expected field type {describe(expected)} (dim {dim}) on axis -1 of '{name}' "
                             f"([num_{row}s, {dim}]), got tensor of shape {list(x.shape)} {got}")
    if rows is not None and x.shape[0] != rows:
        raise FieldTypeError(f"expected {rows} rows (one per {row}) in '{name}', got tensor of shape {list(x.shape)}")
    if not x.is_floating_point():
        raise FieldTypeError(f"expected a floating-point tensor for '{name}', got dtype {_dtype_name(x.dtype)}")
    if finite:
        check_finite(name, x, row)


def check_finite(name: str, x: torch.Tensor, row: str = "node") -> None:
    """``ValueError`` naming the first offending rows if ``x`` holds NaN or inf (one host read)."""
    if bool(torch.isfinite(x).all()):
        return
    bad = ~torch.isfinite(x.reshape(x.shape[0], -1)).all(dim=1) if x.dim() else torch.ones(1, dtype=torch.bool)
    rows = bad.nonzero().flatten()
    listed = rows[:5].tolist()
    raise ValueError(f"'{name}' contains non-finite values (NaN or inf) at {row}s {listed}"
                     f"{'...' if rows.numel() > 5 else ''}")


def check_positions(name: str, pos) -> None:
    """Points in any dimension: a finite float tensor [num_nodes, dim] (the graph builders' input)."""
    if not isinstance(pos, torch.Tensor):
        raise FieldTypeError(f"expected a floating-point tensor of shape [num_nodes, dim] for '{name}', "
                             f"got {type(pos).__name__}")
    if pos.dim() != 2:
        raise FieldTypeError(f"expected a floating-point tensor of shape [num_nodes, dim] for '{name}', "
                             f"got tensor of shape {list(pos.shape)}")
    if not pos.is_floating_point():
        raise FieldTypeError(f"expected a floating-point tensor for '{name}', got dtype {_dtype_name(pos.dtype)}")
    check_finite(name, pos)


def check_edge_index(edge_index, num_nodes: int, name: str = "edge_index") -> None:
    """Raise a ``ValueError`` unless ``edge_index`` is an integer [2, E] tensor indexing ``num_nodes`` nodes."""
    if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 or edge_index.shape[0] != 2:
        got = f"tensor of shape {list(edge_index.shape)}" if isinstance(edge_index, torch.Tensor) else type(edge_index).__name__
        raise ValueError(f"expected an integer tensor of shape [2, num_edges] for '{name}', got {got}")
    if edge_index.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"expected dtype int64 (or int32) for '{name}', got {_dtype_name(edge_index.dtype)}")
    if edge_index.numel():
        low, high = torch.stack(torch.aminmax(edge_index)).tolist()  # one host read
        if low < 0 or high >= num_nodes:
            raise ValueError(f"'{name}' refers to node {low if low < 0 else high}, but there are {num_nodes} nodes")


def check_edge_attr(edge_attr, num_edges: int, channels: int, name: str = "edge_attr") -> None:
    """``None`` when the layer was built with ``edge_channels=0``, else finite [num_edges, channels]."""
    if channels == 0:
        if edge_attr is not None and edge_attr.numel() and edge_attr.shape[-1] != 0:
            raise FieldTypeError(f"'{name}': this layer was built with edge_channels=0, got a tensor of shape "
                                 f"{list(edge_attr.shape)}")
        return
    if edge_attr is None:
        raise FieldTypeError(f"'{name}': this layer was built with edge_channels={channels}, got None")
    check_field(name, edge_attr, channels, num_edges, row="edge")


def check_batch(batch, num_nodes: int, name: str = "batch", nonnegative: bool = False) -> None:
    """An integer [num_nodes] vector of graph ids (PyG's ``batch``); ``nonnegative`` also reads its minimum."""
    if (not isinstance(batch, torch.Tensor) or batch.dim() != 1 or batch.shape[0] != num_nodes
            or batch.is_floating_point() or batch.is_complex() or batch.dtype == torch.bool):
        got = f"{list(batch.shape)} {_dtype_name(batch.dtype)}" if isinstance(batch, torch.Tensor) else type(batch).__name__
        raise ValueError(f"expected an integer tensor of shape [{num_nodes}] (one graph id per node) for '{name}', "
                         f"got {got}")
    if nonnegative and batch.numel():
        low = int(batch.min())
        if low < 0:
            raise ValueError(f"'{name}': graph ids must be non-negative, got {low}")


def reference_tensor(module: nn.Module) -> Optional[torch.Tensor]:
    """A floating-point parameter (else buffer) of ``module`` whose dtype and device stand for all."""
    for tensor in module.parameters():
        if tensor.is_floating_point():
            return tensor
    for tensor in module.buffers():
        if tensor.is_floating_point():
            return tensor
    return None


def check_matches_module(reference: Optional[torch.Tensor], name: str, x: torch.Tensor) -> None:
    """Raise a named error if ``x`` has another float dtype or device than the module's ``reference`` tensor.

    Metadata only (no device work). ``reference`` = ``reference_tensor(module)`` or a known parameter."""
    if reference is None or not isinstance(x, torch.Tensor):
        return
    if x.is_floating_point() and x.dtype != reference.dtype:
        cast = _CAST.get(x.dtype)
        how = f"call .{cast}() on the module or cast the input" if cast else "cast the input"
        raise DtypeMismatchError(f"module parameters are {_dtype_name(reference.dtype)} but input '{name}' is "
                                 f"{_dtype_name(x.dtype)}; {how}")
    if x.device != reference.device:
        raise DeviceMismatchError(f"module parameters are on {reference.device} but input '{name}' is on {x.device}; "
                                  f"call .to('{x.device}') on the module or move the input")
