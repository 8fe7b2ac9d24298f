"""The active part's answer in the sidebar: the plan first (a row per setup, in its colour),
then its design findings, then the details (the primary side's five-class probabilities, the
model, the model server)."""

import bpy

from .._shared import classes
from ..scene import marks, stored
from ..scene.findings import KIND_NAMES
from .panel import _Sub, line_width, lines
from .preferences import model_settings

_ICONS = set(bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys())
_SWATCH = "STRIP_COLOR_{:02d}" if "STRIP_COLOR_01" in _ICONS else "SEQUENCE_COLOR_{:02d}"


def swatch(tag: int) -> str:
    """The icon of a strip colour tag (Blender 5 renamed SEQUENCE_COLOR_* STRIP_COLOR_*)."""
    return _SWATCH.format(tag + 1)


def share_text(share: float | None) -> str:
    if share is None:
        return ""
    return "<1 %" if 0 < share < 0.005 else f"{share:.0%}".replace("%", " %")


def tool_list(names: list[str], most: int = 3) -> str:
    """`flat 16, ball 16, flat 12 (+10)`: the largest tools, then how many smaller ones."""
    shown = ", ".join(names[:most])
    return shown + (f" (+{len(names) - most})" if len(names) > most else "")


class VIEW3D_PT_milling_answer(_Sub, bpy.types.Panel):
    bl_label = "Answer"

    def draw(self, context):
        layout, obj = self.layout, context.active_object
        width = line_width(context)
        answer = stored.load(obj)
        if obj is None or obj.type != "MESH":
            layout.label(text="Select a part to see its answer", icon="INFO")
            return
        if answer is None:
            why = "changed since it was predicted" if stored.stale(obj) else "not predicted yet"
            lines(layout.column(align=True), f"{obj.name}: {why}", "INFO", width)
            return
        lines(layout.column(align=True), f"{obj.name}: {answer.summary}", "CHECKMARK", width)
        grid = layout.grid_flow(row_major=True, columns=3, even_columns=False, align=True)
        for title in ("Setup", "Area", "Sure"):
            grid.label(text=title)
        for k, setup in enumerate(answer.setups):
            grid.label(text=f"{k + 1}. {setup.direction}", icon=swatch(marks.SETUP_TAGS[k % 6]))
            grid.label(text=share_text(setup.share))
            grid.label(text=share_text(setup.confidence).replace("<1 %", "0 %"))
        tools = layout.column(align=True)
        for k, setup in enumerate(answer.setups):
            if setup.tools:
                lines(tools, f"{k + 1}. {tool_list(setup.tools)}", "TOOL_SETTINGS", width)
        if answer.unreached >= 0.005:
            text = f"No tool reaches {share_text(answer.unreached)} of the area"
            lines(layout.column(align=True), text, swatch(marks.UNREACHED_TAG), width)
        if answer.warning:
            lines(layout.column(align=True), answer.warning, "ERROR", width)
        layout.prop(context.scene.milling, "show_setups")
        row = layout.row(align=True)
        row.operator("milling.correct", icon="GREASEPENCIL", text="Correct the Plan")
        row.operator("milling.add_objects", icon="OUTLINER_OB_MESH", text="Add as Objects")


class VIEW3D_PT_milling_findings(_Sub, bpy.types.Panel):
    bl_label = "Findings"

    @classmethod
    def poll(cls, context):
        return stored.load(context.active_object) is not None

    def draw(self, context):
        layout = self.layout
        answer = stored.load(context.active_object)
        if not answer.findings:
            layout.label(text="No design findings with these tools", icon="CHECKMARK")
            return
        picked = min(context.scene.milling.finding_index, len(answer.findings) - 1)
        column = layout.column(align=True)
        for k, f in enumerate(answer.findings):
            row = column.row()
            code = stored.FINDING_CODES.get(f.kind, stored.UNREACHED)
            name = f"{KIND_NAMES.get(f.kind, f.kind)}  {share_text(f.share)}"
            row.label(text=name, icon=swatch(marks.tag_of(code)))
            select = row.operator(
                "milling.select_finding", text="Select", icon="RESTRICT_SELECT_OFF"
            )
            select.index = k
        # the picked one's message (Select picks it): four messages would fill the sidebar
        lines(
            layout.column(align=True), answer.findings[picked].message, "INFO", line_width(context)
        )


class VIEW3D_PT_milling_details(_Sub, bpy.types.Panel):
    bl_label = "Details"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        width = line_width(context)
        answer = stored.load(context.active_object)
        if answer is not None:
            lines(layout.column(align=True), f"Model: {answer.model}", "INFO", width)
            layout.label(text="Which side first, by the model:")
            for name, p in zip(classes.CLASSES, answer.probabilities, strict=True):
                row = layout.row()
                row.progress(factor=p, type="BAR", text=f"{name}   {p:.1%}")
            text = "Sides are in the part's own axes: they turn with the object"
            lines(layout.column(align=True), text, "BLANK1", width)
        if model_settings(context).mode == "builtin":
            text = "The built-in model answers inside Blender: no model server is needed"
            lines(layout.column(align=True), text, "CHECKMARK", width)
            return
        row = layout.row(align=True)
        row.operator("milling.start_server", icon="PLAY", text="Start Server")
        row.operator("milling.stop_server", icon="PAUSE", text="Stop")
