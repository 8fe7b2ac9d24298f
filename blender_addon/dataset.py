"""A rendered dataset's folder: check it can be written, merge manifest.csv, merge folders
(the shards of one batch) into one."""

from __future__ import annotations

from pathlib import Path

from ._shared import atomic, manifest
from .utils.jobs import UsageError


def prepare_output(out: Path) -> Path:
    """Create `out` if needed and check it can be written; clear stale temporaries."""
    try:
        atomic.make_writable_folder(out)
    except OSError as e:
        raise UsageError(f"{out}: cannot write to the output folder ({e.strerror or e})") from None
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
    image, then merge the manifests. Returns the number of rows merged; UsageError when a
    folder is unusable or two folders hold different images under one name."""
    prepare_output(out)
    rows: dict[str, manifest.Row] = {}
    sources: dict[str, Path] = {}
    for folder in folders:
        try:
            found = manifest.read(folder / manifest.FILENAME)
        except (manifest.ManifestError, OSError) as e:
            raise UsageError(f"{folder}: no readable manifest.csv ({e})") from None
        for row in found:
            src = folder / row.image
            if not src.is_file():
                raise UsageError(f"{src}: listed in {folder / manifest.FILENAME} but missing")
            if row.image in sources and sources[row.image].read_bytes() != src.read_bytes():
                raise UsageError(f"{src}: differs from {sources[row.image]} (same name)")
            rows[row.image], sources[row.image] = row, src
    for name, src in sources.items():
        target = out / name
        if src.resolve() != target.resolve():
            data = src.read_bytes()
            if not target.is_file() or target.read_bytes() != data:
                atomic.write_bytes(target, data)
    merge_manifest(out, list(rows.values()))
    return len(rows)
