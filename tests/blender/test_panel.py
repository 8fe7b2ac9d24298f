"""What the panel tells a user: errors where the answer or the report was, in the panel's own
words (real bpy)."""

import importlib

import pytest


@pytest.fixture(scope="module")
def addon():
    import bpy

    addon_utils = importlib.import_module("addon_utils")
    addon_utils.enable("blender_addon", default_set=True)
    yield bpy.context.preferences.addons["blender_addon"].preferences
    addon_utils.disable("blender_addon")


def test_a_render_folder_mistake_replaces_the_last_report_in_the_panels_words(addon, tmp_path):
    import bpy

    props = bpy.context.scene.milling
    props.job_status, props.job_error = "3 meta-images rendered, 0 up to date, 0 failed", False
    props.input_dir, props.output_dir = str(tmp_path), str(tmp_path / "out")
    props.labels_csv, props.rotations = "", True
    with pytest.raises(RuntimeError, match="Rotations need a labels CSV"):
        bpy.ops.milling.render_folder()
    assert props.job_status.startswith("Rotations need a labels CSV") and props.job_error
    assert "--" not in props.job_status  # not the command line's words
    assert not (tmp_path / "out").exists()
    props.rotations, props.input_dir = False, ""
    with pytest.raises(RuntimeError, match="choose an STL folder"):
        bpy.ops.milling.render_folder()
    assert props.job_status.startswith("choose an STL folder") and props.job_error
