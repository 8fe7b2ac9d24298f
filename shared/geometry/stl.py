"""A strict STL reader/validator and a binary STL writer.

`read_stl` accepts binary STL (including binary files whose header begins with "solid") and
ASCII STL, and raises `StlError` with a one-line, human-readable reason for anything else.
It never trusts the header: a binary file is accepted only if its size is exactly
84 + 50 * count, checked before anything is allocated.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files import atomic

DEFAULT_MAX_TRIANGLES = 20_000_000
"""Refuse larger meshes (about 1 GB of binary STL) unless the caller raises the cap."""
CAP_VARIABLE = "MILLING_MAX_TRIANGLES"
"""Environment variable that overrides the cap (`render --max-triangles` sets it for workers)."""

_BINARY_DTYPE = np.dtype(
    [("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attribute", "<u2")]
)
_HEADER = 80
_RECORD = _BINARY_DTYPE.itemsize  # 50
_ASCII_BYTES_PER_TRIANGLE = 1024  # generous: a facet is typically about 250 bytes


PART_SUFFIXES = (".stl", ".step", ".stp")
"""File names the commands take as parts: STL, and STEP (meshed by the add-on's step.py)."""


class StlError(ValueError):
    """A file that is not a usable STL mesh. `str()` is '<path>: <reason>'."""

    def __init__(self, path: str | os.PathLike, reason: str):  # path: a file, or a label
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class Mesh:
    """Triangles of a validated STL file, in the file's own (part) frame."""

    triangles: np.ndarray
    """(N, 3, 3) float64 vertex coordinates, degenerate triangles removed."""
    dropped: int
    """How many zero-area triangles were removed."""
    format: str
    """'binary' or 'ascii' (or another format's name: 'step')."""

    def __len__(self) -> int:
        return len(self.triangles)


def triangle_cap() -> int:
    """The most triangles a file may have: $MILLING_MAX_TRIANGLES, else DEFAULT_MAX_TRIANGLES."""
    value = os.environ.get(CAP_VARIABLE, "").strip()
    if not value:
        return DEFAULT_MAX_TRIANGLES
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"${CAP_VARIABLE}={value!r}: expected a positive whole number")
    return int(value)


def read_stl(path: str | os.PathLike, max_triangles: int | None = None) -> Mesh:
    """Read and validate an STL file; raise StlError saying what is wrong.

    `max_triangles` defaults to `triangle_cap()`."""
    path = Path(path)
    max_triangles = max_triangles or triangle_cap()
    try:
        if path.is_dir():
            raise StlError(path, "is a folder, not an STL file")
        with path.open("rb") as f:
            return _read(f, os.fstat(f.fileno()).st_size, path, max_triangles)
    except FileNotFoundError:
        raise StlError(path, "file not found") from None
    except PermissionError:
        raise StlError(path, "permission denied") from None
    except OSError as e:
        raise StlError(path, f"cannot read file ({e.strerror or e})") from None


def parse_stl(data: bytes, name: str = "<STL bytes>", max_triangles: int | None = None) -> Mesh:
    """Validate STL content held in memory (`name` is used in error messages)."""
    return _read(io.BytesIO(data), len(data), name, max_triangles or triangle_cap())


def _read(f, size: int, path, max_triangles: int) -> Mesh:
    if size == 0:
        raise StlError(path, "file is empty")
    head = f.read(_HEADER + 4)
    if size >= _HEADER + 4:
        count = int.from_bytes(head[_HEADER:], "little")
        if size == _HEADER + 4 + _RECORD * count:
            return _finish(path, _read_binary(f, path, count, max_triangles), "binary")
    if head.lstrip()[:5].lower() == b"solid":
        if size > max_triangles * _ASCII_BYTES_PER_TRIANGLE:
            raise StlError(
                path,
                f"{size:,} bytes of ASCII STL exceeds the limit of {max_triangles:,} triangles",
            )
        f.seek(0)
        data = f.read()
        if not _looks_binary(data):
            return _finish(path, _read_ascii(data, path, max_triangles), "ascii")
    raise StlError(path, _not_stl_reason(head, size))


