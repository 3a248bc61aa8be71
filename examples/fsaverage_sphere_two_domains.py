"""One real signal on the sphere, two domains: FreeSurfer's fsaverage5 sphere as a grid signal and as a mesh.

    python examples/fsaverage_sphere_two_domains.py

The signal is the sulcal depth of the left hemisphere on nilearn's bundled ``sphere_left.gii.gz``
(an icosahedral mesh of 10 242 vertices). The same rotation check is run in both domains:

- **grid** (``gdl.nn.sphere``): the mesh signal is resampled onto the 60 × 60 Driscoll–Healy grid
  (inverse-distance weights of the 3 nearest vertices) and analysed by
  ``SphericalHarmonicTransform`` up to degree 12. Rotating the surface by R moves the signal,
  (R·f)(x) = f(R⁻¹x); its coefficients should become D(Q R Qᵀ) c (e3nn's Wigner-D in e3nn's
  y-up frame, Q: (x, y, z) ↦ (y, z, x), see ``gdl.nn.sphere``). They do up to the resampling error
  (approximate: the grid points do not move with the mesh);
- **mesh** (``gdl.gauge``, the geometry the mesh layers read): the tangent frames, log map and
  Levi-Civita transport of the mesh are computed before and after the rotation. They are intrinsic,
  so the log-map radii/angles and transport angles agree to float rounding (exact: the vertices
  move with the rotation), and so does any layer built on them — shown with a mesh diffusion step.

Needs nibabel and nilearn (installed in the shared environment; not a gdl dependency).
"""
import os

import torch
from e3nn import o3

import nibabel
import nilearn

from gdl.data.spherical_mnist import grid_points
from gdl.gauge import surface_geometry
from gdl.groups import SO3
from gdl.nn.sphere import SphericalHarmonicTransform

FSAVERAGE5 = os.path.join(os.path.dirname(nilearn.__file__), "datasets", "data", "fsaverage5")


def load_surface():
    sphere = nibabel.load(os.path.join(FSAVERAGE5, "sphere_left.gii.gz"))
    pos = torch.tensor(sphere.darrays[0].data, dtype=torch.float64)
    face = torch.tensor(sphere.darrays[1].data, dtype=torch.long).t().contiguous()
    sulc = torch.tensor(nibabel.load(os.path.join(FSAVERAGE5, "sulc_left.gii.gz")).darrays[0].data, dtype=torch.float64)
    return pos / pos.norm(dim=1, keepdim=True), face, sulc


def resample_to_grid(pos, signal, bandwidth=30, k=3):
    """Inverse-distance interpolation of per-vertex values at the grid points ([2b, 2b])."""
    points = grid_points(bandwidth).reshape(-1, 3)
    distance, nearest = torch.cdist(points, pos).topk(k, largest=False)
    weights = 1.0 / distance.clamp_min(1e-12)
    return ((weights * signal[nearest]).sum(1) / weights.sum(1)).reshape(2 * bandwidth, 2 * bandwidth)


def diffusion_step(signal, edge_index, radius):
    """One explicit heat step on the mesh with weights exp(−r²/σ²) from the log-map radii (an intrinsic operator)."""
    weight = torch.exp(-(radius / radius.mean()) ** 2)
    source, target = edge_index
    total = torch.zeros_like(signal).index_add_(0, target, weight * signal[source])
    norm = torch.zeros_like(signal).index_add_(0, target, weight)
    return 0.5 * signal + 0.5 * total / norm


def main():
    pos, face, sulc = load_surface()
    rotation = SO3().sample(1, torch.Generator().manual_seed(0), dtype=torch.float64)[0]
    moved = pos @ rotation.T  # x ↦ R x; the signal rides along with its vertex
    print(f"fsaverage5 left sphere: {pos.shape[0]} vertices, {face.shape[1]} faces; signal: sulcal depth "
          f"(range {float(sulc.min()):.1f} … {float(sulc.max()):.1f})")

    # grid domain
    lmax = 12
    transform = SphericalHarmonicTransform(lmax, "driscoll-healy", nlat=60, nlon=60).double()
    c = transform.analysis(resample_to_grid(pos, sulc))
    c_moved = transform.analysis(resample_to_grid(moved, sulc))
    # the transform's coefficients are e3nn's in e3nn's y-up frame, reached by Q: (x, y, z) ↦ (y, z, x)
    q = torch.tensor([[0.0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.float64)
    wigner = o3.Irreps.spherical_harmonics(lmax).D_from_matrix(q @ rotation @ q.T)
    expected = wigner @ c
    grid_error = float((c_moved - expected).norm() / c_moved.norm())
    unrotated = float((c_moved - c).norm() / c_moved.norm())
    print(f"grid (degree ≤ {lmax}, 60×60 DH): |c(R·f) − D(R) c(f)| / |c(R·f)| = {grid_error:.2e} "
          f"(approximate: resampling; without D(R) it would be {unrotated:.2f})")

    # mesh domain
    before = surface_geometry(pos, face)
    after = surface_geometry(moved, face)
    for key in ("neighbour_radius", "neighbour_angle", "transport"):
        difference = float((torch.remainder(before[key] - after[key] + torch.pi, 2 * torch.pi) - torch.pi).abs().max()
                           if key != "neighbour_radius" else (before[key] - after[key]).abs().max())
        print(f"mesh {key}: max change under the rotation {difference:.1e}")
    smoothed = diffusion_step(sulc, before["edge_index"], before["neighbour_radius"])
    smoothed_moved = diffusion_step(sulc, after["edge_index"], after["neighbour_radius"])
    mesh_error = float((smoothed - smoothed_moved).abs().max() / smoothed.abs().max())
    print(f"mesh diffusion step on the rotated surface vs the original: {mesh_error:.1e} (exact up to rounding)")
    return grid_error, mesh_error


if __name__ == "__main__":
    main()
