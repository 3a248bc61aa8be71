"""``CorticalSurface``: FreeSurfer's fsaverage5 cortical surfaces, as shipped inside nilearn's wheel.

nilearn (BSD-3) bundles ``nilearn/datasets/data/fsaverage5/``: for each hemisphere (``left``,
``right``) the ``pial``, ``white``, ``infl`` (inflated), ``sphere`` and ``flat`` surfaces as
gzipped GIFTI (10 242 vertices, 20 480 triangles; all surfaces of a hemisphere share one vertex
order), and per-vertex maps ``sulc`` (sulcal depth), ``curv`` (mean curvature), ``thick``
(cortical thickness) and ``area``. They are read with nibabel (the field's GIFTI reader) from the
installed package — nothing is downloaded. Needs the ``cortical`` extra (``nibabel``, ``nilearn``);
nilearn itself is never imported (its files are located with ``importlib``).

Items: ``Data(pos [V, 3], face [3, F], y [V], <map> [V] for each of maps, hemisphere=str)``; ``pos`` is
in millimetres times ``scale``. ``rigid_motion_seed`` (an int) applies one seeded Haar-random rotation
and a translation t ~ N(0, (20 mm · scale)² I) to every item — the "rotated right hemisphere" test.
The left and right fsaverage hemispheres are separate meshes (not mirror images vertex by vertex),
so "train left, test right" is a real transfer to another surface.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from gdl.data._cache import CachedInMemoryDataset
from gdl.data._home import dataset_root, hook_repr, save_processed
from gdl.data.meshes import random_rotation

__all__ = ["CorticalSurface", "fsaverage5_folder", "read_fsaverage5", "CORTICAL_SURFACES", "CORTICAL_MAPS"]

CORTICAL_SURFACES = ("pial", "white", "infl", "sphere", "flat")
CORTICAL_MAPS = ("sulc", "curv", "thick", "area")
HEMISPHERES = ("left", "right")
_FORMAT_VERSION = 1


def fsaverage5_folder() -> Path:
    """The ``fsaverage5`` folder inside the installed nilearn package (ImportError when it is missing)."""
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("CorticalSurface needs nilearn (its wheel ships fsaverage5) and nibabel: "
                          "pip install 'gdl[cortical]' (or pip install nilearn nibabel)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "fsaverage5"
    if not folder.is_dir():
        raise FileNotFoundError(f"nilearn is installed but {folder} is missing; nilearn >= 0.10 ships fsaverage5 there")
    return folder


def _load_gifti(path: Path):
    try:
        import nibabel
    except ImportError:
        raise ImportError("CorticalSurface reads GIFTI with nibabel: pip install 'gdl[cortical]' (or pip install nibabel)") from None
    if not path.exists():
        raise FileNotFoundError(f"fsaverage5 file {path} is missing from the nilearn installation")
    return nibabel.load(str(path)).darrays


def read_fsaverage5(hemisphere: str, surface: str = "pial", maps: Sequence[str] = CORTICAL_MAPS):
    """``(pos [V, 3] float64 mm, face [3, F] int64, {map: [V] float64})`` for one fsaverage5 hemisphere."""
    if hemisphere not in HEMISPHERES:
        raise ValueError(f"read_fsaverage5: hemisphere must be one of {HEMISPHERES}, got {hemisphere!r}")
    if surface not in CORTICAL_SURFACES:
        raise ValueError(f"read_fsaverage5: surface must be one of {CORTICAL_SURFACES}, got {surface!r}")
    unknown = [m for m in maps if m not in CORTICAL_MAPS]
    if unknown:
        raise ValueError(f"read_fsaverage5: unknown maps {unknown}; expected a subset of {CORTICAL_MAPS}")
    folder = fsaverage5_folder()
    arrays = _load_gifti(folder / f"{surface}_{hemisphere}.gii.gz")
    if len(arrays) != 2:
        raise ValueError(f"{folder / f'{surface}_{hemisphere}.gii.gz'}: expected 2 data arrays (points, triangles), got {len(arrays)}")
    pos = np.asarray(arrays[0].data, dtype=np.float64)
    face = np.asarray(arrays[1].data, dtype=np.int64)
    values = {}
    for name in maps:
        value = np.asarray(_load_gifti(folder / f"{name}_{hemisphere}.gii.gz")[0].data, dtype=np.float64).reshape(-1)
        if value.shape[0] != pos.shape[0]:
            raise ValueError(f"fsaverage5 map {name}_{hemisphere}: expected {pos.shape[0]} values, got {value.shape[0]}")
        values[name] = torch.as_tensor(value)
    return torch.as_tensor(pos), torch.as_tensor(face.T.copy()), values


class CorticalSurface(CachedInMemoryDataset):
    """fsaverage5 hemispheres as meshes with a per-vertex regression target (see the module docstring).

    Args:
        root: cache folder (default ``$GDL_HOME/cortical``).
        hemispheres: one item per hemisphere, in this order (``("left",)``, ``("right",)``, both).
        surface: which surface gives ``pos`` (``"pial"``).
        target: the map stored as ``y`` (``"sulc"``: sulcal depth).
        maps: further maps stored under their names (e.g. ``("curv", "thick")``).
        scale: positions are millimetres × ``scale`` (0.01: one unit = 10 cm).
        rigid_motion_seed: ``None`` (as in the files) or the seed of one random rotation + translation.
        dtype, transform, pre_transform, pre_filter, force_reload: as for the other datasets.
    """

    def __init__(self, root: Optional[str] = None, hemispheres: Sequence[str] = ("left",), surface: str = "pial",
                 target: str = "sulc", maps: Sequence[str] = (), scale: float = 1.0,
                 rigid_motion_seed: Optional[int] = None, dtype: torch.dtype = torch.float32,
                 transform: Optional[Callable] = None, pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None, force_reload: bool = False) -> None:
        hemispheres = tuple(hemispheres)
        if not hemispheres or any(h not in HEMISPHERES for h in hemispheres):
            raise ValueError(f"CorticalSurface: hemispheres must be a non-empty sequence of {HEMISPHERES}, got {hemispheres!r}")
        if surface not in CORTICAL_SURFACES:
            raise ValueError(f"CorticalSurface: surface must be one of {CORTICAL_SURFACES}, got {surface!r}")
        if target not in CORTICAL_MAPS:
            raise ValueError(f"CorticalSurface: target must be one of {CORTICAL_MAPS}, got {target!r}")
        maps = tuple(maps)
        if any(m not in CORTICAL_MAPS for m in maps):
            raise ValueError(f"CorticalSurface: maps must be a subset of {CORTICAL_MAPS}, got {maps!r}")
        if not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"CorticalSurface: scale must be a finite number > 0, got {scale!r}")
        if rigid_motion_seed is not None and (isinstance(rigid_motion_seed, bool) or not isinstance(rigid_motion_seed, int)
                                              or rigid_motion_seed < 0):
            raise ValueError(f"CorticalSurface: rigid_motion_seed must be None or an int >= 0, got {rigid_motion_seed!r}")
        fsaverage5_folder()  # a clear ImportError before PyG creates folders
        self.hemispheres, self.surface, self.target, self.maps = hemispheres, surface, target, maps
        self.scale, self.rigid_motion_seed, self.dtype = float(scale), rigid_motion_seed, dtype
        self.generation = {
            "dataset": "cortical_fsaverage5", "format_version": _FORMAT_VERSION, "hemispheres": list(hemispheres),
            "surface": surface, "target": target, "maps": list(maps), "scale": self.scale,
            "rigid_motion_seed": rigid_motion_seed, "dtype": str(dtype),
            "pre_transform": hook_repr(pre_transform), "pre_filter": hook_repr(pre_filter),
        }
        super().__init__(dataset_root("cortical", root), transform, pre_transform, pre_filter, force_reload=force_reload)
        self.load_cache()


    def process(self) -> None:
        data_list = []
        for hemisphere in self.hemispheres:
            pos, face, values = read_fsaverage5(hemisphere, self.surface, (self.target,) + self.maps)
            pos = pos * self.scale
            if self.rigid_motion_seed is not None:
                rng = np.random.default_rng(np.random.SeedSequence([self.rigid_motion_seed, 11]))
                rotation = torch.as_tensor(random_rotation(rng))
                pos = pos @ rotation.T + torch.as_tensor(rng.standard_normal(3)) * 20.0 * self.scale
            data = Data(pos=pos.to(self.dtype), face=face, y=values[self.target].to(self.dtype), num_nodes=pos.shape[0],
                        hemisphere=hemisphere)
            for name in self.maps:
                data[name] = values[name].to(self.dtype)
            data_list.append(data)
        save_processed(self, data_list)
