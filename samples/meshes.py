"""Small exact meshes for tests, as (N, 3, 3) triangle arrays (counter-clockwise = outward)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np


def box(lo=(-1.0, -1.0, -1.0), hi=(1.0, 1.0, 1.0)) -> np.ndarray:
    """An axis-aligned box: 12 triangles with outward winding."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    tris = []
    for axis in range(3):
        u, v = [a for a in range(3) if a != axis]
        for side, value in ((-1, lo[axis]), (1, hi[axis])):
            quad = []
            for du, dv in ((0, 0), (1, 0), (1, 1), (0, 1)):
                p = np.empty(3)
                p[axis] = value
                p[u] = (lo[u], hi[u])[du]
                p[v] = (lo[v], hi[v])[dv]
                quad.append(p)
            for tri in ((quad[0], quad[1], quad[2]), (quad[0], quad[2], quad[3])):
                t = np.array(tri)
                if np.cross(t[1] - t[0], t[2] - t[0])[axis] * side < 0:
                    t = t[::-1]
                tris.append(t)
    return np.array(tris)


def wedge() -> np.ndarray:
    """A box with one sloped face, so that turning it about Z changes its colours.

    Faces: -X, +Y, -Y (triangles), -Z and a 45 degree slope facing (+X, +Z).
    """
    a, b, c, d = (0, 0, 0), (2, 0, 0), (0, 1, 0), (2, 1, 0)  # bottom
    e, f = (0, 0, 2), (0, 1, 2)  # top edge above x = 0
    quads = [
        (a, c, d, b),  # bottom, -Z
        (a, e, f, c),  # back, -X
        (b, d, f, e),  # slope, (+X +Z)
    ]
    tris = [(a, b, e), (c, f, d)]  # -Y and +Y sides
    for q in quads:
        tris += [(q[0], q[1], q[2]), (q[0], q[2], q[3])]
    return _outward(np.array(tris, dtype=float))


def sphere(n_u: int = 100, n_v: int = 50) -> np.ndarray:
    """A UV sphere of radius 1 (about 2 * n_u * n_v triangles, degenerate poles removed)."""
    th = np.linspace(0, np.pi, n_v + 1)
    ph = np.linspace(0, 2 * np.pi, n_u + 1)
    t, p = np.meshgrid(th, ph, indexing="ij")
    x = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1)
    a, b, c, d = x[:-1, :-1], x[1:, :-1], x[1:, 1:], x[:-1, 1:]
    tris = np.concatenate([np.stack([a, b, c], 2), np.stack([a, c, d], 2)]).reshape(-1, 3, 3)
    area = np.linalg.norm(np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), axis=1)
    return _outward(tris[area > 1e-12])


def _outward(tris: np.ndarray) -> np.ndarray:
    """Flip triangles whose normal points towards the centroid (valid for convex shapes)."""
    centre = tris.reshape(-1, 3).mean(axis=0)
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    inward = ((tris.mean(axis=1) - centre) * n).sum(axis=1) < 0
    tris = tris.copy()
    tris[inward] = tris[inward][:, ::-1]
    return tris


def ascii_stl(tris: np.ndarray, name: str = "part", newline: str = "\n") -> str:
    """ASCII STL text of triangles."""
    lines = [f"solid {name}"]
    for t in tris:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += [f"      vertex {v[0]!r} {v[1]!r} {v[2]!r}" for v in t.tolist()]
        lines += ["    endloop", "  endfacet"]
    lines.append(f"endsolid {name}")
    return newline.join(lines) + newline


def binary_stl(tris: np.ndarray) -> bytes:
    """Binary STL bytes of triangles (zero normals, as many exporters write)."""
    buf = io.BytesIO()
    buf.write(b"\0" * 80 + struct.pack("<I", len(tris)))
    for t in tris:
        buf.write(struct.pack("<12fH", 0, 0, 0, *t.ravel(), 0))
    return buf.getvalue()


