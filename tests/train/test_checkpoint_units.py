"""Checkpoint files, RNG state and the EMA, tested on their own (no training run; milliseconds each).

- ``load_checkpoint``: every refusal names the file and the problem (missing file, unreadable file,
  checksum mismatch, checksum stripped, foreign format, non-dict payload, missing keys), a
  directory means its ``last.pt``, ``map_location`` is honoured.
- the checksum lives in the zip comment: the sha256 of the archive with an empty comment.
- ``rng_state`` / ``set_rng_state``: each of the torch, numpy and python streams is restored.
- ``seed_everything``: all three streams, numpy's seed reduced mod 2³² (any seed torch accepts works).
- ``ExponentialMovingAverage``: θ̄ ← d·θ̄ + (1 − d)·θ exactly, only floating-point entries are
  shadowed, ``applied`` swaps the average in and always restores the live weights, the state round-trips.
"""
import hashlib
import io
import random
import zipfile

import numpy as np
import pytest
import torch

from gdl.train import CheckpointError, load_checkpoint, save_checkpoint
from gdl.train._checkpoint import FORMAT, REQUIRED, rng_state, seed_everything, set_rng_state
from gdl.train._ema import ExponentialMovingAverage


def _state(**extra):
    return {"epoch": 3, "config": {"task": "tiny"}, "model": {"w": torch.arange(4.0)}, **extra}


def _archive_without_comment(data: bytes) -> bytes:
    """The zip archive with its comment removed (what ``torch.save`` wrote)."""
    comment = zipfile.ZipFile(io.BytesIO(data)).comment
    assert data.endswith(comment) and comment
    return data[:-len(comment) - 2] + b"\x00\x00"


# ------------------------------------------------------------------------------------ file format
def test_the_comment_is_the_sha256_of_the_archive_and_the_payload_round_trips(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", _state(extra=[1, 2]))
    data = path.read_bytes()
    comment = zipfile.ZipFile(path).comment
    assert comment == b"gdl-sha256:" + hashlib.sha256(_archive_without_comment(data)).hexdigest().encode()
    state = load_checkpoint(path)
    assert state["format"] == FORMAT == "gdl.train.checkpoint/2"
    assert state["epoch"] == 3 and state["extra"] == [1, 2] and torch.equal(state["model"]["w"], torch.arange(4.0))
    assert set(REQUIRED) == {"format", "epoch", "config", "model"}


def test_a_folder_means_its_last_pt_and_map_location_is_honoured(tmp_path):
    save_checkpoint(tmp_path / "last.pt", _state())
    save_checkpoint(tmp_path / "best.pt", {**_state(), "epoch": 1})
    assert load_checkpoint(tmp_path)["epoch"] == 3
    seen = []

    def location(storage, where):
        seen.append(where)
        return storage

    assert torch.equal(load_checkpoint(tmp_path / "best.pt", map_location=location)["model"]["w"], torch.arange(4.0))
    assert seen, "map_location was not passed to torch.load"


def test_a_missing_file_and_an_empty_folder_are_named(tmp_path):
    with pytest.raises(CheckpointError, match=f"no checkpoint at {tmp_path / 'last.pt'}$"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint at .*nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_an_unreadable_file_is_named_with_the_reason(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "last.pt", _state())
    from pathlib import Path

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value) == f"{path} cannot be read: Permission denied"


def test_a_changed_byte_is_reported_with_both_digests(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", _state())
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x04
    path.write_bytes(bytes(data))
    stored = zipfile.ZipFile(path).comment[len(b"gdl-sha256:"):].decode()
    actual = hashlib.sha256(_archive_without_comment(bytes(data))).hexdigest()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path} is corrupt: its bytes do not match the checksum")
    assert f"sha256 {actual[:12]}…" in message and f"stored {stored[:12]}…" in message


@pytest.mark.parametrize("damage", ["strip the comment", "shorter comment length", "other tag", "moved end record"])
def test_a_current_format_file_without_its_checksum_is_refused(tmp_path, damage):
    path = save_checkpoint(tmp_path / "last.pt", _state())
    data = path.read_bytes()
    n = len(b"gdl-sha256:") + 64
    if damage == "strip the comment":
        data = _archive_without_comment(data)
    elif damage == "shorter comment length":
        data = data[:-n - 2] + (n - 1).to_bytes(2, "little") + data[-n:]
    elif damage == "other tag":
        data = data[:-n] + b"gdl-sha512:" + data[-64:]
    else:
        data = data[:-n - 22] + b"PK\x05\x07" + data[-n - 18:]
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) and "corrupt" in str(info.value)


def test_a_well_formed_comment_with_a_wrong_digest_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", _state())
    data = path.read_bytes()
    path.write_bytes(data[:-64] + b"0" * 64)  # a well-formed comment with a wrong digest
    with pytest.raises(CheckpointError, match="do not match the checksum"):
        load_checkpoint(path)


