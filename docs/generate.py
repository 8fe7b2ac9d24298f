"""The pages made from code and records, never typed by hand: `python docs/generate.py` writes
them, `--check` says which are stale (the suite runs it), and mkdocs uses this file as a hook.

- Reference: both command lines from their argparse parsers, every run option from the config
  dataclasses (trainer/config.py): docs/reference/{trainer-cli,addon-cli,train-config}.md.
- Results: one page per benchmark record in docs/results/data (bench/results.py), an index,
  and the README's table at a glance.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["COLUMNS"] = "100"  # argparse wraps usage lines to the terminal: the same everywhere

from bench import results  # noqa: E402


def cli_page(title: str, intro: str, parser: argparse.ArgumentParser) -> str:
    """A command line's reference: each subcommand's usage, description and options."""
    lines = [f"# {title}", "", intro, "", "```", parser.format_usage().strip(), "```", ""]
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in commands._choices_actions}
    for name, sub in commands.choices.items():
        lines += [f"## {name}", "", helps.get(name) or "", ""]
        lines += ["```", sub.format_usage().strip(), "```", ""]
        if sub.description:
            lines += [sub.description.replace("\n", " "), ""]
        lines += options_table(sub)
    return "\n".join(lines)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def options_table(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        names = ", ".join(action.option_strings) or action.metavar or action.dest
        if action.option_strings and action.nargs != 0:
            names += f" {action.metavar or action.dest.upper()}"
        help = (action.help or "").replace("%(default)s", str(action.default))
        help = help.replace("%%", "%")
        if action.choices and not isinstance(action, argparse._SubParsersAction):
            help += f" (one of: {', '.join(map(str, action.choices))})"
        rows.append(f"| `{_cell(names)}` | {_cell(help)} |")
    if not rows:
        return []
    return ["| option | what it does |", "|---|---|", *rows, ""]


def config_page() -> str:
    """Every run option: its field, option, default and help (trainer/config.py)."""
    from trainer.config import BaselineConfig, RunConfig, TrainConfig
    from trainer.options import flag

    lines = [
        "# Run options (TrainConfig)",
        "",
        "Every setting of a training run is a field of a config dataclass in "
        "`trainer/config.py`, with its help text beside it. The command line's options are "
        "made from these fields, a [recipe](recipes.md) names them as keys, and a run logs them "
        "all as MLflow params. This page is made from the same fields.",
        "",
    ]
    sections = (
        ("Every run (`RunConfig`: `train`, `tune`, `baseline`)", RunConfig, ()),
        ("The image model (`TrainConfig`: `train`, `tune`)", TrainConfig, RunConfig),
        ("The face-normal model (`BaselineConfig`: `baseline`)", BaselineConfig, RunConfig),
    )
    for title, cls, parent in sections:
        inherited = {f.name: f.default for f in dataclasses.fields(parent)} if parent else {}
        lines += [f"## {title}", "", "| field | option | default | what it does |"]
        lines += ["|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            meta = f.metadata
            if not meta.get("help") or inherited.get(f.name, object()) == f.default:
                continue
            default = f"`{f.default}`"
            if f.default_factory is not dataclasses.MISSING:
                default = "from the environment"
            elif f.default is dataclasses.MISSING:
                default = "required"
            lines.append(f"| `{f.name}` | `{flag(f)}` | {default} | {_cell(meta['help'])} |")
        lines.append("")
    return "\n".join(lines)


def pages(found: list[dict]) -> dict[str, str]:
    """Every generated page, by its path under docs/, with the Results of the records `found`."""
    from blender_addon.cli import build_parser as addon_parser
    from trainer.cli.main import build_parser as trainer_parser

    out = {
        "reference/trainer-cli.md": cli_page(
            "python -m trainer",
            "The trainer's command line, made from its parser (`trainer/cli/`). Every "
            "`--help` says the same.",
            trainer_parser(),
        ),
        "reference/addon-cli.md": cli_page(
            "python -m blender_addon",
            "The add-on's command line, made from its parser (`blender_addon/cli.py`). Under "
            "Blender: `blender --background --python-exit-code 1 --python blender_addon/cli.py "
            "-- COMMAND ...` takes the same arguments.",
            addon_parser(),
        ),
        "reference/train-config.md": config_page(),
        "results/index.md": results.index(found),
    }
    for r in found:
        out[f"results/{results.slug(r)}.md"] = results.page(r)
    return out


def on_config(config):
    """mkdocs hook: list each Results page in the navigation, newest first."""
    for entry in config.nav:
        if isinstance(entry, dict) and "Results" in entry:
            entry["Results"] = ["results/index.md"] + [
                {f"{r['date']}: {r['title']}": f"results/{results.slug(r)}.md"}
                for r in results.records()
            ]
    return config


def stale(records: list[dict], made: dict[str, str]) -> list[str]:
    """The generated files (and README.md's table) that differ from `made` (pages(records))."""
    out = [uri for uri, text in made.items() if _read(DOCS / uri) != text]
    extra = {p.relative_to(DOCS).as_posix() for p in (DOCS / "results").glob("*.md")}
    out += sorted(extra - set(made))  # a page whose record is gone
    readme = ROOT / "README.md"
    if results.with_glance(readme.read_text(), records) != readme.read_text():
        out.append("../README.md")
    return out


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def write() -> list[str]:
    """Write every generated file that changed; the ones written."""
    records = results.records()
    made = pages(records)
    changed = stale(records, made)
    for uri in changed:
        if uri == "../README.md":
            readme = ROOT / "README.md"
            readme.write_text(results.with_glance(readme.read_text(), records))
        elif uri in made:
            (DOCS / uri).parent.mkdir(parents=True, exist_ok=True)
            (DOCS / uri).write_text(made[uri])
        else:
            (DOCS / uri).unlink()
    return changed


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["--check"]):
        sys.exit("usage: python docs/generate.py [--check]")
    if sys.argv[1:] == ["--check"]:
        records = results.records()
        if old := stale(records, pages(records)):
            sys.exit(f"stale (run python docs/generate.py): {', '.join(old)}")
        print("generated docs are up to date")
    else:
        for uri in write():
            print(f"wrote {Path('docs', uri).as_posix().removeprefix('docs/../')}")
