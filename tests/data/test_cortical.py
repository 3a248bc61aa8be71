"""CorticalSurface: fsaverage5 from nilearn's wheel, read with nibabel (skips cleanly without them)."""
import pytest
import torch

pytest.importorskip("nibabel")
pytest.importorskip("nilearn")

from gdl.data.cortical import CorticalSurface, read_fsaverage5  # noqa: E402
from gdl.data.meshes import edge_lengths, mesh_edges  # noqa: E402


def test_read_fsaverage5_left_pial():
    pos, face, maps = read_fsaverage5("left", "pial", ("sulc", "thick"))
    assert pos.shape == (10242, 3) and face.shape == (3, 20480)
    assert face.min() == 0 and face.max() == 10241
    assert mesh_edges(face).shape[1] == 30720  # closed surface: 3F/2 edges
    assert set(maps) == {"sulc", "thick"} and maps["sulc"].shape == (10242,)
    assert maps["sulc"].std() > 0.1 and maps["thick"].median() > 1.5  # thickness in mm (the medial wall is ~0)
    assert 100 < (pos.max(0).values - pos.min(0).values).max() < 250  # millimetres: a hemisphere is ~20 cm long


def test_dataset_items_rotation_and_scale(tmp_path):
    plain = CorticalSurface(str(tmp_path), hemispheres=("left", "right"), maps=("curv",), scale=0.01)
    moved = CorticalSurface(str(tmp_path), hemispheres=("right",), scale=0.01, rigid_motion_seed=4)
    assert len(plain) == 2 and plain[0].hemisphere == "left" and plain[1].hemisphere == "right"
    assert plain[0].curv.shape == (10242,) and plain[0].y.dtype == torch.float32
    edges = mesh_edges(plain[1].face)
    # a rigid motion: same edge lengths and targets, different positions
    assert torch.allclose(edge_lengths(moved[0].pos.double(), edges), edge_lengths(plain[1].pos.double(), edges), atol=1e-5)
    assert torch.equal(moved[0].y, plain[1].y) and (moved[0].pos - plain[1].pos).abs().max() > 0.1
    # the hemispheres are different meshes, not one mesh mirrored
    assert not torch.allclose(plain[0].pos[:, 1:], plain[1].pos[:, 1:], atol=1e-2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="hemispheres must be"):
        CorticalSurface(hemispheres=("middle",))
    with pytest.raises(ValueError, match="target must be one of"):
        CorticalSurface(target="depth")
    with pytest.raises(ValueError, match="unknown maps"):
        read_fsaverage5("left", maps=("myelin",))
