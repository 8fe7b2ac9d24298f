"""The setup plan in Blender (real bpy): the answer kept on its part (each setup's share, tools
and faces), Add as Objects, and the BVH caster behind the shares."""

import numpy as np
import pytest

from shared import axisrays, classes, plans, setups
from shared.geometry.stl import write_stl
from trainer.synth import multiside


def _block(sides: int, label: str = "+Z") -> np.ndarray:
    return multiside.build(np.random.default_rng([42, sides]), label, sides)[0]


def test_the_bvh_caster_gives_the_analysis_of_the_numpy_caster():
    from blender_addon.scene.answer import BVHCaster

    t = _block(3)
    a = setups.analyse(t, caster=BVHCaster(t), count=3000)
    b = setups.analyse(t, caster=axisrays.Caster(t), count=3000)
    assert a.alternatives == b.alternatives and len(a.directions) == 3
    for d in setups.TIE_ORDER:
        assert a.reach[d] == pytest.approx(b.reach[d], abs=2e-3), d


def _import(tmp_path, triangles, name="block"):
    import bpy

    path = tmp_path / f"{name}.stl"
    write_stl(path, triangles)
    assert bpy.ops.milling.import_stl(filepath=str(path)) == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def _scene_data():
    import bpy

    return {
        kind: set(getattr(bpy.data, kind))
        for kind in ("objects", "meshes", "curves", "materials", "collections")
    }


def test_predict_keeps_the_plan_on_its_part_and_adds_nothing_to_the_scene(addon, tmp_path):
    import bpy

    from blender_addon.inference import builtin
    from blender_addon.scene import stored

    triangles = _block(3)
    part = _import(tmp_path, triangles)
    before = _scene_data()
    assert bpy.ops.milling.predict() == {"FINISHED"}
    assert _scene_data() == before  # the viewport draws the answer: no object, mesh, material
    expected = builtin.load().predict(triangles)
    answer = stored.load(part)
    assert answer.plan == (tuple(s.direction for s in expected.plan) or (expected.label,))
    assert len(answer.plan) == 3 and answer.label == answer.plan[0] == expected.label
    assert answer.setups[0].confidence == pytest.approx(expected.confidence, abs=0.01)
    shares = [s.share for s in answer.setups]
    assert all(s > 0 for s in shares)
    assert 0.9 < sum(shares) <= 1 + 1e-9  # less what no tool reaches
    assert all(s.tools for s in answer.setups)  # each setup names its tools
    assert answer.summary == f"3 setups: {', '.join(answer.plan)}"
    props = bpy.context.scene.milling
    assert props.status == "" and not props.status_error  # the Answer panel shows it
    codes = stored.faces(part)
    assert len(codes) == len(triangles) and set(codes) >= {"0", "1", "2"}
    bpy.data.objects.remove(part)


def test_answers_belong_to_their_parts(addon, tmp_path):
    import bpy

    from blender_addon.scene import stored

    first = _import(tmp_path, _block(2), "first")
    assert bpy.ops.milling.predict() == {"FINISHED"}
    said = stored.load(first)
    second = _import(tmp_path, _block(3), "second")
    assert stored.load(second) is None  # a new part: not predicted yet
    assert bpy.ops.milling.predict() == {"FINISHED"}
    assert stored.load(first) == said  # the first part keeps its own answer
    assert stored.load(second).plan != said.plan
    bpy.context.view_layer.objects.active = first
    assert stored.load(bpy.context.active_object) == said
    # the part changes: its answer is not shown as the answer to the new shape
    first.data.vertices.add(1)
    assert stored.load(first) is None and stored.stale(first)
    # a failed Predict of a part drops that part's answer, and only that one's
    bpy.context.view_layer.objects.active = second
    second.data.polygons.foreach_set("vertices", [0] * (3 * len(second.data.polygons)))
    second.data.update()
    with pytest.raises(RuntimeError, match="no faces with an area"):
        bpy.ops.milling.predict()
    assert stored.ANSWER not in second and stored.ANSWER in first
    for obj in (first, second):
        bpy.data.objects.remove(obj)


