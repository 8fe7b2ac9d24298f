"""Rendering on a Ray cluster (`render --cluster auto|ray://HOST:PORT`).

One long-lived actor per CPU slot holds a renderer, so bpy (or Embree) loads once per slot. The
batch sends each actor a task with the STL file's bytes and gets the finished PNGs back, and this
process writes them: the cluster's nodes need no shared folder, only this package installed. A
task whose actor dies (a killed worker, a lost node) goes to a fresh actor, up to TRIES times.
"""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Callable
from pathlib import Path

from .._shared import atomic, stl
from ..render.engines import open_renderer
from . import cluster_auth
from .jobs import UsageError
from .task import Answer, Task, render_task

TRIES = 3
"""How often a task is sent before it fails: a lost actor's task goes to a fresh one."""
JOIN_TRIES = 6
"""How often a Ray Client connection is tried: its server forks a process per client, and
that start fails now and then on a loaded head node (seen: 1 in 2 with both cores busy, three
in a row once), so tries are JOIN_PAUSE_S, 2 × JOIN_PAUSE_S, ... apart."""
JOIN_PAUSE_S = 2.0


class RenderActor:
    """A renderer on a cluster slot (made a Ray actor by `render_on_ray`)."""

    def __init__(self, size: int, strategy: str, engine: str, threads: int, cap: int):
        os.environ[stl.CAP_VARIABLE] = str(cap)  # the batch's triangle limit, not the node's
        self.strategy = strategy
        self.renderer = open_renderer(engine, size, threads)

    def pid(self) -> int:
        return os.getpid()

    def render(self, task: Task, data: bytes) -> tuple[Answer, dict[str, bytes]]:
        images: dict[str, bytes] = {}
        answer = render_task(
            self.renderer, task, Path(), self.strategy, data, keep=images.__setitem__
        )
        return answer, images


def connect(address: str, warn: Callable[[str], None] = print) -> int:
    """Join the Ray cluster at `address` (auto: $RAY_ADDRESS, the cluster started on this
    machine, else a new local one); return its CPU slots. Authentication: cluster_auth.py."""
    cluster_auth.use_local_token()
    try:
        import ray
    except ImportError:
        raise UsageError(
            "--cluster needs Ray: pip install -e '.[cluster]' (make setup installs it)"
        ) from None
    if address != "auto" and not address.startswith("ray://"):
        raise UsageError(f"--cluster {address}: expected auto or ray://HOST:PORT")
    try:
        cluster_auth.check(address)
        for attempt in range(1, JOIN_TRIES + 1):
            try:
                ray.init(
                    None if address == "auto" else address,
                    logging_level="warning",
                    log_to_driver=False,
                    include_dashboard=False if address == "auto" else None,
                )
                break
            except ConnectionAbortedError as e:  # a Ray Client server's failed worker start
                if attempt == JOIN_TRIES or not str(e).startswith("Initialization failure"):
                    raise
                warn(
                    f"--cluster {address}: its client server did not start ({_gist(e)}); "
                    f"trying again ({attempt + 1}/{JOIN_TRIES})"
                )
                time.sleep(JOIN_PAUSE_S * attempt)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as e:
        if isinstance(e, UsageError):
            raise
        raise UsageError(f"--cluster {address}: cannot join the Ray cluster ({_gist(e)})") from None
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _gist(e: BaseException) -> str:
    """One line of an error: its first, or its last where the first only leads in (a server's
    traceback after 'Initialization failure from server:')."""
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    if not lines:
        return type(e).__name__
    return lines[-1] if lines[0].endswith(":") and len(lines) > 1 else lines[0]


def disconnect() -> None:
    import ray

    ray.shutdown()


def render_on_ray(
    tasks: list[Task],
    slots: int,
    size: int,
    strategy: str,
    engine: str,
    threads: int,
    out: Path,
    collect: Callable[[Task, Answer], None],
    warn: Callable[[str], None] = print,
) -> None:
    """Render `tasks` on the cluster joined by `connect` (`slots` CPU slots); write each
    answer's images into `out` and `collect` it, in the order they finish."""
    import ray

    idle, running = [], {}
    try:
        actor_class = ray.remote(num_cpus=1, max_restarts=0)(RenderActor)
        cap = stl.triangle_cap()

        def new_actor():
            return actor_class.remote(size, strategy, engine, threads or 1, cap)

        idle.extend(new_actor() for _ in range(min(slots, len(tasks))))
        pending = collections.deque(tasks)
        tries: dict[str, int] = collections.Counter()
        while pending or running:
            while pending and idle:
                task, actor = pending.popleft(), idle.pop()
                try:
                    data = Path(task.source).read_bytes()
                except OSError as e:
                    idle.append(actor)
                    collect(task, Answer([], f"{task.source}: cannot read file ({e.strerror})"))
                    continue
                running[actor.render.remote(task, data)] = (task, actor)
            if not running:
                continue
            (ref,), _ = ray.wait(list(running), num_returns=1)
            task, actor = running.pop(ref)
            try:
                answer, images = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as e:
                tries[task.source] += 1
                ray.kill(actor)
                idle.append(new_actor())  # the lost one's slot
                if tries[task.source] < TRIES:
                    warn(f"{task.source}: its cluster worker was lost; sending it again")
                    pending.appendleft(task)
                else:
                    reason = str(e).strip().splitlines()[0] if str(e).strip() else "actor died"
                    collect(
                        task,
                        Answer([], f"{task.source}: lost on the cluster {TRIES} times ({reason})"),
                    )
                continue
            idle.append(actor)
            collect(task, _write(answer, images, out))
    finally:
        for actor in idle + [actor for _, actor in running.values()]:
            ray.kill(actor)


def _write(answer: Answer, images: dict[str, bytes], out: Path) -> Answer:
    """Write an actor's images here; an image that cannot be written fails its task."""
    written = []
    for variant in answer.variants:
        try:
            atomic.write_bytes(out / variant.image, images[variant.image])
        except OSError as e:
            return Answer(written, f"{out}: cannot write meta-image ({e.strerror or e})")
        written.append(variant)
    return Answer(written, answer.error)
