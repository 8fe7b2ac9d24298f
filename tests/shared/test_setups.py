"""The geometric setup analysis (shared/geometry/setups.py) on parts built to have a known answer,
with both ray casters: Embree (the command line's) and numpy's (anywhere else)."""

import json

import manifold3d as m3
import numpy as np
import pytest

from blender_addon.inference.analysis import EmbreeCaster
from shared import axisrays, setups, stl
from tests.conftest import run_module

CASTERS = {"embree": EmbreeCaster, "numpy": axisrays.Caster}


def _box(x0, x1, y0, y1, z0, z1):
    return m3.Manifold.cube([x1 - x0, y1 - y0, z1 - z0]).translate([x0, y0, z0])


def _hole(x, y, r, z0, z1):
    return m3.Manifold.cylinder(z1 - z0, r, circular_segments=48).translate([x, y, z0])


def _triangles(solid):
    mesh = solid.to_mesh()
    return np.asarray(mesh.vert_properties, dtype=np.float64)[:, :3][np.asarray(mesh.tri_verts)]


@pytest.fixture(params=sorted(CASTERS))
def analyse(request):
    def run(solid, stock=None):
        t = _triangles(solid)
        return setups.analyse(t, stock, CASTERS[request.param](t))

    return run


def test_a_through_hole_plate_can_be_milled_from_either_face(analyse):
    a = analyse(_box(0, 60, 0, 40, 0, 8) - _hole(30, 20, 5, -1, 9))
    assert a.directions == ("+Z",)  # the tie rule: +Z before -Z
    assert a.alternatives == [("+Z",), ("-Z",)]
    assert a.undercut == 0 and a.setups[0].share == pytest.approx(1)
    assert a.reach["+Z"] == pytest.approx(1) and a.reach["-Z"] == pytest.approx(1)


def test_features_on_two_opposite_sides_need_two_setups(analyse):
    solid = _box(0, 80, 0, 50, 0, 30) - _box(10, 60, 10, 40, 20, 31) - _hole(70, 25, 4, -1, 10)
    a = analyse(solid)
    assert a.directions == ("+Z", "-Z")  # the larger pocket first
    assert a.alternatives == [("+Z", "-Z")]
    first, second = (s.share for s in a.setups)
    assert first > second > 0 and first + second == pytest.approx(1, abs=setups.TOLERANCE)
    # the blind hole from below: its wall and floor, as a share of the machined area
    hole = 2 * np.pi * 4 * 10 + np.pi * 16
    pocket = 50 * 30 + 2 * (50 + 30) * 10
    assert second == pytest.approx(hole / (hole + pocket), rel=0.02)
    # a learned plan in another order gets the shares of that order
    assert a.shares(("+Z", "-Z")) == pytest.approx({"+Z": first, "-Z": second})
    flipped = a.shares(("-Z", "+Z"))
    assert flipped["-Z"] == pytest.approx(a.reach["-Z"]) and sum(flipped.values()) == (
        pytest.approx(1, abs=setups.TOLERANCE)
    )


def test_a_t_slot_is_an_undercut(analyse):
    # a closed T-slot: a narrow opening from the top over a wider cavity
    solid = _box(0, 100, 0, 60, 0, 40) - _box(20, 80, 25, 35, 30, 41) - _box(20, 80, 15, 45, 20, 30)
    a = analyse(solid)
    assert a.directions == ("+Z",)
    # unreached from every side: the cavity's ceilings, its floor and walls under them
    opening = 2 * 60 * 10 + 2 * 10 * 10
    floor, ceilings, long_walls, end_walls = 60 * 30, 2 * 60 * 10, 2 * 60 * 10, 2 * 30 * 10
    hidden = ceilings + (floor - 60 * 10) + long_walls + (end_walls - 2 * 10 * 10)
    machined = opening + floor + ceilings + long_walls + end_walls
    assert a.undercut == pytest.approx(hidden / machined, rel=0.02)
    assert a.setups[0].share == pytest.approx(1 - a.undercut, abs=setups.TOLERANCE)


