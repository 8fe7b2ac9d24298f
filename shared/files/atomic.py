"""Write files so that they either do not exist or are complete (temporary name, then rename)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

TEMPORARY_MARK = ".tmp-"


def temporary_name(path: Path) -> Path:
    """A hidden sibling of `path` that names the writing process: `.<name>.tmp-<pid>`."""
    return path.with_name(f".{path.name}{TEMPORARY_MARK}{os.getpid()}")


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on failure it is removed."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)


def make_writable_folder(folder: Path) -> Path:
    """Create `folder` if needed and prove it can be written (OSError if not), by writing and
    removing a temporary file, so that a batch fails before its first output, not after."""
    folder.mkdir(parents=True, exist_ok=True)
    probe = temporary_name(folder / "write-test")
    probe.write_bytes(b"")
    probe.unlink()
    return folder


def remove_stale(folder: Path) -> int:
    """Delete temporary files whose writing process is gone (a killed run); return the count."""
    removed = 0
    for tmp in folder.glob(f".*{TEMPORARY_MARK}*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not process_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def process_alive(pid: int) -> bool:
    """True if a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return not _exited(pid)


def _exited(pid: int) -> bool:
    """Linux: a killed process still answers kill(pid, 0) until it is reaped (a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")
