"""The tool-aware plan on parts built to size: each design rule just under and just over its
threshold, the I-beam, a ball end mill on a fillet, and a round pocket that needs nothing."""

import manifold3d as m3
import numpy as np
import pytest

from shared import setups, toolplan, tools


def _box(x0, x1, y0, y1, z0, z1) -> m3.Manifold:
    return m3.Manifold.cube([x1 - x0, y1 - y0, z1 - z0]).translate([x0, y0, z0])


def _pocket(w: float, d: float, corner: float, x: float, y: float, floor: float, top: float):
    """A pocket w x d centred at (x, y) from `floor` up through `top`, its vertical corners
    rounded to `corner` (0: sharp)."""
    section = m3.CrossSection.square([w - 2 * corner, d - 2 * corner], center=True)
    if corner:
        section = section.offset(corner, m3.JoinType.Round, circular_segments=96)
    return m3.Manifold.extrude(section, top - floor + 1).translate([x, y, floor])


def _triangles(solid: m3.Manifold) -> np.ndarray:
    mesh = solid.to_mesh()
    return np.asarray(mesh.vert_properties, dtype=np.float64)[:, :3][np.asarray(mesh.tri_verts)]


def _library(*specs: tuple) -> tuple[tools.Tool, ...]:
    """(name, kind, diameter, reach[, holder diameter])."""
    return tuple(tools.Tool(s[0], s[1], s[2], s[3], 0.0, s[4] if len(s) > 4 else 0.0) for s in specs)


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
