"""Prediction latency in Blender: from the Predict operator's start to the answer on the part,
with a warm local scoring server and with the built-in model, for a ~10,000-triangle part.

    python bench/speed/predict.py [--repeats 10] [--builtin-only]

Each built-in run analyses the part again with the tool library (the panel keeps the last
part's analysis: a second Predict of the same part would not).

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
    args = parser.parse_args()
    if args.builtin_only:
        with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
            write_stl(Path(tmp) / "block.stl", machined_block())
            _enable_and_import(Path(tmp) / "block.stl")
            _print_builtin(builtin_latency(args.repeats), builtin_latency(args.repeats, True))
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
            overlay = builtin_latency(args.repeats, overlay=True)
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


def _print_builtin(builtin: list[float], overlay: list[float]) -> None:
    print(
        f"Predict operator with the built-in model and the tool-aware plan (default library), "
        f"start to arrow: median {statistics.median(builtin):.3f} s (first {builtin[0]:.3f} s, "
        f"max {max(builtin):.3f} s) -- target 0.5 s"
    )
    plain, coloured = statistics.median(builtin), statistics.median(overlay)
    print(
        f"  the same with Colour Faces by Setup (the overlay): median {coloured:.3f} s "
        f"({coloured / plain:.2f}x)"
    )


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


def builtin_latency(repeats: int, overlay: bool = False) -> list[float]:
    """The Predict operator with the built-in model (its plan: the setup analysis behind its
    features, the numbered arrows, the shares), on the part imported before (first call
    included: it loads the weights); `overlay`: with the setup overlay too."""
    import bpy

    bpy.context.preferences.addons["blender_addon"].preferences.backend = "BUILTIN"
    from blender_addon.inference import toolaware

    bpy.context.scene.milling.show_setups = overlay
    out = []
    for _ in range(repeats):
        toolaware.forget()
        start = time.perf_counter()
        assert bpy.ops.milling.predict() == {"FINISHED"}
        out.append(time.perf_counter() - start)
    return out


if __name__ == "__main__":
    main()
