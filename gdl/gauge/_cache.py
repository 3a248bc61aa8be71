"""A per-mesh cache of ``surface_geometry``, keyed on the mesh tensors themselves.

``cached_surface_geometry(pos, face, edge_index, **options)`` returns the geometry of a mesh
computed once: an entry is found by the identity of the ``pos`` / ``face`` / ``edge_index``
tensor objects and the options, and is valid only while those objects are alive (weak
references: a freed tensor whose memory is reused cannot hit a stale entry) and unmodified
(their ``_version`` counters, which every in-place operation bumps). Hits return clones, so
modifying a result cannot corrupt the cache. Least-recently-used entries beyond
``CACHE_SIZE`` are dropped; ``clear_geometry_cache()`` empties it. Used by
``MeshGeometry(cache=True)`` (the default), e.g. when the transform runs every epoch on the
same samples.
"""
from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Dict, Optional

import torch

CACHE_SIZE = 64
_CACHE: "OrderedDict[tuple, tuple]" = OrderedDict()
_STATS = {"hits": 0, "misses": 0}


def _options_key(options: dict):
    out = []
    for k in sorted(options):
        v = options[k]
        if isinstance(v, torch.Tensor):
            v = ("tensor", tuple(v.shape), tuple(v.flatten().tolist()) if v.numel() <= 3 else id(v), getattr(v, "_version", 0))
        out.append((k, v))
    return tuple(out)


def _alive(entry_refs, tensors) -> bool:
    for (ref, version), t in zip(entry_refs, tensors):
        if t is None:
            if ref is not None:
                return False
            continue
        if ref is None or ref() is not t or t._version != version:
            return False
    return True


def cached_surface_geometry(pos: torch.Tensor, face: torch.Tensor, edge_index: Optional[torch.Tensor] = None,
                            **options) -> Dict[str, torch.Tensor]:
    """``surface_geometry(pos, face, edge_index, **options)``, computed once per mesh (module docstring)."""
    from gdl.gauge._geometry import surface_geometry

    tensors = (pos, face, edge_index)
    key = (tuple(id(t) for t in tensors), _options_key(options))
    entry = _CACHE.get(key)
    if entry is not None and _alive(entry[0], tensors):
        _CACHE.move_to_end(key)
        _STATS["hits"] += 1
        return {k: v.clone() for k, v in entry[1].items()}
    _STATS["misses"] += 1
    geo = surface_geometry(pos, face, edge_index, **options)
    refs = tuple((None, 0) if t is None else (weakref.ref(t), t._version) for t in tensors)
    _CACHE[key] = (refs, {k: v.clone() for k, v in geo.items()})
    _CACHE.move_to_end(key)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return geo


def clear_geometry_cache() -> None:
    _CACHE.clear()
    _STATS.update(hits=0, misses=0)


def geometry_cache_stats() -> Dict[str, int]:
    """``{"hits", "misses", "entries"}`` since the last ``clear_geometry_cache()``."""
    return dict(_STATS, entries=len(_CACHE))
