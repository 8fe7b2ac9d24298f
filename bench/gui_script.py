"""Runs inside the Blender application, started by bench/gui_check.py (not by hand): install the
zip, then drive the add-on as a user would, one step per timer tick so that the window draws
between steps, and save screenshots. Prints one GUI_FACTS line of JSON. Also runs against an
older zip (`gui_check.py --zip`), for before-and-after screenshots: what it lacks is skipped."""

import json
import subprocess
import sys

import bpy

ZIP, PART, SECOND, BAD, FOLDER, OUT = sys.argv[sys.argv.index("--") + 1 :]
MODULE = "bl_ext.user_default.milling_directions"
facts: dict = {}


def area_of(kind: str = "VIEW_3D"):
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == kind:
                return window, area
    raise LookupError(kind)


def where():
    window, area = area_of()
    return window, area, next(r for r in area.regions if r.type == "UI")


def shot(name: str, kind: str = "VIEW_3D", region_type: str = "UI") -> None:
    """The region (the sidebar, the outliner) and the whole window, as PNG files."""
    window, area = area_of(kind)
    region = next(r for r in area.regions if r.type == region_type)
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.wm.redraw_timer(type="DRAW_WIN_SWAP", iterations=2)
    top = window.height - (region.y + region.height)  # X counts from the top, Blender not
    crop = f"{region.width}x{region.height}+{region.x}+{top}"
    subprocess.run(["import", "-window", "root", "-crop", crop, f"{OUT}/{name}.png"], check=True)
    subprocess.run(["import", "-window", "root", f"{OUT}/{name}_window.png"], check=True)
    props = bpy.context.scene.milling
    facts.setdefault("shots", {})[name] = {"status": props.status, "sidebar_px": region.width}


def run(op, *args, **kw):
    window, area, region = where()
    with bpy.context.temp_override(window=window, area=area, region=region):
        try:
            return sorted(op(*args, **kw))
        except RuntimeError as e:
            return ["ERROR", str(e).strip().splitlines()[-1]]


def view(axis: str) -> None:
    window, area, _ = where()
    region = next(r for r in area.regions if r.type == "WINDOW")
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.view3d.view_axis(type=axis)
        bpy.ops.view3d.view_selected()
        bpy.ops.view3d.zoom(delta=-1)  # room for the arrows round the part


def plan_of(name: str):
    """The part's plan as the add-on keeps it (this pass: on the part; before: the panel's)."""
    obj = bpy.data.objects.get(name)
    stored = sys.modules.get(MODULE + ".scene.stored")
    if stored is not None:
        answer = stored.load(obj)
        return None if answer is None else list(answer.plan)
    props = bpy.context.scene.milling
    if obj is None or props.prediction_part != name:
        return None
    return [line.split()[1] for line in props.prediction_plan.splitlines()] or None


def select(name: str) -> None:
    for obj in bpy.context.view_layer.objects:
        obj.select_set(obj.name == name)
    bpy.context.view_layer.objects.active = bpy.data.objects.get(name)


