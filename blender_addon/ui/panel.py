"""The "Milling" tab of the 3D viewport sidebar (the answer's sub-panels: answer_panels.py),
and drag-and-drop of STL files."""

import blf
import bpy


class VIEW3D_PT_milling(bpy.types.Panel):
    """Import and Predict at the top; the answer, its findings, the details, training images
    and batch rendering in sub-panels the user can fold."""

    bl_label = "Milling Directions"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Milling"

    def draw(self, context):
        layout = self.layout
        props = context.scene.milling
        row = layout.row(align=True)
        row.scale_y = 1.5
        row.operator("milling.import_stl", icon="IMPORT", text="Import")
        predict = row.row(align=True)
        predict.enabled = not props.predicting
        predict.operator("milling.predict", icon="ORIENTATION_NORMAL", text="Predict")
        width = line_width(context)
        if props.status:
            icon = "TIME" if props.predicting else "ERROR" if props.status_error else "INFO"
            lines(layout.column(align=True), props.status, icon, width)
        if props.running:
            layout.progress(factor=props.progress, type="BAR", text=props.job_status)
        elif props.job_status:
            icon = "ERROR" if props.job_error else "CHECKMARK"
            lines(layout.box().column(align=True), props.job_status, icon, width)


class _Sub:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Milling"
    bl_parent_id = "VIEW3D_PT_milling"


class VIEW3D_PT_milling_images(_Sub, bpy.types.Panel):
    bl_label = "Training Images"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout, props = self.layout, context.scene.milling
        layout.label(text="Output folder:")  # above its field: beside it, it was cut
        layout.prop(props, "output_dir", text="")
        row = layout.row()
        row.prop(props, "label", text="")
        row.prop(props, "size")
        layout.operator("milling.render_selected", icon="OBJECT_DATA")


class VIEW3D_PT_milling_batch(_Sub, bpy.types.Panel):
    bl_label = "Batch"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout, props = self.layout, context.scene.milling
        layout.label(text="STL folder:")
        layout.prop(props, "input_dir", text="")
        layout.label(text="Labels file (optional):")
        layout.prop(props, "labels_csv", text="")
        layout.prop(props, "rotations")
        layout.operator("milling.render_folder", icon="RENDER_ANIMATION")


def line_width(context) -> tuple[float, float]:
    """The pixels a boxed line may take, and the UI scale."""
    prefs = context.preferences  # the effective scale (0 in background mode), else the user's
    scale = prefs.system.ui_scale or prefs.view.ui_scale
    return (context.region.width - MARGIN * scale, scale)


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


class MILLING_FH_stl(bpy.types.FileHandler):
    bl_idname = "MILLING_FH_stl"
    bl_label = "Milling Directions STL"
    bl_import_operator = "milling.import_stl"
    bl_file_extensions = ".stl"

    @classmethod
    def poll_drop(cls, context):
        return context.area is not None and context.area.type == "VIEW_3D"
