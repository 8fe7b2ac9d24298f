"""A real-GUI check a person can rerun: start the Blender application under Xvfb (software
OpenGL), install the extension zip through Blender's own extension installer, import a part,
click Predict with the built-in model, Render Folder, and an error (Predict with the camera
selected), and save a screenshot of the sidebar (and of the whole window) after each. Import
and Predict run as their buttons run them, each pushing its undo step (a script's plain call
pushes none; simulated clicks did not reach the buttons under Xvfb); then one undo must take
the answer away and leave the part, and redo bring it back. Last, `predict` headless under the
same Blender must print its JSON after Blender's banner.

    python bench/gui_check.py [--blender PATH] [--chroot DIR] [--out build/gui]

Blender 4.2 or newer is needed (extensions). Debian bookworm's `blender` is 3.4; a Debian
trixie chroot has 4.3.2 (`debootstrap trixie DIR`, then `apt-get install blender xvfb xauth
libgl1-mesa-dri` inside it; `--chroot DIR` runs it there). Without such a Blender it says so
and exits 0.
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
SHOTS = ("after_predict", "after_render_folder", "after_error")

GUI_SCRIPT = r"""
import json, subprocess, sys, bpy
ZIP, PART, FOLDER, OUT = sys.argv[sys.argv.index("--") + 1 :]
facts = {}


def where():
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                region = next(r for r in area.regions if r.type == "UI")
                return window, area, region


def shot(name):
    window, area, region = where()
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.wm.redraw_timer(type="DRAW_WIN_SWAP", iterations=2)
    top = window.height - (region.y + region.height)  # X counts from the top, Blender not
    crop = f"{region.width}x{region.height}+{region.x}+{top}"
    subprocess.run(["import", "-window", "root", "-crop", crop, f"{OUT}/{name}.png"], check=True)
    subprocess.run(["import", "-window", "root", f"{OUT}/{name}_window.png"], check=True)
    facts[name] = {"status": bpy.context.scene.milling.status,
                   "error": bpy.context.scene.milling.status_error,
                   "report": bpy.context.scene.milling.job_status,
                   "sidebar_px": region.width}


def run(op, *args, **kw):
    window, area, region = where()
    with bpy.context.temp_override(window=window, area=area, region=region):
        try:
            return sorted(op(*args, **kw))
        except RuntimeError as e:
            return ["ERROR", str(e).strip().splitlines()[-1]]


def arrows():
    return sorted(o.name for o in bpy.data.objects if o.get("milling_arrow"))


def steps():
    bpy.ops.extensions.package_install_files(
        filepath=ZIP, repo="user_default", enable_on_install=True
    )
    window, area, region = where()
    area.spaces.active.show_region_ui = True
    yield 0.5
    region.active_panel_category = "Milling"
    # as the buttons run them: invoked, each pushing its undo step (undo=True)
    facts["import"] = run(bpy.ops.milling.import_stl, "EXEC_DEFAULT", True, filepath=PART)
    part = bpy.context.view_layer.objects.active.name
    facts["predict"] = run(bpy.ops.milling.predict, "INVOKE_DEFAULT", True)
    facts["arrows"] = arrows()
    yield 0.5
    shot("after_predict")
    facts["undo"] = run(bpy.ops.ed.undo)
    facts["after_undo"] = {"arrows": arrows(), "part": part in bpy.data.objects}
    facts["redo"] = run(bpy.ops.ed.redo)
    facts["after_redo"] = {"arrows": arrows(), "part": part in bpy.data.objects}
    props = bpy.context.scene.milling
    props.input_dir, props.output_dir, props.size = FOLDER, OUT + "/images", 100
    facts["render_folder"] = run(bpy.ops.milling.render_folder)
    yield 0.5
    shot("after_render_folder")
    camera = bpy.data.objects.get("Camera")
    bpy.context.view_layer.objects.active = camera
    facts["predict_camera"] = run(bpy.ops.milling.predict)
    yield 0.5
    shot("after_error")


plan = steps()


def tick():
    try:
        return next(plan)
    except StopIteration:
        pass
    except Exception as e:  # the check itself failed: say where
        facts["failed"] = repr(e)
    print("GUI_FACTS " + json.dumps(facts), flush=True)
    bpy.ops.wm.quit_blender()
    return None


bpy.app.timers.register(tick, first_interval=2.0)
"""


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
        subprocess.run(
            [sys.executable, "-m", "blender_addon", "package", "--out", str(work)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        zip_path = next(work.glob("*.zip"))
        from trainer.synth import multiside

        part = work / "BlockWithHoleAndSidePocket.stl"
        write_stl(part, multiside.build(np.random.default_rng(7), "+Z", 2)[0])
        (work / "folder").mkdir()
        for i in range(3):
            block = multiside.build(np.random.default_rng(i), "+Z", 1)[0]
            write_stl(work / "folder" / f"Part Studio 1 - Part 1({i}).stl", block)
        (work / "out").mkdir()
        (work / "gui.py").write_text(GUI_SCRIPT)
        names = [zip_path.name, part.name, "folder", "out"]
        command = [
            *prefix,
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1600x1000x24",
            args.blender,
            "--factory-startup",
            "-p",
            "0",
            "0",
            "1600",
            "1000",
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
    good = (
        "failed" not in facts
        and facts["predict"] == ["FINISHED"]
        and facts["arrows"]
        and facts["after_undo"] == {"arrows": [], "part": True}
        and facts["after_redo"]["arrows"] == facts["arrows"]
        and facts["console_render_lines"] == 0
        and facts["predict_camera"][0] == "ERROR"
        and facts["headless_predict"]["exit"] == 0
        and facts["headless_predict"]["stdout"][-1].startswith("{")  # the JSON comes last
        and all((args.out / f"{n}.png").is_file() for n in SHOTS)
    )
    print(
        f"gui check on Blender {'.'.join(map(str, version))}: {'passed' if good else 'FAILED'}"
        f"; screenshots in {args.out}"
    )
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
