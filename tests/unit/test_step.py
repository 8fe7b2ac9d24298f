"""STEP input: `render`, `predict`, `setups` and `trainer label` read .step/.stp files through
Open CASCADE, and say in one line what is wrong with a bad one or what to install."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from OCP.BRepAlgoAPI import BRepAlgoAPI_Cut
from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox, BRepPrimAPI_MakeCylinder
from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt
from OCP.STEPControl import STEPControl_AsIs, STEPControl_Writer
from PIL import Image

from blender_addon import step
from shared import stl
from tests.conftest import ROOT


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def _write_step(path: Path, hole_from: str = "top", round_hole: bool = True) -> Path:
    """A 80 x 50 x 30 block with a blind hole (a box pocket if not round) from the top or
    bottom, written as STEP by Open CASCADE."""
    block = BRepPrimAPI_MakeBox(gp_Pnt(0, 0, 0), gp_Pnt(80, 50, 30)).Shape()
    z, d = (18.0, 1.0) if hole_from == "top" else (12.0, -1.0)
    if round_hole:
        axis = gp_Ax2(gp_Pnt(40, 25, z), gp_Dir(0, 0, d))
        tool = BRepPrimAPI_MakeCylinder(axis, 8.0, 20.0).Shape()
    else:
        lo, hi = (
            (gp_Pnt(20, 10, z), gp_Pnt(60, 40, 31))
            if d > 0
            else (gp_Pnt(20, 10, -1), gp_Pnt(60, 40, z))
        )
        tool = BRepPrimAPI_MakeBox(lo, hi).Shape()
    writer = STEPControl_Writer()
    writer.Transfer(BRepAlgoAPI_Cut(block, tool).Shape(), STEPControl_AsIs)
    writer.Write(str(path))
    return path


def _volume(triangles: np.ndarray) -> float:
    return float(
        np.einsum("ij,ij->i", np.cross(triangles[:, 1], triangles[:, 2]), triangles[:, 0]).sum() / 6
    )


def test_a_step_part_is_meshed_closed_outward_and_to_its_size(tmp_path):
    mesh = step.read_part(_write_step(tmp_path / "block.step", round_hole=False))
    lo, hi = mesh.triangles.reshape(-1, 3).min(axis=0), mesh.triangles.reshape(-1, 3).max(axis=0)
    np.testing.assert_allclose(lo, [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(hi, [80, 50, 30], atol=1e-9)
    # planar faces mesh exactly: the volume is the block's less the pocket's, normals outward
    assert _volume(mesh.triangles) == pytest.approx(80 * 50 * 30 - 40 * 30 * 12, rel=1e-9)
    edges = np.sort(mesh.triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2, 3).round(9), axis=1)
    _, counts = np.unique(edges.reshape(len(edges), -1), axis=0, return_counts=True)
    assert mesh.format == "step" and len(mesh) > 12 and (counts % 2 == 0).all()


def test_setups_render_and_predict_take_step_as_they_take_its_mesh(tmp_path):
    part = _write_step(tmp_path / "part.stp")
    meshes = tmp_path / "meshes"
    meshes.mkdir()
    done = _cli("-m", "blender_addon", "setups", "--json", "--mesh-out", str(meshes), str(part))
    assert done.returncode == 0, done.stderr
    from_step = json.loads(done.stdout)
    assert from_step["primary"] == "+Z" and from_step["alternatives"] == [["+Z"]]
    copy = meshes / "part.stl"
    assert len(stl.read_stl(copy)) == len(step.read_part(part))
    done = _cli("-m", "blender_addon", "setups", "--json", str(copy))
    from_stl = json.loads(done.stdout)
    # the STL copy holds the mesh in float32: the same plan, areas to float32 rounding
    for key in ("setups", "alternatives", "undercut"):
        assert from_step[key] == from_stl[key]
    assert from_step["reach"] == pytest.approx(from_stl["reach"], abs=1e-3)
    assert from_step["machined_area"] == pytest.approx(from_stl["machined_area"], rel=1e-6)

    for source in (part, copy):
        out = tmp_path / f"out_{source.suffix[1:]}"
        done = _cli(
            "-m",
            "blender_addon",
            "render",
            str(source),
            "--out",
            str(out),
            "--quiet",
            "--size",
            "100",
        )
        assert done.returncode == 0, done.stderr
    images = [np.asarray(Image.open(tmp_path / f"out_{k}/part.png")) for k in ("stp", "stl")]
    assert images[0].shape == (100, 100, 3) and images[0].any()
    assert (images[0] != images[1]).any(axis=2).mean() < 0.005  # float32 edge pixels at most

    done = _cli("-m", "blender_addon", "predict", str(part), str(copy))
    assert done.returncode == 0, done.stderr
    a, b = (json.loads(line) for line in done.stdout.splitlines())
    assert a["label"] == b["label"] and a["probabilities"] == pytest.approx(b["probabilities"])


def test_label_turns_a_step_part_milled_from_below(tmp_path):
    _write_step(tmp_path / "bottom.step", hole_from="bottom")
    _write_step(tmp_path / "top.step")
    done = _cli("-m", "trainer", "label", str(tmp_path))
    assert done.returncode == 0, done.stderr
    with (tmp_path / "labels.csv").open() as f:
        rows = {r["source"]: r for r in csv.DictReader(f)}
    assert rows["top.step"]["file"] == "top.step" and rows["top.step"]["label"] == "+Z"
    turned = rows["bottom.step"]
    assert turned["file"] == "turned/bottom.stl" and turned["turn"] == "+X-Y-Z"
    done = _cli("-m", "blender_addon", "setups", "--json", str(tmp_path / turned["file"]))
    assert json.loads(done.stdout)["primary"] == "+Z"


def test_bad_step_files_and_a_missing_open_cascade_get_one_line(tmp_path):
    bad = tmp_path / "bad.step"
    bad.write_text("ISO-10303-21;\nnot really\n")
    for command in (("setups",), ("predict",), ("render", "--out", str(tmp_path / "out"))):
        done = _cli("-m", "blender_addon", *command, str(bad))
        assert done.returncode != 0
        assert "Traceback" not in done.stderr and "**** ERR" not in done.stdout + done.stderr
        assert f"{bad}: not a readable STEP file" in done.stderr, done.stderr
    assert not (tmp_path / "out" / "bad.png").exists()

    part = _write_step(tmp_path / "part.step")
    hide = "import sys; sys.modules['OCP'] = None; "  # as on a machine without the extra
    run = "from blender_addon.cli import main; sys.exit(main(['setups', sys.argv[1]]))"
    done = subprocess.run(
        [sys.executable, "-c", hide + run, str(part)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line == f"error: {part}: reading STEP files needs Open CASCADE: {step.INSTALL}"
