"""Predict the milling direction of meta-images (.png) or parts (.stl, rendered on the way)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shared import classes, manifest, png, stl

from . import tracking


@dataclass
class Prediction:
    input: str
    label: str
    probabilities: dict[str, float]
    model_uri: str
    model_version: str

    def as_json(self) -> dict:
        return {
            "input": self.input,
            "label": self.label,
            "probabilities": self.probabilities,
            "model_uri": self.model_uri,
            "model_version": self.model_version,
        }


def read_inputs(inputs: list[str], size: int = 600) -> tuple[list[tuple[str, bytes]], list[str]]:
    """([(input, PNG bytes)], error lines). STL parts are rendered with the Blender add-on."""
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
    """Render STL files through `python -m blender_addon render` in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="milling-predict-") as out:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "blender_addon",
                "render",
                *parts,
                "--out",
                out,
                "--size",
                str(size),
                "--quiet",
            ],
            capture_output=True,
            text=True,
        )
        errors = [
            line[len("error: ") :]
            for line in result.stderr.splitlines()
            if line.startswith("error: ")
        ]
        if result.returncode not in (0, 1) and not errors:
            tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
            return {}, [f"{p}: rendering failed ({tail[0]})" for p in parts]
        rows = manifest.read(Path(out) / manifest.FILENAME) if result.returncode in (0, 1) else []
        by_source = {r.source: (Path(out) / r.image).read_bytes() for r in rows}
        rendered = {
            p: by_source[str(Path(p).resolve())]
            for p in parts
            if str(Path(p).resolve()) in by_source
        }
    return rendered, errors


def read_parts(inputs: list[str]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """([(input, STL bytes)], error lines), for the face-normal model."""
    parts, errors = [], []
    for name in inputs:
        path = Path(name)
        if path.suffix.lower() != ".stl":
            errors.append(f"{name}: the face-normal model takes parts (.stl), not images")
        else:
            try:
                stl.read_stl(path)  # a clear message now, rather than a failed batch later
                parts.append((name, path.read_bytes()))
            except stl.StlError as e:
                errors.append(str(e))
    return parts, errors


def predict(inputs: list[str], model_uri: str | None = None) -> tuple[list[Prediction], list[str]]:
    """Predictions for the inputs that could be read, and an error line for each other one."""
    model, uri, version = tracking.load(model_uri)
    face_normals = tracking.family(model) == "face-normals"
    items, errors = read_parts(inputs) if face_normals else read_inputs(inputs)
    if not items:
        return [], errors
    probabilities = tracking.predict_probabilities(model, [data for _, data in items])
    out = []
    for (name, _), p in zip(items, probabilities, strict=True):
        label = classes.CLASSES[int(p.argmax())]
        scores = {c: float(v) for c, v in zip(classes.CLASSES, p, strict=True)}
        out.append(Prediction(name, label, scores, uri, version))
    return out, errors
