"""The original MNIST files (LeCun, Cortes, Burges): the IDX format, and where to get the files.

IDX (http://yann.lecun.com/exdb/mnist/, "file formats"): a big-endian header

    bytes 0–1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d (1 for labels, 3 for images)
    then d      big-endian uint32 sizes
    then        the elements, big-endian, row-major (C order)

``train-images-idx3-ubyte`` holds 60 000 images of 28 × 28 uint8 pixels (0 = background), the
``-labels-idx1-ubyte`` files one uint8 label 0–9 per image; ``t10k-*`` is the 10 000-image test
set. The files are usually gzip-compressed (``.gz``); :func:`read_idx` reads both forms (it looks
at the gzip magic bytes, not the name).

:func:`load_mnist` reads a split from a folder holding the four files, and with ``download=True``
fetches missing ones from the mirrors torchvision and TensorFlow use, each checked against its published MD5;
without network access it fails with a message naming the file, the URL and where to put a copy.
Nothing in gdl downloads unless asked to.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch

__all__ = ["IDXFormatError", "MNISTDownloadError", "read_idx", "write_idx", "load_mnist", "download_mnist",
           "MNIST_FILES", "MNIST_MIRRORS"]

# element type code → (numpy big-endian dtype, torch dtype)
_IDX_TYPES = {
    0x08: (np.dtype(">u1"), torch.uint8),
    0x09: (np.dtype(">i1"), torch.int8),
    0x0B: (np.dtype(">i2"), torch.int16),
    0x0C: (np.dtype(">i4"), torch.int32),
    0x0D: (np.dtype(">f4"), torch.float32),
    0x0E: (np.dtype(">f8"), torch.float64),
}
_CODE_OF_TORCH = {torch_dtype: code for code, (_, torch_dtype) in _IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"

# split → (images file, labels file); each file → its MD5 (the checksums torchvision's MNIST class publishes)
MNIST_FILES: Dict[str, Tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")


class IDXFormatError(ValueError):
    """A file that is not a valid IDX file (the message names the file and what is wrong)."""


class MNISTDownloadError(OSError):
    """An MNIST file that could not be downloaded or failed its checksum (the message says what to do)."""


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IDXFormatError(f"{path}: gzip data is corrupt or truncated ({exc})") from None
    return raw


def read_idx(path: Union[str, os.PathLike]) -> torch.Tensor:
    """The array stored in IDX file ``path`` (gzip-compressed or not) as a tensor of its own dtype and shape.

    Raises :class:`IDXFormatError` for a file shorter than its header, a header that does not
    start with two zero bytes, an unknown element type, or a payload whose size is not
    ∏ sizes × element size (truncated, or trailing bytes)."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise IDXFormatError(f"{path}: {len(data)} bytes is shorter than the 4-byte IDX magic number")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00":
        raise IDXFormatError(f"{path}: not an IDX file (the magic number must start with bytes 00 00, got "
                             f"{zero.hex(' ')})")
    if code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_TYPES)
        raise IDXFormatError(f"{path}: unknown IDX element type 0x{code:02X} (expected one of {known})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXFormatError(f"{path}: header declares {ndim} dimensions ({header} header bytes), "
                             f"but the file has only {len(data)} bytes")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    np_dtype, _ = _IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * np_dtype.itemsize
    got = len(data) - header
    if got != expected:
        kind = "truncated" if got < expected else "trailing bytes after the data"
        raise IDXFormatError(f"{path}: shape {list(shape)} of {np_dtype.name} needs {expected} data bytes, "
                             f"got {got} ({kind})")
    array = np.frombuffer(data, dtype=np_dtype, offset=header).reshape(shape)
    return torch.from_numpy(array.astype(np_dtype.newbyteorder("="), copy=True))


def write_idx(path: Union[str, os.PathLike], tensor: torch.Tensor, compress: Optional[bool] = None) -> Path:
    """Write ``tensor`` as an IDX file (gzip-compressed when ``compress``, default: when the name ends in ``.gz``)."""
    path = Path(path)
    tensor = torch.as_tensor(tensor)
    if tensor.dtype not in _CODE_OF_TORCH:
        raise TypeError(f"IDX stores uint8, int8, int16, int32, float32 or float64; got {tensor.dtype}")
    if tensor.dim() > 255:
        raise ValueError(f"IDX stores at most 255 dimensions, got {tensor.dim()}")
    code = _CODE_OF_TORCH[tensor.dtype]
    header = bytes([0, 0, code, tensor.dim()]) + struct.pack(f">{tensor.dim()}I", *tensor.shape)
    payload = header + tensor.numpy().astype(_IDX_TYPES[code][0], copy=False).tobytes()
    compress = path.name.endswith(".gz") if compress is None else compress
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
    return path