def _not_stl_reason(head: bytes, size: int) -> str:
    if size < _HEADER + 4:
        return f"not an STL file: {size} bytes is shorter than a binary STL header (84 bytes)"
    if not _looks_binary(head):  # a binary STL's triangle count is never four letters
        return "not an STL file: it is text, and ASCII STL starts with 'solid'"
    count = int.from_bytes(head[_HEADER : _HEADER + 4], "little")
    expected = _HEADER + 4 + _RECORD * count
    if expected > size:
        return (
            f"truncated or corrupt binary STL: header declares {count:,} triangles "
            f"({expected:,} bytes) but the file has {size:,} bytes"
        )
    return (
        f"not an STL file: not ASCII STL, and as binary STL its header declares {count:,} "
        f"triangles ({expected:,} bytes) but the file has {size:,} bytes"
    )


def _read_binary(f, path: Path, count: int, max_triangles: int) -> np.ndarray:
    if count == 0:
        raise StlError(path, "binary STL declares 0 triangles")
    if count > max_triangles:
        raise StlError(path, f"{count:,} triangles exceeds the limit of {max_triangles:,}")
    raw = f.read(count * _RECORD)
    records = np.frombuffer(raw, dtype=_BINARY_DTYPE, count=len(raw) // _RECORD)
    if len(records) != count:  # the file shrank while we read it
        raise StlError(path, f"truncated binary STL: read {len(records):,} of {count:,} triangles")
    return records["vertices"].astype(np.float64)


_SOLID = re.compile(rb"^[ \t]*solid\b[^\n]*$", re.MULTILINE | re.IGNORECASE)
_ENDSOLID = re.compile(rb"^[ \t]*endsolid\b[^\n]*$", re.MULTILINE | re.IGNORECASE)
# One facet is exactly these 21 whitespace-separated tokens ('#' is a number).
_FACET = (
    "facet normal # # # outer loop vertex # # # vertex # # # vertex # # # endloop endfacet"
).split()
_KEYWORD_COLUMNS = [i for i, t in enumerate(_FACET) if t != "#"]
_NUMBER_COLUMNS = [i for i, t in enumerate(_FACET) if t == "#"]
_KEYWORDS = np.array([_FACET[i].encode() for i in _KEYWORD_COLUMNS])


def _looks_binary(data: bytes) -> bool:
    """ASCII STL is text; binary float data nearly always holds control bytes."""
    return bool(re.search(rb"[\x00-\x08\x0e-\x1f\x7f]", data[:65536]))


def _read_ascii(data: bytes, path: Path, max_triangles: int) -> np.ndarray:
    blocks = []
    pos = 0
    while True:
        start = _SOLID.search(data, pos)
        if start is None:
            break
        if data[pos : start.start()].strip():
            raise StlError(path, f"ASCII STL: unexpected text before 'solid' at {_line(data, pos)}")
        end = _ENDSOLID.search(data, start.end())
        if end is None:
            raise StlError(path, "ASCII STL: missing 'endsolid' (file truncated?)")
        blocks.append(_parse_facets(data, start.end(), end.start(), path))
        pos = end.end()
        if sum(len(b) for b in blocks) > max_triangles:
            raise StlError(path, f"more than {max_triangles:,} triangles exceeds the limit")
    if not blocks:
        raise StlError(path, "not an STL file: starts with 'solid' but has no ASCII STL body")
    rest = re.search(rb"\S", data[pos:])
    if rest:
        raise StlError(
            path,
            f"ASCII STL: unexpected text after 'endsolid' at {_line(data, pos + rest.start())}",
        )
    triangles = np.concatenate(blocks)
    if len(triangles) == 0:
        raise StlError(path, "ASCII STL contains no facets")
    return triangles


def _parse_facets(data: bytes, start: int, stop: int, path: Path) -> np.ndarray:
    """Vertices of the facets in data[start:stop], which must be nothing but facets."""
    tokens = np.array(data[start:stop].split())
    n, extra = divmod(len(tokens), len(_FACET))
    table = tokens[: n * len(_FACET)].reshape(n, len(_FACET))
    keywords = table[:, _KEYWORD_COLUMNS]
    wrong = keywords != _KEYWORDS
    if wrong.any():  # keywords are case-insensitive: look again, lowercased, at those rows
        rows = np.nonzero(wrong.any(axis=1))[0]
        still = np.char.lower(keywords[rows]) != _KEYWORDS
        if still.any():
            r, c = (int(i) for i in np.argwhere(still)[0])
            column = _KEYWORD_COLUMNS[c]
            index = int(rows[r]) * len(_FACET) + column
            raise StlError(path, _ascii_error(data, start, index, f"'{_FACET[column]}'"))
    if extra:  # the last facet stops short
        want = "a number" if _FACET[extra] == "#" else f"'{_FACET[extra]}'"
        raise StlError(path, _ascii_error(data, start, n * len(_FACET) + extra, want))
    numbers = table[:, _NUMBER_COLUMNS]
    try:
        values = numbers.astype(np.float64)
    except ValueError:
        for flat, token in enumerate(numbers.reshape(-1)):
            try:
                float(token)
            except ValueError:
                r, c = divmod(flat, len(_NUMBER_COLUMNS))
                index = r * len(_FACET) + _NUMBER_COLUMNS[c]
                raise StlError(path, _ascii_error(data, start, index, "a number")) from None
        raise
    return values[:, 3:].reshape(n, 3, 3)


def _ascii_error(data: bytes, start: int, index: int, expected: str) -> str:
    """'line N: expected X, got Y' for the index-th token after `start`."""
    for i, m in enumerate(re.finditer(rb"\S+", data[start:])):
        if i == index:
            got = m.group().decode("latin-1")
            got = got if len(got) <= 20 else got[:20] + "..."
            return f"ASCII STL: {_line(data, start + m.start())}: expected {expected}, got '{got}'"
    return f"ASCII STL: {_line(data, len(data))}: expected {expected}"


def _line(data: bytes, offset: int) -> str:
    return f"line {data.count(NEWLINE, 0, offset) + 1}"


NEWLINE = b"\n"


def from_triangles(path: str | os.PathLike, triangles: np.ndarray, fmt: str) -> Mesh:
    """Validate triangles read from another format (`fmt`) as an STL file's are."""
    return _finish(Path(path), np.asarray(triangles, dtype=np.float64), fmt)


def _finish(path: Path, triangles: np.ndarray, fmt: str) -> Mesh:
    finite = np.isfinite(triangles).all(axis=(1, 2))
    if not finite.all():
        first = int(np.argmin(finite))
        raise StlError(
            path,
            f"NaN or infinite coordinates in {int((~finite).sum()):,} of {len(triangles):,} "
            f"triangles (first: triangle {first + 1})",
        )
    area2 = np.linalg.norm(face_normals(triangles, normalize=False), axis=1)
    scale = np.abs(triangles).max()
    keep = area2 > (scale * scale * 1e-12 if scale > 0 else 0.0)
    if not keep.any():
        raise StlError(path, f"all {len(triangles):,} triangles have zero area")
    return Mesh(triangles[keep], int((~keep).sum()), fmt)


def face_normals(triangles: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Right-handed (counter-clockwise) face normals of (N, 3, 3) triangles."""
    n = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    if normalize:
        n /= np.linalg.norm(n, axis=1, keepdims=True)
    return n


def write_stl(path: str | os.PathLike, triangles: np.ndarray, header: bytes = b"") -> None:
    """Write (N, 3, 3) triangles as binary STL (normals from the winding), atomically."""
    data = stl_bytes(triangles, header)
    with atomic.replacing(path) as tmp:
        tmp.write_bytes(data)


def stl_bytes(triangles: np.ndarray, header: bytes = b"") -> bytes:
    """(N, 3, 3) triangles as the bytes of a binary STL file (normals from the winding)."""
    triangles = np.asarray(triangles, dtype=np.float64)
    records = np.zeros(len(triangles), dtype=_BINARY_DTYPE)
    records["vertices"] = triangles
    with np.errstate(invalid="ignore", divide="ignore"):
        records["normal"] = np.nan_to_num(face_normals(triangles))
    head = header[:_HEADER].ljust(_HEADER, b" ") + len(records).to_bytes(4, "little")
    return head + records.tobytes()
