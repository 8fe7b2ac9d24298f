"""What the viewport draws (scene/marks.py, real bpy): the coloured faces without cracks or
speckles, and arrows and rings in screen space."""

import numpy as np
import pytest

from shared import setups, toolplan, tools


def _boss() -> np.ndarray:
    """A block with a round boss of many thin facets on top, in mm."""
    import manifold3d as m3

    part = m3.Manifold.cube([40, 40, 10]) + m3.Manifold.cylinder(12, 8, 8, 96).translate(
        [20, 20, 10]
    )
    part += m3.Manifold.cube([40, 40, 2]).translate([0, 0, 22])  # a lid: the boss is inside
    part -= m3.Manifold.cube([40, 30, 2]).translate([0, 5, 22])
    mesh = part.to_mesh()
    return np.asarray(mesh.vert_properties)[:, :3][np.asarray(mesh.tri_verts)]


def test_no_speckles_every_machined_facet_of_a_curved_boss_has_a_colour():
    from blender_addon.inference import toolaware
    from blender_addon.scene import stored

    triangles = _boss()
    found = toolplan.analyse(
        triangles, tools.default_library(), count=toolaware.PANEL_SAMPLES, findings=False
    )
    codes = np.array(list(stored.face_codes(found, found.plan.directions, triangles)))
    stock = setups.on_stock(triangles, setups.Stock())
    assert ((codes == stored.NOT_MACHINED) == stock).all()  # only the stock's own faces


def test_the_coloured_faces_have_no_cracks_and_stand_off_the_part():
    from blender_addon.scene import marks

    triangles = _boss()
    codes = "0" * len(triangles)
    positions, colours = marks.face_colours(triangles, codes)
    assert positions.shape == (3 * len(triangles), 3) and colours.shape == (len(positions), 4)
    # one corner shared by several facets is lifted to one place: no crack between them
    corners = triangles.reshape(-1, 3)
    _, first, inverse = np.unique(corners.round(6), axis=0, return_index=True, return_inverse=True)
    assert np.abs(positions - positions[first][inverse]).max() < 1e-9
    lift = np.linalg.norm(positions - corners, axis=1)
    size = np.linalg.norm(corners.max(axis=0) - corners.min(axis=0))
    assert lift.max() == pytest.approx(marks.LIFT * size) and lift.min() > 0
    base = np.array(marks.STRIP_COLOURS[marks.SETUP_TAGS[0]])
    shade = colours[:, :3] / base
    assert np.allclose(shade, shade[:, :1]) and shade.min() > 0.64 and shade.max() <= 1.0
    with pytest.raises(ValueError, match="face codes"):
        marks.face_colours(triangles, codes[:-1])
    none, _ = marks.face_colours(triangles, "." * len(triangles))
    assert len(none) == 0


def test_each_setup_has_one_colour_and_its_arrow_points_at_the_part_on_screen():
    from blender_addon.scene import marks

    assert len({marks.setup_colour(k) for k in range(6)}) == 6
    assert marks.colour(marks.UNREACHED_TAG) not in {marks.setup_colour(k) for k in range(6)}
    tip = np.array([100.0, 50.0])
    tris, label = marks.arrow_2d(tip, np.array([0.0, -3.0]))  # a side below the part
    points = tris.reshape(-1, 2)
    assert np.allclose(points[0], (tip[0], tip[1] - marks.GAP_PX))  # the point, off the part
    assert (points[:, 1] <= tip[1] - marks.GAP_PX + 1e-9).all()  # all of it on that side
    assert label[1] < points[:, 1].min()  # the number beyond the tail
    big, _ = marks.arrow_2d(tip, np.array([0.0, -3.0]), scale=2.0)
    assert np.ptp(big.reshape(-1, 2)[:, 1]) == pytest.approx(2 * np.ptp(points[:, 1]))
    assert marks.arrow_2d(tip, np.zeros(2)) is None  # seen end-on: a ring instead
    ring = marks.ring_2d(tip).reshape(-1, 2)
    radius = np.linalg.norm(ring - tip, axis=1)
    assert radius.min() == pytest.approx(7.0) and radius.max() == pytest.approx(11.0)


def test_the_panel_swatches_are_blenders_strip_colours(addon):
    import bpy

    from blender_addon.scene import marks
    from blender_addon.ui import answer_panels

    theme = bpy.context.preferences.themes[0]
    for tag, rgb in enumerate(marks.STRIP_COLOURS):
        assert tuple(theme.strip_color[tag].color) == pytest.approx(rgb, abs=2e-3)
        icon = answer_panels.swatch(tag)
        assert icon in bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items


def test_a_tool_coming_at_the_viewer_has_a_dot_in_its_ring():
    from blender_addon.scene import marks

    centre = np.array([10.0, 20.0])
    dot = marks.dot_2d(centre).reshape(-1, 2)
    assert np.linalg.norm(dot - centre, axis=1).max() == pytest.approx(4.0)
    assert np.linalg.norm(marks.ring_2d(centre).reshape(-1, 2) - centre, axis=1).min() > 4.0


def test_an_arrow_starts_beside_the_parts_outline_on_screen():
    from blender_addon.scene import marks

    lo, hi = np.array([100.0, 100.0]), np.array([300.0, 200.0])
    centre_top = np.array([200.0, 150.0])  # the top face's centre, seen from above at a slant
    tip = marks.leave_box(centre_top, np.array([0.0, 5.0]), lo, hi)
    assert np.allclose(tip, (200.0, 200.0))  # straight up, out of the outline's top
    tip = marks.leave_box(centre_top, np.array([-1.0, -1.0]), lo, hi)
    assert np.allclose(tip, (150.0, 100.0))  # down-left: the bottom edge comes first
    outside = np.array([50.0, 150.0])  # already beside the outline: stays where it is
    assert np.allclose(marks.leave_box(outside, np.array([-1.0, 0.0]), lo, hi), outside)
