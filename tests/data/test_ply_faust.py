"""PLY reading (ascii, binary little/big endian, polygons, malformed files) and the FAUST registrations loader."""
import shutil
import struct
from pathlib import Path

import pytest
import torch

from gdl.data.faust import FAUST, registration_path
from gdl.data.meshes import icosphere
from gdl.data.ply import PlyError, read_ply, write_ply

FIXTURES = Path(__file__).resolve().parents[2] / "datasets" / "fixtures"
PHI = (1 + 5 ** 0.5) / 2


def test_binary_fixture_in_faust_layout():
    mesh = read_ply(FIXTURES / "faust" / "raw" / registration_path(1))
    assert mesh.format == "binary_little_endian" and mesh.comments == ["VCGLIB generated"]
    assert mesh.pos.shape == (12, 3) and mesh.face.shape == (3, 20) and mesh.polygons_split == 0
    # registration 1 is x ↦ 1.1 x + (1, 0, 0.5) of the icosahedron (-1, φ, 0), … (make_mesh_fixtures.py)
    assert torch.allclose(mesh.pos[0], torch.tensor([-1.1 + 1, 1.1 * PHI, 0.5], dtype=torch.float64), atol=1e-6)
    assert mesh.face[:, 0].tolist() == [0, 11, 5]


def test_ascii_quads_are_split_into_fans():
    mesh = read_ply(FIXTURES / "ply" / "cube_quads_ascii.ply")
    assert mesh.format == "ascii" and mesh.pos.shape == (8, 3)
    assert mesh.face.shape == (3, 12) and mesh.polygons_split == 6
    assert set(mesh.vertex_properties) == {"red", "green", "blue"} and mesh.vertex_properties["red"][0] == 255
    tri = mesh.pos[mesh.face]
    area = torch.linalg.cross(tri[1] - tri[0], tri[2] - tri[0], dim=-1).norm(dim=-1) / 2
    assert torch.allclose(area.sum(), torch.tensor(6.0, dtype=torch.float64))  # the cube's surface


@pytest.mark.parametrize("binary", [True, False])
def test_write_read_round_trip(tmp_path, binary):
    pos, face = icosphere(2)
    write_ply(tmp_path / "m.ply", pos, face, binary=binary, comments=("hello",))
    mesh = read_ply(tmp_path / "m.ply")
    assert torch.equal(mesh.face, face) and torch.allclose(mesh.pos, pos, atol=1e-7) and mesh.comments == ["hello"]


def test_big_endian_and_mixed_polygons(tmp_path):
    header = ("ply\nformat binary_big_endian 1.0\nelement vertex 5\nproperty double x\nproperty double y\n"
              "property double z\nproperty float quality\nelement face 2\nproperty list uchar uint vertex_indices\n"
              "end_header\n").encode()
    verts = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (2, 0, 0)]
    body = b"".join(struct.pack(">3df", *v, 0.5) for v in verts)
    body += struct.pack(">B4I", 4, 0, 1, 2, 3) + struct.pack(">B3I", 3, 1, 4, 2)
    (tmp_path / "be.ply").write_bytes(header + body)
    mesh = read_ply(tmp_path / "be.ply")
    assert mesh.pos[4].tolist() == [2.0, 0.0, 0.0] and mesh.face.shape == (3, 3) and mesh.polygons_split == 1
    assert sorted(map(tuple, mesh.face.T.tolist())) == [(0, 1, 2), (0, 2, 3), (1, 4, 2)]
    assert torch.allclose(mesh.vertex_properties["quality"], torch.full((5,), 0.5, dtype=torch.float64))


GOOD_HEADER = ("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
               "element face 1\nproperty list uchar int vertex_indices\nend_header\n")
GOOD_BODY = "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"


