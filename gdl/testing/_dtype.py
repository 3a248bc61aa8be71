"""Build models in the dtype they will run in, and find constants that were not.

A module *built* in float32 and cast with ``.double()`` keeps every constant it computed at
construction rounded to float32: e3nn's Wigner-3j / Clebsch–Gordan buffers, normalisation
constants, … Its float64 equivariance error is then ~1e-8 instead of ~1e-15. Build it in
the target dtype instead::

    with default_dtype(torch.float64):
        model = MyModel()

``float32_constants(model)`` finds such constants in a float64 model: a floating buffer of an
e3nn module (or of its submodules), or a non-persistent buffer of any module, all of whose entries are exactly float32-representable
(``x.float().double() == x``) while some need more than bfloat16's 8 significant bits (so
they are not simple numbers like 0, ±1, 1/2 that every dtype holds exactly). A value
computed in float64 (√(1/2), a 3j symbol) is float32-representable with probability ~2⁻²⁹,
so a whole buffer of them is float32-rounded for certain.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, List, Tuple

import torch


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """``torch.set_default_dtype(dtype)`` inside the block, the previous default restored after
    (also as a decorator). Build models under it so that their constants carry ``dtype``'s precision."""
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"default_dtype: expected a floating torch.dtype (torch.float32, torch.float64), got {dtype!r}")
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _is_e3nn(module) -> bool:
    return type(module).__module__.split(".")[0] == "e3nn"


def _float32_rounded(x: torch.Tensor) -> bool:
    """Every entry float32-representable, and some entry needs more than 8 significant bits."""
    if x.dtype != torch.float64 or x.numel() == 0:
        return False
    x = x.detach()
    if not bool((x.float().double() == x).all()):
        return False
    finite = x[torch.isfinite(x)]
    return bool((finite.to(torch.bfloat16).double() != finite).any())


def float32_constants(model) -> List[Tuple[str, str]]:
    """``(submodule, buffer)`` names of float32-rounded constants in a float64 ``model`` (see
    the module doc): buffers of e3nn modules (and their submodules, e.g. the compiled
    tensor-product code) and non-persistent buffers of any module (constants by construction;
    persistent buffers of other modules are state, like batch-norm statistics, and are skipped).
    ``[]`` when there are none."""
    if not isinstance(model, torch.nn.Module):
        return []
    found = []
    e3nn_roots: List[str] = []
    for name, module in model.named_modules():
        inside = any(name == r or name.startswith(r + ".") or r == "" for r in e3nn_roots)
        if _is_e3nn(module) and not inside:
            e3nn_roots.append(name)
            inside = True
        constants = getattr(module, "_non_persistent_buffers_set", set())
        for b, buf in module.named_buffers(recurse=False):
            if buf is not None and (inside or b in constants) and _float32_rounded(buf):
                owner = next((r for r in e3nn_roots if r == "" or name == r or name.startswith(r + ".")), name) if inside else name
                found.append((owner or type(model).__name__, f"{name[len(owner):].lstrip('.') + '.' if name != owner else ''}{b}"))
    return found


def float32_constants_note(model) -> str:
    """A report note naming the float32-built submodules of ``model`` and the fix ("" if none)."""
    found = float32_constants(model)
    if not found:
        return ""
    modules = []
    for m, _ in found:
        if m not in modules:
            modules.append(m)
    shown = ", ".join(repr(m) for m in modules[:4]) + (f" and {len(modules) - 4} more" if len(modules) > 4 else "")
    return (f"float32-built constants in a float64 check: submodule{'s' if len(modules) > 1 else ''} {shown} "
            f"hold{'' if len(modules) > 1 else 's'} buffers rounded to float32 (e.g. {found[0][1]!r}), so the module was "
            f"built in float32 and cast; its float64 error sits at float32 rounding (~1e-8). Build the model in float64: "
            f"`with gdl.testing.default_dtype(torch.float64): model = MyModel()`")
