"""Scale-out: `render --shard I/N` on N machines, then `merge`, gives the one-machine dataset."""

import pytest

from shared import manifest
from tests.blender.conftest import cli
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
