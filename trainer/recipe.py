"""Recipes: a run's settings in a TOML file (`train --config RECIPE.toml`), the command line
over them. A recipe holds option names as keys (`image-size = 100`, or `image_size`), either at
its top level or in a table named after the command (`[train]`, `[baseline]`), so that one file
can carry a whole pipeline's settings. `trainer/recipes/` holds the demo's and the built-in
model's; the run logs the file it read as an artifact."""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from pathlib import Path
from typing import Any

from trainer.config import ConfigError
from trainer.options import value_type

RECIPES = Path(__file__).resolve().with_name("recipes")
"""The recipes that ship with the trainer (demo.toml, builtin.toml)."""


class RecipeError(ConfigError):
    """A recipe that cannot be read, or a setting in it that is not one; names the file."""


def read_toml(path: Path) -> dict[str, Any]:
    """The whole TOML document at `path`; RecipeError naming the file if it is not one."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RecipeError(f"{path}: cannot read the recipe ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: not a TOML recipe ({e})") from None


def read(path: Path, cls: type, command: str) -> dict[str, Any]:
    """The settings of `cls` (a config dataclass) that the recipe gives for `command`: its
    `[command]` table if it has one, else its top-level keys; each checked against the field's
    type. RecipeError names the file and the key for anything else."""
    document = read_toml(path)
    table = document.get(command, {k: v for k, v in document.items() if not isinstance(v, dict)})
    if not isinstance(table, dict):
        raise RecipeError(f"{path}: '{command}' must be a table of settings")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("help")}
    del fields["recipe"]  # a recipe does not name another
    hints = typing.get_type_hints(cls)
    settings = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in fields:
            raise RecipeError(
                f"{path}: {key!r} is not a setting of `{command}` "
                f"(see python -m trainer {command} --help)"
            )
        settings[name] = _checked(path, key, value, hints[name], fields[name])
    return settings


def _checked(path: Path, key: str, value: Any, hint: Any, field: dataclasses.Field) -> Any:
    kind = value_type(hint)
    if field.metadata.get("nargs"):  # data: one folder or a list of them
        folders = value if isinstance(value, list) else [value]
        if not folders or not all(isinstance(v, str) for v in folders):
            raise RecipeError(f"{path}: {key!r} must be a folder or a list of folders")
        return [Path(v) for v in folders]
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
    }.get(kind, isinstance(value, str))
    if not ok:
        want = {bool: "true or false", int: "an integer", float: "a number"}.get(kind, "a string")
        raise RecipeError(f"{path}: {key!r} must be {want}, not {value!r}")
    if kind is float:
        return float(value)
    if kind is Path:
        return Path(value)
    convert = field.metadata.get("type")
    value = convert(value) if convert else value
    choices = field.metadata.get("choices")
    if choices and value not in choices:
        raise RecipeError(f"{path}: {key!r} must be one of {', '.join(choices)}, not {value!r}")
    return value
