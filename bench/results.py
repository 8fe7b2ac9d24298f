"""Results pages from benchmark records (bench/record.py): one page per record, an index, and
the README's table at a glance. docs/generate.py writes them; nothing there is typed by hand."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "results" / "data"


def records(folder: Path = DATA) -> list[dict]:
    """Every record, newest first."""
    found = [json.loads(p.read_text()) | {"file": p.name} for p in sorted(folder.glob("*.json"))]
    return sorted(found, key=lambda r: (r["date"], r["name"]), reverse=True)


def show(value, format: str) -> str:
    """A cell as the page shows it."""
    if value is None:
        return "n/a"
    if isinstance(value, str) or format == "text":
        return str(value)
    return {
        "int": lambda v: f"{v:,.0f}",
        "percent": lambda v: f"{100 * v:.1f} %",
        "seconds": lambda v: f"{v:.1f} s",
        "ms": lambda v: f"{v:.1f} ms",
        "float3": lambda v: f"{v:.3f}",
        "ratio": lambda v: f"{v:.1f}x",
    }[format](value)


def markdown_table(t: dict) -> list[str]:
    formats = [c["format"] for c in t["columns"]]
    lines = [
        "| " + " | ".join(c["title"] for c in t["columns"]) + " |",
        "|" + "|".join("---" for _ in t["columns"]) + "|",
    ]
    for row in t["rows"]:
        lines.append(
            "| " + " | ".join(show(v, f) for v, f in zip(row, formats, strict=True)) + " |"
        )
    return lines


def slug(record: dict) -> str:
    return f"{record['date']}-{record['name']}"


def page(record: dict) -> str:
    """The Results page of one record."""
    lines = [
        f"# {record['title']} ({record['date']})",
        "",
        f"- **Date:** {record['date']}",
        f"- **Commit:** `{record['commit']}`",
        f"- **Machine:** {record['machine']}",
        f"- **Command:** `{record['command']}`",
        f"- **Record:** `docs/results/data/{record['file']}`",
        "",
    ]
    for t in record["tables"]:
        lines += [f"## {t['title']}", "", *markdown_table(t), ""]
    if record["notes"]:
        lines += ["## Notes", "", *(f"- {n}" for n in record["notes"]), ""]
    return "\n".join(lines)


def index(found: list[dict]) -> str:
    """The Results section's first page: every record, newest first."""
    lines = [
        "# Results",
        "",
        "Every page here is made from the JSON record a benchmark wrote (`docs/results/data/`),",
        "with its date, commit, machine and command. Run a benchmark with `--record` to add one;",
        "`python docs/generate.py` (or `make docs`) makes the pages: nothing on them is typed",
        "by hand.",
        "",
        "| date | benchmark | commit | machine |",
        "|---|---|---|---|",
    ]
    for r in found:
        lines.append(
            f"| {r['date']} | [{r['title']}]({slug(r)}.md) | `{r['commit']}` | {r['machine']} |"
        )
    return "\n".join(lines) + "\n"


GLANCE_START = "<!-- results at a glance: made by `python docs/generate.py` -->"
GLANCE_END = "<!-- end of results at a glance -->"


def glance(found: list[dict]) -> str:
    """The README's table at a glance: the newest demo record's first table."""
    demo = next((r for r in found if r["name"] == "demo"), None)
    if demo is None:
        return "No demo record yet: `python demo.py --record`."
    t = demo["tables"][0]
    return "\n".join(
        [
            f"{t['title']}; `make demo` on {demo['date']}, commit `{demo['commit']}`, "
            f"{demo['machine']} ([the whole record](docs/results/{slug(demo)}.md)):",
            "",
            *markdown_table(t),
        ]
    )


def with_glance(readme: str, found: list[dict]) -> str:
    """README.md's text with the table at a glance (between its markers) made from `found`."""
    head, _, rest = readme.partition(GLANCE_START)
    _, _, tail = rest.partition(GLANCE_END)
    return f"{head}{GLANCE_START}\n{glance(found)}\n{GLANCE_END}{tail}"
