"""Prediction latency in Blender: from the Predict operator's start to the answer on the part,
with a warm local scoring server and with the built-in model, for a ~10,000-triangle part.

    python bench/speed/predict.py [--repeats 10] [--builtin-only] [--record]

Each built-in run analyses the part again with the tool library (the panel keeps the last
part's analysis: a second Predict of the same part would not). The colouring is timed apart:
each face's setup and the coloured triangles the viewport's draw handler uploads.

The served model is an (untrained) EfficientNetB0 at 224 px logged into a temporary MLflow
store: latency does not depend on what the weights learned.
"""

from __future__ import annotations

import argparse
import importlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from bench.speed.render import machined_block  # noqa: E402
from shared.geometry.stl import write_stl  # noqa: E402


def served_model(tmp: Path) -> str:
    """Log an EfficientNetB0 in a fresh store, register it as champion; return the store URI."""
    from trainer.models import families
    from trainer.models import image as model
    from trainer.tracking import registry
    from trainer.tracking import runs as tracking

    store = f"sqlite:///{tmp}/mlflow.db"
    tracking.connect(store)
    net, _ = model.build("B0", 224, None, 0.2, 0.9)
    net.save(tmp / "model.keras")
    with tracking.run("bench"):
        uri = tracking.log_model(
            tmp / "model.keras", _blank_png(), families.IMAGE, image_size=224, variant="B0"
        )
    version = registry.register(uri, {})
    registry.promote(version)
    return store


def _blank_png() -> bytes:
    import numpy as np

    from shared import png

    return png.encode_rgb(np.zeros((600, 600, 3), np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--builtin-only", action="store_true", help="only the built-in model (no server)"
    )
    record.add_option(parser)
    args = parser.parse_args()
    if args.builtin_only:
        with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
            write_stl(Path(tmp) / "block.stl", machined_block())
            _enable_and_import(Path(tmp) / "block.stl")
            builtin, colouring = builtin_latency(args.repeats), colouring_latency(args.repeats)
            _print_builtin(builtin, colouring)
        if args.record:
            _record(builtin, colouring, args)
        return
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        tmp = Path(tmp)
        store = served_model(tmp)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trainer",
                "serve",
                "--port",
                str(port),
                "--tracking-uri",
                store,
            ],
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{url}/ping", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            write_stl(tmp / "block.stl", machined_block())
            timings = operator_latency(tmp / "block.stl", url, args.repeats)
            builtin = builtin_latency(args.repeats)
            overlay = colouring_latency(args.repeats)
        finally:
            os.killpg(server.pid, 15)
    total, render, ask = (statistics.median(t) for t in zip(*timings, strict=True))
    print(
        f"part: 10,024 triangles; server: MLflow scoring server on 127.0.0.1, EfficientNetB0 "
        f"224 px; {os.cpu_count()} cores"
    )
    print(
        f"Predict operator, start to arrow: median {total:.3f} s (min "
        f"{min(t[0] for t in timings):.3f} s, {args.repeats} runs) -- target 1 s"
    )
    print(f"  of which render the meta-image {render:.3f} s, ask the server {ask:.3f} s")
    print(f"  ({statistics.median(builtin) / total:.2f}x the server's time with the built-in:)")
    _print_builtin(builtin, overlay)


def _print_builtin(builtin: list[float], colouring: list[float]) -> None:
    print(
        f"Predict operator with the built-in model and the tool-aware plan (default library), "
        f"start to answer: median {statistics.median(builtin):.3f} s (first {builtin[0]:.3f} "
        f"s, max {max(builtin):.3f} s) -- target 0.25 s"
    )
    plain, coloured = statistics.median(builtin), statistics.median(colouring)
    print(
        f"  the colouring of the faces by setup (each face's setup, then the coloured faces' "
        f"corners and colours the viewport draws): median {coloured:.3f} s "
        f"({coloured / plain:.2f}x Predict's time) -- target 0.1 s"
    )


