"""STEP input: parts as engineers export them, tessellated by Open CASCADE.

`read_part` reads an STL file as `shared.stl` does, or a `.step`/`.stp` file through Open
CASCADE (the optional `step` extra: `pip install cadquery-ocp-novtk`), meshed at a chordal
deflection of DEFLECTION x the part's bounding-box diagonal and an angular deflection of ANGLE
radians. Every error is a one-line `stl.StlError` naming the file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from ._shared import stl

SUFFIXES = (".step", ".stp")
PART_SUFFIXES = stl.PART_SUFFIXES
DEFLECTION = 0.001
"""Chordal deflection of the mesh, as a share of the part's bounding-box diagonal."""
ANGLE = 0.3
"""Angular deflection of the mesh, radians."""
INSTALL = "pip install cadquery-ocp-novtk (the `step` extra: pip install -e '.[step]')"


def is_step(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in SUFFIXES


def is_part(path: str | os.PathLike) -> bool:
    """An STL or STEP file name."""
    return Path(path).suffix.lower() in PART_SUFFIXES


def read_part(path: str | os.PathLike, max_triangles: int | None = None) -> stl.Mesh:
    """The triangles of an STL or STEP file; raise stl.StlError saying what is wrong."""
    if not is_step(path):
        return stl.read_stl(path, max_triangles)
    path = Path(path)
    if not path.is_file():
        raise stl.StlError(path, "file not found" if not path.exists() else "not a file")
    triangles = tessellate(path)
    cap = max_triangles or stl.triangle_cap()
    if len(triangles) > cap:
        raise stl.StlError(path, f"{len(triangles):,} triangles after meshing, more than {cap:,}")
    return stl.from_triangles(path, triangles, "step")


def parse_part(data: bytes, name: str, max_triangles: int | None = None) -> stl.Mesh:
    """Like read_part, for a file's bytes (`name`: its path, which says its format)."""
    if not is_step(name):
        return stl.parse_stl(data, name, max_triangles)
    with tempfile.TemporaryDirectory(prefix="milling-step-") as tmp:
        copy = Path(tmp) / Path(name).name
        copy.write_bytes(data)
        try:
            return read_part(copy, max_triangles)
        except stl.StlError as e:
            raise stl.StlError(name, e.reason) from None


@contextlib.contextmanager
def _quiet():
    """File descriptors 1 and 2 to /dev/null: C++ output that Python cannot catch."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def tessellate(path: Path) -> np.ndarray:
    """(N, 3, 3) triangles of every face of a STEP file, outward by the faces' orientation."""
    try:
        from OCP.Bnd import Bnd_Box
        from OCP.BRep import BRep_Tool
        from OCP.BRepBndLib import BRepBndLib
        from OCP.BRepMesh import BRepMesh_IncrementalMesh
        from OCP.IFSelect import IFSelect_RetDone
        from OCP.STEPControl import STEPControl_Reader
        from OCP.TopAbs import TopAbs_FACE, TopAbs_REVERSED
        from OCP.TopExp import TopExp_Explorer
        from OCP.TopLoc import TopLoc_Location
        from OCP.TopoDS import TopoDS
    except ImportError:
        raise stl.StlError(path, f"reading STEP files needs Open CASCADE: {INSTALL}") from None
    reader = STEPControl_Reader()
    with _quiet():  # Open CASCADE prints parse errors on the process's own stdout
        read = reader.ReadFile(str(path)) == IFSelect_RetDone
        roots = read and reader.TransferRoots() > 0
    if not read:
        raise stl.StlError(path, "not a readable STEP file")
    if not roots:
        raise stl.StlError(path, "the STEP file holds no shape")
    shape = reader.OneShape()
    box = Bnd_Box()
    BRepBndLib.Add_s(shape, box)
    if box.IsVoid():
        raise stl.StlError(path, "the STEP file holds no geometry")
    lo, hi = np.array(box.CornerMin().Coord()), np.array(box.CornerMax().Coord())
    diagonal = float(np.linalg.norm(hi - lo))
    BRepMesh_IncrementalMesh(shape, DEFLECTION * diagonal, False, ANGLE, True)
    out = []
    faces = TopExp_Explorer(shape, TopAbs_FACE)
    while faces.More():
        face = TopoDS.Face(faces.Current())
        location = TopLoc_Location()
        mesh = BRep_Tool.Triangulation_s(face, location)
        if mesh is not None:
            moved = location.Transformation()
            nodes = np.array(
                [mesh.Node(i).Transformed(moved).Coord() for i in range(1, mesh.NbNodes() + 1)]
            )
            index = np.array([mesh.Triangle(i).Get() for i in range(1, mesh.NbTriangles() + 1)])
            if face.Orientation() == TopAbs_REVERSED:
                index = index[:, ::-1]
            out.append(nodes[index - 1])
        faces.Next()
    if not out:
        raise stl.StlError(path, "the STEP file holds no faces to mesh")
    return np.concatenate(out).astype(np.float64)
