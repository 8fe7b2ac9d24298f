"""Scale-out: `render --shard I/N` on N machines (or `--shard auto` in a Slurm array or a
Kubernetes Indexed Job, deploy/), then `merge`, gives the one-machine dataset."""

import json
import os
import subprocess
import sys

import pytest

from shared import manifest
from tests.blender.conftest import ROOT, cli
from tests.blender.test_batch import _files, _good_parts


@pytest.mark.parametrize("count", [2, 3])
def test_merged_shards_are_exactly_the_single_machine_dataset(tmp_path, count):
    parts = _good_parts(tmp_path / "parts", 5)
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "file,label\n" + "".join(f"parts/good{i}.stl,{'+X' if i % 2 else '+Z'}\n" for i in range(5))
    )
    common = ["--labels", str(labels), "--rotations", "--size", "100"]
    single = tmp_path / "single"
    assert cli("render", str(parts), "--out", str(single), *common).returncode == 0

    shards = [tmp_path / f"shard{i}" for i in range(count)]
    for i, folder in enumerate(shards):
        done = cli("render", str(parts), "--out", str(folder), *common, "--shard", f"{i}/{count}")
        assert done.returncode == 0, done.stderr
    owned = [{r.part_id for r in manifest.read(f / "manifest.csv")} for f in shards]
    assert sum(len(o) for o in owned) == 5 and set().union(*owned) == {f"good{i}" for i in range(5)}
    assert max(map(len, owned)) - min(map(len, owned)) <= 1

    merged = tmp_path / "merged"
    done = cli("merge", *map(str, shards), "--out", str(merged))
    assert done.returncode == 0, done.stderr
    assert _files(merged) == _files(single)
    by_image = sorted(manifest.read(merged / "manifest.csv"), key=lambda r: r.image)
    assert by_image == sorted(manifest.read(single / "manifest.csv"), key=lambda r: r.image)
    for name in _files(single):
        if name.endswith(".png"):
            assert (merged / name).read_bytes() == (single / name).read_bytes(), name
    again = cli("merge", *map(str, shards), "--out", str(merged))  # idempotent
    assert again.returncode == 0 and _files(merged) == _files(single)


def test_shards_from_other_mount_points_merge_into_the_same_manifest(tmp_path):
    """Two machines see the parts under different paths; the merged manifest is byte for byte
    the one-machine manifest, and the STL files are found through the recorded input roots."""
    import shutil

    _good_parts(tmp_path / "single" / "parts", 4)
    labels = "file,label\n" + "".join(f"parts/good{i}.stl,+X\n" for i in range(4))
    roots = [tmp_path / name for name in ("single", "mnt-a/x", "data")]
    for root in roots:
        if root.name != "single":
            shutil.copytree(tmp_path / "single" / "parts", root / "parts")
        (root / "labels.csv").write_text(labels)

    def render(root, out, *more):
        done = cli("render", str(root / "parts"), "--labels", str(root / "labels.csv"),
                   "--size", "100", "--out", str(out), *more)  # fmt: skip
        assert done.returncode == 0, done.stderr

    render(roots[0], tmp_path / "one")
    render(roots[1], tmp_path / "shard0", "--shard", "0/2")
    render(roots[2], tmp_path / "shard1", "--shard", "1/2")
    done = cli(
        "merge",
        str(tmp_path / "shard0"),
        str(tmp_path / "shard1"),
        "--out",
        str(tmp_path / "merged"),
    )
    assert done.returncode == 0, done.stderr
    one, merged = (tmp_path / d / "manifest.csv" for d in ("one", "merged"))
    assert merged.read_bytes() == one.read_bytes()
    assert {r.source for r in manifest.read(merged)} == {f"parts/good{i}.stl" for i in range(4)}
    assert manifest.read_roots(tmp_path / "merged") == [str(roots[1]), str(roots[2])]
    shutil.rmtree(roots[1])  # that machine's mount is gone here: the other root serves
    for row in manifest.read(merged):
        found = manifest.resolve_source(
            tmp_path / "merged", row.source, manifest.read_roots(tmp_path / "merged")
        )
        assert found == roots[2] / row.source and found.is_file()


def test_bad_shards_and_merges_are_one_line_errors(tmp_path):
    parts = _good_parts(tmp_path / "parts", 1)
    for bad in ("2/2", "1", "a/b", "0/0", "-1/3"):
        done = cli("render", str(parts), "--out", str(tmp_path / "o"), f"--shard={bad}")
        assert done.returncode == 2 and f"--shard '{bad}'" in done.stderr, done.stderr
    missing = cli("merge", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m"))
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"error: {tmp_path / 'nowhere'}: no readable manifest.csv")
    assert "Traceback" not in missing.stderr

    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("render", str(parts), "--out", str(a), "--size", "100").returncode == 0
    assert cli("render", str(parts), "--out", str(b), "--size", "200").returncode == 0
    clash = cli("merge", str(a), str(b), "--out", str(tmp_path / "m2"))
    assert clash.returncode == 2 and "differs from" in clash.stderr
    assert not (tmp_path / "m2" / "manifest.csv").exists()