def test_a_non_ascii_byte_in_the_stored_digest_is_reported_as_corruption(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", _state())
    data = bytearray(path.read_bytes())
    data[-1] = 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="is corrupt: its bytes do not match the checksum"):
        load_checkpoint(path)


def test_foreign_payloads_are_named_with_what_was_found(tmp_path):
    for payload, found in [([1, 2, 3], "'list'"), ({"format": "other/1", "epoch": 1}, "'other/1'"),
                           ({"epoch": 1}, "None")]:
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        path = tmp_path / "foreign.pt"
        path.write_bytes(buffer.getvalue())
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert str(info.value).startswith(f"{path} is not a gdl.train checkpoint (expected format {FORMAT!r}, "
                                          f"found {found})"), str(info.value)


def test_an_incomplete_checkpoint_lists_the_missing_keys(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", {"epoch": 1})
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value) == f"{path} is an incomplete gdl.train checkpoint: missing ['config', 'model']"


def test_a_legacy_checkpoint_loads_with_a_warning_naming_its_format(tmp_path):
    buffer = io.BytesIO()
    torch.save({"format": "gdl.train.checkpoint/1", "epoch": 1, "config": {}}, buffer)
    path = tmp_path / "old.pt"
    path.write_bytes(buffer.getvalue())
    with pytest.warns(UserWarning, match=r"old.pt was written without a checksum \(format 'gdl.train.checkpoint/1'\)"):
        with pytest.raises(CheckpointError, match=r"missing \['model'\]"):  # still checked for completeness
            load_checkpoint(path)


def test_truncated_files_of_every_length_are_refused(tmp_path):
    data = save_checkpoint(tmp_path / "last.pt", _state()).read_bytes()
    path = tmp_path / "cut.pt"
    for length in (0, 10, 86, 87, 108, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:length])
        with pytest.raises(CheckpointError, match=str(path)):
            load_checkpoint(path)


# ------------------------------------------------------------------------------------ RNG state
def _draws():
    return torch.rand(4).tolist(), np.random.rand(4).tolist(), [random.random() for _ in range(4)]


@pytest.mark.parametrize("stream", [0, 1, 2])
def test_each_random_stream_is_restored_on_its_own(stream):
    seed_everything(11)
    state = rng_state()
    want = _draws()
    seed_everything(12)  # moves every stream …
    other = _draws()
    assert all(a != b for a, b in zip(want, other))
    seed_everything(12)
    set_rng_state(state)  # … and every stream comes back
    got = _draws()
    assert got[stream] == want[stream]


def test_rng_state_holds_the_three_streams_and_is_a_snapshot():
    seed_everything(1)
    state = rng_state()
    assert set(state) == {"torch", "numpy", "python"}  # no CUDA here (CPU machine) or not initialised
    first = _draws()
    set_rng_state(state)
    assert _draws() == first
    set_rng_state(state)  # the saved state is not consumed by restoring it
    assert _draws() == first


class _FakeCuda:
    """torch.cuda as seen on a machine with CUDA in use (monkeypatched; this machine may have none)."""

    def __init__(self, initialized=True):
        self.initialized, self.restored = initialized, None
        self.states = [torch.tensor([1, 2], dtype=torch.uint8), torch.tensor([3], dtype=torch.uint8)]

    def install(self, monkeypatch):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "is_initialized", lambda: self.initialized)
        monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [s.clone() for s in self.states])
        monkeypatch.setattr(torch.cuda, "set_rng_state_all", lambda states: setattr(self, "restored", states))
        return self


def test_cuda_streams_are_saved_and_restored_when_cuda_is_in_use(monkeypatch):
    cuda = _FakeCuda().install(monkeypatch)
    state = rng_state()
    assert set(state) == {"torch", "numpy", "python", "cuda"}
    assert [s.tolist() for s in state["cuda"]] == [[1, 2], [3]]
    set_rng_state(state)
    assert [s.tolist() for s in cuda.restored] == [[1, 2], [3]] and all(s.device.type == "cpu" for s in cuda.restored)


def test_cuda_streams_are_left_alone_when_cuda_is_not_in_use(monkeypatch):
    cuda = _FakeCuda(initialized=False).install(monkeypatch)
    state = rng_state()  # CUDA present but never used: initialising it only to save its state is wasteful
    assert "cuda" not in state
    set_rng_state(state)  # a checkpoint without CUDA streams restores the others and leaves CUDA as it is
    assert cuda.restored is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    set_rng_state({**state, "cuda": cuda.states})  # a GPU run's checkpoint resumed on a CPU machine
    assert cuda.restored is None


def test_seed_everything_seeds_torch_numpy_and_python():
    seed_everything(7)
    got = _draws()
    torch.manual_seed(7)
    np.random.seed(7)
    random.seed(7)
    assert got == _draws()


def test_seed_everything_accepts_seeds_beyond_numpys_range():
    seed_everything(2**32 + 7)
    got = _draws()
    torch.manual_seed(2**32 + 7)
    np.random.seed(7)
    random.seed(2**32 + 7)
    assert got == _draws()


