"""Render meta-images of mesh objects in the open scene (the panel's "Render Selected")."""

from __future__ import annotations

import hashlib
from pathlib import Path

import bpy
import numpy as np

from .._shared import manifest, metaimage
from ..batch import jobs
from ..batch.dataset import merge_manifest
from ..batch.task import write_meta_image
from ..render.engines import open_renderer


def object_triangles(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph) -> np.ndarray:
    """(N, 3, 3) triangles of the evaluated mesh (modifiers applied) in the object's own frame."""
    return object_mesh(obj, depsgraph)[0]


def object_mesh(obj: bpy.types.Object, depsgraph) -> tuple[np.ndarray, np.ndarray]:
    """The evaluated mesh's triangles, and the polygon each comes from."""
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        mesh.calc_loop_triangles()
        n = len(mesh.loop_triangles)
        corners = np.empty(3 * n, dtype=np.int32)
        mesh.loop_triangles.foreach_get("vertices", corners)
        polygons = np.empty(n, dtype=np.int64)
        mesh.loop_triangles.foreach_get("polygon_index", polygons)
        co = np.empty(3 * len(mesh.vertices), dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
    finally:
        evaluated.to_mesh_clear()
    return co.reshape(-1, 3)[corners].reshape(n, 3, 3).astype(np.float64), polygons


class SelectionJob:
    """Render each given mesh object to `<out>/<object name>.png`, one `step()` at a time."""

    def __init__(self, objects, out: Path, label: str, size: int):
        self.objects = [o for o in objects if o.type == "MESH"]
        if not self.objects:
            raise ValueError("select at least one mesh object")
        self.out = out
        self.label = label
        self.size = metaimage.check_size(size)
        out.mkdir(parents=True, exist_ok=True)
        self.total = len(self.objects)
        self.done = 0
        self.unit = "images"
        self.rows: list[manifest.Row] = []
        self.errors: list[str] = []
        self._renderer = None

    @property
    def current(self) -> str:
        return self.objects[self.done].name if self.done < self.total else ""

    def step(self) -> bool:
        """Render the next object; False when all are done."""
        if self.done >= self.total:
            return False
        obj = self.objects[self.done]
        self.done += 1
        triangles = object_triangles(obj, bpy.context.evaluated_depsgraph_get())
        if len(triangles) == 0:
            self.errors.append(f"{obj.name}: the mesh has no faces")
            return True
        if self._renderer is None:
            self._renderer = open_renderer("auto", self.size)
        digest = hashlib.sha256(triangles.astype("<f8").tobytes()).hexdigest()
        image = f"{jobs.part_file_id(obj.name)}.png"  # named as Render Folder names its file
        record = metaimage.provenance(digest, "none", self.size, self._renderer.engine)
        write_meta_image(self._renderer, triangles, self.out / image, record)
        self.rows.append(
            manifest.Row(
                image, self.label, obj.name, f"blender:{obj.name}", "none", self.size, digest
            )
        )
        return True

    def close(self) -> str:
        """Free the renderer, merge the manifest and return a summary."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        if self.rows:
            merge_manifest(self.out, self.rows)
        return f"{len(self.rows)} meta-image(s) written to {self.out}"
