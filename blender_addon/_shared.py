"""The `shared` contract: the installed extension's own copy, else the repository's package."""

try:  # the extension zip carries shared/ inside the add-on (see package.py)
    from .shared import (
        atomic,
        classes,
        manifest,
        metaimage,
        png,
        prediction,
        progress,
        render_outcome,
        rotations,
        stl,
        views,
    )
except ImportError:
    from shared import (
        atomic,
        classes,
        manifest,
        metaimage,
        png,
        prediction,
        progress,
        render_outcome,
        rotations,
        stl,
        views,
    )

__all__ = [
    "atomic",
    "classes",
    "manifest",
    "metaimage",
    "png",
    "prediction",
    "progress",
    "render_outcome",
    "rotations",
    "stl",
    "views",
]
