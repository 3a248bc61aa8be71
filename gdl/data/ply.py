"""Read and write triangle meshes in the PLY format (Turk 1994; the format of the FAUST registrations).

A PLY file is a text header — ``ply``, ``format ascii|binary_little_endian|binary_big_endian 1.0``,
``element NAME COUNT`` lines each followed by its ``property TYPE NAME`` / ``property list
COUNT_TYPE ITEM_TYPE NAME`` lines, ``comment`` / ``obj_info`` lines, ``end_header`` — then the
elements in order: whitespace-separated numbers one element per line (ascii) or packed binary.
``read_ply`` returns the vertex positions (``x``, ``y``, ``z``) and the triangles of the
``vertex_indices`` (or ``vertex_index``) list of the ``face`` element; polygons with more than three
corners are split into triangle fans (documented, counted in ``PlyMesh.polygons_split``). Any
deviation from the format is a :class:`PlyError` that names the file, what was expected and what was
found: a missing magic line, an unknown format or type, a truncated body, a face index out of range,
a face with fewer than three corners, trailing data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch

__all__ = ["PlyError", "PlyMesh", "read_ply", "write_ply"]

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2", "ushort": "u2",
    "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4", "float": "f4", "float32": "f4",
    "double": "f8", "float64": "f8",
}
_FORMATS = {"ascii": None, "binary_little_endian": "<", "binary_big_endian": ">"}


class PlyError(ValueError):
    """A PLY file that does not follow the format (the message names the file and the problem)."""


@dataclass
class _Property:
    name: str
    dtype: str
    count_dtype: Optional[str] = None  # set for list properties

    @property
    def is_list(self) -> bool:
        return self.count_dtype is not None


@dataclass
class _Element:
    name: str
    count: int
    properties: List[_Property] = field(default_factory=list)


@dataclass
class PlyMesh:
    """A triangle mesh read from PLY: ``pos`` [V, 3] float64, ``face`` [3, F] int64 (PyG layout),
    the other per-vertex scalar properties by name, the header comments, and how many polygons
    with more than three corners were split into triangles."""

    pos: torch.Tensor
    face: torch.Tensor
    vertex_properties: Dict[str, torch.Tensor]
    comments: List[str]
    format: str
    polygons_split: int = 0


def _parse_header(raw: bytes, path: str) -> Tuple[str, List[_Element], List[str], int]:
    if not raw.startswith(b"ply"):
        got = raw[:16].decode("latin-1").split("\n")[0]
        raise PlyError(f"{path}: not a PLY file: expected the magic line 'ply', got {got!r}")
    end = raw.find(b"end_header")
    if end < 0:
        raise PlyError(f"{path}: header has no 'end_header' line (truncated or not a PLY file)")
    newline = raw.find(b"\n", end)
    if newline < 0:
        raise PlyError(f"{path}: 'end_header' is not followed by a newline (truncated file)")
    lines = raw[:end].decode("ascii", errors="replace").replace("\r", "").split("\n")
    fmt, elements, comments = None, [], []
    for number, line in enumerate(lines[1:], start=2):
        words = line.split()
        if not words:
            continue
        keyword = words[0]
        if keyword in ("comment", "obj_info"):
            comments.append(line[len(keyword):].strip())
        elif keyword == "format":
            if len(words) != 3 or words[1] not in _FORMATS:
                raise PlyError(f"{path}, header line {number}: expected 'format ascii|binary_little_endian|"
                               f"binary_big_endian 1.0', got {line!r}")
            if words[2] != "1.0":
                raise PlyError(f"{path}, header line {number}: expected PLY version 1.0, got {words[2]!r}")
            fmt = words[1]
        elif keyword == "element":
            if len(words) != 3 or not words[2].isdigit():
                raise PlyError(f"{path}, header line {number}: expected 'element NAME COUNT', got {line!r}")
            elements.append(_Element(words[1], int(words[2])))
        elif keyword == "property":
            if not elements:
                raise PlyError(f"{path}, header line {number}: 'property' before any 'element' line")
            if len(words) == 5 and words[1] == "list":
                for type_name in words[2:4]:
                    if type_name not in _TYPES:
                        raise PlyError(f"{path}, header line {number}: unknown property type {type_name!r}; "
                                       f"expected one of {', '.join(sorted(_TYPES))}")
                if _TYPES[words[2]][0] == "f":
                    raise PlyError(f"{path}, header line {number}: a list count must have an integer type, got {words[2]!r}")
                elements[-1].properties.append(_Property(words[4], _TYPES[words[3]], _TYPES[words[2]]))
            elif len(words) == 3 and words[1] != "list":
                if words[1] not in _TYPES:
                    raise PlyError(f"{path}, header line {number}: unknown property type {words[1]!r}; "
                                   f"expected one of {', '.join(sorted(_TYPES))}")
                elements[-1].properties.append(_Property(words[2], _TYPES[words[1]]))
            else:
                raise PlyError(f"{path}, header line {number}: expected 'property TYPE NAME' or "
                               f"'property list COUNT_TYPE ITEM_TYPE NAME', got {line!r}")
        else:
            raise PlyError(f"{path}, header line {number}: unknown header keyword {keyword!r}")
    if fmt is None:
        raise PlyError(f"{path}: header has no 'format' line")
    return fmt, elements, comments, newline + 1


def _read_ascii(body: bytes, elements: List[_Element], path: str) -> Dict[str, dict]:
    lines = body.decode("ascii", errors="replace").replace("\r", "").split("\n")
    lines = [line for line in lines if line.strip()]
    out, cursor = {}, 0
    for element in elements:
        if cursor + element.count > len(lines):
            raise PlyError(f"{path}: truncated: expected {element.count} '{element.name}' lines, "
                           f"found {len(lines) - cursor}")
        rows = lines[cursor:cursor + element.count]
        cursor += element.count
        values: dict = {p.name: [] for p in element.properties}
        if all(not p.is_list for p in element.properties):
            try:
                table = np.array([row.split() for row in rows], dtype=np.float64)
            except ValueError:
                table = None
            if element.count == 0:
                table = np.zeros((0, len(element.properties)))
            if table is not None and table.shape == (element.count, len(element.properties)):
                out[element.name] = {p.name: table[:, k].astype(p.dtype) for k, p in enumerate(element.properties)}
                continue
        for offset, row in enumerate(rows):
            words, position = row.split(), 0
            try:
                for prop in element.properties:
                    if prop.is_list:
                        count = int(words[position])
                        values[prop.name].append(np.array(words[position + 1:position + 1 + count], dtype=np.float64)
                                                 .astype(prop.dtype))
                        if len(values[prop.name][-1]) != count:
                            raise IndexError
                        position += 1 + count
                    else:
                        values[prop.name].append(float(words[position]))
                        position += 1
            except (IndexError, ValueError):
                raise PlyError(f"{path}: '{element.name}' {offset} (body line {cursor - element.count + offset + 1}): "
                               f"expected values for properties {[p.name for p in element.properties]}, got {row!r}") from None
            if position != len(words):
                raise PlyError(f"{path}: '{element.name}' {offset}: {len(words) - position} values more than the "
                               f"properties {[p.name for p in element.properties]} take, in {row!r}")
        out[element.name] = {p.name: (values[p.name] if p.is_list else np.asarray(values[p.name]).astype(p.dtype))
                             for p in element.properties}
    if cursor != len(lines):
        raise PlyError(f"{path}: {len(lines) - cursor} lines of data after the last element")
    return out


def _read_binary(body: bytes, elements: List[_Element], endian: str, path: str) -> Dict[str, dict]:
    out, offset = {}, 0
    for element in elements:
        props = element.properties
        if all(not p.is_list for p in props):
            dtype = np.dtype([(p.name, endian + p.dtype) for p in props])
            size = dtype.itemsize * element.count
            if offset + size > len(body):
                raise PlyError(f"{path}: truncated: '{element.name}' needs {size} bytes, {len(body) - offset} left")
            table = np.frombuffer(body, dtype=dtype, count=element.count, offset=offset)
            offset += size
            out[element.name] = {p.name: table[p.name].astype(p.dtype) for p in props}
            continue
        # elements with lists: fast path when every list has the first element's length (triangles)
        out[element.name] = _read_binary_lists(body, offset, element, endian, path)
        offset = out[element.name].pop("__end__")
    if offset != len(body):
        raise PlyError(f"{path}: {len(body) - offset} bytes of data after the last element")
    return out


def _read_binary_lists(body: bytes, offset: int, element: _Element, endian: str, path: str) -> dict:
    props = element.properties
    if element.count == 0:
        return {**{p.name: [] for p in props}, "__end__": offset}
    # guess a fixed list length from the first element, check it, else read element by element
    guess, position = [], offset
    try:
        for prop in props:
            if prop.is_list:
                count = int(np.frombuffer(body, endian + prop.count_dtype, 1, position)[0])
                guess.append(count)
                position += np.dtype(prop.count_dtype).itemsize + count * np.dtype(prop.dtype).itemsize
            else:
                position += np.dtype(prop.dtype).itemsize
    except ValueError:
        raise PlyError(f"{path}: truncated: '{element.name}' 0 does not fit in the {len(body) - offset} bytes left") from None
    fields, lists = [], iter(guess)
    for prop in props:
        if prop.is_list:
            fields += [(prop.name + "__count", endian + prop.count_dtype), (prop.name, endian + prop.dtype, (next(lists),))]
        else:
            fields.append((prop.name, endian + prop.dtype))
    dtype = np.dtype(fields)
    if offset + dtype.itemsize * element.count <= len(body):
        table = np.frombuffer(body, dtype=dtype, count=element.count, offset=offset)
        if all((table[p.name + "__count"] == n).all() for p, n in zip([p for p in props if p.is_list], guess)):
            result = {p.name: table[p.name].astype(p.dtype) for p in props}
            result["__end__"] = offset + dtype.itemsize * element.count
            return result
    values: dict = {p.name: [] for p in props}
    position = offset
    for index in range(element.count):
        for prop in props:
            try:
                if prop.is_list:
                    count = int(np.frombuffer(body, endian + prop.count_dtype, 1, position)[0])
                    position += np.dtype(prop.count_dtype).itemsize
                    values[prop.name].append(np.frombuffer(body, endian + prop.dtype, count, position).astype(prop.dtype))
                    position += count * np.dtype(prop.dtype).itemsize
                else:
                    values[prop.name].append(np.frombuffer(body, endian + prop.dtype, 1, position)[0])
                    position += np.dtype(prop.dtype).itemsize
            except ValueError:
                raise PlyError(f"{path}: truncated: '{element.name}' {index} of {element.count} does not fit in "
                               f"the bytes left") from None
    values = {p.name: (values[p.name] if p.is_list else np.asarray(values[p.name]).astype(p.dtype)) for p in props}
    values["__end__"] = position
    return values


def _triangles(lists, num_vertices: int, path: str) -> Tuple[np.ndarray, int]:
    """[F, 3] triangles from per-face index lists (polygons split into fans); checks index ranges."""
    if isinstance(lists, np.ndarray):  # fixed length: [F, k]
        polygons = [lists] if lists.size else []
        lengths = {lists.shape[1]} if lists.size else set()
    else:
        lengths = {len(item) for item in lists}
        polygons = [np.stack([item for item in lists if len(item) == n]) for n in sorted(lengths)]
    if lengths and min(lengths) < 3:
        raise PlyError(f"{path}: a face has {min(lengths)} vertex indices; expected at least 3 (a triangle)")
    triangles, split = [], 0
    for block in polygons:
        corners = block.shape[1]
        if corners > 3:
            split += len(block)
        for k in range(1, corners - 1):  # the fan (v0, vk, vk+1)
            triangles.append(block[:, [0, k, k + 1]])
    face = np.concatenate(triangles).astype(np.int64) if triangles else np.zeros((0, 3), dtype=np.int64)
    if face.size and (face.min() < 0 or face.max() >= num_vertices):
        raise PlyError(f"{path}: face vertex indices must lie in [0, {num_vertices}) for {num_vertices} vertices, "
                       f"got range [{face.min()}, {face.max()}]")
    return face, split


def read_ply(path: Union[str, Path]) -> PlyMesh:
    """Read a triangle mesh from an ascii or binary PLY file (see the module docstring)."""
    path = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PlyError(f"{path}: cannot read: {exc.strerror or exc}") from None
    fmt, elements, comments, start = _parse_header(raw, path)
    body = raw[start:]
    names = [e.name for e in elements]
    if "vertex" not in names:
        raise PlyError(f"{path}: no 'vertex' element; the header declares {names or 'no elements'}")
    data = _read_ascii(body, elements, path) if fmt == "ascii" else _read_binary(body, elements, _FORMATS[fmt], path)
    vertex = data["vertex"]
    missing = [axis for axis in "xyz" if axis not in vertex]
    if missing:
        raise PlyError(f"{path}: the vertex element lacks properties {missing}; expected x, y, z, got {list(vertex)}")
    pos = np.stack([vertex[a].astype(np.float64) for a in "xyz"], 1)
    if not np.isfinite(pos).all():
        raise PlyError(f"{path}: vertex positions contain non-finite values (NaN or inf)")
    face_lists = None
    if "face" in data:
        face_element = data["face"]
        key = next((k for k in ("vertex_indices", "vertex_index") if k in face_element), None)
        if key is None:
            raise PlyError(f"{path}: the face element has no 'vertex_indices' list; got properties {list(face_element)}")
        face_lists = face_element[key]
    face, split = _triangles(face_lists if face_lists is not None else np.zeros((0, 3), np.int64), len(pos), path)
    extra = {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in vertex.items() if k not in "xyz"}
    return PlyMesh(torch.as_tensor(pos), torch.as_tensor(face.T.copy()), extra, comments, fmt, split)


def write_ply(path: Union[str, Path], pos: torch.Tensor, face: torch.Tensor, binary: bool = True,
              comments: Tuple[str, ...] = ()) -> None:
    """Write ``pos`` [V, 3] (as float32) and triangles ``face`` [3, F] (as ``list uchar int``) to PLY,
    binary little-endian (the FAUST layout) or ascii."""
    pos = np.asarray(torch.as_tensor(pos, dtype=torch.float64)).astype("<f4")
    face = np.asarray(torch.as_tensor(face, dtype=torch.long)).T.astype("<i4")
    header = ["ply", f"format {'binary_little_endian' if binary else 'ascii'} 1.0"]
    header += [f"comment {c}" for c in comments]
    header += [f"element vertex {len(pos)}", "property float x", "property float y", "property float z",
               f"element face {len(face)}", "property list uchar int vertex_indices", "end_header"]
    text = ("\n".join(header) + "\n").encode("ascii")
    if binary:
        faces = np.zeros(len(face), dtype=[("n", "u1"), ("v", "<i4", (3,))])
        faces["n"], faces["v"] = 3, face
        body = pos.tobytes() + faces.tobytes()
    else:
        body = ("\n".join(" ".join(repr(float(v)) for v in row) for row in pos) + "\n"
                + "".join(f"3 {a} {b} {c}\n" for a, b, c in face)).encode("ascii")
    Path(path).write_bytes(text + body)
