"""The setup plan in Blender (real bpy): the built-in model's plan as numbered arrows, the panel's
list with each setup's share of the machined area, and the BVH caster behind those shares."""

import numpy as np
import pytest

from shared import axisrays, classes, plans, setups
from shared.geometry.stl import write_stl
from shared.prediction import Prediction
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


def _arrows_and_numbers():
    import bpy

    marked = [
        o for o in bpy.data.objects if o.get("milling_arrow") and not o.get("milling_overlay")
    ]
    arrows = sorted((o for o in marked if o.type == "MESH"), key=lambda o: o["milling_setup"])
    return arrows, [o for o in marked if o.type == "FONT"]


def test_a_plan_shows_one_numbered_arrow_per_setup_with_its_share(addon):
    import bpy

    from blender_addon.scene import answer as predict

    triangles = _block(3)
    mesh = bpy.data.meshes.new("three_sides")
    mesh.from_pydata(
        [tuple(p) for p in triangles.reshape(-1, 3)],
        [],
        [(3 * i, 3 * i + 1, 3 * i + 2) for i in range(len(triangles))],
    )
    part = bpy.data.objects.new("three_sides", mesh)
    bpy.context.scene.collection.objects.link(part)
    objects, curves = set(bpy.data.objects), set(bpy.data.curves)
    truth = setups.analyse(triangles, caster=axisrays.Caster(triangles)).directions
    # a plan head's answer that names the true sides, the primary first
    scores = [0.9 if d in truth else 0.1 for d in plans.SIDES]
    label = truth[0]
    answer = Prediction.from_scores(
        [0.8 if c == label else 0.05 for c in classes.CLASSES], "test"
    ).with_plan(scores)
    answer = predict.with_shares(triangles, answer)
    assert answer.plan[0].direction == label and len(answer.plan) == 3
    shares = [s.share for s in answer.plan]
    assert all(s > 0 for s in shares) and sum(shares) == pytest.approx(1, abs=0.01)
    predict.show_arrow(bpy.context.scene, part, triangles, answer)
    arrows, numbers = _arrows_and_numbers()
    assert [a["milling_label"] for a in arrows] == [s.direction for s in answer.plan]
    assert sorted(n.data.body for n in numbers) == ["1", "2", "3"]
    for arrow in arrows:  # from its side towards the part
        side = np.asarray(classes.direction(arrow["milling_label"]), float)
        assert np.asarray(arrow.matrix_world.to_3x3().col[2]) @ -side > 0.999
    listed = plans.describe(answer.plan).split("  ")
    assert listed[0].startswith(f"1. {label} (") and "of the machined area" in listed[0]
    predict.remove_arrows()  # the arrows, the numbers, their data and materials
    assert set(bpy.data.objects) == objects and set(bpy.data.curves) == curves
    bpy.data.objects.remove(part)


def test_predict_with_the_built_in_model_lists_its_plan(addon, tmp_path):
    import bpy

    from blender_addon.inference import builtin

    path = tmp_path / "block.stl"
    triangles = _block(2)
    write_stl(path, triangles)
    assert bpy.ops.milling.import_stl(filepath=str(path)) == {"FINISHED"}
    part = bpy.context.view_layer.objects.active
    assert bpy.ops.milling.predict() == {"FINISHED"}
    expected = builtin.load().predict(triangles)
    steps = [s.direction for s in expected.plan] or [expected.label]
    arrows, numbers = _arrows_and_numbers()
    assert [a["milling_label"] for a in arrows] == steps
    assert len(numbers) == (len(steps) if len(steps) > 1 else 0)
    props = bpy.context.scene.milling
    listed = props.prediction_plan.splitlines()
    if expected.plan:  # a built-in model with a plan head
        assert [line.split()[1] for line in listed] == steps
        assert listed[0].startswith(f"1. {steps[0]} (") and "of the machined area" in listed[0]
    else:  # the 5-class answer alone
        assert listed == []
    assert props.prediction_label == steps[0] == expected.label
    bpy.data.objects.remove(part)
    from blender_addon.scene.answer import remove_arrows

    remove_arrows()


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


def test_the_overlay_shows_and_goes_with_the_checkbox_and_with_the_next_answer(addon, tmp_path):
    import bpy

    from blender_addon.scene.overlay import OVERLAY_TAG

    path = tmp_path / "block.stl"
    write_stl(path, _block(2))
    assert bpy.ops.milling.import_stl(filepath=str(path)) == {"FINISHED"}
    part = bpy.context.view_layer.objects.active
    props = bpy.context.scene.milling

    def overlays():
        return [o for o in bpy.data.objects if o.get(OVERLAY_TAG)]

    props.show_setups = False
    assert bpy.ops.milling.predict() == {"FINISHED"}
    assert overlays() == [] and props.prediction_legend == ""
    props.show_setups = True  # on: the last answer's overlay at once
    (overlay,) = overlays()
    plan = [a["milling_label"] for a in _arrows_and_numbers()[0]]
    assert props.prediction_legend.startswith(f"1. {plan[0]} blue")
    kinds = {f.kind for f in props.findings if f.faces}
    # each setup, then unreached, then each kind of design finding with faces
    assert len(overlay.data.materials) == len(plan) + 1 + len(kinds)
    assert "unreached magenta" in props.prediction_legend
    assert all(k.replace("_", " ") in props.prediction_legend for k in kinds)
    used = {p.material_index for p in overlay.data.polygons}
    assert 0 in used and used <= set(range(len(overlay.data.materials)))
    assert overlay.matrix_world == part.matrix_world and overlay.hide_select
    assert bpy.ops.milling.predict() == {"FINISHED"}  # a new answer: one overlay, not two
    assert len(overlays()) == 1
    props.show_setups = False
    assert overlays() == [] and props.prediction_legend == ""
    assert _arrows_and_numbers()[0]  # the arrows stay
    bpy.data.objects.remove(part)
    from blender_addon.scene.answer import remove_arrows

    remove_arrows()


def test_predict_lists_each_setups_tools_and_the_findings_and_selects_their_faces(addon, tmp_path):
    import bpy
    import manifold3d as m3

    from blender_addon.scene.answer import remove_arrows

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
    props = scene.milling
    props.show_setups = True
    assert bpy.ops.milling.predict() == {"FINISHED"}
    first = props.prediction_plan.splitlines()[0]
    assert first.startswith("1. +Z (100 % of the machined area): ball 16, flat 12")
    assert first.endswith(", flat 1")  # largest first, down to the smallest for the corners
    kinds = {f.kind: f for f in props.findings}
    # the wall, and the pockets' sharp corners (deeper than the smallest tools reach)
    assert "thin_wall" in kinds and {"sharp_internal_corner", "too_deep"} & set(kinds)
    assert "0.50 mm thick" in kinds["thin_wall"].message and props.prediction_warning == ""
    assert "thin wall white" in props.prediction_legend
    props.findings_index = list(kinds).index("thin_wall")
    assert bpy.ops.milling.select_finding() == {"FINISHED"}
    selected = [p for p in part.data.polygons if p.select]
    assert selected and all(abs(p.normal.x) > 0.99 for p in selected)  # the wall's two sides
    assert {round(p.center.x, 2) for p in selected} == {19.75, 20.25}

    scene.unit_settings.scale_length = 1.0  # the same numbers read as metres: 40 m
    assert bpy.ops.milling.predict() == {"FINISHED"}
    assert props.prediction_warning.startswith("pockets is 40 m across in this scene's units")
    bpy.data.objects.remove(part)
    remove_arrows()
    units.system, units.scale_length, units.length_unit = before
