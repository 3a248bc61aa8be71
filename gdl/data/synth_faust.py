"""``SynthFAUST``: an offline, FAUST-like dense correspondence benchmark on generated meshes.

FAUST (Bogo et al. 2014) asks for the template vertex of every vertex of a registered human scan
(6890 classes, 80 train / 20 test). SynthFAUST keeps the structure of the task and needs no download:

**Template** (``synth_faust_template``): the unit icosphere (``subdivisions`` 3 / 4 / 5 → 642 /
2562 / 10 242 vertices) mapped by T(u) = a ⊙ u + b(u) u, a = (0.45, 0.30, 1.00): the ellipsoid
with 12 fixed random bumps b(u) = Σ_k h_k exp(−|u − c_k|² / 2σ_k²) along the direction u (seeded by
``template_seed``; heights ±[0.06, 0.16], widths σ ∈ [0.15, 0.35]). The bumps break every
symmetry of the ellipsoid (each of its 7 nontrivial isometries moves some vertex more than 1.2 mean
edge lengths away from the surface: ``test_template_has_no_symmetry``), so each vertex has one
correct correspondence. T is a function of the
direction u, so any triangulation of the sphere gives a triangulation of the same surface.

**Per sample** k (its own stream ``SeedSequence([seed, k])``), in this order, on template
coordinates x:

1. *articulated near-isometric bends*: two joints, at z = ±0.3; the part beyond a joint turns by an
   angle θ ~ U[−θ_max, θ_max] about a random horizontal axis through the joint, blended smoothly
   by θ(z) = θ · sigmoid((|z| − 0.3) / w) (a rotation *field*, not linear-blend skinning, so the
   bend stretches edges only where the angle varies);
2. *smooth low-frequency displacement*: x += Σ_{m=1..4} A_m sin(ω_m · x + φ_m), ω_m ~ N(0, f² I),
   A_m ~ N(0, α² I) — a "subject" shape change;
3. *scale* s ~ U[0.9, 1.1];
4. *random rigid motion* (``rigid_motion=True``): a Haar-random rotation Q ∈ SO(3) and a
   translation t ~ N(0, I): x ↦ Q s x + t.

With the defaults (θ_max = 0.45, w = 0.25, α = 0.006, f = 1.5) the edge-length ratio of steps
1–2 against the template is 0.929 / 1.000 / 1.070 at the 5th / 50th / 95th percentiles (0.892 /
1.114 at the 1st / 99th) over all edges of the first 20 samples of the 642-vertex template
(held by ``tests/data/test_synth_faust.py::test_bends_are_near_isometric``; the issue asks for
±10 %).

**Labels**: ``y[i]`` = the template vertex of vertex i (``arange(V)`` on the template's
triangulation). **Split**: samples 0 … 0.8·n − 1 are ``"train"``, the rest ``"test"``.
**Re-triangulated** (``retriangulate=True``): sample k is built on its own triangulation of the
sphere (``sphere_triangulation``: a jittered Fibonacci point set, convex hull, seed k, as many
vertices as the template), mapped by T and deformed by the same sample-k deformation; labels are
the template vertex nearest to each new vertex on the undeformed template (scipy cKDTree).

Items: ``Data(pos [V, 3], face [3, F], y [V] long)``. Metrics: exact correspondence accuracy and the
mean geodesic error on the template (``SynthFAUST.geodesics()``, :class:`gdl.data.meshes.TemplateGeodesics`).
Dataset card: ``datasets/synth_faust.md``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Optional, Tuple

import numpy as np
import torch
from torch_geometric.data import Data

from gdl.data._cache import CachedInMemoryDataset
from gdl.data._home import dataset_root, hook_repr, save_processed
from gdl.data.meshes import TemplateGeodesics, icosphere, random_rotation, sphere_triangulation

__all__ = ["SynthFAUST", "SynthFAUSTConfig", "synth_faust_template", "synth_faust_sample", "template_surface"]

SPLITS = ("train", "test")
TEMPLATE_AXES = (0.45, 0.30, 1.00)
JOINT_HEIGHT = 0.3
_NUM_BUMPS = 12
_NUM_WAVES = 4
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class SynthFAUSTConfig:
    """Deformation parameters (see the module docstring for the formulas).

    ``bend_angle``: θ_max in radians; ``bend_width``: w of the joint blend; ``displacement``: α, the
    standard deviation of each wave's amplitude; ``frequency``: f, of the waves' wave vectors;
    ``scale``: the range of s; ``translation``: standard deviation of t.
    """

    bend_angle: float = 0.45
    bend_width: float = 0.25
    displacement: float = 0.006
    frequency: float = 1.5
    scale: Tuple[float, float] = (0.9, 1.1)
    translation: float = 1.0

    def __post_init__(self):
        for name in ("bend_angle", "displacement", "frequency", "translation"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise ValueError(f"SynthFAUSTConfig.{name} must be a finite number >= 0, got {value!r}")
        if not isinstance(self.bend_width, (int, float)) or not self.bend_width > 0:
            raise ValueError(f"SynthFAUSTConfig.bend_width must be > 0, got {self.bend_width!r}")
        low, high = self.scale
        if not 0 < low <= high:
            raise ValueError(f"SynthFAUSTConfig.scale must be (low, high) with 0 < low <= high, got {self.scale!r}")


def _template_bumps(template_seed: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence([int(template_seed), 1]))
    centres = rng.standard_normal((_NUM_BUMPS, 3))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    heights = rng.uniform(0.06, 0.16, _NUM_BUMPS) * rng.choice([-1.0, 1.0], _NUM_BUMPS)
    widths = rng.uniform(0.15, 0.35, _NUM_BUMPS)
    return centres, heights, widths


def template_surface(directions: np.ndarray, template_seed: int = 0) -> np.ndarray:
    """T(u) = a ⊙ u + b(u) u for unit directions ``u`` [N, 3] (float64 [N, 3])."""
    u = np.asarray(directions, dtype=np.float64)
    centres, heights, widths = _template_bumps(template_seed)
    squared = ((u[:, None, :] - centres[None]) ** 2).sum(-1)  # [N, K]
    bumps = (heights * np.exp(-squared / (2.0 * widths ** 2))).sum(1)
    return np.asarray(TEMPLATE_AXES) * u + bumps[:, None] * u


def synth_faust_template(subdivisions: int = 3, template_seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """The SynthFAUST template ``(pos [V, 3] float64, face [3, F])`` on the icosphere with ``subdivisions``."""
    sphere, face = icosphere(subdivisions)
    return torch.as_tensor(template_surface(sphere.numpy(), template_seed)), face


def _rotation_about(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues: rotation matrices [N, 3, 3] by ``angle`` [N] about the unit ``axis`` [3]."""
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def _deform(x: np.ndarray, rng: np.random.Generator, config: SynthFAUSTConfig) -> np.ndarray:
    """Steps 1–2 (bends, then the displacement field) on template coordinates ``x`` [N, 3]."""
    out = x.copy()
    for side in (1.0, -1.0):  # the upper joint, then the lower one
        theta = rng.uniform(-config.bend_angle, config.bend_angle)
        azimuth = rng.uniform(0.0, 2.0 * np.pi)
        axis = np.array([np.cos(azimuth), np.sin(azimuth), 0.0])
        joint = np.array([0.0, 0.0, side * JOINT_HEIGHT])
        blend = 1.0 / (1.0 + np.exp(-(side * x[:, 2] - JOINT_HEIGHT) / config.bend_width))
        rotation = _rotation_about(axis, theta * blend)
        out = np.einsum("nij,nj->ni", rotation, out - joint) + joint
    waves = rng.standard_normal((_NUM_WAVES, 3)) * config.frequency
    phases = rng.uniform(0.0, 2.0 * np.pi, _NUM_WAVES)
    amplitudes = rng.standard_normal((_NUM_WAVES, 3)) * config.displacement
    return out + np.sin(x @ waves.T + phases) @ amplitudes


