"""Render a batch of STL files into a meta-image dataset (images + manifest.csv).

`render_batch(config)` plans the work, skips images that are already up to date, renders the
rest in this process or in `workers` processes (workers.py), and merges `manifest.csv`. It
never imports bpy itself: the renderer is created in whichever process renders.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .._shared import (
    manifest,
    metaimage,
    plans,
    progress,
    render_outcome,
)
from ..render.engines import open_renderer, resolve
from . import cluster, jobs, workers
from .dataset import merge_manifest, prepare_output, write_shard_record
from .task import Answer, Task, render_task


@dataclass
class BatchConfig:
    inputs: list[str]
    out: Path
    labels: Path | None = None
    size: int = metaimage.DEFAULT_SIZE
    workers: int = 1
    rotations: int = 0
    """Render each labelled part in this many of its 20 label-keeping rotations (0: as it is)."""
    rotation_seed: int = 0
    """Which rotations, when fewer than 20 (see jobs.pick_rotations)."""
    strategy: str = "grid"
    engine: str = "auto"
    """auto (the fastest exact engine here), embree or cycles: see engines.py."""
    threads: int = 0
    """Render threads per process; 0 = all cores (one process) or cores / workers."""
    force: bool = False
    progress: bool = True
    shard: tuple[int, int] | None = None
    """(I, N): render only shard I of N of the parts (see jobs.shard)."""
    cluster: str = ""
    """A Ray cluster to render on (auto or ray://HOST:PORT; see cluster.py), or none."""


@dataclass
class BatchResult:
    rows: list[manifest.Row] = field(default_factory=list)
    rendered: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    wrote: bool = True
    """False when no input could be read and the output folder was not there before: then
    nothing is left behind (no folder, no header-only manifest)."""
    outcomes: list[render_outcome.RenderOutcome] = field(default_factory=list)
    """One per input file (or per folder that gave none), in input order."""
    seconds: float = 0.0
    engine: str = ""
    """The engine that rendered (or would have rendered) the images: see engines.py."""


def _warn(line: str) -> None:
    print(f"warning: {line}", file=sys.stderr, flush=True)


def render_batch(config: BatchConfig) -> BatchResult:
    """Render `config.inputs` into `config.out`; raise jobs.UsageError for a bad request."""
    if config.cluster:  # joined before any output: a bad address writes nothing
        slots = cluster.connect(config.cluster, _warn)
    try:
        batch = Batch(config)
        try:
            if config.cluster and batch.tasks:
                args = (config.size, config.strategy, batch.engine, config.threads, batch.out)
                warn = functools.partial(batch.progress.error, kind="warning")
                cluster.render_on_ray(batch.tasks, slots, *args, batch.collect, warn)
            elif config.workers > 1 and len(batch.tasks) > 1:
                count = min(config.workers, len(batch.tasks))
                threads = config.threads or max(1, (os.cpu_count() or 1) // count)
                command = workers.worker_command(
                    config.size, config.strategy, batch.engine, threads, batch.out
                )
                workers.render_in_workers(batch.tasks, count, command, batch.collect)
            else:
                while batch.step():
                    pass
        finally:
            batch.close()
    finally:
        if config.cluster:
            cluster.disconnect()
    return batch.result


class Batch:
    """A planned batch: `step()` renders one part in this process, `close()` writes the manifest.

    The Blender panel drives it one step per timer tick; `render_batch` drives it in a loop or
    hands its tasks to worker processes.
    """

    def __init__(self, config: BatchConfig):
        self.start = time.monotonic()
        self.config = config
        metaimage.check_size(config.size)  # ValueError -> usage error in the CLI
        self.engine = resolve(config.engine, config.strategy)  # EngineError: a ValueError too
        if config.rotations and config.labels is None:
            raise jobs.UsageError("--rotations needs --labels: a rotation remaps the label")
        self._made = not Path(config.out).exists()
        self.out = prepare_output(config.out)
        labels = jobs.read_labels(config.labels) if config.labels else None
        setup_plans = jobs.read_plans(config.labels, labels) if config.labels else None
        files, problems = jobs.find_inputs(config.inputs)
        self.root = jobs.input_root(config.inputs, config.labels)
        self.parts, plan_problems = jobs.plan(
            files, labels, config.rotations, self.root, setup_plans
        )
        self._relative = {p.source: p.relative for p in self.parts}
        if config.shard:
            self.parts = jobs.shard(self.parts, *config.shard)
        self.result = BatchResult(engine=self.engine)
        self.progress = progress.Progress(len(self.parts), enabled=config.progress and self.parts)
        self._images: dict[str, list[str]] = {p.source: [] for p in self.parts}
        self._written: set[str] = set()
        self._failed: dict[str, str] = {}
        self._owned: set[str] = set()
        """The images this run was asked to make (see merge_manifest)."""
        self._order = [p.input for p in problems + plan_problems] + [p.source for p in self.parts]
        for problem in problems + plan_problems:
            self._fail(problem.input, problem.message)
        self.tasks: list[Task] = []
        for part in self.parts:
            self._check(part)
        self.total = len(self.parts)
        self.done = self.total - len(self.tasks)
        self.progress.update(self.done, "checked existing images")
        self._next = 0
        self._renderer = None

    def _check(self, part: jobs.Part) -> None:
        """Count the part's up-to-date images as done; queue a task for the rest."""
        try:
            digest = jobs.sha256_file(part.source)
        except OSError as e:
            self._owned.update(v.image for v in part.variants)
            self._fail(part.source, f"{part.source}: cannot read file ({e.strerror or e})")
            return
        variants = jobs.choose_variants(
            part, digest, self.config.rotations, self.config.rotation_seed
        )
        self._owned.update(v.image for v in variants)
        todo = []
        for v in variants:
            expected = metaimage.provenance(digest, v.augmentation, self.config.size, self.engine)
            if not self.config.force and jobs.is_current(self.out / v.image, expected):
                self._add(part.source, part.part_id, v, digest)
                self.result.skipped += 1
            else:
                todo.append(v)
        if todo:
            self.tasks.append(Task(part.source, part.part_id, digest, todo))

    def step(self) -> bool:
        """Render the next task in this process; False when there is nothing left."""
        if self._next >= len(self.tasks):
            return False
        if self._renderer is None:
            self._renderer = open_renderer(self.engine, self.config.size, self.config.threads)
        task = self.tasks[self._next]
        self._next += 1
        self.collect(task, render_task(self._renderer, task, self.out, self.config.strategy))
        return True

    def collect(self, task: Task, answer: Answer) -> None:
        """Record a task's outcome: manifest rows for the images written, and any error."""
        self.done += 1
        for variant in answer.variants:
            self._add(task.source, task.part_id, variant, task.sha256)
            self._written.add(task.source)
            self.result.rendered += 1
        if answer.error:
            self._fail(task.source, answer.error)
        self.progress.update(self.done, Path(task.source).name)

    def close(self) -> None:
        """Write the manifest of what is done (also after an interruption); free the renderer."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self.progress.close()
        self.result.seconds = time.monotonic() - self.start
        self.result.outcomes = [self._outcome(name) for name in dict.fromkeys(self._order)]
        if self._made and not self.result.rows and not self.config.shard:
            shutil.rmtree(self.out, ignore_errors=True)  # made for nothing: leave no trace
            self.result.wrote = False
            return
        warning = merge_manifest(self.out, self.result.rows, self._owned)
        if self.result.rows:
            manifest.add_roots(self.out, [str(self.root)])
        if warning:
            self.result.errors.append(warning)
            self.progress.error(warning)
        if self.config.shard:
            write_shard_record(self.out, *self.config.shard, self._owned)

    def _outcome(self, name: str) -> render_outcome.RenderOutcome:
        images = tuple(self._images.get(name, ()))
        if name in self._failed:
            return render_outcome.RenderOutcome(name, "failed", images, self._failed[name])
        status = "written" if name in self._written else "skipped"
        return render_outcome.RenderOutcome(name, status, images)

    def _add(self, source: str, part_id: str, v: jobs.Variant, digest: str) -> None:
        self._images[source].append(v.image)
        self.result.rows.append(
            manifest.Row(
                image=v.image,
                label=v.label,
                part_id=part_id,
                source=self._relative[source],
                augmentation=v.augmentation,
                size=self.config.size,
                source_sha256=digest,
                plan=plans.text(v.plan),
            )
        )

    def _fail(self, input: str, message: str) -> None:
        self._failed.setdefault(input, message)
        self.result.errors.append(message)
        self.progress.error(message)
