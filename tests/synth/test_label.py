"""`python -m trainer label DIR`: real-part folders labelled by the setup analysis, ready for
`render --labels`."""

import csv
import subprocess
import sys

from shared import manifest, plans, setups, stl
from tests.conftest import ROOT
from tests.shared.test_setups import _box, _hole, _triangles


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def _rows(path):
    with path.open() as f:
        return {r["file"]: r for r in csv.DictReader(f)}


def test_a_folder_of_parts_is_labelled_turned_and_listed(tmp_path):
    block = _box(0, 80, 0, 50, 0, 30)
    parts = {
        "side.stl": block - _box(-1, 20, 15, 35, 10, 20),  # a pocket into the -X face
        "bottom.stl": block - _hole(40, 25, 5, -1, 12),
        "through.stl": _box(0, 60, 0, 40, 0, 8) - _hole(30, 20, 5, -1, 9),
        "two_sides.stl": block - _box(10, 60, 10, 40, 20, 31) - _hole(70, 25, 4, -1, 10),
    }
    for name, solid in parts.items():
        stl.write_stl(tmp_path / name, _triangles(solid))
    (tmp_path / "broken.stl").write_bytes(b"solid x\nendsolid\n")

    done = _cli("-m", "trainer", "label", str(tmp_path))
    assert done.returncode == 1, done.stderr  # broken.stl is named, the rest labelled
    assert "broken.stl" in done.stderr and "Traceback" not in done.stderr
    assert "two_sides.stl: 2 setups (+Z -Z): kept out of labels.csv" in done.stderr
    labels = _rows(tmp_path / "labels.csv")
    assert set(labels) == {"side.stl", "turned/bottom.stl", "through.stl"}
    assert labels["side.stl"]["label"] == "-X" and labels["side.stl"]["turn"] == ""
    assert labels["through.stl"]["label"] == "+Z" and "also from -Z" in labels["through.stl"]["why"]
    assert labels["turned/bottom.stl"]["label"] == "+Z"
    assert labels["turned/bottom.stl"]["turn"] == "+X-Y-Z"
    assert labels["turned/bottom.stl"]["source"] == "bottom.stl"
    turned = stl.read_stl(tmp_path / "turned" / "bottom.stl").triangles
    assert setups.analyse(turned).directions == ("+Z",)  # the turn made its side the top
    plans = _rows(tmp_path / "setups.csv")
    assert set(plans) == set(parts) and plans["two_sides.stl"]["setups"] == "+Z -Z"
    assert plans["two_sides.stl"]["label"] == "" and plans["through.stl"]["alternatives"] == "+Z|-Z"

    # the labels are render's: every labelled part becomes a meta-image with its label
    out = tmp_path / "images"
    render = _render(tmp_path, ["side.stl", "through.stl", "turned/bottom.stl"], out)
    assert render.returncode == 0, render.stderr
    with (out / "manifest.csv").open() as f:
        assert sorted(r["label"] for r in csv.DictReader(f)) == ["+Z", "+Z", "-X"]

    # a second run keeps labels.csv unless told to replace it; a bad --stock is one line
    again = _cli("-m", "trainer", "label", str(tmp_path))
    assert again.returncode == 2 and "use --overwrite" in again.stderr
    bad = _cli("-m", "trainer", "label", str(tmp_path), "--overwrite", "--stock", "cone")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "cone" in bad.stderr, bad.stderr


def _render(folder, parts: list[str], out, *options: str):
    """`render` the labelled parts of `folder` at 100 px, with its labels.csv."""
    return _cli(
        *("-m", "blender_addon", "render", *(str(folder / p) for p in parts)),
        *("--labels", str(folder / "labels.csv"), "--out", str(out), "--size", "100", *options),
    )


def test_with_plans_multi_setup_parts_are_labelled_with_their_primary_and_plan(tmp_path):
    block = _box(0, 80, 0, 50, 0, 30)
    parts = {
        "two_sides.stl": block - _box(10, 60, 10, 40, 20, 31) - _hole(70, 25, 4, -1, 10),
        # the larger pocket from below: the primary is -Z, so the part is turned over
        "under.stl": block - _box(10, 60, 10, 40, -1, 10) - _hole(70, 25, 4, 20, 31),
        "side.stl": block - _box(-1, 20, 15, 35, 10, 20),
    }
    for name, solid in parts.items():
        stl.write_stl(tmp_path / name, _triangles(solid))
    done = _cli("-m", "trainer", "label", str(tmp_path), "--plans")
    assert done.returncode == 0, done.stderr
    assert "two_sides.stl: 2 setups (+Z -Z): labelled with its plan" in done.stderr
    labels = _rows(tmp_path / "labels.csv")
    assert set(labels) == {"two_sides.stl", "turned/under.stl", "side.stl"}
    assert labels["two_sides.stl"]["plan"] == "+Z -Z" and labels["two_sides.stl"]["label"] == "+Z"
    assert labels["side.stl"]["plan"] == "-X"
    under = labels["turned/under.stl"]
    assert under["plan"] == "+Z -Z" and under["turn"] == "+X-Y-Z" and under["source"] == "under.stl"
    turned = stl.read_stl(tmp_path / "turned" / "under.stl").triangles
    assert setups.analyse(turned).directions == ("+Z", "-Z")
    # render carries the plans into the manifest, turned with each rotation
    out = tmp_path / "images"
    render = _render(
        tmp_path, ["two_sides.stl", "turned/under.stl"], out, "--rotations", "3", "--quiet"
    )
    assert render.returncode == 0, render.stderr
    rows = manifest.read(out / "manifest.csv")
    assert len(rows) == 6 and all(len(plans.parse(r.plan)) == 2 for r in rows)
    assert all(plans.parse(r.plan)[0] == r.label for r in rows)
