"""A benchmark's figures as a dated record: the JSON that a Results page of the docs is made of.

    record.write("real", "Real parts", tables, notes)   ->  docs/results/data/2026-12-06-real.json

Each record says when (date), on what (the commit, `-dirty` with uncommitted changes), where
(the machine: architecture, cores, memory, GPU) and how (the command), then its tables. A
cell is a number or a string; a column's `format` says how a number is shown (bench/results.py).
Nothing on a Results page is typed by hand: tests/architecture/test_docs.py checks that every figure
there comes from its record.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "results" / "data"
FORMATS = ("text", "int", "percent", "seconds", "ms", "float3", "ratio")


def add_option(parser) -> None:
    """`--record [DIR]`: also write the run's figures as a dated record (default: DATA)."""
    parser.add_argument(
        "--record",
        nargs="?",
        const=DATA,
        type=Path,
        metavar="DIR",
        help="also write the figures as a dated record for the docs' Results "
        "(default DIR: docs/results/data)",
    )


def column(title: str, format: str = "text") -> dict:
    """A table column: its title and how its numbers are shown (one of FORMATS)."""
    if format not in FORMATS:
        raise ValueError(f"format {format!r}: expected one of {', '.join(FORMATS)}")
    return {"title": title, "format": format}


def table(title: str, columns: list[dict], rows: list[list]) -> dict:
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"{title}: a row of {len(row)} cells under {len(columns)} columns")
    return {"title": title, "columns": columns, "rows": rows}


def commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{head}-dirty" if dirty else head


def machine() -> str:
    """Architecture, cores, memory and accelerator, in words."""
    memory = ""
    try:
        kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory = f", {kb / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    gpu = "no GPU"
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode == 0 and done.stdout.strip():
            gpu = done.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{memory}, {gpu}, {platform.system()}"


def write(
    name: str, title: str, tables: list[dict], notes: list[str] = (), out: Path = DATA
) -> Path:
    """Write today's record of benchmark `name` (replacing today's earlier one) and return it."""
    today = datetime.date.today().isoformat()
    record = {
        "name": name,
        "title": title,
        "date": today,
        "commit": commit(),
        "machine": machine(),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "tables": tables,
        "notes": list(notes),
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{today}-{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(path)
    print(
        f"record: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", file=sys.stderr
    )
    return path
