"""Command-line options generated from a config dataclass, and the config built back from them:
each setting is declared once, with its help, in config.py."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path
from types import UnionType
from typing import Any


def value_type(hint: Any) -> Any:
    """`int | None` -> int."""
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def flag(f: dataclasses.Field) -> str:
    """The command-line option of a config field: its own flag, else `--field-name`."""
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")


def add_options(
    parser: argparse.ArgumentParser,
    cls: type,
    skip: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    only: tuple[str, ...] = (),
) -> None:
    """One option per field of `cls` that has help text (`--field-name`, or the field's flag);
    `only` those fields if given, never those in `skip`, `optional` ones not required.

    Options default to None, so that `config_from_args` leaves unset ones to the dataclass.
    """
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if not meta.get("help") or f.name in skip or (only and f.name not in only):
            continue
        help = meta["help"].replace("%", "%%")  # argparse formats help with %
        kind = value_type(hints[f.name])
        if kind is bool:
            action = "store_false" if f.default else "store_true"
            parser.add_argument(flag(f), dest=f.name, action=action, default=None, help=help)
            continue
        if meta["show_default"] and f.default not in (dataclasses.MISSING, None):
            help += f" (default: {f.default})"
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        parser.add_argument(
            flag(f),
            dest=f.name,
            type=meta["type"] or (Path if kind is Path else kind),
            choices=meta["choices"],
            metavar=meta["metavar"] or {int: "N", float: "X"}.get(kind),
            required=required and f.name not in optional,
            default=None,
            help=help,
            **({"nargs": meta["nargs"]} if meta.get("nargs") else {}),
        )


def config_from_args(
    cls: type, args: argparse.Namespace, settings: dict[str, Any] | None = None, **overrides: Any
) -> Any:
    """`cls` from the options that were given, over `settings` (a recipe's: recipe.py), over
    the dataclass defaults."""
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(cls)
        if getattr(args, f.name, None) is not None
    }
    return cls(**((settings or {}) | given | overrides))


def given_options(cls: type, args: argparse.Namespace, keep: tuple[str, ...] = ()) -> list[str]:
    """The flags of the fields of `cls` set on the command line, other than `keep`."""
    return [
        flag(f)
        for f in dataclasses.fields(cls)
        if f.name not in keep and getattr(args, f.name, None) is not None
    ]
