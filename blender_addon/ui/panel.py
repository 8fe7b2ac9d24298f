"""The "Milling" tab of the 3D viewport sidebar, and drag-and-drop of STL files."""

import blf
import bpy

from .._shared import classes
from ..scene.findings import KIND_NAMES


class VIEW3D_PT_milling(bpy.types.Panel):
    bl_label = "Milling Directions"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Milling"

    def draw(self, context):
        layout = self.layout
        props = context.scene.milling
        prefs = context.preferences  # the effective scale (0 in background mode), else the user's
        scale = prefs.system.ui_scale or prefs.view.ui_scale
        width = (context.region.width - MARGIN * scale, scale)  # what a line may take
        self.draw_prediction(layout, props, width)

        if props.running:
            layout.progress(factor=props.progress, type="BAR", text=props.job_status)
        elif props.job_status:
            icon = "ERROR" if props.job_error else "CHECKMARK"
            lines(layout.box().column(align=True), props.job_status, icon, width)

        box = layout.box()
        box.label(text="Meta-images", icon="RENDER_STILL")
        box.label(text="Output folder:")  # above its field: beside it, it was cut
        box.prop(props, "output_dir", text="")
        row = box.row()
        row.prop(props, "label", text="")
        row.prop(props, "size")
        box.operator("milling.render_selected", icon="OBJECT_DATA")

        box = layout.box()
        box.label(text="Batch", icon="FILE_FOLDER")
        box.label(text="STL folder:")
        box.prop(props, "input_dir", text="")
        box.label(text="Labels CSV (optional):")
        box.prop(props, "labels_csv", text="")
        box.prop(props, "rotations")
        box.operator("milling.render_folder", icon="RENDER_ANIMATION")

        layout.operator("milling.import_stl", icon="IMPORT")

    @staticmethod
    def draw_prediction(layout, props, width: tuple[float, float]) -> None:
        box = layout.box()
        row = box.row()
        row.scale_y = 1.5
        row.enabled = not props.predicting
        row.operator("milling.predict", icon="ORIENTATION_NORMAL")
        if props.status:
            icon = "TIME" if props.predicting else "ERROR" if props.status_error else "INFO"
            lines(box.column(align=True), props.status, icon, width)
        if props.prediction_label:
            lines(
                box.column(align=True),
                f"{props.prediction_part}: mill from {props.prediction_label}",
                "BLANK1",
                width,
            )
            for name, p in zip(classes.CLASSES, props.prediction_probabilities, strict=True):
                row = box.row()
                row.alert = name == props.prediction_label
                row.progress(factor=p, type="BAR", text=f"{name}   {p:.1%}")
            if props.prediction_plan:
                column = box.column(align=True)
                column.label(text="Setup plan:", icon="ORIENTATION_LOCAL")
                for line in props.prediction_plan.splitlines():
                    lines(column, line, "BLANK1", width)
            lines(
                box.column(align=True),
                "Sides are in the part's own axes: they turn with the object",
                "INFO",
                width,
            )
            if props.prediction_warning:
                lines(box.column(align=True), props.prediction_warning, "ERROR", width)
            if props.findings:
                box.label(text="Design findings:", icon="VIEWZOOM")
                box.template_list(
                    "MILLING_UL_findings", "", props, "findings", props, "findings_index", rows=3
                )
                picked = props.findings[min(props.findings_index, len(props.findings) - 1)]
                lines(box.column(align=True), picked.message, "BLANK1", width)
                box.operator("milling.select_finding", icon="RESTRICT_SELECT_OFF")
            box.prop(props, "show_setups")
            box.operator_menu_enum("milling.correct", "direction", icon="GREASEPENCIL")
            if props.prediction_legend:
                lines(box.column(align=True), props.prediction_legend, "COLOR", width)
        row = box.row(align=True)
        row.operator("milling.start_server", icon="PLAY", text="Start Server")
        row.operator("milling.stop_server", icon="PAUSE", text="Stop")


MARGIN = 100
"""Pixels of the sidebar a boxed label's text cannot use (at UI scale 1): the category tabs,
the panel's and the box's padding, the icon, and room for the font's hinting (measured on
screenshots of Blender 4.3: a 291 px sidebar leaves about 195 px of text)."""
FONT_PX = 11
"""Blender's interface text size at UI scale 1."""


def text_width(text: str, scale: float = 1.0) -> float:
    """Pixels `text` takes in the interface font at `scale`."""
    blf.size(0, FONT_PX * scale)
    return blf.dimensions(0, text)[0]


def wrap(text: str, width: tuple[float, float]) -> list[str]:
    """`text` broken into lines of at most width[0] pixels at UI scale width[1] (a word longer
    than a line, a path say, is broken inside)."""
    pixels, scale = width
    out, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if text_width(candidate, scale) <= pixels:
            line = candidate
            continue
        if line:
            out.append(line)
        while text_width(word, scale) > pixels and len(word) > 1:
            fits = (k for k in range(1, len(word)) if text_width(word[:k], scale) <= pixels)
            cut = max(fits, default=1)
            out.append(word[:cut])
            word = word[cut:]
        line = word
    return [*out, line] if line or not out else out


def lines(layout, text: str, icon: str, width: tuple[float, float]) -> None:
    """A message wrapped to the panel's width (a label cuts it off), the icon on its first line."""
    for i, line in enumerate(wrap(text, width) or [""]):
        layout.label(text=line, icon=icon if i == 0 else "BLANK1")


class MILLING_UL_findings(bpy.types.UIList):
    """The design findings of the last answer: kind and share; the message below the list."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property):
        row = layout.row()
        row.label(text=KIND_NAMES.get(item.kind, item.kind), icon="ERROR")
        row.label(text=f"{item.share:.1%}")


class MILLING_FH_stl(bpy.types.FileHandler):
    bl_idname = "MILLING_FH_stl"
    bl_label = "Milling Directions STL"
    bl_import_operator = "milling.import_stl"
    bl_file_extensions = ".stl"

    @classmethod
    def poll_drop(cls, context):
        return context.area is not None and context.area.type == "VIEW_3D"
