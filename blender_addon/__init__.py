"""Milling Directions: render normal-map meta-images of workpieces (Blender extension).

The package also runs outside Blender's UI: `python -m blender_addon` (with the `bpy` module)
and `blender --background --python-exit-code 1 --python blender_addon/cli.py -- ...`. UI
modules are imported in `register()` so that the command line never loads them.
"""


def _classes():
    from .ui import answer_panels as answer
    from .ui import panel
    from .ui.operators.correct import MILLING_OT_correct
    from .ui.operators.findings import MILLING_OT_select_finding
    from .ui.operators.import_stl import MILLING_OT_import_stl
    from .ui.operators.objects import MILLING_OT_add_objects
    from .ui.operators.predict import MILLING_OT_predict
    from .ui.operators.render_folder import MILLING_OT_render_folder
    from .ui.operators.render_selected import MILLING_OT_render_selected
    from .ui.operators.server import MILLING_OT_start_server, MILLING_OT_stop_server
    from .ui.preferences import MillingPreferences
    from .ui.properties import MillingSceneProperties

    return (
        MillingPreferences,
        MillingSceneProperties,
        MILLING_OT_predict,
        MILLING_OT_correct,
        MILLING_OT_select_finding,
        MILLING_OT_add_objects,
        MILLING_OT_start_server,
        MILLING_OT_stop_server,
        MILLING_OT_render_selected,
        MILLING_OT_render_folder,
        MILLING_OT_import_stl,
        panel.VIEW3D_PT_milling,  # its sub-panels in the order they are shown
        answer.VIEW3D_PT_milling_answer,
        answer.VIEW3D_PT_milling_findings,
        answer.VIEW3D_PT_milling_details,
        panel.VIEW3D_PT_milling_images,
        panel.VIEW3D_PT_milling_batch,
        panel.MILLING_FH_stl,
    )


def register() -> None:
    import bpy

    from .scene.answer import follow_parts
    from .ui.properties import MillingSceneProperties

    for cls in _classes():
        bpy.utils.register_class(cls)
    bpy.types.Scene.milling = bpy.props.PointerProperty(type=MillingSceneProperties)
    bpy.app.handlers.depsgraph_update_post.append(follow_parts)
    if not bpy.app.background:  # no viewport to draw in
        from .ui import viewport

        viewport.register()


def unregister() -> None:
    import bpy

    from .scene.answer import follow_parts
    from .ui.operators.server import stop_server

    stop_server()
    if not bpy.app.background:
        from .ui import viewport

        viewport.unregister()
    if follow_parts in bpy.app.handlers.depsgraph_update_post:
        bpy.app.handlers.depsgraph_update_post.remove(follow_parts)
    del bpy.types.Scene.milling
    for cls in reversed(_classes()):
        bpy.utils.unregister_class(cls)
