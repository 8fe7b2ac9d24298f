import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared import atomic, manifest


def _row(image, label="+X", part="p"):
    return manifest.Row(image, label, part, "/parts/p.stl", "none", 600, "ab" * 32)


def test_round_trip_sorted(tmp_path):
    rows = [_row("b.png"), _row("a.png", ""), dataclasses.replace(_row("c.png"), plan="+X -Z")]
    manifest.write(tmp_path / "manifest.csv", rows)
    assert manifest.read(tmp_path / "manifest.csv") == sorted(rows, key=lambda r: r.image)
    header = (tmp_path / "manifest.csv").read_text().splitlines()[0]
    assert header == ",".join(manifest.COLUMNS)
    assert header.startswith("image,label,part_id,source,augmentation")
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.csv"]


def test_bad_manifests(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_text("image,label\na.png,+X\n")
    with pytest.raises(manifest.ManifestError, match="missing column"):
        manifest.read(path)
    path.write_text("image,label,part_id,source,augmentation\na.png,-Z,p,s,none\n")
    with pytest.raises(manifest.ManifestError, match="line 2: unknown label '-Z'"):
        manifest.read(path)
    path.write_text("image,label,part_id,source,augmentation,plan\na.png,+X,p,s,none,+Y +X\n")
    with pytest.raises(manifest.ManifestError, match="line 2: the plan does not start with"):
        manifest.read(path)
    path.write_text("image,label,part_id,source,augmentation,plan\na.png,+X,p,s,none,+X up\n")
    with pytest.raises(manifest.ManifestError, match="line 2: plan '\\+X up': unknown"):
        manifest.read(path)
    with pytest.raises(manifest.ManifestError, match="file not found"):
        manifest.read(tmp_path / "nope.csv")


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = tmp_path / f".x.png{atomic.TEMPORARY_MARK}999999999"
    live = atomic.temporary_name(tmp_path / "y.png")  # this process: still alive
    dead.write_bytes(b"partial")
    live.write_bytes(b"partial")
    assert atomic.remove_stale(tmp_path) == 1
    assert not dead.exists() and live.exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux /proc only")
def test_a_killed_writer_not_yet_reaped_counts_as_gone(tmp_path):
    """A zombie still answers kill(pid, 0); its temporary file is stale all the same."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{child.pid}/stat")
    deadline = time.monotonic() + 30
    while stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z":  # exited, not reaped
        assert time.monotonic() < deadline
        time.sleep(0.01)
    (tmp_path / f".x.png{atomic.TEMPORARY_MARK}{child.pid}").write_bytes(b"partial")
    assert not atomic.process_alive(child.pid)
    assert atomic.remove_stale(tmp_path) == 1
    child.wait()


def test_replacing_removes_the_temporary_on_failure(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic.replacing(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_relative_sources_are_found_under_the_recorded_roots(tmp_path):
    gone, here = tmp_path / "gone", tmp_path / "here"
    (here / "parts").mkdir(parents=True)
    (here / "parts" / "a.stl").write_bytes(b"solid a")
    data = tmp_path / "data"
    data.mkdir()
    assert manifest.read_roots(data) == []
    manifest.add_roots(data, [str(gone)])
    manifest.add_roots(data, [str(here), str(gone)])  # kept once, in first-seen order
    roots = manifest.read_roots(data)
    assert roots == [str(gone), str(here)]
    assert manifest.resolve_source(data, "parts/a.stl", roots) == here / "parts" / "a.stl"
    # not found anywhere: named under the first root, where it was looked for first
    assert manifest.resolve_source(data, "parts/b.stl", roots) == gone / "parts" / "b.stl"
    # an absolute source (manifests before relative sources) is taken as it is
    assert manifest.resolve_source(data, str(gone / "x.stl"), roots) == gone / "x.stl"
    (data / "parts").mkdir()
    (data / "parts" / "c.stl").write_bytes(b"solid c")  # beside the dataset, no root needed
    assert manifest.resolve_source(data, "parts/c.stl", []) == data / "parts" / "c.stl"
    (data / manifest.ROOTS_FILE).write_text("{not json")
    assert manifest.read_roots(data) == []
