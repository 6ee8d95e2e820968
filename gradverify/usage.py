"""Bad input from the user, and reading the inputs every command shares (a point such as `x=0.5,y=2`)."""

from __future__ import annotations

import math

__all__ = ["UsageError", "parse_point"]


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def parse_point(text: str) -> dict[str, float]:
    point: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--at: expected name=value pairs separated by commas, got {part!r}")
        try:
            number = float(value)
        except ValueError:
            raise UsageError(f"--at: {name.strip()}={value!r} is not a number") from None
        if not math.isfinite(number):
            raise UsageError(f"--at: {name.strip()}={value} is not a finite number")
        point[name.strip()] = number
    return point
