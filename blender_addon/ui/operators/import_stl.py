"""Import STL files after strict validation (also the drag-and-drop target)."""

from pathlib import Path

import bpy
from bpy.props import CollectionProperty, StringProperty

from ..._shared import stl
from ...render.cycles import fill_mesh
from ...scene import findings


def import_stl(path: Path, collection: bpy.types.Collection) -> bpy.types.Object:
    """Validate `path` with shared's strict reader, then import it as a mesh object.

    Blender's own importer (`wm.stl_import`, which merges vertices) is used where available.
    Raises stl.StlError with a one-line reason for a bad file, leaving the scene unchanged.
    """
    part = stl.read_stl(path)
    if hasattr(bpy.ops.wm, "stl_import"):
        before = set(bpy.data.objects)
        bpy.ops.wm.stl_import(filepath=str(path))
        new = [o for o in bpy.data.objects if o not in before]
        if len(new) == 1:
            return new[0]
        for obj in new:  # unexpected: undo and fall back to our own import
            bpy.data.objects.remove(obj)
    mesh = bpy.data.meshes.new(path.stem)
    fill_mesh(mesh, part.triangles)
    obj = bpy.data.objects.new(path.stem, mesh)
    collection.objects.link(obj)
    return obj


class MILLING_OT_import_stl(bpy.types.Operator):
    """Check STL files first, then import them as mesh objects (a broken file gets a one-line
    reason, not a half-imported mesh)"""

    bl_idname = "milling.import_stl"
    bl_label = "Import STL (Checked)"  # not Blender's own "Import STL": drops offer both
    # no "UNDO": after the file browser Blender pushes an operator's undo step even when it
    # fails (an empty step); execute pushes one itself, and only after an import
    bl_options = {"REGISTER"}

    filepath: StringProperty(subtype="FILE_PATH", options={"SKIP_SAVE"})
    # saved between calls: the file browser opens where the last import was
    directory: StringProperty(subtype="DIR_PATH")
    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={"SKIP_SAVE"})
    filter_glob: StringProperty(default="*.stl", options={"HIDDEN"})

    def invoke(self, context, event):
        if self.filepath or self.files:
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        if self.files and self.directory:
            paths = [Path(self.directory) / f.name for f in self.files if f.name]
        else:
            paths = [Path(self.filepath)] if self.filepath else []
        if not paths:
            self.report({"ERROR"}, "no STL file given")
            return {"CANCELLED"}
        imported = []
        for path in paths:
            try:
                imported.append(import_stl(path, context.collection))
            except stl.StlError as e:
                self.report({"ERROR"}, str(e))
        if not imported:
            return {"CANCELLED"}
        if findings.use_millimetres(context.scene):
            self.report({"INFO"}, "scene units set to millimetres, the STL files' unit")
        for obj in context.view_layer.objects:
            obj.select_set(obj in imported)
        context.view_layer.objects.active = imported[-1]
        if bpy.ops.ed.undo_push.poll():  # not in background mode: there is no undo there
            bpy.ops.ed.undo_push(message=self.bl_label)
        self.report({"INFO"}, f"imported {len(imported)} of {len(paths)} STL file(s)")
        return {"FINISHED"}