# ------------------------------------------------------------------------------------ EMA
class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 3, dtype=torch.float64)
        self.register_buffer("steps", torch.tensor(0))  # an integer buffer: never averaged
        self.register_buffer("scale", torch.ones(3, dtype=torch.float64))


def _set(net, value):
    with torch.no_grad():
        for p in list(net.parameters()) + [net.scale]:
            p.fill_(value)
        net.steps.fill_(int(value))


@pytest.mark.parametrize("decay", [0, 1, -0.5, 1.5])
def test_ema_decay_outside_the_open_unit_interval_is_refused(decay):
    with pytest.raises(ValueError, match=f"EMA decay must be in \\(0, 1\\), got {decay}"):
        ExponentialMovingAverage(_Net(), decay)


def test_ema_update_is_the_documented_average_of_floating_point_entries():
    net = _Net()
    _set(net, 1.0)
    ema = ExponentialMovingAverage(net, 0.75)
    assert set(ema.shadow) == {"lin.weight", "lin.bias", "scale"}
    assert ema.decay == 0.75 and type(ema.decay) is float
    _set(net, 5.0)
    ema.update(net)  # 0.75·1 + 0.25·5 = 2
    _set(net, 10.0)
    ema.update(net)  # 0.75·2 + 0.25·10 = 4
    for key, value in ema.shadow.items():
        assert torch.equal(value, torch.full_like(value, 4.0)), key
    assert torch.equal(net.lin.weight, torch.full_like(net.lin.weight, 10.0))  # the live weights are untouched


def test_ema_shadow_is_a_copy_not_the_live_tensors():
    net = _Net()
    _set(net, 2.0)
    ema = ExponentialMovingAverage(net, 0.5)
    _set(net, 3.0)
    assert torch.equal(ema.shadow["lin.bias"], torch.full((3,), 2.0, dtype=torch.float64))


def test_ema_applied_swaps_the_average_in_and_always_restores_the_weights():
    net = _Net()
    _set(net, 1.0)
    ema = ExponentialMovingAverage(net, 0.5)
    _set(net, 3.0)
    ema.update(net)  # shadow 2
    x = torch.ones(1, 2, dtype=torch.float64)
    with ema.applied(net) as inside:
        assert inside is net
        assert torch.equal(net.lin.weight, torch.full_like(net.lin.weight, 2.0))
        assert torch.equal(net.lin(x), torch.full((1, 3), 6.0, dtype=torch.float64))
        assert int(net.steps) == 3  # not shadowed, left as it is
    assert torch.equal(net.lin.weight, torch.full_like(net.lin.weight, 3.0))
    with pytest.raises(KeyError):
        with ema.applied(net):
            raise KeyError("inside")
    assert torch.equal(net.scale, torch.full_like(net.scale, 3.0))  # restored after an error too
    assert torch.equal(ema.shadow["scale"], torch.full_like(net.scale, 2.0))  # and the shadow unchanged


def test_ema_state_round_trips_into_another_average():
    net = _Net()
    _set(net, 1.0)
    ema = ExponentialMovingAverage(net, 0.5)
    _set(net, 9.0)
    ema.update(net)  # shadow 5
    state = ema.state_dict()
    assert state["decay"] == 0.5 and set(state["shadow"]) == set(ema.shadow)
    other = ExponentialMovingAverage(_Net(), 0.9)
    other.load_state_dict(state)
    assert other.decay == 0.5
    for key in ema.shadow:
        assert torch.equal(other.shadow[key], ema.shadow[key]), key
    _set(net, 7.0)
    other.update(net)  # continues with the restored decay: 0.5·5 + 0.5·7 = 6
    assert torch.equal(other.shadow["lin.bias"], torch.full((3,), 6.0, dtype=torch.float64))


# -- found by the 2026-12-02 sample of the checkpoint functions ------------------------------------
def test_a_corrupt_file_is_refused_with_what_to_do(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", _state())
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="is corrupt.*resume from another copy, or start the run again$"):
        load_checkpoint(path)


def test_a_foreign_file_is_refused_saying_where_checkpoints_come_from(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match=r"not a gdl.train checkpoint .*checkpoints are written by `gdl train` "
                                              r"as last.pt / best.pt in a run folder$"):
        load_checkpoint(tmp_path / "model.pt")


def test_an_archive_layout_without_room_for_the_checksum_is_written_unverified_and_loads(tmp_path, monkeypatch):
    import gdl.train._checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "_END_OF_ARCHIVE", b"\xff\xff\xff\xff")  # a torch whose zip ends differently
    with pytest.warns(UserWarning, match="cannot embed a checksum"):
        path = save_checkpoint(tmp_path / "last.pt", _state(epoch=3))
    with pytest.warns(UserWarning):
        state = load_checkpoint(path)  # the legacy (unverified) format, loaded with its warning
    assert state["epoch"] == 3 and state["format"] == checkpoint.LEGACY_FORMATS[0]