def test_a_round_bar_stock_leaves_the_bar_uncut(analyse):
    bar = m3.Manifold.cylinder(100, 20, circular_segments=64).rotate([0, 90, 0])
    solid = bar - _box(30, 70, -8, 8, 10, 30)  # a pocket from the top
    boxed = analyse(solid)
    assert len(boxed.directions) > 1  # the box stock would machine the whole round face
    a = analyse(solid, setups.Stock.parse("bar:x"))
    assert a.directions == ("+Z",) and a.undercut == 0
    lo, hi = (
        _triangles(solid).reshape(-1, 3).min(axis=0),
        _triangles(solid).reshape(-1, 3).max(axis=0),
    )
    centre = setups.Stock.parse(f"bar:x:{(lo[1] + hi[1]) / 2},{(lo[2] + hi[2]) / 2},20")
    assert analyse(solid, centre).directions == ("+Z",)
    assert a.machined_area < 0.3 * boxed.machined_area


def test_a_stock_mesh_and_a_part_that_is_all_stock(analyse):
    section = _box(0, 50, 0, 40, 0, 10) + _box(0, 10, 0, 40, 0, 40)  # an L profile
    nothing = analyse(section, setups.Stock("mesh", triangles=_triangles(section)))
    assert nothing.setups == [] and nothing.machined_area == 0
    a = analyse(
        section - _hole(30, 20, 5, 4, 11), setups.Stock("mesh", triangles=_triangles(section))
    )
    assert a.directions == ("+Z",) and a.alternatives == [("+Z",)]
    assert len(analyse(section).directions) == 1  # the box: the inner corner faces +Z and +X


def test_stock_specs_read_back_and_refuse_nonsense():
    for text in ("box", "bar:z", "bar:x:1.5,-2,30"):
        assert setups.Stock.parse(setups.Stock.parse(text).spec()) == setups.Stock.parse(text)
    for bad in ("cylinder", "bar:w", "bar:z:1,2", "box:z"):
        with pytest.raises(ValueError, match="expected"):
            setups.Stock.parse(bad)


def test_the_command_line_prints_the_plan_and_names_bad_files(tmp_path):
    part = tmp_path / "two_sides.stl"
    solid = _box(0, 80, 0, 50, 0, 30) - _box(10, 60, 10, 40, 20, 31) - _hole(70, 25, 4, -1, 10)
    stl.write_stl(part, _triangles(solid))
    (tmp_path / "bad.stl").write_bytes(b"solid nothing\nendsolid\n")

    def cli(*args):
        return run_module("blender_addon", "setups", *args, timeout=120)

    run = cli(str(part), "--json")
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["input"] == str(part) and answer["primary"] == "+Z"
    assert [s["direction"] for s in answer["setups"]] == ["+Z", "-Z"]
    text = cli(str(part), "--rays", "numpy")
    assert text.returncode == 0
    assert text.stdout.startswith(f"{part}: 2 setups: 1. +Z (") and "2. -Z (" in text.stdout
    run = cli(str(part), str(tmp_path / "bad.stl"), str(tmp_path / "missing.stl"))
    assert run.returncode == 1 and run.stdout.startswith(f"{part}: 2 setups")
    errors = run.stderr.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("error: ") for e in errors), errors
    assert "bad.stl" in errors[0] and "missing.stl" in errors[1] and "Traceback" not in run.stderr
    side = cli(str(part), "--learned", "--json")  # the built-in model's plan beside
    learned = json.loads(side.stdout)["learned"]
    assert [s["direction"] for s in learned] == ["+Z", "-Z"], learned
    assert all(0 < s["share"] <= 1 and s["probability"] >= 0.5 for s in learned)
    text = cli(str(part), "--learned").stdout.splitlines()
    assert text[1].startswith("  learned (builtin:face-normals v") and "[same sides]" in text[1]
    run = cli(str(part), "--stock", "cone")
    assert run.returncode == 2 and run.stderr.startswith("error: --stock: stock 'cone'")
