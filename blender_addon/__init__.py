"""Milling Directions: render normal-map meta-images of workpieces (Blender extension).

The package also runs outside Blender's UI: `python -m blender_addon` (with the `bpy` module)
and `blender --background --python-exit-code 1 --python blender_addon/cli.py -- ...`. UI
modules are imported in `register()` so that the command line never loads them.
"""


def _classes():
    from .interface import MILLING_FH_stl, VIEW3D_PT_milling
    from .operators.correct import MILLING_OT_correct
    from .operators.import_stl import MILLING_OT_import_stl
    from .operators.predict import MILLING_OT_predict
    from .operators.render_folder import MILLING_OT_render_folder
    from .operators.render_selected import MILLING_OT_render_selected
    from .operators.server import MILLING_OT_start_server, MILLING_OT_stop_server
    from .preferences import MillingPreferences
    from .properties import MillingSceneProperties

    return (
        MillingPreferences,
        MillingSceneProperties,
        MILLING_OT_predict,
        MILLING_OT_correct,
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

    from .predict import follow_parts
    from .properties import MillingSceneProperties

    for cls in _classes():
        bpy.utils.register_class(cls)
    bpy.types.Scene.milling = bpy.props.PointerProperty(type=MillingSceneProperties)
    bpy.app.handlers.depsgraph_update_post.append(follow_parts)


def unregister() -> None:
    import bpy

    from .operators.server import stop_server
    from .predict import follow_parts

    stop_server()
    if follow_parts in bpy.app.handlers.depsgraph_update_post:
        bpy.app.handlers.depsgraph_update_post.remove(follow_parts)
    del bpy.types.Scene.milling
    for cls in reversed(_classes()):
        bpy.utils.unregister_class(cls)
