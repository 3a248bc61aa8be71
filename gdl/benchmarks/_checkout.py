"""Importing a reference implementation from a checkout given on the command line (never part of gdl)."""
from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_from_checkout(path: str, module: str, flag: str) -> ModuleType:
    """``module`` imported with ``path`` first on ``sys.path`` (removed again); a clear exit if it is not there."""
    sys.path.insert(0, path)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise SystemExit(f"{flag} {path}: cannot import {module} ({exc})") from None
    finally:
        sys.path.remove(path)
