"""A rendered dataset's folder: check it can be written, merge manifest.csv, merge folders
(the shards of one batch) into one."""

from __future__ import annotations

import json
from pathlib import Path

from .._shared import atomic, manifest
from .jobs import UsageError

SHARD_FILE = "shard.json"
"""Written by a sharded render when it stops: which shard, of how many, and its images."""


class IncompleteError(Exception):
    """Shards of the batch are missing or unfinished: merging them would lose parts (exit 1)."""


def write_shard_record(out: Path, index: int, count: int, images: set[str]) -> None:
    """Record that shard `index` of `count` ran in `out`, and the images it was to make."""
    record = {"shard": index, "of": count, "images": sorted(images)}
    atomic.write_bytes(out / SHARD_FILE, (json.dumps(record, indent=1) + "\n").encode())


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
    atomic.remove_stale(out)  # a killed run's writer may have been still exiting at the start
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
    listings: dict[Path, list[manifest.Row] | UsageError] = {}
    for folder in folders:  # read once: the shard check and the merge both use them
        try:
            listings[folder] = manifest.read(folder / manifest.FILENAME)
        except (manifest.ManifestError, OSError) as e:
            listings[folder] = UsageError(f"{folder}: no readable manifest.csv ({e})")
    _check_shards(listings)
    prepare_output(out)
    rows: dict[str, manifest.Row] = {}
    sources: dict[str, Path] = {}
    for folder, found in listings.items():
        if isinstance(found, UsageError):
            raise found
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
    manifest.add_roots(out, [root for folder in listings for root in manifest.read_roots(folder)])
    return len(rows)


def _check_shards(listings: dict[Path, list[manifest.Row] | UsageError]) -> None:
    """If the folders are shards (any has a shard record), all N must be there and finished."""
    records = {}
    for folder in listings:
        try:
            records[folder] = json.loads((folder / SHARD_FILE).read_text())
        except FileNotFoundError:
            records[folder] = None
        except (OSError, ValueError) as e:
            raise UsageError(f"{folder / SHARD_FILE}: unreadable ({e})") from None
        record = records[folder]
        if record is not None and not (
            isinstance(record, dict) and {"shard", "of", "images"} <= set(record)
        ):
            raise UsageError(f"{folder / SHARD_FILE}: not a shard record")
    if not any(records.values()):
        return  # not shards: folders of separate batches merge as they are
    unfinished = [str(f) for f, r in records.items() if r is None]
    if unfinished:
        raise IncompleteError(
            f"{', '.join(unfinished)}: no {SHARD_FILE}, so its shard never finished (killed or "
            "still running): render it again, then merge"
        )
    counts = {r["of"] for r in records.values()}
    if len(counts) > 1:
        raise UsageError(f"the folders are shards of different splits (of {sorted(counts)})")
    count = counts.pop()
    missing = sorted(set(range(count)) - {r["shard"] for r in records.values()})
    if missing:
        names = ", ".join(map(str, missing))
        raise IncompleteError(
            f"missing shard{'s' * (len(missing) > 1)} {names} of {count}: render "
            f"{'them' if len(missing) > 1 else 'it'} (--shard I/{count}) and merge again"
        )
    for folder, record in records.items():
        found = listings[folder]
        listed = set() if isinstance(found, UsageError) else {r.image for r in found}
        lost = [i for i in record["images"] if i not in listed or not (folder / i).is_file()]
        if lost:
            raise IncompleteError(
                f"{folder}: shard {record['shard']}/{count} is missing {len(lost)} of its "
                f"{len(record['images'])} images (e.g. {lost[0]}: failed or interrupted): "
                "render it again, then merge"
            )