def _parts_with_labels(tmp_path, count=5):
    parts = _good_parts(tmp_path / "data" / "parts", count)
    (parts / "labels.csv").write_text(
        "file,label\n" + "".join(f"good{i}.stl,{'+X' if i % 2 else '+Z'}\n" for i in range(count))
    )
    return parts


def _same_dataset(merged, single):
    assert _files(merged) == _files(single)
    for name in _files(single):
        if name.endswith(".png"):
            assert (merged / name).read_bytes() == (single / name).read_bytes(), name


def test_the_slurm_script_and_merge_name_missing_or_unfinished_shards(tmp_path):
    """deploy/slurm.sh as three array tasks (SLURM_ARRAY_TASK_ID 1-3: --array=1-3), then merge;
    a shard left out, one that never finished, and one that lost an image are each named."""
    parts = _parts_with_labels(tmp_path)
    options = ["--labels", str(parts / "labels.csv"), "--rotations", "5", "--size", "100"]
    single = tmp_path / "single"
    assert cli("render", str(parts), "--out", str(single), *options).returncode == 0
    shards = tmp_path / "shards"
    for task in (1, 2, 3):
        env = {
            **os.environ,
            "PYTHON": sys.executable,
            "SLURM_ARRAY_TASK_ID": str(task),
            "SLURM_ARRAY_TASK_MIN": "1",
            "SLURM_ARRAY_TASK_COUNT": "3",
            "SLURM_CPUS_PER_TASK": "1",
        }
        done = subprocess.run(
            ["bash", str(ROOT / "deploy" / "slurm.sh"), str(parts), str(shards), *options],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    folders = [shards / str(task) for task in (1, 2, 3)]
    assert [json.loads((f / "shard.json").read_text())["shard"] for f in folders] == [0, 1, 2]
    merged = tmp_path / "merged"
    done = cli("merge", *map(str, folders), "--out", str(merged))
    assert done.returncode == 0, done.stderr
    _same_dataset(merged, single)

    left_out = cli("merge", str(folders[0]), str(folders[2]), "--out", str(tmp_path / "m1"))
    assert left_out.returncode == 1 and "Traceback" not in left_out.stderr
    assert left_out.stderr.strip() == (
        "error: missing shard 1 of 3: render it (--shard I/3) and merge again"
    )
    (folders[1] / "shard.json").rename(tmp_path / "kept.json")  # as if killed with SIGKILL
    unfinished = cli("merge", *map(str, folders), "--out", str(tmp_path / "m2"))
    assert unfinished.returncode == 1 and f"{folders[1]}: no shard.json" in unfinished.stderr
    (tmp_path / "kept.json").rename(folders[1] / "shard.json")
    lost = next(folders[2].glob("*.png"))
    lost.unlink()
    partial = cli("merge", *map(str, folders), "--out", str(tmp_path / "m3"))
    assert partial.returncode == 1 and f"{folders[2]}: shard 2/3 is missing 1 of" in partial.stderr
    assert not any((tmp_path / m).exists() for m in ("m1", "m2", "m3")), "nothing half-merged"


def test_the_kubernetes_job_runs_the_documented_command(tmp_path):
    """Each completion index of deploy/k8s-render-job.yaml runs its command line (with /data
    here and this Python), and the merged shards are the one-machine dataset."""
    import yaml

    job = yaml.safe_load((ROOT / "deploy" / "k8s-render-job.yaml").read_text())
    count = job["spec"]["completions"]
    assert job["spec"]["completionMode"] == "Indexed"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/sh", "-c"]
    line = container["args"][0]
    assert f"--shard auto/{count}" in line and "$JOB_COMPLETION_INDEX" in line
    parts = _parts_with_labels(tmp_path)
    data = parts.parent
    line = line.replace("/data", str(data)).replace("python -m", f"{sys.executable} -m")
    for index in range(count):
        env = {**os.environ, "JOB_COMPLETION_INDEX": str(index)}
        done = subprocess.run(
            ["/bin/sh", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    single = tmp_path / "single"
    options = ["--labels", str(parts / "labels.csv"), "--rotations"]
    assert cli("render", str(parts), "--out", str(single), *options).returncode == 0
    merged = tmp_path / "merged"
    folders = sorted((data / "shards").iterdir())
    assert len(folders) == count
    assert cli("merge", *map(str, folders), "--out", str(merged)).returncode == 0
    _same_dataset(merged, single)
