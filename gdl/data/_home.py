"""Where gdl caches generated datasets, and how a cache entry is named.

Mirrors PyG's ``PYG_HOME``: the environment variable ``GDL_HOME`` overrides the default root,
which is ``datasets/cache/`` in a source checkout (ignored by git) and ``~/.cache/gdl``
otherwise. Dataset ``NAME`` lives in ``<cache root>/NAME`` whether the cache root comes from
``GDL_HOME`` or from an explicit cache root (``gdl data --root``, the config key ``data_root``):
see :func:`cache_folder`.

A cache entry's name carries a hash of everything that produced it (generation parameters,
``pre_transform``, ``pre_filter``, format version), so changing any of them regenerates
instead of silently reusing stale files (PyG only warns in that case). A function hook is
keyed by its **code** (bytecode, constants, names, defaults, closure values and the module
functions it calls), not by its name, so an edited lambda gets a new cache entry
(:func:`hook_repr`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import types
from pathlib import Path
from typing import Any, Mapping, Optional

_REPO_DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def gdl_home() -> Path:
    """The dataset cache root: ``$GDL_HOME``, else ``<repo>/datasets/cache``, else ``~/.cache/gdl``."""
    env = os.environ.get("GDL_HOME")
    if env:
        return Path(env).expanduser()
    if _REPO_DATASETS.is_dir():
        return _REPO_DATASETS / "cache"
    return Path.home() / ".cache" / "gdl"


def cache_folder(name: str, cache_root: Optional[str] = None) -> str:
    """The folder of dataset ``name`` under a cache root: ``cache_root / name``, default ``gdl_home() / name``.

    ``gdl data --root R`` and ``GDL_HOME=R`` both lead here, so they share one layout.
    """
    base = Path(cache_root).expanduser() if cache_root is not None else gdl_home()
    return str(base / name)


def dataset_root(name: str, root: Optional[str] = None) -> str:
    """A dataset class's ``root`` (PyG's meaning: the dataset's own folder): ``root`` if given, else
    ``gdl_home() / name``."""
    return str(Path(root).expanduser()) if root is not None else cache_folder(name)


class HookKeyError(ValueError):
    """A ``pre_transform`` / ``pre_filter`` that cannot be keyed for the dataset cache."""


_MAX_DEPTH = 6


def hook_repr(hook: Any) -> str:
    """A stable description of a ``transform`` / ``pre_transform`` / ``pre_filter`` hook, used in the cache key.

    - ``None`` → ``"None"``; an object with its own ``__repr__`` (e.g. ``RandomWalkPE(k=16, …)``) → that repr;
    - a Python function or lambda → its qualified name plus a SHA-256 of its code: bytecode, constants
      (nested code objects included), names, default values, closure cell values, and the globals it
      reads (module functions by their code, plain values by repr) — editing the body gives a new key;
    - ``functools.partial`` / bound methods → the function's key plus the bound arguments / object;
    - an object whose repr only shows its address → its class, its ``__call__``'s code and its attributes.

    A hook that cannot be described this way (e.g. it closes over an object whose repr is only an
    address and which has no attributes) raises :class:`HookKeyError`: reusing a cache for it could
    silently serve data made by different code.
    """
    return _describe(hook, 0, set())


def _describe(value: Any, depth: int, seen: set) -> str:
    if depth > _MAX_DEPTH:
        raise HookKeyError(f"cannot key {value!r} for the dataset cache: nested more than {_MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_describe(v, depth + 1, seen) for v in value]
        if isinstance(value, (set, frozenset)):
            items.sort()
        return f"{type(value).__name__}({', '.join(items)})"
    if isinstance(value, dict):
        return "{" + ", ".join(sorted(f"{_describe(k, depth + 1, seen)}: {_describe(v, depth + 1, seen)}"
                                      for k, v in value.items())) + "}"
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    if isinstance(value, type):
        return f"class {value.__module__}.{value.__qualname__}"
    if _is_array(value):
        return _array_key(value)
    if isinstance(value, functools.partial):
        args = _describe(value.args, depth + 1, seen)
        keywords = _describe(dict(value.keywords), depth + 1, seen)
        return f"partial({_describe(value.func, depth + 1, seen)}, args={args}, keywords={keywords})"
    if isinstance(value, types.MethodType):
        return f"method {_describe(value.__func__, depth + 1, seen)} of {_describe(value.__self__, depth + 1, seen)}"
    if isinstance(value, types.FunctionType):
        return f"function {value.__module__}.{value.__qualname__} code {_function_digest(value, depth, seen)}"
    if isinstance(value, (types.BuiltinFunctionType, types.BuiltinMethodType)):
        return f"builtin {getattr(value, '__module__', None)}.{value.__qualname__}"
    text = repr(value)
    if " at 0x" not in text and " object at " not in text:
        return text
    state = dict(getattr(value, "__dict__", None) or {})
    for cls in type(value).__mro__:  # attributes kept in __slots__ describe the object too
        for slot in (cls.__dict__.get("__slots__", ()) if not isinstance(cls.__dict__.get("__slots__"), str)
                     else (cls.__dict__["__slots__"],)):
            if slot not in ("__dict__", "__weakref__") and hasattr(value, slot):
                state[slot] = getattr(value, slot)
    call = getattr(type(value), "__call__", None)
    if not state and not isinstance(call, types.FunctionType):
        raise HookKeyError(
            f"cannot key {text} for the dataset cache: its repr shows only its address and it has no attributes "
            "to describe it; give its class a __repr__ that names its parameters, or pass a plain function"
        )
    code = _function_digest(call, depth, seen) if isinstance(call, types.FunctionType) else "builtin"
    fields = ", ".join(f"{k}={_describe(v, depth + 1, seen)}" for k, v in sorted(state.items()))
    return f"{type(value).__module__}.{type(value).__qualname__}({fields}) call {code}"


def _is_array(value) -> bool:
    return type(value).__module__ in ("torch", "numpy") and hasattr(value, "shape") and hasattr(value, "dtype")


def _array_key(value) -> str:
    try:
        import numpy as np

        array = value.detach().cpu().contiguous().numpy() if hasattr(value, "detach") else np.ascontiguousarray(value)
        digest = hashlib.sha256(array.tobytes()).hexdigest()[:16]
    except Exception as exc:  # e.g. a tensor type numpy cannot view (bfloat16)
        raise HookKeyError(f"cannot key the array {type(value).__name__}{tuple(value.shape)} for the dataset cache: {exc}")
    return f"{type(value).__name__}{tuple(value.shape)} {value.dtype} sha256:{digest}"


def _code_text(code: types.CodeType) -> str:
    consts = [(_code_text(c) if isinstance(c, types.CodeType) else repr(c)) for c in code.co_consts]
    return repr((code.co_code.hex(), consts, code.co_names, code.co_varnames, code.co_freevars, code.co_argcount,
                 code.co_kwonlyargcount, code.co_flags))


def _global_names(code: types.CodeType) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _function_digest(fn: types.FunctionType, depth: int, seen: set) -> str:
    """sha256 (16 hex digits) of a function's code, defaults, closure and the module globals it reads."""
    if fn in seen:  # recursion (a function calling itself or a cycle): its code is already in the key
        return f"<recursive {fn.__qualname__}>"
    seen = seen | {fn}
    parts = [_code_text(fn.__code__), _describe(fn.__defaults__, depth + 1, seen),
             _describe(fn.__kwdefaults__, depth + 1, seen)]
    for cell in fn.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell (a name not assigned yet)
            contents = "<empty cell>"
        parts.append(_describe(contents, depth + 1, seen))
    module_globals = getattr(fn, "__globals__", {})
    for name in sorted(_global_names(fn.__code__)):
        if name not in module_globals:
            continue  # attribute names, builtins
        value = module_globals[name]
        if isinstance(value, types.FunctionType) and value.__module__ == fn.__module__:
            parts.append(f"{name}={_describe(value, depth + 1, seen)}")  # a helper in the same module: by its code
        elif value is None or isinstance(value, (bool, int, float, complex, str, bytes, tuple)):
            parts.append(f"{name}={_describe(value, depth + 1, seen)}")  # a module constant
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def config_hash(config: Mapping[str, Any], length: int = 12) -> str:
    """First ``length`` hex digits of the SHA-256 of ``config`` as canonical JSON."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def save_processed(dataset, data_list) -> None:
    """Apply ``pre_filter`` / ``pre_transform`` to ``data_list`` and write the dataset's processed file
    atomically with its checksum (see :mod:`gdl.data._cache`)."""
    from gdl.data._cache import write_processed

    kept = [d for d in data_list if dataset.pre_filter is None or dataset.pre_filter(d)]
    if dataset.pre_transform is not None:
        kept = [dataset.pre_transform(d) for d in kept]
    write_processed(dataset, kept)
