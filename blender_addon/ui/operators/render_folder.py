"""Batch-render a folder of STL files into the output folder (the CLI's `render`, in the UI)."""

from pathlib import Path

import bpy

from ...batch.runner import Batch, BatchConfig
from ...batch.task import Task
from ..properties import output_folder
from .job import JobOperator


class _FolderJob(Batch):
    """A Batch that reports like a job: one image per step (so that progress counts images and
    Esc acts between two grid renders), `close()` returns the summary line."""

    unit = "images"

    def __init__(self, config: BatchConfig):
        super().__init__(config)
        self.tasks = [
            Task(t.source, t.part_id, t.sha256, [v]) for t in self.tasks for v in t.variants
        ]
        self.total = self.result.skipped + len(self.tasks)
        self.done = self.result.skipped

    @property
    def current(self) -> str:
        return Path(self.tasks[self._next].source).name if self._next < len(self.tasks) else ""

    def close(self) -> str:
        super().close()
        r = self.result
        return (
            f"{r.rendered} meta-images rendered, {r.skipped} up to date, "
            f"{len(r.errors)} failed -> {self.out}"
        )

    @property
    def errors(self) -> list[str]:
        return list(dict.fromkeys(self.result.errors))  # a part's images share its error


class MILLING_OT_render_folder(JobOperator, bpy.types.Operator):
    """Render every STL file of a folder into meta-images and manifest.csv"""

    bl_idname = "milling.render_folder"
    bl_label = "Render Folder"
    bl_options = {"REGISTER"}

    def make_job(self, context):
        props = context.scene.milling
        if not props.input_dir or not props.output_dir:
            raise ValueError("choose an STL folder and an output folder first")
        if props.rotations and not props.labels_csv:
            raise ValueError(
                "Rotations need a labels CSV: each turned copy gets its label turned with it. "
                "Choose the labels CSV, or untick Rotations"
            )
        labels = bpy.path.abspath(props.labels_csv) if props.labels_csv else None
        config = BatchConfig(
            inputs=[bpy.path.abspath(props.input_dir)],
            out=output_folder(props.output_dir),
            labels=Path(labels) if labels else None,
            size=props.size,
            rotations=20 if props.rotations else 0,
            progress=False,
        )
        return _FolderJob(config)