def steps():
    bpy.ops.extensions.package_install_files(
        filepath=ZIP, repo="user_default", enable_on_install=True
    )
    prefs = bpy.context.preferences.addons[MODULE].preferences
    if hasattr(prefs, "corrections_dir"):
        prefs.corrections_dir = OUT + "/corrections"
    window, area, region = where()
    area.spaces.active.show_region_ui = True
    subprocess.run(["xdotool", "mousemove", "300", "600", "key", "Escape"], check=False)  # splash
    yield 0.5
    region.active_panel_category = "Milling"
    bpy.data.objects.remove(bpy.data.objects["Cube"])
    # as the buttons run them: invoked, each pushing its undo step (undo=True)
    facts["import"] = run(bpy.ops.milling.import_stl, "EXEC_DEFAULT", True, filepath=PART)
    first = bpy.context.view_layer.objects.active.name
    facts["predict"] = run(bpy.ops.milling.predict, "INVOKE_DEFAULT", True)
    facts["plan"] = plan_of(first)
    facts["objects_after_predict"] = sorted(o.name for o in bpy.data.objects)
    view("FRONT")
    yield 0.5
    shot("three_setups_front")
    view("BOTTOM")
    yield 0.5
    shot("three_setups_below")
    shot("outliner", "OUTLINER", "WINDOW")
    view("FRONT")
    window, area, _ = where()
    region = next(r for r in area.regions if r.type == "WINDOW")
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.view3d.view_orbit(angle=0.5, type="ORBITUP")
        bpy.ops.view3d.view_orbit(angle=0.6, type="ORBITLEFT")
    yield 0.5
    shot("three_setups_orbit")
    view("FRONT")

    # a second part: its own answer; one undo takes only that one back
    facts["import_second"] = run(bpy.ops.milling.import_stl, "EXEC_DEFAULT", True, filepath=SECOND)
    second = bpy.context.view_layer.objects.active.name
    bpy.data.objects[second].location.x += 1.5 * max(bpy.data.objects[first].dimensions)
    facts["predict_second"] = run(bpy.ops.milling.predict, "INVOKE_DEFAULT", True)
    both = {"first": plan_of(first), "second": plan_of(second)}
    facts["two_answers"] = both
    facts["undo"] = run(bpy.ops.ed.undo)
    facts["after_undo"] = {"first": plan_of(first), "second": plan_of(second)}
    facts["redo"] = run(bpy.ops.ed.redo)
    facts["after_redo"] = {"first": plan_of(first), "second": plan_of(second)}
    # a failed import pushes no undo step: the next undo still takes the last Predict back
    facts["import_bad"] = run(bpy.ops.milling.import_stl, "EXEC_DEFAULT", True, filepath=BAD)
    run(bpy.ops.ed.undo)
    facts["undo_after_bad_import"] = {"second": plan_of(second), "part": second in bpy.data.objects}
    run(bpy.ops.ed.redo)
    yield 0.5

    # the correction of a plan: the dialog, then the plan recorded
    select(first)
    if "setup_1" in bpy.ops.milling.correct.get_rna_type().properties:
        window, area, _ = where()
        region = next(r for r in area.regions if r.type == "WINDOW")
        subprocess.run(["xdotool", "mousemove", "700", "400"], check=False)
        with bpy.context.temp_override(window=window, area=area, region=region):
            bpy.ops.milling.correct("INVOKE_DEFAULT")
        yield 0.7
        shot("correction")
        subprocess.run(["xdotool", "key", "Escape"], check=False)
        yield 0.3
        facts["correct"] = run(bpy.ops.milling.correct, plan="+Z -Z -Y")
        facts["correct_status"] = bpy.context.scene.milling.status
    else:
        shot("correction")
    yield 0.3

    # the part deleted: its answer goes with it
    select(first)
    facts["delete"] = run(bpy.ops.object.delete)
    select(second)
    facts["delete_second"] = run(bpy.ops.object.delete)
    yield 0.5
    shot("after_delete")
    facts["objects_after_delete"] = sorted(o.name for o in bpy.data.objects)

    props = bpy.context.scene.milling
    props.input_dir, props.output_dir, props.size = FOLDER, OUT + "/images", 100
    facts["render_folder"] = run(bpy.ops.milling.render_folder)
    yield 0.5
    shot("after_render_folder")
    select("Camera")
    facts["predict_camera"] = run(bpy.ops.milling.predict)
    yield 0.5
    shot("after_error")


plan = steps()


def tick():
    try:
        return next(plan)
    except StopIteration:
        pass
    except Exception as e:  # the check itself failed: say where
        facts["failed"] = repr(e)
    print("GUI_FACTS " + json.dumps(facts), flush=True)
    bpy.ops.wm.quit_blender()
    return None


bpy.app.timers.register(tick, first_interval=2.0)
