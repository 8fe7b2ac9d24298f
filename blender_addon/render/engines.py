"""Which renderer draws meta-images: Embree ray casting where `embreex` is installed, else Cycles.

Both are exact (every pixel is a face's encoded normal or black) and agree except where a pixel
centre lies within float rounding of an edge; bench/speed/render.py measures them. Cycles always
works (it is Blender itself), so it is the fallback, and the only engine for the per-view
reference strategy.
"""

from __future__ import annotations

from . import embree as raycast

ENGINES = ("auto", "embree", "cycles")
NAMES = {
    "embree": "embree (Embree ray casting, embreex)",
    "cycles": "cycles (Blender Cycles on the CPU)",
}


class EngineError(ValueError):
    """An engine that cannot be used here, or not with this strategy (one line)."""


def resolve(engine: str = "auto", strategy: str = "grid") -> str:
    """The concrete engine to use: 'auto' is the fastest exact one available."""
    if engine == "auto":
        return "embree" if raycast.available() and strategy == "grid" else "cycles"
    if engine not in NAMES:
        raise EngineError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "embree" and not raycast.available():
        raise EngineError(
            "--engine embree needs the embreex package: pip install embreex "
            "(or use --engine cycles)"
        )
    if engine == "embree" and strategy != "grid":
        raise EngineError(f"--strategy {strategy} renders with Cycles only: use --engine cycles")
    return engine


def open_renderer(engine: str, size: int, threads: int = 0):
    """A renderer for `engine` ('auto' allowed): RaycastRenderer, or render.MetaImageRenderer."""
    engine = resolve(engine)
    if engine == "embree":
        return raycast.RaycastRenderer(size, threads)
    from .cycles import MetaImageRenderer  # bpy: only in the process that renders

    return MetaImageRenderer(size, threads)
