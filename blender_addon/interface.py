"""The "Milling" tab of the 3D viewport sidebar, and drag-and-drop of STL files."""

import bpy

from ._shared import classes


class VIEW3D_PT_milling(bpy.types.Panel):
    bl_label = "Milling Directions"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Milling"

    def draw(self, context):
        layout = self.layout
        props = context.scene.milling
        self.draw_prediction(layout, props)

        if props.running:
            layout.progress(factor=props.progress, type="BAR", text=props.status)

        box = layout.box()
        box.label(text="Meta-images", icon="RENDER_STILL")
        box.prop(props, "output_dir")
        row = box.row()
        row.prop(props, "label")
        row.prop(props, "size")
        box.operator("milling.render_selected", icon="OBJECT_DATA")

        box = layout.box()
        box.label(text="Batch", icon="FILE_FOLDER")
        box.prop(props, "input_dir")
        box.prop(props, "labels_csv")
        box.prop(props, "rotations")
        box.operator("milling.render_folder", icon="RENDER_ANIMATION")

        layout.operator("milling.import_stl", icon="IMPORT")

    @staticmethod
    def draw_prediction(layout, props) -> None:
        box = layout.box()
        row = box.row()
        row.scale_y = 1.5
        row.enabled = not props.predicting
        row.operator("milling.predict", icon="ORIENTATION_NORMAL")
        if props.status:
            box.label(text=props.status, icon="TIME" if props.predicting else "INFO")
        if props.prediction_label:
            box.label(text=f"{props.prediction_part}: mill from {props.prediction_label}")
            for name, p in zip(classes.CLASSES, props.prediction_probabilities, strict=True):
                row = box.row()
                row.alert = name == props.prediction_label
                row.progress(factor=p, type="BAR", text=f"{name}   {p:.1%}")
        row = box.row(align=True)
        row.operator("milling.start_server", icon="PLAY")
        row.operator("milling.stop_server", icon="PAUSE", text="")


class MILLING_FH_stl(bpy.types.FileHandler):
    bl_idname = "MILLING_FH_stl"
    bl_label = "Milling Directions STL"
    bl_import_operator = "milling.import_stl"
    bl_file_extensions = ".stl"

    @classmethod
    def poll_drop(cls, context):
        return context.area is not None and context.area.type == "VIEW_3D"
