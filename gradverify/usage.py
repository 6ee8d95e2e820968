"""Bad input from the user, and reading and checking the inputs every command shares: a point such as
`x=0.5,y=2`, numbers that must be at least 1, comma-separated lists, and files to be written."""

from __future__ import annotations

import json
import keyword
import math
import os
import unicodedata
from collections.abc import Iterable
from typing import Any

__all__ = ["UsageError", "at_least", "name_list", "parse_point", "writable"]


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def parse_point(text: str) -> dict[str, float]:
    """`x=0.5,y=2` as {'x': 0.5, 'y': 2.0}. Names are compared as Python compares identifiers (after NFKC
    normalisation: `ﬁ` is `fi`); a name given twice is an error, not the last value silently."""
    point: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        raw, sep, value = part.partition("=")
        name = unicodedata.normalize("NFKC", raw.strip())
        if not sep or not name:
            raise UsageError(f"--at: expected name=value pairs separated by commas, got {part!r}")
        if not name.isidentifier() or keyword.iskeyword(name):
            raise UsageError(f"--at: {raw.strip()!r} is not a variable name")
        if name in point:
            raise UsageError(f"--at gives {name} twice")
        try:
            number = float(value)
        except ValueError:
            raise UsageError(f"--at: {name}={value!r} is not a number") from None
        if not math.isfinite(number):
            raise UsageError(f"--at: {name}={value} is not a finite number")
        point[name] = number
    return point


def at_least(flag: str, value: int, low: int = 1) -> int:
    """`value`, or a UsageError naming the flag if it is below `low`."""
    if value < low:
        raise UsageError(f"{flag} must be at least {low}, got {value}")
    return value


def name_list(flag: str, text: str, known: Iterable[str]) -> list[str]:
    """A comma-separated list of names from `known`, each once, in order; empty or unknown names are errors."""
    known = list(known)
    names = list(dict.fromkeys(n.strip() for n in text.split(",")))
    if not text.strip() or not all(names):
        raise UsageError(f"{flag}: give one or more names separated by commas (known: {', '.join(known)})")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"{flag}: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def writable(flag: str, path: str) -> str:
    """`path`, after checking that a file can be written there, so that a long run does not end in an error:
    a missing folder, a directory, a file that cannot be opened for writing. Leaves no file behind."""
    if os.path.isdir(path):
        raise UsageError(f"{flag}: {path} is a directory; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{flag}: the folder {folder} does not exist")
    existed = os.path.exists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as e:
        raise UsageError(f"{flag}: cannot write {path}: {e.strerror or e}") from None
    if not existed:
        os.remove(path)
    return path


def write_json(path: str, data: Any, console: Any) -> bool:
    """Write `data` to `path`; if that fails after all (a full disk), say so and print the JSON instead, so that
    a long run's results are not lost. False when it failed."""
    from rich.console import Console as _Console

    text = json.dumps(data, indent=2, default=str)
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return True
    except OSError as e:
        _Console(stderr=True, soft_wrap=True).print(
            f"[bold red]--json: could not write {path}:[/] {e.strerror or e}; the JSON follows here instead",
            highlight=False,
        )
        console.print(text, highlight=False, markup=False, soft_wrap=True)
        return False
