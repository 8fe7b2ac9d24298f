"""Cutting tools: the tool library (a TOML file, sizes in mm) and the units of a part.

A library holds one `[[tool]]` table per tool:

    [[tool]]
    name = "flat 6"          # unique in the library
    kind = "flat"            # flat | ball | bull
    diameter = 6.0           # mm
    corner_radius = 1.0      # mm, bull only (0 < corner_radius < diameter / 2)
    reach = 18.0             # mm: the usable length below the holder
    holder_diameter = 20.0   # mm, optional (default: DEFAULT_HOLDER)

An STL file carries no unit: `--units mm|in` says what a part's numbers mean; every length the
analysis reports is in mm.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

KINDS = ("flat", "ball", "bull")
UNITS = {"mm": 1.0, "in": 25.4}
"""Millimetres per unit of a part's numbers."""
PLAUSIBLE_MM = (3.0, 3000.0)
"""A part whose longest side (in mm) is outside this range gets a warning naming --units."""
FLAT_MM = (1, 2, 3, 4, 6, 8, 10, 12, 16)
BALL_MM = (1, 2, 4, 6, 8, 12, 16)
REACH_PER_DIAMETER = 3.0
_KEYS = {"name", "kind", "diameter", "corner_radius", "reach", "holder_diameter"}


def default_holder(diameter: float) -> float:
    """The holder's diameter where a library gives none: a collet about twice the tool."""
    return max(2.0 * diameter, diameter + 6.0)


class LibraryError(ValueError):
    """A tool library that cannot be used: the message names the file and the tool."""


@dataclass(frozen=True)
class Tool:
    name: str
    kind: str
    diameter: float
    reach: float
    corner_radius: float = 0.0
    holder_diameter: float = 0.0
    """0: default_holder(diameter)."""

    @property
    def radius(self) -> float:
        return self.diameter / 2

    @property
    def holder_radius(self) -> float:
        return (self.holder_diameter or default_holder(self.diameter)) / 2

    @property
    def corner(self) -> float:
        """The radius of the cutter's bottom edge: 0 flat, r ball, corner_radius bull."""
        return {"flat": 0.0, "ball": self.radius, "bull": self.corner_radius}[self.kind]

    def drop(self, rho: float) -> float:
        """How far the cutter's bottom rises above its tip at distance `rho` from its axis."""
        r, c = self.radius, self.corner
        inner = r - c
        if rho <= inner:
            return 0.0
        x = min(rho - inner, c)
        return c - math.sqrt(max(c * c - x * x, 0.0))

    def describe(self) -> str:
        extra = f" r{self.corner_radius:g}" if self.kind == "bull" else ""
        return f"{self.name} ({self.kind} {self.diameter:g} mm{extra}, reach {self.reach:g} mm)"


def default_library() -> tuple[Tool, ...]:
    """A common shop set: flat and ball end mills from 1 to 16 mm, reach 3 x diameter."""
    return tuple(
        Tool(f"{kind} {d:g}", kind, float(d), REACH_PER_DIAMETER * d)
        for kind, sizes in (("flat", FLAT_MM), ("ball", BALL_MM))
        for d in sizes
    )


def default_toml() -> str:
    """The default library as a TOML file (a start for a shop's own)."""
    lines = ["# Milling Directions tool library: sizes in mm", ""]
    for t in default_library():
        lines += [
            "[[tool]]",
            f'name = "{t.name}"',
            f'kind = "{t.kind}"',
            f"diameter = {t.diameter:g}",
            f"reach = {t.reach:g}",
            "",
        ]
    return "\n".join(lines)


def read_library(path: str | Path) -> tuple[Tool, ...]:
    """The tools of a TOML library file; LibraryError names the file and what is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise LibraryError(f"{path}: cannot read it ({e.strerror or e})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise LibraryError(f"{path}: not a TOML file ({e})") from None
    return parse_library(data, str(path))


def parse_library(data: dict, where: str = "tool library") -> tuple[Tool, ...]:
    entries = data.get("tool")
    unknown = set(data) - {"tool"}
    if unknown:
        raise LibraryError(f"{where}: unknown table {sorted(unknown)[0]!r} (expected [[tool]])")
    if not isinstance(entries, list) or not entries:
        raise LibraryError(f"{where}: no [[tool]] tables")
    tools, names = [], set()
    for i, entry in enumerate(entries, 1):
        tool = _tool(entry, f"{where}: tool {i}")
        if tool.name in names:
            raise LibraryError(f"{where}: tool {i}: name {tool.name!r} is used twice")
        names.add(tool.name)
        tools.append(tool)
    return tuple(tools)


def _tool(entry: dict, where: str) -> Tool:
    extra = set(entry) - _KEYS
    if extra:
        raise LibraryError(f"{where}: unknown key {sorted(extra)[0]!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LibraryError(f"{where}: needs a name")
    where = f"{where} ({name!r})"
    kind = entry.get("kind")
    if kind not in KINDS:
        raise LibraryError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")

    def number(key: str, default: float | None = None) -> float:
        value = entry.get(key, default)
        if value is None:
            raise LibraryError(f"{where}: needs {key} (mm)")
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise LibraryError(f"{where}: {key} must be a positive number of mm, not {value!r}")
        return float(value)

    diameter, reach = number("diameter"), number("reach")
    corner = number("corner_radius") if kind == "bull" else 0.0
    if kind != "bull" and "corner_radius" in entry:
        raise LibraryError(f"{where}: corner_radius is for bull tools only")
    if corner >= diameter / 2:
        raise LibraryError(f"{where}: corner_radius {corner:g} must be under diameter / 2")
    holder = number("holder_diameter") if "holder_diameter" in entry else 0.0
    if holder and holder < diameter:
        raise LibraryError(f"{where}: holder_diameter {holder:g} is under the tool's {diameter:g}")
    return Tool(name.strip(), kind, diameter, reach, corner, holder)


def implausible_mm(triangles, mm_per_unit: float) -> float | None:
    """The part's longest side in mm when it is outside PLAUSIBLE_MM, else None."""
    points = triangles.reshape(-1, 3)
    longest = float((points.max(axis=0) - points.min(axis=0)).max()) * mm_per_unit
    low, high = PLAUSIBLE_MM
    return None if low <= longest <= high else longest


def scale_warning(triangles, units: str, where: str) -> str | None:
    """A one-line warning when the part is implausibly small or large for `units`."""
    longest = implausible_mm(triangles, UNITS[units])
    if longest is None:
        return None
    low = PLAUSIBLE_MM[0]
    other = "in" if units == "mm" else "mm"
    return (
        f"{where}: {longest:.3g} mm across read as {units}: "
        f"{'too small' if longest < low else 'too large'} for a part; if its numbers are in "
        f"{'inches' if other == 'in' else 'mm'}, give --units {other}"
    )