# A corpus of broken files: name -> (bytes, part of the expected one-line error).
GOOD = binary_stl(box())
ASCII = ascii_stl(box()).encode()

BAD = {
    "empty": (b"", "file is empty"),
    "truncated binary": (GOOD[:300], "truncated or corrupt binary STL: header declares 12"),
    "count larger than file": (
        GOOD[:80] + struct.pack("<I", 10**9) + GOOD[84:],
        "declares 1,000,000,000",
    ),
    "count smaller than file": (GOOD[:80] + struct.pack("<I", 3) + GOOD[84:], "not an STL file"),
    "solid header, truncated": (b"solid x" + GOOD[7:300], "truncated or corrupt binary STL"),
    "a text file renamed .stl": (
        b"Order 1034: three brackets, 6061, anodised black.\n" * 80,
        "not an STL file: it is text",
    ),
    "ascii garbage": (
        ASCII.replace(b"vertex", b"vortex", 1),
        "line 4: expected 'vertex', got 'vortex'",
    ),
    "ascii bad number": (
        ASCII.replace(b"vertex -1.0", b"vertex 1.0.0", 1),
        "expected a number, got '1.0.0'",
    ),
    "ascii truncated": (ASCII[: len(ASCII) // 2], "missing 'endsolid'"),
    "ascii short facet": (
        ASCII.replace(b"endloop\n  endfacet\nendsolid", b"endsolid"),
        "expected 'endloop'",
    ),
    "nan vertex": (
        binary_stl(np.where(box() == 1.0, np.nan, box())),
        "NaN or infinite coordinates",
    ),
    "inf vertex": (
        ASCII.replace(b"vertex -1.0", b"vertex inf", 1),
        "NaN or infinite coordinates in 1 of 12",
    ),
    "zero-area faces only": (binary_stl(np.zeros((4, 3, 3))), "all 4 triangles have zero area"),
    "png": (b"\x89PNG\r\n\x1a\n" + b"\0" * 300, "not an STL file"),
    "text": (b"hello, I am not a mesh", "not an STL file"),
    "no facets": (b"solid empty\nendsolid empty\n", "contains no facets"),
    "zero triangles": (b"\0" * 80 + struct.pack("<I", 0), "declares 0 triangles"),
}


def awkward() -> dict[str, np.ndarray | str]:
    """Meshes that are valid STL but awkward to render (an ASCII text where the value is str)."""
    b = box()
    shells = np.concatenate([box() * 0.1 + (i % 25, i // 25, 0) for i in range(500)])
    return {
        "open": b[:-2],  # two faces missing: not watertight
        # two boxes that share only an edge
        "non_manifold": np.concatenate([b, box() + np.array([2.0, 2.0, 0.0])]),
        "duplicate_faces": np.concatenate([b, b]),
        "inverted": b[:, ::-1],  # every triangle wound inwards
        "tiny": b * 1e-6,
        "huge": b * 1e6,
        "million_triangles": sphere(1000, 500),
        "many_shells": shells,
        "crlf_ascii": ascii_stl(box(hi=(1, 2, 3)), newline="\r\n"),
    }


def write_corpus(folder: Path) -> tuple[dict[str, np.ndarray | str], dict[str, str]]:
    """Write `awkward()` as NAME.stl and every BAD file as bad_NN.stl into `folder`; return the
    awkward meshes and {bad file stem: the reason its error must give}."""
    from shared.geometry.stl import write_stl

    folder.mkdir(parents=True, exist_ok=True)
    meshes = awkward()
    for name, mesh in meshes.items():
        if isinstance(mesh, str):
            (folder / f"{name}.stl").write_bytes(mesh.encode())
        else:
            write_stl(folder / f"{name}.stl", mesh)
    bad = {}
    for i, (content, reason) in enumerate(BAD.values()):
        (folder / f"bad_{i:02d}.stl").write_bytes(content)
        bad[f"bad_{i:02d}"] = reason
    return meshes, bad
