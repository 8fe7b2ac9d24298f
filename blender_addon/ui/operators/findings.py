"""Select the faces of one design finding of the active part's answer."""

import bpy
from bpy.props import IntProperty

from ...scene import findings, stored


class MILLING_OT_select_finding(bpy.types.Operator):
    """Select the faces of this design finding (Edit Mode shows them)"""

    bl_idname = "milling.select_finding"
    bl_label = "Select Faces"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Finding", description="Which finding of the answer", min=0)

    @classmethod
    def poll(cls, context):
        answer = stored.load(context.active_object)
        return answer is not None and bool(answer.findings)

    def execute(self, context):
        part = context.active_object
        answer = stored.load(part)
        if answer is None or self.index >= len(answer.findings):
            self.report({"ERROR"}, "the active part's answer has no such finding")
            return {"CANCELLED"}
        finding = answer.findings[self.index]
        context.scene.milling.finding_index = self.index  # the panel shows its message
        count = findings.select_faces(part, finding.faces)
        name = findings.KIND_NAMES.get(finding.kind, finding.kind).lower()
        self.report({"INFO"}, f"{part.name}: {count} face(s) {name}")
        return {"FINISHED"}