@pytest.mark.parametrize("text, message", [
    ("OFF\n3 1 0\n", "not a PLY file: expected the magic line 'ply'"),
    ("ply\nformat ascii 1.0\nelement vertex 3\n", "no 'end_header'"),
    (GOOD_HEADER.replace("ascii", "binary_middle_endian") + GOOD_BODY, "expected 'format ascii|binary_little_endian"),
    (GOOD_HEADER.replace("property float x", "property float128 x") + GOOD_BODY, "unknown property type 'float128'"),
    (GOOD_HEADER.replace("list uchar int", "list float int") + GOOD_BODY, "a list count must have an integer type"),
    (GOOD_HEADER.replace("element face 1\n", "element face 1\nwhatever\n") + GOOD_BODY, "unknown header keyword"),
    (GOOD_HEADER + "0 0 0\n1 0 0\n", "truncated: expected 3 'vertex' lines"),
    (GOOD_HEADER + "0 0 0\n1 0 0\n0 1 0\n3 0 1\n", "expected values for properties"),
    (GOOD_HEADER + "0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", r"face vertex indices must lie in \[0, 3\)"),
    (GOOD_HEADER + "0 0 0\n1 0 0\n0 1 0\n2 0 1\n", "a face has 2 vertex indices; expected at least 3"),
    (GOOD_HEADER + GOOD_BODY + "1 2 3\n", "1 lines of data after the last element"),
    (GOOD_HEADER + "0 0 0\n1 nan 0\n0 1 0\n3 0 1 2\n", "non-finite"),
    (GOOD_HEADER.replace("property float z\n", "") + "0 0\n1 0\n0 1\n3 0 1 2\n", r"lacks properties \['z'\]"),
    (GOOD_HEADER.replace("element vertex", "element point") + GOOD_BODY, "no 'vertex' element"),
])
def test_malformed_ascii_files_raise_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.ply"
    path.write_text(text)
    with pytest.raises(PlyError, match=message) as info:
        read_ply(path)
    assert str(path) in str(info.value)


def test_truncated_and_padded_binary(tmp_path):
    good = (FIXTURES / "faust" / "raw" / registration_path(0)).read_bytes()
    (tmp_path / "short.ply").write_bytes(good[:-7])
    with pytest.raises(PlyError, match="truncated"):
        read_ply(tmp_path / "short.ply")
    (tmp_path / "long.ply").write_bytes(good + b"\0\0")
    with pytest.raises(PlyError, match="2 bytes of data after the last element"):
        read_ply(tmp_path / "long.ply")
    with pytest.raises(PlyError, match="cannot read"):
        read_ply(tmp_path / "missing.ply")


def _faust_root(tmp_path):
    root = tmp_path / "faust"
    shutil.copytree(FIXTURES / "faust", root)
    return root


def test_faust_loader_reads_the_fixture(tmp_path):
    root = _faust_root(tmp_path)
    train = FAUST(str(root), "train", train_indices=[0, 1], test_indices=[2], num_vertices=12)
    test = FAUST(str(root), "test", train_indices=[0, 1], test_indices=[2], num_vertices=12)
    assert len(train) == 2 and len(test) == 1
    item = test[0]
    assert torch.equal(item.y, torch.arange(12)) and item.face.shape == (3, 20) and item.pos.dtype == torch.float32
    # registration 2 is x ↦ 1.2 x + (2, 0, 1)
    assert torch.allclose(item.pos[0], torch.tensor([-1.2 + 2, 1.2 * PHI, 1.0]), atol=1e-5)


def test_faust_loader_errors(tmp_path):
    root = _faust_root(tmp_path)
    with pytest.raises(PlyError, match="expected a registration with 6890 vertices"):
        FAUST(str(root), "train", train_indices=[0], test_indices=[2])
    with pytest.raises(FileNotFoundError, match=r"registration and licence acceptance at http://faust\.is\.tue\.mpg\.de/"):
        FAUST(str(tmp_path / "empty"), "train")
    with pytest.raises(ValueError, match="train and test registrations overlap"):
        FAUST(str(root), train_indices=[0, 1], test_indices=[1])
    (tmp_path / "zipped" / "raw").mkdir(parents=True)
    (tmp_path / "zipped" / "raw" / "MPI-FAUST.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="SHA-256 .* expected 00"):
        FAUST(str(tmp_path / "zipped"), archive_sha256="00" * 32)
    with pytest.raises(ValueError, match="not a readable zip archive"):
        FAUST(str(tmp_path / "zipped"))


def test_faust_extracts_an_archive(tmp_path):
    import zipfile

    (tmp_path / "z" / "raw").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "z" / "raw" / "MPI-FAUST.zip", "w") as archive:
        for k in range(3):
            archive.write(FIXTURES / "faust" / "raw" / registration_path(k), registration_path(k))
    data = FAUST(str(tmp_path / "z"), "test", train_indices=[0, 1], test_indices=[2], num_vertices=12)
    assert len(data) == 1 and (tmp_path / "z" / "raw" / "MPI-FAUST.zip.sha256").read_text().strip()
