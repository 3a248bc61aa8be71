"""NBodyCharged: reproduction of the EGNN generator, item layout, caching, splits, distribution check."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import gdl.data.nbody as nbody
from gdl.data import ChargedParticlesConfig, NBodyCharged, generate_nbody_split, gdl_home, simulate_charged_particles
from gdl.data.charged_particles import draw_initial_conditions, integrate_charged_particles
from gdl.data.nbody import baseline_errors

FIXTURES = Path(__file__).resolve().parents[2] / "datasets" / "fixtures"


def _load_fixture_tools():
    """``datasets/fixtures/make_nbody_reference.py`` (which made the fixtures) defines the numpy probe."""
    spec = importlib.util.spec_from_file_location("make_nbody_reference", FIXTURES / "make_nbody_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_fixture_for_this_numpy():
    """The reference fixture made with the float64 ``np.power`` this numpy runs.

    The reference generator's frames depend on the last bit of ``np.power(dist², 1.5)``, which numpy
    computes with its AVX-512 kernel (``X86_V4``) on CPUs that have it and with libm's ``pow``
    otherwise (see datasets/nbody_charged.md). Each fixture records the probe of the machine that
    made it; a fixture matches when the kernel is the same and, where recorded, the digest too.
    """
    probe = _load_fixture_tools().numpy_power_probe()
    candidates = {}
    for path in sorted(FIXTURES.glob("nbody_charged_egnn_reference*.json")):
        fixture = json.loads(path.read_text())
        platform = fixture["platform"]
        candidates[path.name] = {key: platform[key] for key in ("power_float64_kernel", "power_sha256")}
        if platform["power_float64_kernel"] == probe["power_float64_kernel"] and platform["power_sha256"] in (
                None, probe["power_sha256"]):
            return fixture
    pytest.fail(f"no N-body reference fixture was made with this numpy's float64 power: probe {probe}, "
                f"fixtures {candidates}; make one with datasets/fixtures/make_nbody_reference.py "
                "(command in datasets/nbody_charged.md)")


@pytest.fixture(scope="module")
def distribution_splits():
    """600 train / 400 test trajectories of the EGNN stream (seed 43), as float64 tensors."""
    train = generate_nbody_split("train", 600, progress=False)
    test = generate_nbody_split("test", 400, progress=False)
    return train, test


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_reproduces_the_reference_generator_bit_for_bit(split):
    """The first trajectories of each split equal the reference code's output exactly (fixture made by running
    it on a machine whose numpy computes float64 ``power`` as the running one does)."""
    reference = reference_fixture_for_this_numpy()["splits"][split]
    ours = generate_nbody_split(split, len(reference), progress=False)
    for t, item in enumerate(reference):
        assert torch.equal(ours["charges"][t, :, 0], torch.tensor(item["charges"], dtype=torch.float64))
        assert torch.equal(ours["pos"][t], torch.tensor(item["pos_30"], dtype=torch.float64))
        assert torch.equal(ours["vel"][t], torch.tensor(item["vel_30"], dtype=torch.float64))
        assert torch.equal(ours["y"][t], torch.tensor(item["pos_40"], dtype=torch.float64))
        assert torch.equal(ours["target_vel"][t], torch.tensor(item["vel_40"], dtype=torch.float64))


@pytest.mark.slow
def test_distribution_check_matches_published_baselines(distribution_splits):
    """Closed-form baselines on 600 train / 400 test land where the full protocol's numbers say.

    Full protocol (3000 / 2000, datasets/nbody_charged.md): linear 0.0689 (SEGNO re-run 0.0683),
    x + v 0.109, static 0.272. Bounds: mean ± 4 std over 30 independent seeds at this size
    (`python -m gdl.data.nbody_baselines --num-train 600 --num-test 400 --seeds 30`): linear
    0.0710 ± 0.0037, x + v 0.1132 ± 0.0109, static 0.2667 ± 0.0100, fitted Δt 0.730 ± 0.019.
    """
    errors = baseline_errors(*distribution_splits)
    assert 0.0563 < errors["linear"] < 0.0857
    assert 0.0696 < errors["constant_velocity"] < 0.1568
    assert 0.2268 < errors["static"] < 0.3065
    assert 0.654 < errors["t_fit"] < 0.806
    # the ordering that makes the task interesting: a learned linear map beats the exact-Δt guess
    assert errors["linear"] < errors["constant_velocity_fit"] < errors["constant_velocity"] < errors["static"]


def test_initial_conditions_follow_the_protocol():
    charges, pos, vel = draw_initial_conditions(np.random.RandomState(0), 400)
    assert set(charges.unique().tolist()) == {-1.0, 1.0}
    assert abs(float((charges > 0).double().mean()) - 0.5) < 0.05
    assert torch.allclose(vel.norm(dim=-1), torch.full((400, 5), 0.5, dtype=torch.float64), atol=1e-15)
    assert abs(float(pos.std()) - 1.0) < 0.03 and abs(float(pos.mean())) < 0.03


def test_uncharged_particles_move_in_straight_lines():
    config = ChargedParticlesConfig()
    charges, pos, vel = draw_initial_conditions(np.random.RandomState(1), 4, config)
    out_pos, out_vel = simulate_charged_particles(torch.zeros_like(charges), pos, vel, [0, 30, 40], config, False)
    for i, frame in enumerate([0, 30, 40]):
        elapsed = config.frame_step(frame) * config.dt
        assert torch.allclose(out_pos[:, i], pos + elapsed * vel, atol=1e-12)
        assert torch.equal(out_vel[:, i], vel)
    assert config.frame_step(30) == 3100 and config.frame_step(40) == 4100


def test_continuing_from_a_saved_frame_reproduces_later_frames():
    split = generate_nbody_split("val", 4, target_frame=40, progress=False)
    config = ChargedParticlesConfig(box_size=float("inf"))
    pos, vel = integrate_charged_particles(split["charges"], split["pos"], split["vel"], [1000, 1000], config, False)
    assert torch.equal(pos[:, 0], split["y"]) and torch.equal(pos[:, 1], split["y"])
    assert torch.equal(vel[:, 0], split["target_vel"])
    with pytest.raises(ValueError, match="steps must be >= 1"):
        integrate_charged_particles(split["charges"], split["pos"], split["vel"], [0], config, False)


def test_opposite_charges_attract_and_like_charges_repel():
    config = ChargedParticlesConfig(num_particles=2)
    pos = torch.tensor([[[-0.5, 0.0, 0.0], [0.5, 0.0, 0.0]]] * 2, dtype=torch.float64)
    charges = torch.tensor([[[1.0], [-1.0]], [[1.0], [1.0]]], dtype=torch.float64)
    out, _ = simulate_charged_particles(charges, pos, torch.zeros_like(pos), [0], config, False)
    gap = (out[:, 0, 1] - out[:, 0, 0]).norm(dim=-1)
    assert gap[0] < 1.0 < gap[1]


def test_items_layout(tmp_path):
    dataset = NBodyCharged(root=str(tmp_path), split="val", num_val=6, progress=False)
    assert len(dataset) == 6
    data = dataset[2]
    assert data.pos.shape == data.vel.shape == data.y.shape == (5, 3)
    assert data.charges.shape == (5, 1) and data.edge_attr.shape == (20, 1) and data.edge_index.shape == (2, 20)
    assert data.pos.dtype == torch.float32
    src, dst = data.edge_index
    assert not bool((src == dst).any()) and len(set(zip(src.tolist(), dst.tolist()))) == 20
    assert torch.equal(data.edge_attr[:, 0], data.charges[src, 0] * data.charges[dst, 0])
    assert not torch.equal(data.pos, data.y)
    stacked = dataset.tensors()
    assert stacked["pos"].shape == (6, 5, 3) and torch.equal(stacked["y"][2], data.y)


def test_cache_is_reused_and_keyed_by_parameters(tmp_path, monkeypatch):
    root = str(tmp_path)
    first = NBodyCharged(root=root, split="test", num_test=4, progress=False)

    def must_not_generate(*args, **kwargs):
        raise AssertionError("regenerated although the cache matches")

    monkeypatch.setattr(nbody, "generate_nbody_split", must_not_generate)
    again = NBodyCharged(root=root, split="test", num_test=4, progress=False)
    assert torch.equal(first.tensors()["y"], again.tensors()["y"])
    monkeypatch.undo()
    other_seed = NBodyCharged(root=root, split="test", num_test=4, seed=7, stream="per_split", progress=False)
    doubled = NBodyCharged(root=root, split="test", num_test=4, pre_transform=lambda d: d, progress=False)
    assert not torch.equal(first.tensors()["y"], other_seed.tensors()["y"])
    folders = {Path(d.processed_dir).name for d in (first, other_seed, doubled)}
    assert len(folders) == 3 and all(name.startswith("test_4_") for name in folders)
    generation = json.loads((Path(first.processed_dir) / "generation.json").read_text())
    assert generation["seed"] == 43 and generation["simulator"]["dt"] == 0.001


def test_default_root_follows_gdl_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GDL_HOME", str(tmp_path / "home"))
    assert gdl_home() == tmp_path / "home"
    dataset = NBodyCharged(split="train", num_train=2, progress=False)
    assert Path(dataset.root) == tmp_path / "home" / "nbody_charged"
    assert Path(dataset.processed_paths[0]).exists()


def test_splits_are_disjoint_prefix_stable_and_seeded():
    egnn = {s: generate_nbody_split(s, 3, progress=False)["pos"] for s in ("train", "val", "test")}
    per_split = {s: generate_nbody_split(s, 3, stream="per_split", seed=5, progress=False)["pos"]
                 for s in ("train", "val", "test")}
    for streams in (egnn, per_split):
        flat = torch.cat([streams[s] for s in streams]).reshape(9, -1)
        assert torch.unique(flat, dim=0).shape[0] == 9
    longer = generate_nbody_split("train", 5, progress=False)["pos"]
    assert torch.equal(longer[:3], egnn["train"])
    again = generate_nbody_split("val", 3, stream="per_split", seed=5, progress=False)["pos"]
    assert torch.equal(again, per_split["val"])
    assert not torch.equal(generate_nbody_split("val", 3, stream="per_split", seed=6, progress=False)["pos"], again)


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        NBodyCharged(root=str(tmp_path), split="valid")
    with pytest.raises(ValueError, match="num_train must be an int >= 1"):
        NBodyCharged(root=str(tmp_path), split="train", num_train=0)
    with pytest.raises(ValueError, match="exceeds the 2000 test trajectories.*per_split"):
        NBodyCharged(root=str(tmp_path), split="test", num_test=2001)
    with pytest.raises(ValueError, match="stream must be"):
        NBodyCharged(root=str(tmp_path), stream="numpy")
    with pytest.raises(ValueError, match="input_frame < target_frame"):
        generate_nbody_split("train", 2, input_frame=40, target_frame=30)
    with pytest.raises(ValueError, match=r"frame must be in \[0, 49\)"):
        generate_nbody_split("train", 2, target_frame=49)


def test_every_reference_fixture_names_its_platform_and_only_one_matches_a_probe():
    """Fixtures are told apart by their numpy power probe; none may match the same probe as another."""
    fixtures = [json.loads(path.read_text()) for path in sorted(FIXTURES.glob("nbody_charged_egnn_reference*.json"))]
    assert len(fixtures) >= 2
    keys = [(f["platform"]["power_float64_kernel"], f["platform"]["power_sha256"]) for f in fixtures]
    for i, (kernel, digest) in enumerate(keys):  # no probe can match two fixtures
        for other_kernel, other_digest in keys[i + 1:]:
            assert kernel != other_kernel or (None not in (digest, other_digest) and digest != other_digest)
    for fixture in fixtures:
        assert fixture["source"] == fixtures[0]["source"] and set(fixture["splits"]) == {"train", "val", "test"}
    probe = _load_fixture_tools().numpy_power_probe()
    assert len(probe["power_sha256"]) == 64 and probe["power_float64_kernel"]
