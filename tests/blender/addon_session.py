"""Runs in a fresh process with HOME set to a temporary folder: install the built extension zip
into the real `bpy` module, enable it and drive its operators. Prints one JSON line of facts."""

import json
import sys
from pathlib import Path

import bpy

zip_path, work = Path(sys.argv[1]), Path(sys.argv[2])
facts = {}


def call(op, **kwargs):
    try:
        return sorted(op(**kwargs)), ""
    except RuntimeError as e:  # operators that report an error raise when called from Python
        return ["CANCELLED"], str(e)


bpy.ops.extensions.package_install_files(
    filepath=str(zip_path), repo="user_default", enable_on_install=True
)
module = "bl_ext.user_default.milling_directions"
facts["enabled"] = module in bpy.context.preferences.addons
facts["module_file"] = sys.modules[module].__file__
facts["panel"] = hasattr(bpy.types, "VIEW3D_PT_milling")

scene = bpy.context.scene
cube = bpy.data.objects["Cube"]
for obj in bpy.context.view_layer.objects:
    obj.select_set(obj is cube)
bpy.context.view_layer.objects.active = cube
# the defaults, in a file never saved: no label, and a folder in the system temp folder
facts["default_label"] = scene.milling.label
facts["default_output"] = scene.milling.output_dir
scene.milling.size = 100
facts["render_unsaved"] = call(bpy.ops.milling.render_selected)
facts["unsaved_job_status"] = scene.milling.job_status
scene.milling.output_dir = str(work / "selected")
scene.milling.label = "+Z"
scene.milling.size = 100
objects_before = sorted(o.name for o in bpy.data.objects)
facts["render_selected"] = call(bpy.ops.milling.render_selected)
facts["scene_untouched"] = sorted(o.name for o in bpy.data.objects) == objects_before
facts["scenes"] = sorted(s.name for s in bpy.data.scenes)

facts["import_bad"] = call(bpy.ops.milling.import_stl, filepath=str(work / "parts" / "bad.stl"))
facts["import_good"] = call(bpy.ops.milling.import_stl, filepath=str(work / "parts" / "good.stl"))
facts["active"] = bpy.context.view_layer.objects.active.name

# Predict with the preferences as installed: the built-in model, no server, no trainer
facts["backend"] = bpy.context.preferences.addons[module].preferences.backend
facts["predict"] = call(bpy.ops.milling.predict)
facts["predict_status"] = [scene.milling.status, scene.milling.status_error]
answer = sys.modules[module + ".scene.stored"].load(bpy.context.active_object)
facts["predicted"] = [answer.label, answer.probabilities, list(answer.plan), answer.model]
facts["objects_after_predict"] = sorted(o.name for o in bpy.data.objects)
facts["add_objects"] = call(bpy.ops.milling.add_objects)
arrow = next(o for o in bpy.data.objects if o.get("milling_setup"))
facts["arrow_colours"] = [list(arrow.data.materials[0].diffuse_color), list(arrow.color)]
facts["setup_colour"] = list(sys.modules[module + ".scene.marks"].setup_colour(0))

scene.milling.input_dir = str(work / "parts")
scene.milling.output_dir = str(work / "folder")
facts["render_folder"] = call(bpy.ops.milling.render_folder)
facts["folder_job"] = [scene.milling.job_status, scene.milling.job_error, scene.milling.running]

bpy.ops.preferences.addon_disable(module=module)
facts["disabled"] = module not in bpy.context.preferences.addons and not hasattr(
    bpy.types.Scene, "milling"
)
print("FACTS " + json.dumps(facts))
