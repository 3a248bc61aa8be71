"""SynthFAUST: determinism, labels, split, near-isometric bends, rigid motion, re-triangulation, geodesics."""
import numpy as np
import pytest
import torch

from gdl.data.meshes import TemplateGeodesics, edge_lengths, icosphere, mesh_edges, sphere_triangulation
from gdl.data.synth_faust import SynthFAUST, SynthFAUSTConfig, synth_faust_sample, synth_faust_template


def test_icosphere_counts_and_orientation():
    for level, (v, f) in enumerate([(12, 20), (42, 80), (162, 320), (642, 1280)]):
        pos, face = icosphere(level)
        assert pos.shape == (v, 3) and face.shape == (3, f)
        assert torch.allclose(pos.norm(dim=1), torch.ones(v, dtype=pos.dtype))
        tri = pos[face]
        normal = torch.linalg.cross(tri[1] - tri[0], tri[2] - tri[0], dim=-1)
        assert ((normal * tri.mean(0)).sum(-1) > 0).all()  # outward
        assert mesh_edges(face).shape[1] == 3 * f // 2  # closed manifold: every edge in two faces


def test_sample_is_deterministic_and_seed_dependent():
    a = synth_faust_sample(3, subdivisions=2, seed=5)
    b = synth_faust_sample(3, subdivisions=2, seed=5)
    c = synth_faust_sample(3, subdivisions=2, seed=6)
    d = synth_faust_sample(4, subdivisions=2, seed=5)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and torch.equal(a[2], b[2])
    assert not torch.allclose(a[0], c[0]) and not torch.allclose(a[0], d[0])


def test_labels_are_template_vertices():
    pos, face, label = synth_faust_sample(0, subdivisions=3)
    template, template_face = synth_faust_template(3)
    assert torch.equal(label, torch.arange(642)) and torch.equal(face, template_face)
    assert pos.shape == template.shape


def test_template_has_no_symmetry():
    """No nontrivial isometry of the ellipsoid (8 sign flips of the axes) maps the template onto itself."""
    template, _ = synth_faust_template(3)
    from scipy.spatial import cKDTree

    tree = cKDTree(template.numpy())
    spacing = edge_lengths(template, mesh_edges(synth_faust_template(3)[1])).mean().item()
    for signs in torch.cartesian_prod(*[torch.tensor([1.0, -1.0])] * 3)[1:]:
        gap = tree.query((template * signs.double()).numpy())[0].max()
        assert gap > 1.2 * spacing, f"isometry {signs.tolist()} nearly preserves the template (gap {gap:.3g})"


def test_bends_are_near_isometric():
    """Issue: edge-length ratio within ±10 % at the 5th / 95th percentiles (the docstring's numbers)."""
    ratios = []
    for k in range(20):
        _, face, _, bent, rest = synth_faust_sample(k, subdivisions=3, return_undeformed=True)
        edges = mesh_edges(face)
        ratios.append(edge_lengths(bent, edges) / edge_lengths(rest, edges))
    p5, p50, p95 = np.percentile(torch.cat(ratios).numpy(), [5, 50, 95])
    assert 0.90 <= p5 <= 0.94 and 1.06 <= p95 <= 1.10 and abs(p50 - 1) < 0.01
    # the deformation is not trivial: vertices move by a sizeable fraction of the body
    assert (bent - rest).norm(dim=1).mean() > 0.03


def test_scale_and_rigid_motion():
    config = SynthFAUSTConfig(bend_angle=0.0, displacement=0.0, scale=(0.9, 1.1))
    pos, face, _ = synth_faust_sample(1, subdivisions=2, config=config)
    aligned, _, _ = synth_faust_sample(1, subdivisions=2, config=config, rigid_motion=False)
    template, _ = synth_faust_template(2)
    edges = mesh_edges(face)
    # without rigid motion: a pure scale of the template
    scale = (aligned.norm(dim=1) / template.norm(dim=1))
    assert torch.allclose(scale, scale[0].expand_as(scale)) and 0.9 <= scale[0] <= 1.1
    # the rigid motion preserves edge lengths but moves the mesh
    assert torch.allclose(edge_lengths(pos, edges), edge_lengths(aligned, edges), atol=1e-12)
    assert (pos - aligned).abs().max() > 0.1


