"""Read what a user asks to predict: meta-images (.png) as they are, parts (.stl) rendered into
meta-images by the Blender add-on (`python -m blender_addon render --json`), or parts as meshes.

Each reader returns ([(input, value)], error lines) so that one bad file never stops the rest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from shared import png, stl
from shared.render_outcome import RenderOutcome


def meta_images(inputs: list[str], size: int = 600) -> tuple[list[tuple[str, bytes]], list[str]]:
    """PNG bytes of each input; STL parts are rendered with the Blender add-on first."""
    images: dict[str, bytes] = {}
    errors: list[str] = []
    parts: list[str] = []
    for name in inputs:
        path = Path(name)
        suffix = path.suffix.lower()
        if not path.is_file():
            errors.append(f"{name}: file not found")
        elif suffix == ".stl":
            parts.append(name)
        elif suffix == ".png":
            data = path.read_bytes()
            try:
                png.read_header(data)
                images[name] = data
            except ValueError:
                errors.append(f"{name}: not a PNG image")
        else:
            errors.append(f"{name}: not a meta-image (.png) or a part (.stl)")
    if parts:
        rendered, render_errors = render_parts(parts, size)
        images |= rendered
        errors += render_errors
    return [(name, images[name]) for name in inputs if name in images], errors


def render_parts(parts: list[str], size: int) -> tuple[dict[str, bytes], list[str]]:
    """Render STL files in a `python -m blender_addon render --json` subprocess."""
    with tempfile.TemporaryDirectory(prefix="milling-predict-") as out:
        command = [sys.executable, "-m", "blender_addon", "render", *parts, "--out", out]
        command += ["--size", str(size), "--quiet", "--json"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode not in (0, 1):  # the request as a whole was refused
            reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
            return {}, [f"{p}: rendering failed ({reason.removeprefix('error: ')})" for p in parts]
        outcomes = {}
        for line in result.stdout.splitlines():
            try:
                outcome = RenderOutcome.from_json(json.loads(line))
            except ValueError:
                continue  # not ours: Blender may print on stdout
            outcomes[str(Path(outcome.input).resolve())] = outcome
        rendered, errors = {}, []
        for p in parts:
            outcome = outcomes.get(str(Path(p).resolve()))
            if outcome is None:
                errors.append(f"{p}: the renderer said nothing about this part")
            elif outcome.status == "failed" or not outcome.images:
                errors.append(outcome.error or f"{p}: no meta-image was rendered")
            else:
                rendered[p] = (Path(out) / outcome.images[0]).read_bytes()
    return rendered, errors


def meshes(inputs: list[str]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """STL bytes of each input, checked by the strict reader (for the face-normal model)."""
    parts, errors = [], []
    for name in inputs:
        path = Path(name)
        if path.suffix.lower() != ".stl":
            errors.append(f"{name}: the face-normal model takes parts (.stl), not images")
            continue
        try:
            stl.read_stl(path)  # a clear message now, rather than a failed batch later
            parts.append((name, path.read_bytes()))
        except stl.StlError as e:
            errors.append(str(e))
    return parts, errors
