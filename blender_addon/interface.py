"""The "Milling" tab of the 3D viewport sidebar, and drag-and-drop of STL files."""

import textwrap

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
        width = max(20, int(context.region.width / (7 * context.preferences.view.ui_scale)))
        self.draw_prediction(layout, props, width)

        if props.running:
            layout.progress(factor=props.progress, type="BAR", text=props.job_status)
        elif props.job_status:
            icon = "ERROR" if props.job_error else "CHECKMARK"
            lines(layout.box().column(align=True), props.job_status, icon, width)

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
    def draw_prediction(layout, props, width: int) -> None:
        box = layout.box()
        row = box.row()
        row.scale_y = 1.5
        row.enabled = not props.predicting
        row.operator("milling.predict", icon="ORIENTATION_NORMAL")
        if props.status:
            icon = "TIME" if props.predicting else "ERROR" if props.status_error else "INFO"
            lines(box.column(align=True), props.status, icon, width)
        if props.prediction_label:
            box.label(text=f"{props.prediction_part}: mill from {props.prediction_label}")
            for name, p in zip(classes.CLASSES, props.prediction_probabilities, strict=True):
                row = box.row()
                row.alert = name == props.prediction_label
                row.progress(factor=p, type="BAR", text=f"{name}   {p:.1%}")
            if props.prediction_plan:
                column = box.column(align=True)
                column.label(text="Setup plan (part frame):", icon="ORIENTATION_LOCAL")
                for line in props.prediction_plan.splitlines():
                    lines(column, line, "BLANK1", width)
            box.prop(props, "show_setups")
            if props.prediction_legend:
                lines(box.column(align=True), props.prediction_legend, "COLOR", width)
        row = box.row(align=True)
        row.operator("milling.start_server", icon="PLAY")
        row.operator("milling.stop_server", icon="PAUSE", text="")


def lines(layout, text: str, icon: str, width: int) -> None:
    """A message wrapped to the panel's width (a label cuts it off), the icon on its first line."""
    for i, line in enumerate(textwrap.wrap(text, width) or [""]):
        layout.label(text=line, icon=icon if i == 0 else "BLANK1")


class MILLING_FH_stl(bpy.types.FileHandler):
    bl_idname = "MILLING_FH_stl"
    bl_label = "Milling Directions STL"
    bl_import_operator = "milling.import_stl"
    bl_file_extensions = ".stl"

    @classmethod
    def poll_drop(cls, context):
        return context.area is not None and context.area.type == "VIEW_3D"
