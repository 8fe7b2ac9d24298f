"""The docs site: it builds with --strict, its generated pages are current, the reference lists
every option of both command lines and every run option, and every figure on a Results page
(and in the README's table) comes from a benchmark record."""

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import record, results

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))
import generate  # noqa: E402

NUMBER = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def test_the_site_builds_strict(tmp_path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "site/reference/trainer-cli/index.html").is_file()
    assert (tmp_path / "site/development/architecture/index.html").is_file()


def test_the_generated_pages_are_current():
    """`python docs/generate.py` was run after the parsers, the configs or a record changed."""
    records = results.records()
    assert generate.stale(records, generate.pages(records)) == []


def _subcommands(parser):
    import argparse

    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices


@pytest.mark.parametrize("which", ["trainer", "addon"])
def test_the_reference_lists_every_command_and_option(which):
    if which == "trainer":
        from trainer.cli.main import build_parser

        page = (ROOT / "docs/reference/trainer-cli.md").read_text()
    else:
        from blender_addon.cli import build_parser

        page = (ROOT / "docs/reference/addon-cli.md").read_text()
    commands = _subcommands(build_parser())
    assert len(commands) >= 4
    for name, sub in commands.items():
        section = page.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        for action in sub._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in section or f", {flag}" in section, (name, flag)


def test_the_reference_lists_every_run_option():
    from trainer.config import BaselineConfig, TrainConfig

    page = (ROOT / "docs/reference/train-config.md").read_text()
    for cls in (TrainConfig, BaselineConfig):
        for f in dataclasses.fields(cls):
            if f.metadata.get("help"):
                flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
                assert f"| `{f.name}` | `{flag}` |" in page, f.name


def _figures(record_: dict) -> set[str]:
    """Every number the record can show: those in its cells as shown, and in its texts."""
    texts = []
    for t in record_["tables"]:
        formats = [c["format"] for c in t["columns"]]
        texts += [t["title"], *(c["title"] for c in t["columns"])]
        for row in t["rows"]:
            texts += [results.show(v, f) for v, f in zip(row, formats, strict=True)]
    texts += [record_[k] for k in ("title", "date", "commit", "machine", "command", "file")]
    texts += record_["notes"]
    return {n for text in texts for n in NUMBER.findall(str(text))}


def _numbers_in(text: str, figures: set[str]) -> list[str]:
    """The numbers on a page that are not among its record's."""
    return [n for n in NUMBER.findall(text) if n not in figures]


def test_every_figure_on_a_results_page_comes_from_its_record():
    found = results.records()
    for r in found:
        page = (ROOT / "docs/results" / f"{results.slug(r)}.md").read_text()
        assert _numbers_in(page, _figures(r)) == [], r["file"]
    assert sorted(p.name for p in (ROOT / "docs/results").glob("*.md")) == sorted(
        ["index.md", *(f"{results.slug(r)}.md" for r in found)]
    )


def test_a_figure_typed_into_a_results_page_is_caught(tmp_path):
    made = record.write(
        "probe",
        "A probe",
        [record.table("t", [record.column("x"), record.column("y", "percent")], [["a", 0.5]])],
        out=tmp_path,
    )
    r = json.loads(made.read_text()) | {"file": made.name}
    page = results.page(r)
    assert "50.0 %" in page and _numbers_in(page, _figures(r)) == []
    assert _numbers_in(page + "\nmeasured by hand: 97.3 %\n", _figures(r)) == ["97.3"]
    assert r["commit"] and r["machine"] and r["command"] and r["date"] in made.name


def test_the_readme_is_one_page_with_its_two_commands_and_a_recorded_table():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    head = "\n".join(lines[:6])
    assert "make demo" in head and "make test" in head
    text = "\n".join(lines)
    glance = text.split(results.GLANCE_START)[1].split(results.GLANCE_END)[0]
    demo = next((r for r in results.records() if r["name"] == "demo"), None)
    if demo is not None:
        assert _numbers_in(glance, _figures(demo)) == []
        assert demo["commit"] in glance and demo["date"] in glance
