"""The tool-aware plan on parts built to size: each design rule just under and just over its
threshold, the I-beam, a ball end mill on a fillet, and a round pocket that needs nothing."""

import json
import subprocess
import tomllib

import manifold3d as m3
import numpy as np
import pytest

from shared import setups, stl, toolplan, tools
from tests.conftest import run_module
from tests.shared.test_setups import _box, _triangles


def _pocket(w: float, d: float, corner: float, x: float, y: float, floor: float, top: float):
    """A pocket w x d centred at (x, y) from `floor` up through `top`, its vertical corners
    rounded to `corner` (0: sharp)."""
    section = m3.CrossSection.square([w - 2 * corner, d - 2 * corner], center=True)
    if corner:
        section = section.offset(corner, m3.JoinType.Round, circular_segments=96)
    return m3.Manifold.extrude(section, top - floor + 1).translate([x, y, floor])


def _library(*specs: tuple) -> tuple[tools.Tool, ...]:
    """(name, kind, diameter, reach[, holder diameter])."""
    return tuple(
        tools.Tool(s[0], s[1], s[2], s[3], 0.0, s[4] if len(s) > 4 else 0.0) for s in specs
    )


def _kinds(found: toolplan.ToolAnalysis) -> dict[str, toolplan.Finding]:
    return {f.kind: f for f in found.findings}


@pytest.mark.parametrize("width, narrow", [(1.7, True), (2.3, False)])
def test_a_slot_narrower_than_the_smallest_tool_is_too_narrow(width, narrow):
    # a closed slot with round ends (no corner for the tool to miss), 3 mm deep
    slot = _pocket(14, width, width / 2 - 1e-3, 15, 10, 7, 10)
    part = _triangles(_box(0, 30, 0, 20, 0, 10) - slot)
    found = toolplan.analyse(part, _library(("flat 2", "flat", 2.0, 20.0)))
    kinds = _kinds(found)
    if narrow:
        assert set(kinds) == {"too_narrow"}, kinds
        assert found.unreached > 0.9  # all but the slot walls' top rim
        assert f"{width:.2f} mm wide: the smallest tool is 2 mm" in kinds["too_narrow"].message
    else:
        assert kinds == {} and found.unreached < 0.01, found.as_json()
        assert found.plan.directions == ("+Z",) and found.tools[0][0][0] == "flat 2"


@pytest.mark.parametrize("depth, deep", [(11.0, False), (13.0, True)])
def test_a_pocket_deeper_than_the_reach_of_the_tools_that_fit_is_too_deep(depth, deep):
    hole = m3.Manifold.cylinder(depth + 1, 3.0, 3.0, circular_segments=96).translate([15, 10, 0])
    part = _triangles(_box(0, 30, 0, 20, 0, 20) - hole.translate([0, 0, 20 - depth]))
    library = _library(("flat 4", "flat", 4.0, 12.0, 10.0))
    kinds = _kinds(toolplan.analyse(part, library))
    if deep:
        assert set(kinds) == {"too_deep"}, kinds
        assert "reach 12 mm" in kinds["too_deep"].message
        # the wall below the reach and the floor, of the hole's wall and floor
        assert kinds["too_deep"].share == pytest.approx(15 / (6 * depth + 9), abs=0.02)
    else:
        assert kinds == {}, kinds


@pytest.mark.parametrize("corner, sharp", [(1.5, True), (2.5, False)])
def test_a_corner_rounder_than_the_tool_needs_nothing_a_sharper_one_is_found(corner, sharp):
    part = _triangles(_box(0, 30, 0, 20, 0, 10) - _pocket(20, 14, corner, 15, 10, 5, 10))
    found = toolplan.analyse(part, _library(("flat 4", "flat", 4.0, 30.0)))
    kinds = _kinds(found)
    if sharp:
        assert set(kinds) == {"sharp_internal_corner"}, kinds
        assert 0.01 < kinds["sharp_internal_corner"].share < 0.15
        assert "radius under 2 mm" in kinds["sharp_internal_corner"].message
        assert kinds["sharp_internal_corner"].faces  # the corners' faces, to select
    else:
        assert kinds == {} and found.unreached < 0.005, found.as_json()


@pytest.mark.parametrize("wall, thin", [(0.7, True), (0.9, False)])
def test_a_wall_thinner_than_min_wall_is_found(wall, thin):
    left = _pocket(12, 14, 3, 15 - 6 - wall / 2, 10, 5, 10)
    right = _pocket(12, 14, 3, 15 + 6 + wall / 2, 10, 5, 10)
    part = _triangles(_box(0, 30, 0, 20, 0, 10) - left - right)
    kinds = _kinds(toolplan.analyse(part, tools.default_library(), min_wall=0.8))
    if thin:
        assert set(kinds) == {"thin_wall"}, kinds
        assert f"{wall:.2f} mm thick, under the 0.8 mm minimum" in kinds["thin_wall"].message
    else:
        assert kinds == {}, kinds


