"""Render meta-images with Cycles: one render of 100 instanced copies, or 100 renders.

`MetaImageRenderer` owns a private scene (never the user's) holding an orthographic camera,
a black world, the normal-map material and one mesh shared by 100 objects, one per view,
each rotated by the view rotation and placed on its tile. Loading a part only replaces the
mesh's geometry, so a warm renderer pays for the scene once.

Exact colours: each face carries its encoded colour (computed in numpy from the part-frame
normal) as a face attribute that an emission shader shows unlit; the 'Raw' view transform,
no dithering, 1 sample and a 0.01 px box filter (point sampling, no anti-aliasing blend)
bring it to the PNG unchanged.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from .._shared import metaimage, png, views

SCENE = ".milling_render"
VIEW_SCENE = ".milling_render_views"
PREFIX = ".milling_"
ATTRIBUTE = "milling_color"
STRATEGIES = ("grid", "views")


class MetaImageRenderer:
    """A reusable Cycles set-up that renders meta-images of one part at a time."""

    engine = "cycles"

    def __init__(self, size: int = metaimage.DEFAULT_SIZE, threads: int = 0):
        self.size = metaimage.check_size(size)
        self.threads = threads
        self._tmp = Path(tempfile.mkdtemp(prefix="milling-render-"))
        self._rotations = views.view_rotations()
        self.mesh = bpy.data.meshes.new(PREFIX + "part")
        self.material = _normal_material()
        self.mesh.materials.append(self.material)
        self.world = bpy.data.worlds.new(PREFIX + "world")
        _black(self.world)
        self.scene = self._scene(SCENE, size, ortho_scale=2.0 * views.COLS)
        for r in range(views.ROWS):
            for c in range(views.COLS):
                offset = (2.0 * c - (views.COLS - 1), (views.ROWS - 1) - 2.0 * r, 0.0)
                self._add_object(self.scene, f"{PREFIX}view_{r}_{c}", self._rotations[r, c], offset)
        self._view_scene: bpy.types.Scene | None = None
        self._view_object: bpy.types.Object | None = None

    # -- geometry -----------------------------------------------------------------------------

    def load(self, triangles: np.ndarray) -> None:
        """Show these part-frame triangles (N, 3, 3) in every view."""
        self.mesh.clear_geometry()
        fill_mesh(self.mesh, metaimage.normalize(triangles))
        rgba = np.ones((len(triangles), 4), dtype=np.float32)
        rgba[:, :3] = metaimage.face_colors(triangles) / np.float32(255.0)
        colors = self.mesh.attributes.new(ATTRIBUTE, "FLOAT_COLOR", "FACE")
        colors.data.foreach_set("color", rgba.ravel())
        self.mesh.update()

    # -- rendering ----------------------------------------------------------------------------

    def render(self, strategy: str = "grid") -> bytes:
        """Render the loaded part; return the meta-image as PNG bytes (no metadata)."""
        if strategy == "grid":
            return self._render_file(self.scene, self._tmp / "grid.png").read_bytes()
        if strategy == "views":
            return png.encode_rgb(self.render_views())
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")

    def render_views(self) -> np.ndarray:
        """Render the 100 views one at a time and tile them: the slow reference strategy."""
        tile = self.size // views.COLS
        if self._view_scene is None:
            self._view_scene = self._scene(VIEW_SCENE, tile, ortho_scale=2.0)
            self._view_object = self._add_object(
                self._view_scene, PREFIX + "single_view", np.eye(3), (0.0, 0.0, 0.0)
            )
        out = np.zeros((views.ROWS, views.COLS, tile, tile, 3), dtype=np.uint8)
        for r in range(views.ROWS):
            for c in range(views.COLS):
                self._view_object.matrix_world = _matrix(self._rotations[r, c], (0.0, 0.0, 0.0))
                out[r, c] = _read_rgb(self._render_file(self._view_scene, self._tmp / "view.png"))
        return metaimage.tile(out)

    def _render_file(self, scene: bpy.types.Scene, path: Path) -> Path:
        scene.render.filepath = str(path)
        with _quiet_stdout():
            bpy.ops.render.render(write_still=True, scene=scene.name)
        return path

    # -- set-up and tear-down -----------------------------------------------------------------

    def _scene(self, name: str, resolution: int, ortho_scale: float) -> bpy.types.Scene:
        scene = bpy.data.scenes.new(name)
        scene.world = self.world
        r = scene.render
        r.engine = "CYCLES"
        r.resolution_x = r.resolution_y = resolution
        r.resolution_percentage = 100
        r.use_file_extension = False
        r.dither_intensity = 0.0
        r.film_transparent = False
        r.use_compositing = False
        r.use_sequencer = False
        r.threads_mode = "FIXED" if self.threads else "AUTO"
        if self.threads:
            r.threads = self.threads
        s = r.image_settings
        s.file_format = "PNG"
        s.color_mode = "RGB"
        s.color_depth = "8"
        scene.view_settings.view_transform = "Raw"
        scene.view_settings.look = "None"
        scene.view_settings.exposure = 0.0
        scene.view_settings.gamma = 1.0
        c = scene.cycles
        c.device = "CPU"
        c.samples = 1
        c.use_adaptive_sampling = False
        c.use_denoising = False
        c.max_bounces = 0
        c.transparent_max_bounces = 0
        c.use_light_tree = False
        c.pixel_filter_type = "BOX"
        c.filter_width = 0.01  # sample each pixel at its centre: no anti-aliasing blend
        c.seed = 0
        for layer in scene.view_layers:
            layer.use_pass_z = False
        camera = bpy.data.cameras.new(name + "_camera")
        camera.type = "ORTHO"
        camera.ortho_scale = ortho_scale
        camera.clip_start = 1.0
        camera.clip_end = 10.0
        cam = bpy.data.objects.new(name + "_camera", camera)
        cam.location = (0.0, 0.0, 5.0)
        scene.collection.objects.link(cam)
        scene.camera = cam
        return scene

    def _add_object(self, scene, name: str, rotation: np.ndarray, offset) -> bpy.types.Object:
        obj = bpy.data.objects.new(name, self.mesh)
        obj.matrix_world = _matrix(rotation, offset)
        scene.collection.objects.link(obj)
        return obj

    def close(self) -> None:
        """Remove everything this renderer added to bpy.data."""
        for scene in (self.scene, self._view_scene):
            if scene is not None:
                for obj in list(scene.collection.objects):
                    data = obj.data
                    bpy.data.objects.remove(obj)
                    if isinstance(data, bpy.types.Camera):
                        bpy.data.cameras.remove(data)
                bpy.data.scenes.remove(scene)
        bpy.data.meshes.remove(self.mesh)
        bpy.data.materials.remove(self.material)
        bpy.data.worlds.remove(self.world)
        shutil.rmtree(self._tmp, ignore_errors=True)
        self.scene = self._view_scene = None

    def __enter__(self) -> MetaImageRenderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fill_mesh(mesh: bpy.types.Mesh, triangles: np.ndarray) -> None:
    """Add (N, 3, 3) triangles to an empty mesh: 3 unshared vertices per face (flat normals)."""
    n = len(triangles)
    mesh.vertices.add(3 * n)
    mesh.vertices.foreach_set("co", np.asarray(triangles, dtype=np.float32).ravel())
    mesh.loops.add(3 * n)
    mesh.loops.foreach_set("vertex_index", np.arange(3 * n, dtype=np.int32))
    mesh.polygons.add(n)
    mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * n, 3, dtype=np.int32))
    mesh.update()


def _matrix(rotation: np.ndarray, offset) -> Matrix:
    m = np.eye(4)
    m[:3, :3] = rotation
    m[:3, 3] = offset
    return Matrix(m.tolist())


def _normal_material() -> bpy.types.Material:
    mat = bpy.data.materials.new(PREFIX + "normal_map")
    if mat.node_tree is None:  # Blender 4.x; from 5.0 materials always have nodes
        mat.use_nodes = True
    mat.cycles.emission_sampling = "NONE"  # not a light: skips building a light tree per part
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    attr = nodes.new("ShaderNodeAttribute")
    attr.attribute_type = "GEOMETRY"
    attr.attribute_name = ATTRIBUTE
    emission = nodes.new("ShaderNodeEmission")
    emission.inputs["Strength"].default_value = 1.0
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(attr.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    return mat


def _black(world: bpy.types.World) -> None:
    if world.node_tree is None:  # Blender 4.x
        world.use_nodes = True
    background = world.node_tree.nodes["Background"]
    background.inputs["Color"].default_value = (0.0, 0.0, 0.0, 1.0)
    background.inputs["Strength"].default_value = 0.0


def _read_rgb(path: Path) -> np.ndarray:
    """Exact 8-bit RGB of a PNG Blender wrote, top row first."""
    image = bpy.data.images.load(str(path))
    try:
        image.colorspace_settings.name = "Non-Color"
        w, h = image.size
        px = np.empty(w * h * image.channels, dtype=np.float32)
        image.pixels.foreach_get(px)
    finally:
        bpy.data.images.remove(image)
    rgb = px.reshape(h, w, -1)[::-1, :, :3]
    return np.floor(rgb * 255.0 + 0.5).astype(np.uint8)


@contextlib.contextmanager
def _quiet_stdout():
    """Silence Blender's per-render 'Saved: ...' and 'Time: ...' lines: they would corrupt piped
    output headless, and in the application they filled the console, two lines an image."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
