"""A real-GUI check a person can rerun: start the Blender application under Xvfb (software
OpenGL, a 1920 x 1080 screen), install the extension zip through Blender's own extension
installer, and drive the add-on (bench/gui_script.py): import a three-setup part and Predict
(screenshots from the front and from below, and of the outliner: nothing added there), a
second part whose answer one undo takes back (the first keeps its own), a text file renamed
.stl (a one-line error, no undo step), the correction dialog of a plan, the parts deleted (the
panel forgets their answers), Render Folder, and an error. Import and Predict run as their
buttons run them, each pushing its undo step. Last, `predict` headless under the same Blender
must print its JSON after Blender's banner.

    python bench/gui_check.py [--blender PATH] [--chroot DIR] [--out build/gui] [--zip OLD.zip]

Blender 4.2 or newer is needed (extensions). Debian bookworm's `blender` is 3.4; a Debian
trixie chroot has 4.3.2 (`debootstrap --variant=minbase trixie DIR`, then `apt-get install
blender xvfb xauth libgl1-mesa-dri imagemagick xdotool` inside it; `--chroot DIR` runs it
there). Without such a Blender it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.geometry.stl import write_stl  # noqa: E402

NEED = (4, 2)
SHOTS = (
    "three_setups_front",
    "three_setups_below",
    "three_setups_orbit",
    "outliner",
    "correction",
    "after_delete",
    "after_render_folder",
    "after_error",
)
SCRIPT = Path(__file__).with_name("gui_script.py")
"""What Blender runs: the steps, one per timer tick, and the screenshots."""


def blender_version(command: list[str]) -> tuple[int, ...] | None:
    """Blender's version, or None where there is no Blender to run."""
    try:
        done = subprocess.run(
            [
                *command,
                "-b",
                "--factory-startup",
                "--python-expr",
                "import bpy;print('VERSION', bpy.app.version_string)",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"VERSION (\d+)\.(\d+)", done.stdout)
    return tuple(map(int, found.groups())) if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blender", default=os.environ.get("BLENDER", "blender"))
    parser.add_argument("--chroot", type=Path, help="run Blender inside this root (a trixie one)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "gui")
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument(
        "--zip",
        type=Path,
        help="install this extension zip instead of one built from this checkout (an older "
        "one, for before-and-after screenshots: its facts are printed, not judged)",
    )
    args = parser.parse_args()
    prefix = ["chroot", str(args.chroot)] if args.chroot else []
    version = blender_version([*prefix, args.blender])
    if version is None or version < NEED:
        found = "none" if version is None else ".".join(map(str, version))
        print(
            f"gui check: skipped: needs a Blender {NEED[0]}.{NEED[1]} or newer application "
            f"(found: {found}; Debian bookworm has 3.4: see this script's docstring)"
        )
        return 0
    inside = Path(args.chroot) if args.chroot else Path("/")
    with tempfile.TemporaryDirectory(prefix="gui-", dir=inside / "tmp") as tmp:
        work = Path(tmp)
        seen = Path("/") / work.relative_to(inside)  # the same folder, as Blender sees it
        if args.zip:
            zip_path = Path(shutil.copy(args.zip, work))
        else:
            subprocess.run(
                [sys.executable, "-m", "blender_addon.package", "--out", str(work)],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            zip_path = next(work.glob("*.zip"))
        from trainer.synth import multiside

        part = work / "BlockWithHoleAndSidePocket.stl"  # three setups: +Z, +Y, -Z
        write_stl(part, multiside.build(np.random.default_rng(7), "+Z", 3)[0])
        second = work / "Bracket.stl"
        write_stl(second, multiside.build(np.random.default_rng(3), "+Z", 2)[0])
        bad = work / "order 1034.stl"  # a text file renamed .stl
        bad.write_text("Order 1034: three brackets, 6061, anodised black.\n" * 80)
        (work / "folder").mkdir()
        for i in range(3):
            block = multiside.build(np.random.default_rng(i), "+Z", 1)[0]
            write_stl(work / "folder" / f"Part Studio 1 - Part 1({i}).stl", block)
        (work / "out").mkdir()
        shutil.copyfile(SCRIPT, work / "gui.py")
        names = [zip_path.name, part.name, second.name, bad.name, "folder", "out"]
        command = [
            *prefix,
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1920x1080x24",
            args.blender,
            "--factory-startup",
            "-p",
            "0",
            "0",
            "1920",
            "1080",
            "--python",
            str(seen / "gui.py"),
            "--",
            *(str(seen / n) for n in names),
        ]
        env = os.environ | {"LIBGL_ALWAYS_SOFTWARE": "1", "BLENDER_USER_RESOURCES": str(seen)}
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, env=env
        )
        line = next((x for x in done.stdout.splitlines() if x.startswith("GUI_FACTS ")), "")
        if not line:
            print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")
            print("gui check: FAILED: Blender gave no facts")
            return 1
        facts = json.loads(line[len("GUI_FACTS ") :])
        facts["console_render_lines"] = sum(  # Cycles' per-image lines (Render Folder ran)
            x.startswith(("Saved:", "Time:")) for x in done.stdout.splitlines()
        )
        for folder in ("blender_addon", "shared"):  # the command line, headless, as a user runs it
            shutil.copytree(ROOT / folder, work / "repo" / folder)
        script = str(seen / "repo" / "blender_addon" / "cli.py")
        headless = subprocess.run(
            [
                *prefix,
                args.blender,
                "-b",
                "--python-exit-code",
                "1",
                "--python",
                script,
                "--",
                "predict",
                str(seen / part.name),
            ],
            capture_output=True,
            text=True,
            timeout=args.timeout,
        )
        lines = headless.stdout.splitlines()
        facts["headless_predict"] = {"exit": headless.returncode, "stdout": lines}
        args.out.mkdir(parents=True, exist_ok=True)
        for shot in (work / "out").glob("*.png"):  # the sidebar, and the whole window
            shutil.copyfile(shot, args.out / shot.name)
    print(json.dumps(facts, indent=1))
    if args.zip:
        print(f"gui check with {args.zip.name}: screenshots in {args.out} (not judged)")
        return 0
    good = passed(facts) and all((args.out / f"{n}.png").is_file() for n in SHOTS)
    print(
        f"gui check on Blender {'.'.join(map(str, version))}: {'passed' if good else 'FAILED'}"
        f"; screenshots in {args.out}"
    )
    return 0 if good else 1


def passed(facts: dict) -> bool:
    """What the steps must have shown (bench/gui_script.py)."""
    plan, two = facts.get("plan") or [], facts.get("two_answers", {})
    return (
        "failed" not in facts
        and facts["predict"] == ["FINISHED"]
        and len(plan) == 3
        and not any("Milling" in n or "Setup" in n for n in facts["objects_after_predict"])
        and two.get("first") == plan
        and bool(two.get("second"))
        and facts["after_undo"] == {"first": plan, "second": None}  # that part's answer only
        and facts["after_redo"] == two
        and facts["import_bad"][0] == "ERROR"
        and "not an STL file: it is text" in facts["import_bad"][1]
        and facts["undo_after_bad_import"] == {"second": None, "part": True}
        and facts["correct"] == ["FINISHED"]
        and "+Z, -Z, -Y" in facts["correct_status"]
        and facts["objects_after_delete"] == ["Camera", "Light"]
        and facts["console_render_lines"] == 0
        and facts["predict_camera"][0] == "ERROR"
        and facts["headless_predict"]["exit"] == 0
        and facts["headless_predict"]["stdout"][-1].startswith("{")  # the JSON comes last
    )


if __name__ == "__main__":
    sys.exit(main())
