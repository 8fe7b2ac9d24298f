"""Render worker processes (`render --workers N`): the protocol between the batch and them.

A worker is this Blender binary (inside Blender) or this Python with the `bpy` module, started
as `worker`; it reads one task a line as JSON on stdin and answers each on stdout after
RESULT_MARK. Tasks and answers are objects everywhere else and become JSON only here.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from ..render.engines import open_renderer
from .jobs import Variant
from .task import Answer, Task, render_task

RESULT_MARK = "@@milling-result "
"""Prefix of a worker's answer on stdout; Blender may print other lines there."""


def task_to_json(task: Task) -> str:
    return json.dumps(asdict(task))


def task_from_json(line: str) -> Task:
    raw = json.loads(line)
    return Task(
        raw["source"], raw["part_id"], raw["sha256"], [Variant(**v) for v in raw["variants"]]
    )


def answer_to_json(answer: Answer) -> str:
    return json.dumps(asdict(answer))


def answer_from_json(line: str) -> Answer:
    raw = json.loads(line)
    return Answer([Variant(**v) for v in raw["variants"]], raw.get("error", ""))


def worker_command(size: int, strategy: str, engine: str, threads: int, out: Path) -> list[str]:
    """How to start a worker: this Blender binary if we run inside one, else this Python."""
    args = ["worker", "--out", str(out), "--size", str(size)]
    args += ["--strategy", strategy, "--engine", engine, "--threads", str(threads)]
    bpy = sys.modules.get("bpy")
    binary = getattr(getattr(bpy, "app", None), "binary_path", "") if bpy else ""
    if binary:
        script = str(Path(__file__).resolve().parents[1] / "cli.py")
        flags = ["--background", "--factory-startup", "--python-exit-code", "1"]
        return [binary, *flags, "--python", script, "--", *args]
    return [sys.executable, "-m", "blender_addon", *args]


def render_in_workers(
    tasks: list[Task],
    workers: int,
    command: list[str],
    collect: Callable[[Task, Answer], None],
) -> None:
    """Hand `tasks` to `workers` processes; `collect` each answer in this thread, in the order
    they come. A worker that dies fails its task and is restarted for the next one."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    pending: queue.Queue[Task] = queue.Queue()
    for task in tasks:
        pending.put(task)
    answers: queue.Queue[tuple[Task, Answer]] = queue.Queue()

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

    threads = [threading.Thread(target=drive, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for _ in tasks:
        collect(*answers.get())
    for t in threads:
        t.join()


def _ask(proc: subprocess.Popen, task: Task) -> Answer:
    try:
        proc.stdin.write(task_to_json(task) + "\n")
        proc.stdin.flush()
        for line in proc.stdout:
            if line.startswith(RESULT_MARK):
                return answer_from_json(line[len(RESULT_MARK) :])
    except (BrokenPipeError, OSError, ValueError, KeyError, TypeError):
        pass
    proc.kill()
    return Answer([], f"{task.source}: the render worker died (exit code {proc.wait()})")


def _stop(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.close()
        proc.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()


def serve_worker(out: Path, size: int, strategy: str, engine: str, threads: int) -> int:
    """Worker loop: read tasks as JSON lines on stdin, answer each on stdout."""
    with open_renderer(engine, size, threads) as renderer:
        for line in sys.stdin:
            if line.strip():
                answer = render_task(renderer, task_from_json(line), out, strategy)
                sys.stdout.write(RESULT_MARK + answer_to_json(answer) + "\n")
                sys.stdout.flush()
    return 0