def test_the_i_beam_is_milled_from_its_sides_not_from_its_end():
    beam = _box(0, 100, 0, 40, 0, 30) - _box(-1, 101, -1, 15, 5, 25) - _box(-1, 101, 25, 41, 5, 25)
    part = _triangles(beam)
    assert setups.analyse(part).primary in ("+X", "-X")  # a ray does go 100 mm down the channel
    found = toolplan.analyse(part, tools.default_library())
    assert set(found.plan.directions) == {"+Y", "-Y"} and found.unreached < 1e-3
    assert found.findings == []


def test_the_features_plan_and_the_cut_windows_change_no_answer():
    """The plan without its findings (the learned models' features) is the plan with them; a
    tip made over a window of the grid is the whole grid's tip there (the plan makes tips only
    where points are left)."""
    beam = _box(0, 100, 0, 40, 0, 30) - _box(-1, 101, -1, 15, 5, 25) - _box(-1, 101, 25, 41, 5, 25)
    part = _triangles(beam - _box(40, 40.6, 10, 30, 26, 31))  # a slot no tool fits
    library = tools.default_library()
    full = toolplan.analyse(part, library)
    bare = toolplan.analyse(part, library, findings=False)
    assert bare.findings == [] and full.findings
    assert bare.plan.directions == full.plan.directions and bare.tools == full.tools
    np.testing.assert_array_equal(bare.plan.by_mask, full.plan.by_mask)
    for tool in (library[0], library[-1]):  # flat 1, ball 16
        whole = toolplan.Sides(part, library)[0].tip(tool)
        window = toolplan.Sides(part, library)[0].tip(tool, True, (7, 40, 3, 25))
        np.testing.assert_array_equal(window, whole[7:40, 3:25])


def test_a_part_without_a_single_wall_edge_on_is_analysed():
    """A sphere has no face seen edge-on from any side (the height maps draw no wall)."""
    ball = _triangles(m3.Manifold.sphere(10, 48).translate([10, 10, 10]))
    found = toolplan.analyse(ball, tools.default_library(), findings=False)
    assert set(found.plan.directions) == {"+Z", "-Z"} and found.unreached < 1e-3


def _fillet_step(radius: float) -> np.ndarray:
    """A block 30 x 20 x 20 with a step 10 deep along Y, its inner edge filleted to `radius`."""
    quarter = m3.CrossSection.circle(radius, 192).translate([15 + radius, 10 + radius])
    corner = m3.CrossSection.square([radius, radius]).translate([15, 10]) - quarter
    section = m3.CrossSection.square([30, 10]) + m3.CrossSection.square([15, 20]) + corner
    solid = m3.Manifold.extrude(section, 20).rotate([90, 0, 0]).translate([0, 20, 0])
    return _triangles(solid)


@pytest.mark.parametrize("radius, fits", [(4.0, True), (2.0, False)])
def test_a_ball_end_mill_reaches_a_fillet_as_round_as_itself(radius, fits):
    part = _fillet_step(radius)
    found = toolplan.analyse(part, _library(("ball 6", "ball", 6.0, 30.0)))
    if fits:
        assert found.findings == [] and found.unreached < 0.005, found.as_json()
    else:
        assert found.unreached > 0.01 and found.findings, found.as_json()


def test_a_round_pocket_needs_only_a_normal_tool_and_has_no_finding():
    hole = m3.Manifold.cylinder(6, 10.0, 10.0, circular_segments=128).translate([20, 15, 5])
    part = _triangles(_box(0, 40, 0, 30, 0, 10) - hole)
    found = toolplan.analyse(part, tools.default_library())
    assert found.plan.directions == ("+Z",) and found.findings == []
    assert found.unreached < 1e-3
    largest = found.tools[0][0][0]
    assert largest == "flat 16", found.tools  # the largest tool that fits does most of it


def _cli(*args: str) -> subprocess.CompletedProcess:
    return run_module("blender_addon", "setups", *args)


