"""The strict STL reader: good files in every flavour, and a clear one-line error for bad ones."""

import struct

import numpy as np
import pytest

from samples.meshes import BAD, ascii_stl, box, sphere
from shared.geometry.stl import StlError, face_normals, parse_stl, read_stl, write_stl


def test_binary_round_trip(tmp_path):
    tris = sphere(20, 10)
    write_stl(tmp_path / "s.stl", tris)
    mesh = read_stl(tmp_path / "s.stl")
    assert mesh.format == "binary"
    assert mesh.dropped == 0
    np.testing.assert_array_equal(mesh.triangles, tris.astype(np.float32))


def test_binary_whose_header_starts_with_solid(tmp_path):
    path = tmp_path / "b.stl"
    write_stl(path, box(), header=b"solid exported by a CAD system")
    assert path.read_bytes().startswith(b"solid")
    mesh = read_stl(path)
    assert mesh.format == "binary" and len(mesh) == 12


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_ascii(tmp_path, newline):
    tris = box(hi=(1.5, 2.0, 3e-1))
    path = tmp_path / "a.stl"
    path.write_text(ascii_stl(tris, newline=newline), newline="")
    mesh = read_stl(path)
    assert mesh.format == "ascii"
    np.testing.assert_array_equal(mesh.triangles, tris)


def test_ascii_uppercase_keywords_and_several_solids(tmp_path):
    text = ascii_stl(box()[:6], "one").upper() + ascii_stl(box()[6:], "two")
    path = tmp_path / "a.stl"
    path.write_text(text)
    assert len(read_stl(path)) == 12


def test_degenerate_faces_are_dropped_and_counted(tmp_path):
    tris = np.concatenate([box(), np.zeros((3, 3, 3))])
    write_stl(tmp_path / "d.stl", tris)
    mesh = read_stl(tmp_path / "d.stl")
    assert len(mesh) == 12 and mesh.dropped == 3


def test_normals_come_from_the_winding_not_the_file(tmp_path):
    # binary files often carry zero or wrong normals; the winding is what counts
    path = tmp_path / "n.stl"
    write_stl(path, box())
    data = bytearray(path.read_bytes())
    for i in range(12):
        data[84 + 50 * i : 84 + 50 * i + 12] = struct.pack("<3f", 0, 0, 0)
    path.write_bytes(bytes(data))
    n = face_normals(read_stl(path).triangles)
    np.testing.assert_allclose(np.abs(n).sum(axis=1), 1.0)


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_file_gives_one_line_error_naming_it(tmp_path, kind):
    content, reason = BAD[kind]
    path = tmp_path / "bad.stl"
    path.write_bytes(content)
    with pytest.raises(StlError) as info:
        read_stl(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    assert reason in message


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bytes_in_memory_are_checked_like_a_file(tmp_path, kind):
    """parse_stl (the face-normal model's input) gives what read_stl gives, errors included."""
    content, reason = BAD[kind]
    with pytest.raises(StlError) as info:
        parse_stl(content, "request part 3")
    assert str(info.value).startswith("request part 3: ") and reason in str(info.value)
    write_stl(tmp_path / "s.stl", sphere(12, 6))
    text = ascii_stl(box())
    for data, expected in (
        ((tmp_path / "s.stl").read_bytes(), read_stl(tmp_path / "s.stl")),
        (text.encode(), None),
    ):
        mesh = parse_stl(data)
        if expected is not None:
            assert mesh.format == expected.format
            np.testing.assert_array_equal(mesh.triangles, expected.triangles)
        else:
            assert mesh.format == "ascii" and len(mesh) == 12


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(StlError, match="file not found"):
        read_stl(tmp_path / "nope.stl")
    with pytest.raises(StlError, match="is a folder"):
        read_stl(tmp_path)


def test_huge_declared_count_is_not_allocated(tmp_path):
    path = tmp_path / "huge.stl"
    path.write_bytes(b"\0" * 80 + struct.pack("<I", 0xFFFFFFFF) + b"\0" * 50)
    with pytest.raises(StlError, match="declares 4,294,967,295 triangles"):
        read_stl(path)


def test_triangle_cap(tmp_path):
    write_stl(tmp_path / "s.stl", sphere(10, 5))
    with pytest.raises(StlError, match="exceeds the limit of 10"):
        read_stl(tmp_path / "s.stl", max_triangles=10)
    (tmp_path / "a.stl").write_text(ascii_stl(sphere(10, 5)))
    with pytest.raises(StlError, match="exceeds the limit"):
        read_stl(tmp_path / "a.stl", max_triangles=10)


def test_write_is_atomic(tmp_path):
    write_stl(tmp_path / "x.stl", box())
    assert [p.name for p in tmp_path.iterdir()] == ["x.stl"]