def test_add_as_objects_makes_the_answer_geometry_in_the_setups_colours(addon, tmp_path):
    import bpy

    from blender_addon.scene import marks, stored
    from blender_addon.scene.answer import remove_arrows

    part = _import(tmp_path, _block(3), "three")
    assert bpy.ops.milling.predict() == {"FINISHED"}
    plan = stored.load(part).plan
    before = _scene_data()
    assert bpy.ops.milling.add_objects() == {"FINISHED"}
    assert bpy.ops.milling.add_objects() == {"FINISHED"}  # again: replaced, not doubled
    made = [o for o in bpy.data.objects if o.get("milling_arrow")]
    arrows = sorted((o for o in made if o.get("milling_setup")), key=lambda o: o["milling_setup"])
    numbers = [o for o in made if o.type == "FONT"]
    (faces,) = [o for o in made if o.name.endswith("Milling Setups")]
    assert len(arrows) == len(numbers) == len(plan) == 3
    for k, (arrow, side) in enumerate(zip(arrows, plan, strict=True)):
        assert arrow.name == f"three: Setup {k + 1} ({side})"
        toward = np.asarray(classes.direction(side), float)
        assert np.asarray(arrow.matrix_world.to_3x3().col[2]) @ -toward > 0.999  # at the part
        assert tuple(arrow.data.materials[0].diffuse_color) == pytest.approx(marks.setup_colour(k))
    assert sorted(n.data.body for n in numbers) == ["1", "2", "3"]
    assert faces.data.color_attributes["Setup"] and faces.matrix_world == part.matrix_world
    assert all(o.get("milling_part") == part.name and o.hide_select for o in made)
    remove_arrows()  # the objects, their meshes, curves and materials
    assert _scene_data()["materials"] == before["materials"]
    assert _scene_data()["objects"] == before["objects"]
    bpy.data.objects.remove(part)


def test_the_panel_shares_follow_the_plan_order():
    t = _block(2)
    analysis = setups.analyse(t, caster=axisrays.Caster(t))
    first, second = analysis.directions
    shares = analysis.shares((second, first))
    assert shares[second] == pytest.approx(analysis.reach[second])
    text = plans.describe(
        [plans.Step(second, 0.9, shares[second]), plans.Step(first, 0.8, shares[first])]
    )
    assert text.startswith(f"1. {second} (") and f"  2. {first} (" in text


def test_face_setups_colour_each_machined_face_by_the_setup_that_mills_it():
    t = _block(2)
    plan = setups.analyse(t, caster=axisrays.Caster(t)).directions
    faces = setups.face_setups(t, plan, caster=axisrays.Caster(t))
    assert set(np.unique(faces)) == {setups.STOCK_FACE, 0, 1}  # no undercut in a whole plan
    # without its second setup, the faces only that one mills are undercut, and only those
    alone = setups.face_setups(t, plan[:1], caster=axisrays.Caster(t))
    assert (alone == setups.UNDERCUT_FACE).any()
    assert ((alone == setups.UNDERCUT_FACE) <= (faces == 1)).all()
    assert ((alone == 0) == (faces == 0)).all()


def test_predict_lists_each_setups_tools_and_the_findings_and_selects_their_faces(addon, tmp_path):
    import bpy
    import manifold3d as m3

    from blender_addon.scene import stored

    # a block with two pockets 0.5 mm apart and sharp corners, in mm
    block = m3.Manifold.cube([40, 30, 20])
    for x0 in (5, 20.25):
        block -= m3.Manifold.cube([14.75, 14, 11]).translate([x0, 8, 10])
    mesh = block.to_mesh()
    triangles = np.asarray(mesh.vert_properties)[:, :3][np.asarray(mesh.tri_verts)]
    path = tmp_path / "pockets.stl"
    write_stl(path, triangles)
    scene = bpy.context.scene
    units = scene.unit_settings
    before = (units.system, units.scale_length, units.length_unit)  # put back at the end
    units.system, units.scale_length, units.length_unit = "METRIC", 1.0, "METERS"
    assert bpy.ops.milling.import_stl(filepath=str(path)) == {"FINISHED"}
    assert scene.unit_settings.scale_length == pytest.approx(0.001)  # a default scene: mm
    part = bpy.context.view_layer.objects.active
    assert bpy.ops.milling.predict() == {"FINISHED"}
    answer = stored.load(part)
    (setup,) = answer.setups
    assert (setup.direction, setup.share) == ("+Z", pytest.approx(1.0))
    assert setup.tools[:2] == ["ball 16", "flat 12"]
    assert setup.tools[-1] == "flat 1"  # largest first, down to the smallest for the corners
    kinds = {f.kind: f for f in answer.findings}
    # the wall, and the pockets' sharp corners (deeper than the smallest tools reach)
    assert "thin_wall" in kinds and {"sharp_internal_corner", "too_deep"} & set(kinds)
    assert "0.50 mm thick" in kinds["thin_wall"].message and answer.warning == ""
    assert "e" in stored.faces(part)  # the wall's faces drawn in the thin wall's grey
    index = list(kinds).index("thin_wall")
    assert bpy.ops.milling.select_finding(index=index) == {"FINISHED"}
    selected = [p for p in part.data.polygons if p.select]
    assert selected and all(abs(p.normal.x) > 0.99 for p in selected)  # the wall's two sides
    assert {round(p.center.x, 2) for p in selected} == {19.75, 20.25}

    scene.unit_settings.scale_length = 1.0  # the same numbers read as metres: 40 m
    assert bpy.ops.milling.predict() == {"FINISHED"}
    assert stored.load(part).warning.startswith("pockets is 40 m across in this scene's units")
    bpy.data.objects.remove(part)
    units.system, units.scale_length, units.length_unit = before
