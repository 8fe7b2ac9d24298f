"""Select the faces of the design finding picked in the panel's list."""

import bpy

from ...scene import findings


class MILLING_OT_select_finding(bpy.types.Operator):
    """Select the faces of the design finding picked in the list (Edit Mode shows them)"""

    bl_idname = "milling.select_finding"
    bl_label = "Select Faces"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        props = context.scene.milling
        return 0 <= props.findings_index < len(props.findings)

    def execute(self, context):
        props = context.scene.milling
        part = context.scene.objects.get(props.prediction_part)
        if part is None or part.type != "MESH":
            self.report({"ERROR"}, f"{props.prediction_part or 'the part'} is no longer here")
            return {"CANCELLED"}
        finding = props.findings[props.findings_index]
        for obj in context.view_layer.objects:
            obj.select_set(obj == part)
        context.view_layer.objects.active = part
        count = findings.select_faces(part, finding.faces)
        self.report({"INFO"}, f"{part.name}: {count} face(s) of the {finding.kind} finding")
        return {"FINISHED"}
