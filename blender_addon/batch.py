"""Render a batch of STL files into a meta-image dataset (images + manifest.csv).

`render_batch(config)` plans the work, skips images that are already up to date, renders the
rest in this process or in `workers` Blender processes, and merges `manifest.csv`. It never
imports bpy itself: the renderer is created in whichever process renders.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ._shared import atomic, manifest, metaimage, png, progress, rotations, stl
from .utils import jobs

RESULT_MARK = "@@milling-result "
"""Prefix of a worker's answer on stdout; Blender may print other lines there."""


@dataclass
class BatchConfig:
    inputs: list[str]
    out: Path
    labels: Path | None = None
    size: int = metaimage.DEFAULT_SIZE
    workers: int = 1
    rotations: bool = False
    strategy: str = "grid"
    threads: int = 0
    """Render threads per process; 0 = all cores (one process) or cores / workers."""
    force: bool = False
    progress: bool = True
    shard: tuple[int, int] | None = None
    """(I, N): render only shard I of N of the parts (see jobs.shard)."""


@dataclass
class BatchResult:
    rows: list[manifest.Row] = field(default_factory=list)
    rendered: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Task:
    """The part of a job one renderer does: one source file, the variants still missing."""

    source: str
    part_id: str
    sha256: str
    variants: list[dict]
    """The missing `jobs.Variant`s, as dicts (tasks travel to workers as JSON)."""


