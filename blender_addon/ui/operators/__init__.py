"""Operators: thin wrappers that read properties and call one plain function or job."""


def redraw(context) -> None:
    """Redraw the 3D viewports (the sidebar panel shows the new state)."""
    for area in context.screen.areas if context.screen else ():
        if area.type == "VIEW_3D":
            area.tag_redraw()
