"""Where gdl caches generated datasets, and how a cache entry is named.

Mirrors PyG's ``PYG_HOME``: the environment variable ``GDL_HOME`` overrides the default root,
which is ``datasets/cache/`` in a source checkout (ignored by git) and ``~/.cache/gdl``
otherwise. A cache entry's name carries a hash of everything that produced it (generation
parameters, ``pre_transform``, ``pre_filter``, format version), so changing any of them
regenerates instead of silently reusing stale files (PyG only warns in that case).
"""
from __future__ import annotations

import hashlib
import json
import os
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


def dataset_root(name: str, root: Optional[str] = None) -> str:
    """``root`` if given, else ``gdl_home() / name``."""
    return str(Path(root).expanduser()) if root is not None else str(gdl_home() / name)


def hook_repr(hook: Any) -> str:
    """A stable description of a ``transform`` / ``pre_transform`` / ``pre_filter`` hook."""
    if hook is None:
        return "None"
    text = repr(hook)
    if " at 0x" in text:  # functions and objects without a __repr__: name them, not their address
        text = getattr(hook, "__qualname__", type(hook).__qualname__)
        text = f"{getattr(hook, '__module__', type(hook).__module__)}.{text}"
    return text


def config_hash(config: Mapping[str, Any], length: int = 12) -> str:
    """First ``length`` hex digits of the SHA-256 of ``config`` as canonical JSON."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def save_processed(dataset, data_list) -> None:
    """Apply ``pre_filter`` / ``pre_transform`` to ``data_list``, save it as the dataset's processed
    file, and write ``generation.json`` (the parameters behind the cache name) beside it."""
    kept = [d for d in data_list if dataset.pre_filter is None or dataset.pre_filter(d)]
    if dataset.pre_transform is not None:
        kept = [dataset.pre_transform(d) for d in kept]
    dataset.save(kept, dataset.processed_paths[0])
    with open(os.path.join(dataset.processed_dir, "generation.json"), "w", encoding="utf-8") as f:
        json.dump(dataset.generation, f, indent=2, sort_keys=True)