def render_batch(config: BatchConfig) -> BatchResult:
    """Render `config.inputs` into `config.out`; raise jobs.UsageError for a bad request."""
    batch = Batch(config)
    try:
        if config.workers > 1 and len(batch.tasks) > 1:
            _render_in_workers(batch, config)
        else:
            while batch.step():
                pass
    finally:
        batch.close()
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
        if config.rotations and config.labels is None:
            raise jobs.UsageError("--rotations needs --labels: a rotation remaps the label")
        self.out = _prepare_output(config.out)
        labels = jobs.read_labels(config.labels) if config.labels else None
        files, errors = jobs.find_inputs(config.inputs)
        self.parts, plan_errors = jobs.plan(files, labels, config.rotations)
        if config.shard:
            self.parts = jobs.shard(self.parts, *config.shard)
        self.result = BatchResult()
        self.progress = progress.Progress(len(self.parts), enabled=config.progress)
        for message in errors + plan_errors:
            self._fail(message)
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
            self._fail(f"{part.source}: cannot read file ({e.strerror or e})")
            return
        todo = []
        for v in part.variants:
            expected = metaimage.provenance(digest, v.augmentation, self.config.size)
            if not self.config.force and jobs.is_current(self.out / v.image, expected):
                self.result.rows.append(
                    _row(part.source, part.part_id, v, digest, self.config.size)
                )
                self.result.skipped += 1
            else:
                todo.append(asdict(v))
        if todo:
            self.tasks.append(Task(part.source, part.part_id, digest, todo))

    def step(self) -> bool:
        """Render the next task in this process; False when there is nothing left."""
        if self._next >= len(self.tasks):
            return False
        if self._renderer is None:
            from .render import MetaImageRenderer  # bpy: only in the process that renders

            self._renderer = MetaImageRenderer(self.config.size, self.config.threads)
        task = self.tasks[self._next]
        self._next += 1
        self.collect(
            task, render_task(self._renderer, asdict(task), self.out, self.config.strategy)
        )
        return True

    def collect(self, task: Task, answer: dict) -> None:
        """Record a task's outcome: manifest rows for the images written, and any error."""
        self.done += 1
        for v in answer.get("variants", []):
            variant = jobs.Variant(**v)
            self.result.rows.append(
                _row(task.source, task.part_id, variant, task.sha256, self.config.size)
            )
            self.result.rendered += 1
        if answer.get("error"):
            self._fail(answer["error"])
        self.progress.update(self.done, Path(task.source).name)

    def close(self) -> None:
        """Write the manifest of what is done (also after an interruption); free the renderer."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self.progress.close()
        owned = {v.image for p in self.parts for v in p.variants}
        warning = merge_manifest(self.out, self.result.rows, owned)
        if warning:
            self._fail(warning)
        self.result.seconds = time.monotonic() - self.start

    def _fail(self, message: str) -> None:
        self.result.errors.append(message)
        self.progress.error(message)


def _row(source: str, part_id: str, v: jobs.Variant, digest: str, size: int) -> manifest.Row:
    return manifest.Row(
        image=v.image,
        label=v.label,
        part_id=part_id,
        source=str(Path(source).resolve()),
        augmentation=v.augmentation,
        size=size,
        source_sha256=digest,
    )


def _prepare_output(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = atomic.temporary_name(out / "write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise jobs.UsageError(
            f"{out}: cannot write to the output folder ({e.strerror or e})"
        ) from None
    atomic.remove_stale(out)
    return out


def merge_manifest(out: Path, rows: list[manifest.Row], owned: set[str] | None = None) -> str:
    """Write out/manifest.csv: `rows`, plus earlier rows whose images still exist.

    Earlier rows for images in `owned` (the ones this run was asked to make) are dropped even
    when this run failed them. Returns a warning, or '' when the old manifest was fine.
    """
    path = out / manifest.FILENAME
    merged = {r.image: r for r in rows}
    owned = owned or set()
    warning = ""
    if path.exists():
        try:
            for old in manifest.read(path):
                keep = old.image not in merged and old.image not in owned
                if keep and (out / old.image).exists():
                    merged[old.image] = old
        except manifest.ManifestError as e:
            warning = f"{e} (rewritten with this run's images only)"
    if merged or not path.exists():
        manifest.write(path, list(merged.values()))
    return warning


def merge_datasets(folders: list[Path], out: Path) -> int:
    """Merge rendered folders (e.g. the shards of one batch) into `out`: copy each manifest row's
    image, then merge the manifests. Returns the number of rows merged; jobs.UsageError when a
    folder is unusable or two folders hold different images under one name."""
    _prepare_output(out)
    rows: dict[str, manifest.Row] = {}
    sources: dict[str, Path] = {}
    for folder in folders:
        try:
            found = manifest.read(folder / manifest.FILENAME)
        except (manifest.ManifestError, OSError) as e:
            raise jobs.UsageError(f"{folder}: no readable manifest.csv ({e})") from None
        for row in found:
            src = folder / row.image
            if not src.is_file():
                raise jobs.UsageError(f"{src}: listed in {folder / manifest.FILENAME} but missing")
            if row.image in sources and sources[row.image].read_bytes() != src.read_bytes():
                raise jobs.UsageError(f"{src}: differs from {sources[row.image]} (same name)")
            rows[row.image], sources[row.image] = row, src
    for name, src in sources.items():
        target = out / name
        if src.resolve() != target.resolve():
            data = src.read_bytes()
            if not target.is_file() or target.read_bytes() != data:
                atomic.write_bytes(target, data)
    merge_manifest(out, list(rows.values()))
    return len(rows)


# -- rendering one task (in whichever process holds the renderer) ----------------------------


def render_task(renderer, task: dict, out: Path, strategy: str) -> dict:
    """Read one STL file and write its missing meta-images.

    Returns {'variants': [the ones written]}, with 'error' added if something failed.
    """
    try:
        mesh = stl.read_stl(task["source"])
    except stl.StlError as e:
        return {"error": str(e)}
    written = []
    try:
        for v in task["variants"]:
            variant = jobs.Variant(**v)
            rotation = rotations.parse_rotation(variant.rotation)
            record = metaimage.provenance(task["sha256"], variant.augmentation, renderer.size)
            write_meta_image(
                renderer, mesh.triangles @ rotation.T, out / v["image"], record, strategy
            )
            written.append(v)
    except OSError as e:
        return {"variants": written, "error": f"{out}: cannot write meta-image ({e.strerror or e})"}
    except (RuntimeError, MemoryError) as e:  # Blender could not render this mesh
        return {"variants": written, "error": f"{task['source']}: render failed ({e})"}
    return {"variants": written}


def write_meta_image(
    renderer, triangles: np.ndarray, path: Path, record: dict, strategy: str = "grid"
) -> None:
    """Render part-frame triangles and write the tagged PNG atomically."""
    renderer.load(triangles)
    data = png.retag(renderer.render(strategy), metaimage.provenance_text(record))
    atomic.write_bytes(path, data)


# -- worker processes --------------------------------------------------------------------------


def worker_command(size: int, strategy: str, threads: int, out: Path) -> list[str]:
    """How to start a worker: this Blender binary if we run inside one, else this Python."""
    args = [
        "worker",
        "--out",
        str(out),
        "--size",
        str(size),
        "--strategy",
        strategy,
        "--threads",
        str(threads),
    ]
    bpy = sys.modules.get("bpy")
    binary = getattr(getattr(bpy, "app", None), "binary_path", "") if bpy else ""
    if binary:
        script = str(Path(__file__).with_name("cli.py"))
        return [binary, "--background", "--factory-startup", "--python", script, "--", *args]
    return [sys.executable, "-m", "blender_addon", *args]


def _render_in_workers(batch: Batch, config: BatchConfig) -> None:
    tasks = batch.tasks
    workers = min(config.workers, len(tasks))
    threads = config.threads or max(1, (os.cpu_count() or 1) // workers)
    command = worker_command(config.size, config.strategy, threads, batch.out)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    pending: queue.Queue[Task | None] = queue.Queue()
    for task in tasks:
        pending.put(task)
    answers: queue.Queue[tuple[Task, dict]] = queue.Queue()

    def drive() -> None:
        proc = None
        try:
            while True:
                try:
                    task = pending.get_nowait()
                except queue.Empty:
                    return
                if proc is None or proc.poll() is not None:
                    proc = subprocess.Popen(
                        command,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                        env=env,
                        bufsize=1,
                    )
                answers.put((task, _ask(proc, task)))
        finally:
            if proc is not None:
                _stop(proc)

    threads_ = [threading.Thread(target=drive, daemon=True) for _ in range(workers)]
    for t in threads_:
        t.start()
    for _ in tasks:
        batch.collect(*answers.get())
    for t in threads_:
        t.join()


def _ask(proc: subprocess.Popen, task: Task) -> dict:
    try:
        proc.stdin.write(json.dumps(asdict(task)) + "\n")
        proc.stdin.flush()
        for line in proc.stdout:
            if line.startswith(RESULT_MARK):
                return json.loads(line[len(RESULT_MARK) :])
    except (BrokenPipeError, OSError, ValueError):
        pass
    proc.kill()
    return {"error": f"{task.source}: the render worker died (exit code {proc.wait()})"}


def _stop(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.close()
        proc.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()


def serve_worker(out: Path, size: int, strategy: str, threads: int) -> int:
    """Worker loop: read tasks as JSON lines on stdin, answer each on stdout."""
    from .render import MetaImageRenderer

    with MetaImageRenderer(size, threads) as renderer:
        for line in sys.stdin:
            if line.strip():
                answer = render_task(renderer, json.loads(line), out, strategy)
                sys.stdout.write(RESULT_MARK + json.dumps(answer) + "\n")
                sys.stdout.flush()
    return 0