def test_the_command_line_gives_tools_findings_and_units_and_keeps_the_old_answer(tmp_path):
    part = tmp_path / "pocket.stl"
    stl.write_stl(part, _triangles(_box(0, 40, 0, 30, 0, 20) - _pocket(20, 14, 0, 20, 15, 10, 20)))
    run = _cli("--json", str(part))
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["units"] == "mm" and answer["lengths"] == "mm"
    assert [s["direction"] for s in answer["setups"]] == ["+Z"]
    names = [t["name"] for t in answer["setups"][0]["tools"]]
    assert names[0] == "flat 16" and "flat 1" in names  # largest first, down to the corners
    corner = next(f for f in answer["findings"] if f["kind"] == "sharp_internal_corner")
    assert corner["faces"] and "mm" in corner["message"] and 0 < corner["share"] < 0.1
    old = json.loads(_cli("--json", "--tools", "none", str(part)).stdout)
    zero = setups.analyse(stl.read_stl(part).triangles).as_json()
    assert {k: old[k] for k in zero} == json.loads(json.dumps(zero))  # --tools none: as before

    text = _cli(str(part))
    assert text.stdout.startswith(f"{part}: 1 setup: 1. +Z (") and "flat 16" in text.stdout
    assert "  sharp_internal_corner: sharp internal corner: a radius under" in text.stdout

    inches = _cli("--json", "--units", "in", str(part))  # 40 in across: a 1 m part
    assert inches.returncode == 0 and json.loads(inches.stdout)["units"] == "in"
    small = tmp_path / "small.stl"
    stl.write_stl(small, stl.read_stl(part).triangles / 25.4)  # the part, written in inches
    warned = _cli(str(small))
    assert warned.returncode == 0
    assert f"warning: {small}: 1.57 mm across read as mm" in warned.stderr
    assert "give --units in" in warned.stderr
    same = json.loads(_cli("--json", "--units", "in", str(small)).stdout)
    assert [s["direction"] for s in same["setups"]] == ["+Z"] and "warning" not in inches.stderr


def test_a_tool_library_is_read_and_a_bad_one_is_one_line_naming_file_and_tool(tmp_path):
    library = tmp_path / "shop.toml"
    library.write_text(
        '[[tool]]\nname = "bull 10"\nkind = "bull"\ndiameter = 10\ncorner_radius = 1\n'
        "reach = 30\nholder_diameter = 25\n"
    )
    (tool,) = tools.read_library(library)
    assert (tool.kind, tool.corner, tool.holder_radius) == ("bull", 1.0, 12.5)
    assert tool.drop(4.0) == 0.0 and tool.drop(5.0) == pytest.approx(1.0)
    assert tools.parse_library(tomllib.loads(tools.default_toml())) == tools.default_library()
    cases = {
        'name = "x"\nkind = "drill"\ndiameter = 3\nreach = 9': "kind must be one of flat",
        'name = "x"\nkind = "flat"\ndiameter = -3\nreach = 9': "diameter must be a positive",
        'name = "x"\nkind = "flat"\ndiameter = 3': "needs reach",
        'name = "x"\nkind = "ball"\ndiameter = 3\nreach = 9\ncorner_radius = 1': "bull tools only",
        'name = "x"\nkind = "flat"\ndiameter = 3\nreach = 9\nflutes = 2': "unknown key 'flutes'",
    }
    part = tmp_path / "block.stl"
    stl.write_stl(part, _triangles(_box(0, 10, 0, 10, 0, 10)))
    for body, says in cases.items():
        library.write_text(f"[[tool]]\n{body}\n")
        run = _cli("--tools", str(library), str(part))
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert run.stderr.startswith(f"error: --tools: {library}: tool 1 ('x'") or (
            f"{library}: tool 1" in run.stderr
        ), run.stderr
        assert says in run.stderr and run.stdout == ""
    library.write_text("[[tool]\n")
    run = _cli("--tools", str(library), str(part))
    assert run.returncode == 2 and f"{library}: not a TOML file" in run.stderr
    run = _cli("--tools", str(tmp_path / "none.toml"), str(part))
    assert run.returncode == 2 and "cannot read it" in run.stderr


def test_the_cutter_agrees_with_opencamlibs_drop_cutter():
    import opencamlib as ocl  # in the dev extra: make setup installs it

    from bench.toolcheck import check_part

    for part in (
        _triangles(_box(0, 40, 0, 30, 0, 20) - _pocket(20, 14, 3, 20, 15, 8, 20)),
        _fillet_step(4.0),
    ):
        checked = check_part(ocl, part, 16)
        gaps = np.concatenate([g for g, _ in checked])
        cells = np.concatenate([np.full(len(g), c) for g, c in checked])
        assert len(gaps) > 1000
        assert (gaps <= 0.5 * cells).mean() > 0.95 and np.median(gaps) < 0.05