def _record(builtin: list[float], colouring: list[float], args) -> None:
    """Today's record, with this Blender's rows replacing its earlier ones (run the benchmark
    with each bpy to fill it: `.venv-bpy-4.2.23/bin/python bench/speed/predict.py ...`)."""
    import datetime
    import json

    import bpy

    c = record.column
    columns = [c("Blender (bpy)"), c("step"), c("median", "ms"), c("first", "ms")]
    columns += [c("max", "ms"), c("target", "ms")]
    version = bpy.app.version_string
    rows = [
        [version, "Predict (built-in model, tool-aware plan)", *_spread(builtin), 250.0],
        [version, "colouring the faces by setup", *_spread(colouring), 100.0],
    ]
    today = args.record / f"{datetime.date.today().isoformat()}-predict.json"
    if today.is_file():
        earlier = json.loads(today.read_text())["tables"][0]["rows"]
        rows = [r for r in earlier if r[0] != version] + rows
    title = f"The 10,024-triangle block, {args.repeats} runs each, in one process"
    notes = [
        "Predict: from the operator's start to the answer kept on the part, the tool-aware "
        "analysis run again each time (its cache emptied). The viewport's drawing is not in "
        "it: background mode has no GPU context.",
        "Colouring: each face's setup from the kept analysis and the lifted, lit triangles "
        "the draw handler uploads once per answer.",
        "One row pair per Blender: each was measured by the same command in a venv with that "
        "bpy (make test-blender BPY=... makes them).",
    ]
    tables = [record.table(title, columns, sorted(rows, key=lambda r: r[0]))]
    record.write("predict", "Predict in Blender", tables, notes, out=args.record)


def _spread(times: list[float]) -> list[float]:
    """Median, first and max, in ms."""
    return [1000 * statistics.median(times), 1000 * times[0], 1000 * max(times)]


def _enable_and_import(stl: Path) -> None:
    import bpy

    importlib.import_module("addon_utils").enable("blender_addon", default_set=True)
    bpy.ops.milling.import_stl(filepath=str(stl))


def operator_latency(stl: Path, url: str, repeats: int) -> list[tuple[float, float, float]]:
    import bpy

    addon_utils = importlib.import_module("addon_utils")
    addon_utils.enable("blender_addon", default_set=True)
    from blender_addon.inference import client
    from blender_addon.scene import answer as predict

    prefs = bpy.context.preferences.addons["blender_addon"].preferences
    prefs.backend, prefs.server_url = "SERVER", url
    bpy.ops.milling.import_stl(filepath=str(stl))
    bpy.ops.milling.predict()  # warm: the server's first call traces the model
    out = []
    settings = client.ModelSettings(mode="server", server_url=url)
    for _ in range(repeats):
        start = time.perf_counter()
        bpy.ops.milling.predict()
        total = time.perf_counter() - start
        obj = bpy.context.active_object
        t0 = time.perf_counter()
        png = predict.meta_image(predict.part_triangles(obj, bpy.context.evaluated_depsgraph_get()))
        t1 = time.perf_counter()
        client.ask(png, settings, online_access=False)
        out.append((total, t1 - t0, time.perf_counter() - t1))
    return out


def builtin_latency(repeats: int) -> list[float]:
    """The Predict operator with the built-in model (the tool-aware analysis behind its
    features and the panel, the answer kept on the part), on the part imported before (first
    call included: it loads the weights). The viewport's drawing is not in it (background)."""
    import bpy

    bpy.context.preferences.addons["blender_addon"].preferences.backend = "BUILTIN"
    from blender_addon.inference import toolaware

    out = []
    for _ in range(repeats):
        toolaware.forget()
        start = time.perf_counter()
        assert bpy.ops.milling.predict() == {"FINISHED"}
        out.append(time.perf_counter() - start)
    return out


def colouring_latency(repeats: int) -> list[float]:
    """What colouring the faces costs, as the add-on does it: each face's setup from the kept
    analysis (in Predict), and the lifted, lit triangles the draw handler uploads once per
    answer (a GPU batch: not timed, there is no GPU context in background mode)."""
    import bpy

    from blender_addon.inference import toolaware
    from blender_addon.scene import marks, stored
    from blender_addon.scene.answer import BVHCaster, part_triangles
    from blender_addon.scene.findings import settings

    obj = bpy.context.active_object
    answer = stored.load(obj)
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        triangles = part_triangles(obj, bpy.context.evaluated_depsgraph_get())
        found = toolaware.analyse(triangles, settings(bpy.context.scene, ""), BVHCaster)  # kept
        codes = stored.face_codes(found, answer.plan, triangles)
        marks.face_colours(triangles, codes)
        out.append(time.perf_counter() - start)
    return out


if __name__ == "__main__":
    main()
