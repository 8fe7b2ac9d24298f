"""Build the installable extension zip: the add-on files plus its own copy of `shared/`.

Nothing but Python 3.11's standard library, so that `make addon` works on a fresh clone:

    python3.11 -m blender_addon.package [--out dist]
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ADDON = Path(__file__).resolve().parent
SHARED = ADDON.parent / "shared"


def build_zip(out: Path) -> Path:
    """Write dist/<id>-<version>.zip whole (a temporary file, then renamed) and return it."""
    manifest = tomllib.loads((ADDON / "blender_manifest.toml").read_text())
    excluded = manifest["build"]["paths_exclude_pattern"]
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{manifest['id']}-{manifest['version']}.zip"
    handle, tmp = tempfile.mkstemp(dir=out, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for root, prefix in ((ADDON, ""), (SHARED, "shared/")):
                for file in sorted(root.rglob("*")):
                    rel = file.relative_to(root).as_posix()
                    if file.is_file() and not _excluded(rel, excluded):
                        z.write(file, prefix + rel)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _excluded(rel: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("/"):
            if f"/{pattern}" in f"/{rel}" or rel.startswith(pattern):
                return True
        elif fnmatch.fnmatch(rel.rsplit("/", 1)[-1], pattern):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m blender_addon.package",
        description="Build the Blender extension zip (install it with Edit > Preferences > "
        "Get Extensions > Install from Disk).",
    )
    parser.add_argument("--out", type=Path, default=Path("dist"), help="folder (default dist)")
    args = parser.parse_args(argv)
    try:
        print(build_zip(args.out))
    except OSError as e:
        print(f"error: {args.out}: cannot write the zip ({e.strerror or e})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
