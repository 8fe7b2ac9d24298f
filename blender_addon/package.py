"""Build the installable extension zip: the add-on files plus its own copy of `shared/`."""

from __future__ import annotations

import fnmatch
import tomllib
import zipfile
from pathlib import Path

from ._shared import atomic

ADDON = Path(__file__).resolve().parent
SHARED = ADDON.parent / "shared"


def build_zip(out: Path) -> Path:
    """Write dist/<id>-<version>.zip and return its path."""
    manifest = tomllib.loads((ADDON / "blender_manifest.toml").read_text())
    excluded = manifest["build"]["paths_exclude_pattern"]
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{manifest['id']}-{manifest['version']}.zip"
    with atomic.replacing(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for root, prefix in ((ADDON, ""), (SHARED, "shared/")):
            for file in sorted(root.rglob("*")):
                rel = file.relative_to(root).as_posix()
                if file.is_file() and not _excluded(rel, excluded):
                    z.write(file, prefix + rel)
    return path


def _excluded(rel: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("/"):
            if f"/{pattern}" in f"/{rel}" or rel.startswith(pattern):
                return True
        elif fnmatch.fnmatch(rel.rsplit("/", 1)[-1], pattern):
            return True
    return False
