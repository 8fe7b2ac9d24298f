"""Synthetic parts: valid meshes, labels true by construction, balanced, reproducible."""

import csv
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest

from shared import classes, rotations
from shared.geometry.stl import face_normals, read_stl
from tests.conftest import run_module
from trainer.synth.machining import EDGES
from trainer.synth.parts import FAMILIES, FEATURES, PartsConfig, generate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _rows(folder):
    with open(folder / "labels.csv", newline="") as f:
        return list(csv.DictReader(f))


def _watertight(tris: np.ndarray) -> bool:
    """Closed, consistently oriented 2-manifold: each directed edge once, its reverse once."""
    _, index = np.unique(tris.reshape(-1, 3), axis=0, return_inverse=True)
    v = index.reshape(-1, 3)
    edges = np.concatenate([v[:, [0, 1]], v[:, [1, 2]], v[:, [2, 0]]])
    directed = Counter(map(tuple, edges.tolist()))
    return all(n == 1 and directed.get((b, a)) == 1 for (a, b), n in directed.items())


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    out = tmp_path_factory.mktemp("parts")
    generate(PartsConfig(count=60, seed=7, out=out, progress=False))
    return out, _rows(out)


def test_every_part_is_a_valid_watertight_mesh(parts):
    out, rows = parts
    assert len(rows) == 60
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [r["file"] for r in rows] + ["labels.csv"]
    )
    for row in rows:
        mesh = read_stl(out / row["file"])
        assert mesh.format == "binary" and mesh.dropped == 0
        assert len(mesh) == int(row["triangles"])
        assert _watertight(mesh.triangles), row["file"]
        extent = np.ptp(mesh.triangles.reshape(-1, 3), axis=0)
        assert 10 <= extent.max() <= 300, (row["file"], extent)


def test_label_is_true_by_construction(parts):
    """No face looks away from the label except the clamping face, at the far end; and a blind
    floor faces the label from inside the part."""
    out, rows = parts
    for row in rows:
        tris = read_stl(out / row["file"]).triangles
        axis = classes.direction(row["label"]).astype(float)
        n = face_normals(tris)
        height = tris @ axis  # (N, 3) position of each vertex along the label direction
        lo, hi = height.min(), height.max()
        away = n @ axis < -1e-6
        assert away.any()
        assert np.allclose(height[away], lo, atol=1e-4), row["file"]  # only the clamping face
        np.testing.assert_allclose(n[away] @ axis, -1.0, atol=1e-6)
        floors = (
            (n @ axis > 1 - 1e-6)
            & (height.min(axis=1) > lo + 1e-4)
            & (height.max(axis=1) < hi - 1e-4)
        )
        assert floors.any(), row["file"]


def test_labels_are_balanced_and_everything_is_used(parts):
    _, rows = parts
    assert Counter(r["label"] for r in rows) == dict.fromkeys(classes.CLASSES, 12)
    assert {r["family"] for r in rows} == set(FAMILIES)
    used = {f for r in rows for f in r["features"].split(";")}
    assert used == set(FEATURES) | set(EDGES)
    assert all(2 <= len(r["features"].split(";")) <= 6 for r in rows)
    for label in classes.CLASSES:
        poses = {r["pose"] for r in rows if r["label"] == label}
        assert len(poses) >= 2, label  # the pose about the label axis varies
        for pose in poses:
            assert rotations.rotate_label("+Z", rotations.parse_rotation(pose)) == label


def test_same_seed_same_files_and_prefix_stable(tmp_path, parts):
    out, _ = parts
    again = tmp_path / "again"
    generate(PartsConfig(count=8, seed=7, out=again, progress=False))
    for i in range(8):  # the first 8 of 60 are the same as a run of 8
        name = f"part_{i:04d}.stl"
        assert (again / name).read_bytes() == (out / name).read_bytes()
    other = tmp_path / "other"
    generate(PartsConfig(count=8, seed=8, out=other, progress=False))
    assert (other / "part_0000.stl").read_bytes() != (out / "part_0000.stl").read_bytes()


def _cli(*args):
    return run_module("trainer", "parts", *args)


def test_bad_requests(tmp_path):
    for count in ("0", "-3"):
        result = _cli("--count", count, "--out", str(tmp_path / "x"))
        assert result.returncode == 2 and "--count must be at least 1" in result.stderr
    assert not (tmp_path / "x").exists()
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    result = _cli("--count", "2", "--out", str(full))
    assert result.returncode == 2
    assert f"{full}: folder is not empty (use --overwrite" in result.stderr
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    result = _cli("--count", "2", "--out", str(full), "--overwrite", "--quiet")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in full.iterdir()) == [
        "labels.csv",
        "part_0000.stl",
        "part_0001.stl",
    ]
    for sides in ("0", "2-5", "3-1", "two"):
        result = _cli("--count", "2", "--sides", sides, "--out", str(tmp_path / "x"))
        assert result.returncode == 2 and f"--sides {sides}" in result.stderr, result.stderr
    assert not (tmp_path / "x").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _cli("--count", "2", "--out", str(blocker / "sub"))
    assert result.returncode == 2 and "cannot write to the output folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_interrupted_run_leaves_no_partial_file(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trainer",
            "parts",
            "--count",
            "100000",
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while len(list(out.glob("part_*.stl"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    names = sorted(p.name for p in out.iterdir())
    assert names and "labels.csv" not in names  # labels appear only with a finished set
    for name in names:
        if name.startswith("."):  # being written when the kill came: a hidden temporary name
            assert ".tmp-" in name
        else:
            assert name.startswith("part_")
            read_stl(out / name)  # every visible part is complete