def synth_faust_sample(index: int, subdivisions: int = 3, seed: int = 0, template_seed: int = 0,
                       rigid_motion: bool = True, retriangulate: bool = False,
                       config: SynthFAUSTConfig = SynthFAUSTConfig(), return_undeformed: bool = False):
    """Sample ``index`` of SynthFAUST as ``(pos [V, 3], face [3, F], y [V])`` in float64.

    With ``return_undeformed=True`` also returns the positions after steps 1–2 only and the
    undeformed template positions of the same vertices (for the isometry statistics).
    """
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f"synth_faust_sample: index must be an int >= 0, got {index!r}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))
    template_sphere, template_face = icosphere(subdivisions)
    template = template_surface(template_sphere.numpy(), template_seed)
    if retriangulate:
        from scipy.spatial import cKDTree

        sphere, face = sphere_triangulation(len(template), seed=int(index))
        rest = template_surface(sphere.numpy(), template_seed)
        label = torch.as_tensor(cKDTree(template).query(rest)[1], dtype=torch.long)
    else:
        rest, face = template, template_face
        label = torch.arange(len(template))
    bent = _deform(rest, rng, config)
    scale = rng.uniform(*config.scale)
    pos = scale * bent
    if rigid_motion:
        pos = pos @ random_rotation(rng).T + config.translation * rng.standard_normal(3)
    result = (torch.as_tensor(pos), face, label)
    if return_undeformed:
        result = result + (torch.as_tensor(bent), torch.as_tensor(rest))
    return result