def _find(root: Path, name: str) -> Optional[Path]:
    """``root/name`` or its uncompressed form ``root/name[:-3]``."""
    for candidate in (root / name, root / name[: -len(".gz")]):
        if candidate.is_file():
            return candidate
    return None


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_mnist(root: Union[str, os.PathLike], split: str = "train", mirrors=MNIST_MIRRORS,
                   timeout: float = 30.0) -> Dict[str, Path]:
    """Download the two files of ``split`` into ``root`` (skipping files already there), verify their MD5.

    Raises :class:`MNISTDownloadError` naming the file, the URLs tried and the reason when every
    mirror fails (e.g. no network), or when the downloaded bytes do not match the checksum (the
    bad file is removed)."""
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(MNIST_FILES)}, got {split!r}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in MNIST_FILES[split]:
        target = root / name
        if target.is_file() and _md5(target) == MNIST_MD5[name]:
            out[name] = target
            continue
        reasons = []
        for mirror in mirrors:
            url = mirror + name
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    payload = response.read()
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reasons.append(f"{url}: {getattr(exc, 'reason', exc)}")
                continue
            tmp = target.with_name(f".{name}.part-{os.getpid()}")
            tmp.write_bytes(payload)
            digest = _md5(tmp)
            if digest != MNIST_MD5[name]:
                tmp.unlink()
                reasons.append(f"{url}: MD5 {digest} does not match the published {MNIST_MD5[name]}")
                continue
            os.replace(tmp, target)
            out[name] = target
            break
        else:
            raise MNISTDownloadError(
                f"cannot download MNIST file {name}: " + "; ".join(reasons)
                + f". Without network access, copy {name} (MD5 {MNIST_MD5[name]}) into {root} by hand."
            )
    return out


def load_mnist(root: Union[str, os.PathLike], split: str = "train", download: bool = False,
               verify: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(images uint8 [N, 28, 28], labels int64 [N])`` of the MNIST ``split`` ("train" or "test") from ``root``.

    ``root`` holds the IDX files, gzip-compressed (``train-images-idx3-ubyte.gz``) or not
    (``train-images-idx3-ubyte``). ``download=True`` fetches the missing ones
    (:func:`download_mnist`); ``verify=True`` checks the MD5 of ``.gz`` files found locally.
    Errors name the missing or malformed file."""
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(MNIST_FILES)}, got {split!r}")
    root = Path(root)
    names = MNIST_FILES[split]
    paths = [_find(root, n) for n in names]
    if any(p is None for p in paths):
        if not download:
            missing = [n for n, p in zip(names, paths) if p is None]
            raise FileNotFoundError(f"MNIST {split} split: {', '.join(missing)} not found in {root} "
                                    f"(pass download=True, or copy the files there)")
        download_mnist(root, split)
        paths = [_find(root, n) for n in names]
    if verify:
        for name, path in zip(names, paths):
            if path.name == name and _md5(path) != MNIST_MD5[name]:
                raise MNISTDownloadError(f"{path}: MD5 {_md5(path)} does not match the published {MNIST_MD5[name]}")
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.dim() != 3 or images.dtype != torch.uint8:
        raise IDXFormatError(f"{paths[0]}: expected uint8 images [N, rows, cols], got {images.dtype} "
                             f"of shape {list(images.shape)}")
    if labels.dim() != 1 or labels.dtype != torch.uint8:
        raise IDXFormatError(f"{paths[1]}: expected uint8 labels [N], got {labels.dtype} of shape {list(labels.shape)}")
    if images.shape[0] != labels.shape[0]:
        raise IDXFormatError(f"{paths[0]} holds {images.shape[0]} images but {paths[1]} holds "
                             f"{labels.shape[0]} labels")
    if labels.numel() and int(labels.max()) > 9:
        raise IDXFormatError(f"{paths[1]}: labels must be digits 0–9, found {int(labels.max())}")
    return images, labels.long()
