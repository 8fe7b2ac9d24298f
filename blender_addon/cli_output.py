"""Blender's own output, out of the way of the command line's: under `blender --background`,
Blender's banner sits in its C library's stdout buffer (a pipe is buffered) and would come out
after the JSON lines the command prints; it is flushed before them instead."""

from __future__ import annotations

import contextlib
import ctypes
import sys


def flush_blender_output() -> None:
    """Write out what Blender's C code has buffered on stdout (nothing to do without it)."""
    sys.stdout.flush()
    with contextlib.suppress(OSError, AttributeError):  # no C library to ask on this platform
        ctypes.CDLL(None).fflush(None)