class SynthFAUST(CachedInMemoryDataset):
    """SynthFAUST meshes of one split, generated once and cached (see the module docstring).

    Args:
        root: cache folder (default ``$GDL_HOME/synth_faust``).
        split: ``"train"`` (the first ``round(train_fraction · num_meshes)`` samples) or ``"test"``.
        subdivisions: icosphere level of the template: 3 → 642, 4 → 2562, 5 → 10 242 vertices.
        num_meshes: samples in both splits together (100, as FAUST).
        train_fraction: share of the samples in ``"train"`` (0.8).
        seed: seed of the per-sample deformations; template_seed: seed of the template's bumps.
        rigid_motion: apply a random rotation and translation to every sample.
        retriangulate: build every sample of this split on its own triangulation of the sphere
            (labels: nearest template vertex).
        config: deformation parameters (:class:`SynthFAUSTConfig`).
        dtype: dtype of the stored positions (generation is float64).
        transform, pre_transform, pre_filter, force_reload: PyG's.
    """

    def __init__(self, root: Optional[str] = None, split: str = "train", subdivisions: int = 3, num_meshes: int = 100,
                 train_fraction: float = 0.8, seed: int = 0, template_seed: int = 0, rigid_motion: bool = True,
                 retriangulate: bool = False, config: SynthFAUSTConfig = SynthFAUSTConfig(),
                 dtype: torch.dtype = torch.float32, transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None, pre_filter: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        if split not in SPLITS:
            raise ValueError(f"SynthFAUST: split must be one of {SPLITS}, got {split!r}")
        if isinstance(subdivisions, bool) or not isinstance(subdivisions, int) or not 1 <= subdivisions <= 6:
            raise ValueError(f"SynthFAUST: subdivisions must be an int in 1…6 (42 … 40 962 vertices), got {subdivisions!r}")
        if isinstance(num_meshes, bool) or not isinstance(num_meshes, int) or num_meshes < 2:
            raise ValueError(f"SynthFAUST: num_meshes must be an int >= 2, got {num_meshes!r}")
        if not isinstance(train_fraction, (int, float)) or not 0 < train_fraction < 1:
            raise ValueError(f"SynthFAUST: train_fraction must lie in (0, 1), got {train_fraction!r}")
        num_train = int(round(train_fraction * num_meshes))
        if not 0 < num_train < num_meshes:
            raise ValueError(f"SynthFAUST: train_fraction={train_fraction} of num_meshes={num_meshes} leaves an empty split")
        for name, value in (("seed", seed), ("template_seed", template_seed)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
                raise ValueError(f"SynthFAUST: {name} must be an int in [0, 2**63), got {value!r}")
        if not isinstance(config, SynthFAUSTConfig):
            raise TypeError(f"SynthFAUST: config must be a SynthFAUSTConfig, got {type(config).__name__}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"SynthFAUST: dtype must be torch.float32 or torch.float64, got {dtype}")
        self.split, self.subdivisions, self.seed, self.template_seed = split, subdivisions, seed, template_seed
        self.rigid_motion, self.retriangulate, self.config, self.dtype = bool(rigid_motion), bool(retriangulate), config, dtype
        self.sample_indices = range(0, num_train) if split == "train" else range(num_train, num_meshes)
        self._geodesics = None
        self.generation = {
            "dataset": "synth_faust", "format_version": _FORMAT_VERSION, "split": split, "subdivisions": subdivisions,
            "first": self.sample_indices.start, "stop": self.sample_indices.stop, "seed": seed, "template_seed": template_seed,
            "rigid_motion": self.rigid_motion, "retriangulate": self.retriangulate, "config": asdict(config),
            "dtype": str(dtype), "pre_transform": hook_repr(pre_transform), "pre_filter": hook_repr(pre_filter),
        }
        super().__init__(dataset_root("synth_faust", root), transform, pre_transform, pre_filter, force_reload=force_reload)
        self.load_cache()

    @property
    def processed_tag(self) -> str:
        return self.split

    @property
    def num_classes(self) -> int:
        return 10 * 4 ** self.subdivisions + 2

    def template(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The template mesh ``(pos [V, 3] float64, face [3, F])``; labels index its vertices."""
        return synth_faust_template(self.subdivisions, self.template_seed)

    def geodesics(self, method: str = "dijkstra") -> TemplateGeodesics:
        """Geodesic distances on the template (computed once per dataset object)."""
        if self._geodesics is None or self._geodesics.method != method:
            self._geodesics = TemplateGeodesics(*self.template(), method=method)
        return self._geodesics

    def process(self) -> None:
        data_list = []
        for index in self.sample_indices:
            pos, face, label = synth_faust_sample(index, self.subdivisions, self.seed, self.template_seed,
                                                  self.rigid_motion, self.retriangulate, self.config)
            data_list.append(Data(pos=pos.to(self.dtype), face=face, y=label, num_nodes=pos.shape[0]))
        save_processed(self, data_list)
