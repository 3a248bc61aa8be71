"""``FAUST``: the registered meshes of the MPI FAUST benchmark (Bogo, Romero, Loper, Black, CVPR 2014).

100 registrations (10 people × 10 poses) of one template with 6890 vertices and 13 776 triangles, in
``MPI-FAUST/training/registrations/tr_reg_000.ply`` … ``tr_reg_099.ply`` (binary PLY, read by
:func:`gdl.data.ply.read_ply`). All registrations share the template's vertex order, so the
correspondence label of vertex i is i (6890 classes). The standard split (Masci et al. 2015,
GEM-CNN): meshes 0–79 train, 80–99 test.

**Download.** The data are free for research but need a registration and acceptance of the licence at
``FAUST_URL``, so gdl cannot fetch them: place the archive ``MPI-FAUST.zip`` in ``<root>/raw/`` (or
its extracted ``MPI-FAUST`` folder); ``FAUST`` extracts the archive on first use, after checking its
SHA-256 when ``archive_sha256`` is given (gdl records the digest it saw in
``<root>/raw/MPI-FAUST.zip.sha256`` so later runs can pin it). Missing files give a
``FileNotFoundError`` that says where to put what. Dataset card: ``datasets/faust.md``.
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import torch
from torch_geometric.data import Data

from gdl.data._cache import CachedInMemoryDataset
from gdl.data._home import dataset_root, hook_repr, save_processed
from gdl.data.ply import PlyError, read_ply

__all__ = ["FAUST", "FAUST_URL", "FAUST_ARCHIVE", "FAUST_NUM_VERTICES", "registration_path"]

FAUST_URL = "http://faust.is.tue.mpg.de/"
FAUST_ARCHIVE = "MPI-FAUST.zip"
FAUST_NUM_VERTICES = 6890
_REGISTRATIONS = "MPI-FAUST/training/registrations"
_FORMAT_VERSION = 1


def registration_path(index: int) -> str:
    """The archive-relative path of registration ``index`` (``MPI-FAUST/training/registrations/tr_reg_007.ply``)."""
    return f"{_REGISTRATIONS}/tr_reg_{int(index):03d}.ply"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class FAUST(CachedInMemoryDataset):
    """The FAUST registrations of one split as PyG ``Data(pos [V, 3], face [3, F], y [V])`` (y = vertex index).

    Args:
        root: dataset folder (default ``$GDL_HOME/faust``); the registrations are read from
            ``<root>/raw/MPI-FAUST/training/registrations/``.
        split: ``"train"`` or ``"test"``.
        train_indices, test_indices: registrations of each split (0–79 and 80–99).
        num_vertices: the vertex count every registration must have (6890; ``None``: any, but the
            same for all).
        archive_sha256: expected SHA-256 of ``MPI-FAUST.zip`` (checked before extraction).
        dtype: dtype of the stored positions.
        transform, pre_transform, pre_filter, force_reload: PyG's.
    """

    def __init__(self, root: Optional[str] = None, split: str = "train", train_indices: Sequence[int] = range(80),
                 test_indices: Sequence[int] = range(80, 100), num_vertices: Optional[int] = FAUST_NUM_VERTICES,
                 archive_sha256: Optional[str] = None, dtype: torch.dtype = torch.float32,
                 transform: Optional[Callable] = None, pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None, force_reload: bool = False) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"FAUST: split must be 'train' or 'test', got {split!r}")
        train, test = [int(i) for i in train_indices], [int(i) for i in test_indices]
        if set(train) & set(test):
            raise ValueError(f"FAUST: train and test registrations overlap: {sorted(set(train) & set(test))}")
        self.split, self.registrations = split, train if split == "train" else test
        if not self.registrations:
            raise ValueError(f"FAUST: the {split} split lists no registrations")
        if any(i < 0 or i > 999 for i in self.registrations):
            raise ValueError(f"FAUST: registration indices must lie in 0…999, got {self.registrations}")
        self.num_vertices, self.archive_sha256, self.dtype = num_vertices, archive_sha256, dtype
        self.generation = {
            "dataset": "faust", "format_version": _FORMAT_VERSION, "split": split, "registrations": self.registrations,
            "num_vertices": num_vertices, "dtype": str(dtype),
            "pre_transform": hook_repr(pre_transform), "pre_filter": hook_repr(pre_filter),
        }
        super().__init__(dataset_root("faust", root), transform, pre_transform, pre_filter, force_reload=force_reload)
        self.load_cache()

    @property
    def raw_file_names(self) -> List[str]:
        return [registration_path(i) for i in self.registrations]

    @property
    def processed_tag(self) -> str:
        return self.split

    def download(self) -> None:
        """Extract ``<root>/raw/MPI-FAUST.zip`` if it is there; otherwise say where to get it and put it."""
        raw = Path(self.raw_dir)
        archive = raw / FAUST_ARCHIVE
        missing = [name for name in self.raw_file_names if not (raw / name).exists()]
        if not archive.exists():
            raise FileNotFoundError(
                f"FAUST: {len(missing)} registration file(s) missing, e.g. {raw / missing[0]}. The FAUST data need a "
                f"registration and licence acceptance at {FAUST_URL}, so gdl cannot download them: download "
                f"{FAUST_ARCHIVE} there and place it at {archive} (or extract it so that {raw / _REGISTRATIONS} exists)."
            )
        digest = _sha256(archive)
        if self.archive_sha256 is not None and digest != self.archive_sha256.lower():
            raise ValueError(f"FAUST: {archive} has SHA-256 {digest}, expected {self.archive_sha256} "
                             "(a different or damaged download)")
        try:
            with zipfile.ZipFile(archive) as handle:
                members = [m for m in handle.namelist() if m.startswith(_REGISTRATIONS)]
                if not members:
                    raise FileNotFoundError(f"FAUST: {archive} holds no {_REGISTRATIONS}/ folder; is it MPI-FAUST.zip?")
                handle.extractall(raw, members=members)
        except zipfile.BadZipFile as exc:
            raise ValueError(f"FAUST: {archive} is not a readable zip archive ({exc})") from None
        (raw / (FAUST_ARCHIVE + ".sha256")).write_text(digest + "\n", encoding="ascii")
        still = [name for name in self.raw_file_names if not (raw / name).exists()]
        if still:
            raise FileNotFoundError(f"FAUST: after extracting {archive}, {len(still)} registration file(s) are still "
                                    f"missing, e.g. {raw / still[0]}")

    def process(self) -> None:
        data_list, expected = [], self.num_vertices
        for name in self.raw_file_names:
            path = Path(self.raw_dir) / name
            mesh = read_ply(path)
            count = mesh.pos.shape[0]
            if expected is None:
                expected = count
            if count != expected:
                raise PlyError(f"{path}: expected a registration with {expected} vertices (one template for all "
                               f"FAUST meshes), got {count}")
            if mesh.face.shape[1] == 0:
                raise PlyError(f"{path}: the registration has no faces; expected a triangle mesh")
            data_list.append(Data(pos=mesh.pos.to(self.dtype), face=mesh.face, y=torch.arange(count), num_nodes=count))
        save_processed(self, data_list)
