"""Verdicts for people: a table of the engine and each referee side by side, the blamed node, and how to replay."""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from oracles.compare import NOT_VERIFIED, Row, Verdict
from oracles.expr import Expr, variables

__all__ = ["defect_panel", "point_text", "python_snippet", "render_verdict", "replay_command"]

REFEREE_TITLES = {"sympy": "SymPy (exact)", "fd": "finite differences", "torch": "PyTorch float64"}


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return repr(float(x))


def point_text(point: Mapping[str, float]) -> str:
    """`x=0.5,y=2.0`: the form `--at` reads (every value round-trips exactly)."""
    return ",".join(f"{k}={v!r}" for k, v in point.items())


def replay_command(expr: Expr, point: Mapping[str, float], engine: str | None = None, plant: str | None = None) -> str:
    """The shell command that checks exactly this expression at exactly this point again."""
    base = ["gradverify"]
    if engine:
        base += ["check-engine", engine, "--replay", str(expr), "--at", point_text(point)]
    else:
        base += ["grad", *(["--plant", plant] if plant else []), str(expr), "--at", point_text(point)]
    return shlex.join(base)


def python_snippet(expr: Expr, point: Mapping[str, float]) -> str:
    """Python that rebuilds the expression on this engine's Values, to paste into a shell."""
    *bindings, last = str(expr).split("; ")
    return "\n".join(
        [
            "from autodiff import Value",
            "from autodiff.functional import *",
            *(f"{n} = Value({v!r}, label={n!r})" for n, v in point.items()),
            *bindings,
            f"out = {last}",
            "out.backward()",
            f"print(out.data, {', '.join(f'{n}.grad' for n in variables(expr))})",
        ]
    )


def render_verdict(verdict: Verdict, console: Console, title: str | None = None) -> None:
    """For each quantity (the value, each d/dx), the engine's number and each referee's, with the error
    against what was allowed."""
    from rich import box

    quantities = ["value", *variables(verdict.expr)]
    referees = list(dict.fromkeys(r.referee for r in verdict.rows))
    rows: dict[tuple[str, str], Row] = {(r.quantity, r.referee): r for r in verdict.rows}
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("who", no_wrap=True)
    table.add_column("number", no_wrap=True)
    table.add_column("|error| vs allowed", overflow="fold")
    table.add_column("", no_wrap=True)
    for q in quantities:
        engine = verdict.engine.value if q == "value" else verdict.engine.grads.get(q)
        table.add_row("value" if q == "value" else f"d/d{q}", f"engine ({_engine_name(verdict)})", _num(engine), "", "")
        for ref in referees:
            row = rows.get((q, ref))
            if row is None:
                continue
            name = REFEREE_TITLES.get(ref, ref)
            if row.status == "skipped":
                table.add_row("", name, "-", Text(row.why, style="dim"), Text("skipped", style="dim"))
                continue
            style = {"ok": "green", NOT_VERIFIED: "yellow"}.get(row.status, "bold red")
            sign = ">" if row.status == "DISAGREES" else "≤"
            table.add_row(
                "",
                name,
                _num(row.reference),
                Text(f"{row.error:.1e} {sign} {row.allowed:.1e}", style=style),
                Text(row.status, style=style),
            )
        table.add_section()
    parts: list[Table | Text] = [table]
    if verdict.engine.failed:
        parts.append(Text(f"the engine raised {verdict.engine.error}", style="bold red"))
    for failure in verdict.referee_failures:
        parts.append(Text(f"note: {failure}", style="yellow"))
    for reason in verdict.ill_conditioned[:1]:
        parts.append(Text(f"gradients not compared: ill-conditioned at this point ({reason})", style="yellow"))
    for row in verdict.rows:
        if row.status == NOT_VERIFIED:
            parts.append(Text(f"{REFEREE_TITLES.get(row.referee, row.referee)}, {_quantity(row)}: {row.why}", "yellow"))
    if verdict.ok and verdict.unverified:
        which = ", ".join(f"d/d{n}" for n in verdict.unverified)
        parts.append(Text(f"no referee disagrees, but none could verify {which} at this point", style="bold yellow"))
    elif verdict.ok:
        parts.append(Text("all referees agree with the engine", style="bold green"))
    elif not verdict.engine.failed:
        parts.append(Text(f"disagreeing: {', '.join(verdict.disagreeing)}", style="bold red"))
    if verdict.blame is not None:
        parts.append(
            Text.assemble(
                ("blame: ", "bold"),
                (verdict.blame.text, "bold magenta"),
                f" ({verdict.blame.op}, {verdict.blame.depth} op(s) below the root): {verdict.blame.explanation}",
            )
        )
    console.print(Group(*parts))


def _quantity(row: Row) -> str:
    return "value" if row.quantity == "value" else f"d/d{row.quantity}"


def _engine_name(verdict: Verdict) -> str:
    return verdict.notes[0] if verdict.notes else "autodiff"


def defect_panel(summary: str, expr: Expr, point: Mapping[str, float], replay: str, found_after: int | None) -> Panel:
    """What a campaign prints for a defect: the smallest expression, the point, the verdict, the replay command."""
    lines = [
        Text.assemble(("expression: ", "bold"), str(expr)),
        Text.assemble(("at: ", "bold"), point_text(point)),
        Text(summary),
        Text.assemble(("replay: ", "bold"), replay),
        Text.assemble(("in Python:\n", "bold"), python_snippet(expr, point)),
    ]
    if found_after is not None:
        lines.insert(0, Text(f"found after {found_after} example(s), then shrunk", style="dim"))
    return Panel(Group(*lines), title="defect", border_style="red")