def test_dataset_split_cache_and_items(tmp_path):
    train = SynthFAUST(str(tmp_path), "train", subdivisions=2, num_meshes=10)
    test = SynthFAUST(str(tmp_path), "test", subdivisions=2, num_meshes=10)
    assert len(train) == 8 and len(test) == 2 and train.num_classes == 162
    item = test[1]
    assert item.pos.dtype == torch.float32 and item.y.dtype == torch.long and item.face.shape == (3, 320)
    expected, _, _ = synth_faust_sample(9, subdivisions=2)
    assert torch.allclose(item.pos, expected.float())
    again = SynthFAUST(str(tmp_path), "test", subdivisions=2, num_meshes=10)  # read from the cache
    assert torch.equal(again[0].pos, test[0].pos)
    with pytest.raises(ValueError, match="split must be one of"):
        SynthFAUST(str(tmp_path), "val")
    with pytest.raises(ValueError, match="subdivisions must be an int in 1…6"):
        SynthFAUST(str(tmp_path), subdivisions=9)
    with pytest.raises(ValueError, match="leaves an empty split"):
        SynthFAUST(str(tmp_path), num_meshes=2, train_fraction=0.9)


def test_retriangulated_samples():
    pos, face, label = synth_faust_sample(2, subdivisions=3, retriangulate=True)
    _, template_face = synth_faust_template(3)
    assert pos.shape == (642, 3) and face.shape[1] == 2 * 642 - 4  # a closed genus-0 triangulation
    assert not torch.equal(face, template_face)
    assert label.min() >= 0 and label.max() < 642 and label.unique().numel() > 400
    # the same deformation as the template-triangulated sample: nearest neighbours land near their label
    ref, _, _ = synth_faust_sample(2, subdivisions=3)
    spacing = edge_lengths(ref, mesh_edges(template_face)).mean()
    assert (pos - ref[label]).norm(dim=1).median() < spacing
    other, other_face, _ = synth_faust_sample(3, subdivisions=3, retriangulate=True)
    assert not torch.equal(face, other_face)  # every sample gets its own triangulation


def test_sphere_triangulation_is_closed_and_outward():
    pos, face = sphere_triangulation(200, seed=1)
    tri = pos[face]
    normal = torch.linalg.cross(tri[1] - tri[0], tri[2] - tri[0], dim=-1)
    assert ((normal * tri.mean(0)).sum(-1) > 0).all() and face.shape[1] == 2 * 200 - 4


def test_template_geodesics():
    pos, face = icosphere(2)
    geodesics = TemplateGeodesics(pos, face)
    source, target = torch.arange(162), torch.randint(0, 162, (162,), generator=torch.Generator().manual_seed(0))
    distance = geodesics.distance(source, target)
    great_circle = torch.arccos((pos[source] * pos[target]).sum(-1).clamp(-1, 1))
    chord = (pos[source] - pos[target]).norm(dim=1)
    assert torch.all(distance >= chord - 1e-12)  # a path of edges is never shorter than the straight line
    far = great_circle > 0.3
    assert (distance[far] / great_circle[far]).mean() < 1.15
    assert torch.equal(geodesics.distance(source, source), torch.zeros(162, dtype=torch.float64))
    sparse = TemplateGeodesics(pos, face, dense_limit=0)  # row-by-row path agrees with the dense one
    assert torch.allclose(sparse.distance(source, target), distance)
    assert abs(geodesics.area - 4 * np.pi) < 0.3
    with pytest.raises(ValueError, match=r"must lie in \[0, 162\)"):
        geodesics.distance(torch.tensor([0]), torch.tensor([162]))
    with pytest.raises(ValueError, match="method must be"):
        TemplateGeodesics(pos, face, method="exact")


def test_heat_geodesics_agree_with_dijkstra():
    pytest.importorskip("potpourri3d")
    pos, face = icosphere(3)
    source, target = torch.zeros(642, dtype=torch.long), torch.arange(642)
    heat = TemplateGeodesics(pos, face, method="heat", dense_limit=0).distance(source, target)
    exact = torch.arccos(pos[target, 0].clamp(-1, 1) * pos[0, 0] + (pos[target, 1:] * pos[0, 1:]).sum(-1))
    far = exact > 0.3
    assert ((heat[far] - exact[far]).abs() / exact[far]).mean() < 0.05
