"""The batch command line: bad inputs, resuming, skipping, workers, rotations, the script form."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from samples.meshes import BAD, box, sphere, wedge
from shared import manifest, metaimage, rotations
from shared.geometry.stl import write_stl
from shared.render_outcome import RenderOutcome
from tests.blender.conftest import ROOT, cli, colours, load


def _outcome(line: str) -> RenderOutcome:
    return RenderOutcome.from_json(json.loads(line))


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def _good_parts(folder, count=2):
    folder.mkdir(parents=True, exist_ok=True)
    shapes = [box(hi=(2, 1, 0.5)), wedge(), sphere(30, 15), box(hi=(1, 3, 1)), wedge() * 2]
    for i in range(count):
        write_stl(folder / f"good{i}.stl", shapes[i % len(shapes)] + i)
    return folder


def test_bad_inputs_are_named_and_the_batch_carries_on(tmp_path):
    parts = _good_parts(tmp_path / "parts", 2)
    for i, (content, _) in enumerate(BAD.values()):
        (parts / f"bad{i:02d}.stl").write_bytes(content)
    out = tmp_path / "out"
    missing = str(tmp_path / "missing.stl")
    result = cli("render", str(parts), missing, "--out", str(out), "--size", "200", "--json")
    assert result.returncode == 1, result.stderr
    # --json: one outcome per input on stdout, so that callers never parse stderr
    outcomes = {o.input: o for o in map(_outcome, result.stdout.splitlines())}
    assert len(outcomes) == len(BAD) + 3
    assert outcomes[missing].status == "failed" and "file not found" in outcomes[missing].error
    for i, (_, reason) in enumerate(BAD.values()):
        bad = outcomes[str(parts / f"bad{i:02d}.stl")]
        assert bad.status == "failed" and reason in bad.error and not bad.images
    good = outcomes[str(parts / "good1.stl")]
    assert good.status == "written" and good.images == ("good1.png",) and not good.error
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(BAD) + 1
    for i, (_, reason) in enumerate(BAD.values()):
        line = next(e for e in errors if f"bad{i:02d}.stl: " in e)
        assert reason in line
    assert any(f"{tmp_path / 'missing.stl'}: file not found" in e for e in errors)
    assert "Traceback" not in result.stderr
    assert _files(out) == ["good0.png", "good1.png", "manifest.csv", "sources.json"]
    assert manifest.read_roots(out) == [str(tmp_path.resolve())]  # the folder of every input
    rows = manifest.read(out / "manifest.csv")
    assert [r.image for r in rows] == ["good0.png", "good1.png"]
    assert [r.source for r in rows] == ["parts/good0.stl", "parts/good1.stl"]
    assert {load(out / r.image).shape for r in rows} == {(200, 200, 3)}


def test_usage_errors_exit_2_with_one_line(tmp_path):
    parts = _good_parts(tmp_path / "parts", 1)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cases = [
        (["--out", str(blocker / "out")], "cannot write to the output folder"),
        (["--out", str(tmp_path / "o"), "--size", "605"], "multiple of 10"),
        (["--out", str(tmp_path / "o"), "--rotations"], "--rotations needs --labels"),
        (
            ["--out", str(tmp_path / "o"), "--labels", str(tmp_path / "no.csv")],
            "labels file not found",
        ),
        (["--out", str(tmp_path / "o"), "--workers", "0"], "--workers must be at least 1"),
    ]
    for args, message in cases:
        result = cli("render", str(parts), *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert not (blocker.parent / "o").exists() or not any((blocker.parent / "o").glob("*.png"))


def test_nothing_readable_leaves_nothing_behind(tmp_path):
    """A missing file: one error line, exit 1, and no output folder with an empty manifest; a
    folder that was there before stays, as it was."""
    result = cli("render", str(tmp_path / "missing.stl"), "--out", str(tmp_path / "o"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'missing.stl'}: file not found"
    ]
    assert not (tmp_path / "o").exists()
    (tmp_path / "kept").mkdir()
    result = cli("render", str(tmp_path / "missing.stl"), "--out", str(tmp_path / "kept"))
    assert result.returncode == 1 and (tmp_path / "kept").is_dir()


def test_usage_names_the_command_the_user_ran(monkeypatch):
    from blender_addon import cli

    monkeypatch.setattr(sys, "argv", ["/opt/blender/blender", "-b", "--python", "cli.py", "--"])
    assert cli.build_parser().prog == f"{cli.BLENDER_PROG} --"
    monkeypatch.setattr(sys, "argv", ["/repo/blender_addon/__main__.py", "render"])
    assert cli.build_parser().prog == "python -m blender_addon"


def test_help_explains_the_command():
    result = cli("render", "--help")
    assert result.returncode == 0
    for word in ("--labels", "--rotations", "--workers", "exit codes", "manifest.csv"):
        assert word in result.stdout


def test_rerun_skips_up_to_date_images_and_redoes_changed_ones(tmp_path):
    parts = _good_parts(tmp_path / "parts", 2)
    out = tmp_path / "out"
    assert cli("render", str(parts), "--out", str(out), "--size", "100").returncode == 0
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    again = cli("render", str(parts), "--out", str(out), "--size", "100")
    assert "0 meta-images rendered, 2 up to date" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")} == stamps
    write_stl(parts / "good1.stl", sphere(10, 5))  # the source changed
    changed = cli("render", str(parts), "--out", str(out), "--size", "100", "--json")
    assert "1 meta-images rendered, 1 up to date" in changed.stderr
    statuses = {Path(o.input).name: o.status for o in map(_outcome, changed.stdout.splitlines())}
    assert statuses == {"good0.stl": "skipped", "good1.stl": "written"}
    resized = cli("render", str(parts), "--out", str(out), "--size", "200")  # settings changed
    assert "2 meta-images rendered, 0 up to date" in resized.stderr


def test_a_killed_batch_resumes_to_the_same_dataset(tmp_path):
    parts = _good_parts(tmp_path / "parts", 6)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "blender_addon",
        "render",
        str(parts),
        "--out",
        str(out),
        "--workers",
        "2",
        "--size",
        "300",
    ]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not list(out.glob("*.png")) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, mid-render
    proc.wait()
    finished = sorted(out.glob("*.png"))
    assert 1 <= len(finished) < 6
    stamps = {p.name: p.stat().st_mtime_ns for p in finished}
    for p in finished:  # whatever is visible is a complete image
        assert metaimage.read_provenance(p) is not None
        assert load(p).shape == (300, 300, 3)

    resumed = cli("render", str(parts), "--out", str(out), "--workers", "2", "--size", "300")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{6 - len(finished)} meta-images rendered, {len(finished)} up to date" in resumed.stderr
    assert {p.name: p.stat().st_mtime_ns for p in finished} == stamps
    assert _files(out) == sorted(
        [f"good{i}.png" for i in range(6)] + ["manifest.csv", "sources.json"]
    )

    clean = tmp_path / "clean"
    assert cli("render", str(parts), "--out", str(clean), "--size", "300").returncode == 0
    for name in _files(clean):
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name


def test_rotations_label_and_remap(tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    write_stl(parts / "w.stl", wedge())
    (parts / "labels.csv").write_text("file,label\nw.stl,+X\n")
    out = tmp_path / "out"
    result = cli(
        "render",
        str(parts),
        "--out",
        str(out),
        "--labels",
        str(parts / "labels.csv"),
        "--rotations",
        "--size",
        "200",
        "--workers",
        "2",
    )
    assert result.returncode == 0, result.stderr
    rows = manifest.read(out / "manifest.csv")
    assert len(rows) == 20 and {r.part_id for r in rows} == {"w"}
    labels = [r.label for r in rows]
    assert sorted(labels) == sorted(["+X", "-X", "+Y", "-Y", "+Z"] * 4)
    quarter = next(r for r in rows if r.augmentation == "rot:+Y-X+Z")
    assert quarter.label == "+Y"
    # the augmented image is exactly the image of the turned part
    turned = tmp_path / "turned"
    turned.mkdir()
    write_stl(turned / "w.stl", wedge() @ rotations.parse_rotation("+Y-X+Z").T)
    cli("render", str(turned), "--out", str(tmp_path / "t_out"), "--size", "200")
    np.testing.assert_array_equal(load(out / quarter.image), load(tmp_path / "t_out/w.png"))
    assert (128, 218, 218) in colours(load(out / quarter.image))


def test_manifest_merges_batches_into_one_dataset(tmp_path):
    a = _good_parts(tmp_path / "a", 1)
    b = tmp_path / "b"
    b.mkdir()
    write_stl(b / "other.stl", wedge())
    out = tmp_path / "out"
    cli("render", str(a), "--out", str(out), "--size", "100")
    cli("render", str(b), "--out", str(out), "--size", "100")
    assert [r.image for r in manifest.read(out / "manifest.csv")] == ["good0.png", "other.png"]


def test_script_form_for_blender_background(tmp_path):
    """`blender --background --python blender_addon/cli.py -- render ...` parses the same way."""
    parts = _good_parts(tmp_path / "parts", 1)
    script = ROOT / "blender_addon" / "cli.py"
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            "--",
            "render",
            str(parts),
            "--out",
            str(tmp_path / "o"),
            "--size",
            "100",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o" / "good0.png").exists()


@pytest.mark.parametrize("strategy", ["grid", "views"])
def test_strategies_write_the_same_dataset(tmp_path, strategy):
    parts = _good_parts(tmp_path / "parts", 1)
    result = cli(
        "render",
        str(parts),
        "--out",
        str(tmp_path / strategy),
        "--size",
        "100",
        "--strategy",
        strategy,
    )
    assert result.returncode == 0, result.stderr
    image = load(tmp_path / strategy / "good0.png")
    assert colours(image) == {
        (0, 0, 0),
        (255, 128, 128),
        (0, 128, 128),
        (128, 255, 128),
        (128, 0, 128),
        (128, 128, 255),
        (128, 128, 0),
    }


def test_engines_are_named_recorded_and_fall_back_to_cycles(tmp_path):
    """auto picks embree here; --engine cycles re-renders (the engine is in the provenance),
    with workers too; without embreex, auto falls back to Cycles and --engine embree is a
    one-line usage error."""
    parts = _good_parts(tmp_path / "parts", 2)
    out = tmp_path / "out"
    first = cli("render", str(parts), "--out", str(out), "--size", "100")
    assert first.returncode == 0 and "(embree (Embree ray casting" in first.stderr, first.stderr
    embree = {p.name: load(p) for p in out.glob("*.png")}
    assert {metaimage.read_provenance(p)["engine"] for p in out.glob("*.png")} == {"embree"}
    again = cli("render", str(parts), "--out", str(out), "--size", "100", "--engine", "cycles")
    assert "2 meta-images rendered, 0 up to date" in again.stderr
    assert "(cycles (Blender Cycles" in again.stderr
    assert {metaimage.read_provenance(p)["engine"] for p in out.glob("*.png")} == {"cycles"}
    for name, image in embree.items():
        differ = (load(out / name) != image).any(axis=2)
        assert differ.sum() <= 0.002 * image.any(axis=2).sum(), name
    workers = cli(
        "render",
        str(parts),
        "--out",
        str(tmp_path / "w"),
        "--size",
        "100",
        "--engine",
        "cycles",
        "--workers",
        "2",
    )
    assert workers.returncode == 0, workers.stderr
    assert [(tmp_path / "w" / n).read_bytes() for n in sorted(embree)] == [
        (out / n).read_bytes() for n in sorted(embree)
    ]
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['embreex'] = None\n")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    base = [sys.executable, "-m", "blender_addon", "render", str(parts), "--size", "100"]
    refused = subprocess.run(
        [*base, "--out", str(tmp_path / "r"), "--engine", "embree"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "error: --engine embree needs the embreex package: pip install embreex "
        "(or use --engine cycles)"
    ]
    assert not list((tmp_path / "r").glob("*.png"))
    fallback = subprocess.run(
        [*base, "--out", str(tmp_path / "f")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert fallback.returncode == 0 and "(cycles (Blender Cycles" in fallback.stderr


def test_the_panels_folder_job_renders_one_image_per_step(tmp_path):
    """Render Folder in the UI: progress counts images, and stopping after any step (Esc)
    keeps exactly the images done, in the manifest."""
    from blender_addon.batch.runner import BatchConfig
    from blender_addon.ui.operators.render_folder import _FolderJob

    parts = _good_parts(tmp_path / "parts", 2)
    (parts / "labels.csv").write_text("file,label\ngood0.stl,+X\ngood1.stl,+Z\n")
    config = BatchConfig(
        inputs=[str(parts)],
        out=tmp_path / "out",
        labels=parts / "labels.csv",
        size=100,
        rotations=3,
        progress=False,
    )
    job = _FolderJob(config)
    assert (job.total, job.done, job.unit, job.current) == (6, 0, "images", "good0.stl")
    for expected in (1, 2, 3, 4):
        assert job.step() and job.done == expected
        assert len(list((tmp_path / "out").glob("*.png"))) == expected
    assert job.current == "good1.stl"
    summary = job.close()  # cancelled here
    assert summary.startswith("4 meta-images rendered, 0 up to date, 0 failed")
    assert len(manifest.read(tmp_path / "out" / "manifest.csv")) == 4
    again = _FolderJob(config)  # the next run counts what is done and renders the rest
    assert (again.total, again.done) == (6, 4)
    while again.step():
        pass
    assert again.done == 6 and len(manifest.read(tmp_path / "out" / "manifest.csv")) == 4
    again.close()
    assert len(manifest.read(tmp_path / "out" / "manifest.csv")) == 6
