"""What a batch render did with one input, as `render --json` prints it (one object a line), so
that callers read results instead of parsing messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

STATUSES = ("written", "skipped", "failed")
"""written: at least one meta-image rendered; skipped: all were up to date; failed: the input
could not be (fully) rendered, `error` says why (images written before the failure are kept)."""


@dataclass(frozen=True)
class RenderOutcome:
    input: str
    """The STL file (or the folder, for an error about a whole folder)."""
    status: str
    images: tuple[str, ...] = ()
    """The input's meta-images now in the output folder, relative to it."""
    error: str = ""
    """One line: the file and the problem."""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown render status {self.status!r}")

    def as_json(self) -> dict:
        return {
            "input": self.input,
            "status": self.status,
            "images": list(self.images),
            "error": self.error,
        }

    @classmethod
    def from_json(cls, obj: Mapping) -> RenderOutcome:
        """ValueError if `obj` is not an `as_json` object."""
        try:
            return cls(
                str(obj["input"]),
                str(obj["status"]),
                tuple(str(i) for i in obj.get("images", ())),
                str(obj.get("error", "")),
            )
        except (KeyError, TypeError, AttributeError):
            raise ValueError("not a render outcome object") from None
