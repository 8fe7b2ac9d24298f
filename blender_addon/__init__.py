"""Milling Directions: render normal-map meta-images of workpieces (Blender extension).

The package also runs outside Blender's UI: `python -m blender_addon` (with the `bpy` module)
and `blender --background --python-exit-code 1 --python blender_addon/cli.py -- ...`. UI
modules are imported in `register()` so that the command line never loads them.
"""


def _classes():
    from .ui.operators.correct import MILLING_OT_correct
    from .ui.operators.findings import MILLING_OT_select_finding
    from .ui.operators.import_stl import MILLING_OT_import_stl
    from .ui.operators.predict import MILLING_OT_predict
    from .ui.operators.render_folder import MILLING_OT_render_folder
    from .ui.operators.render_selected import MILLING_OT_render_selected
    from .ui.operators.server import MILLING_OT_start_server, MILLING_OT_stop_server
    from .ui.panel import MILLING_FH_stl, MILLING_UL_findings, VIEW3D_PT_milling
    from .ui.preferences import MillingPreferences
    from .ui.properties import MillingFinding, MillingSceneProperties

    return (
        MillingPreferences,
        MillingFinding,
        MillingSceneProperties,
        MILLING_OT_predict,
        MILLING_OT_correct,
        MILLING_OT_select_finding,
        MILLING_UL_findings,
        MILLING_OT_start_server,
        MILLING_OT_stop_server,
        MILLING_OT_render_selected,
        MILLING_OT_render_folder,
        MILLING_OT_import_stl,
        VIEW3D_PT_milling,
        MILLING_FH_stl,
    )


def register() -> None:
    import bpy

    from .scene.answer import follow_parts
    from .ui.properties import MillingSceneProperties

    for cls in _classes():
        bpy.utils.register_class(cls)
    bpy.types.Scene.milling = bpy.props.PointerProperty(type=MillingSceneProperties)
    bpy.app.handlers.depsgraph_update_post.append(follow_parts)


def unregister() -> None:
    import bpy

    from .scene.answer import follow_parts
    from .ui.operators.server import stop_server

    stop_server()
    if follow_parts in bpy.app.handlers.depsgraph_update_post:
        bpy.app.handlers.depsgraph_update_post.remove(follow_parts)
    del bpy.types.Scene.milling
    for cls in reversed(_classes()):
        bpy.utils.unregister_class(cls)
