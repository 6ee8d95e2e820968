"""The report on someone else's engine: a row per op, the engine-level findings, the time per phase; as a table
for a person and as JSON (`--json FILE`) for a program."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gradverify.engines.probes import DEFECTS, KINDS, Row
from gradverify.engines.walks import Finding

__all__ = ["Report"]

SHORT = {  # the verdict column stays narrow; the details column says it in full
    "returns-non-value": "returns a number",
    "grad-not-number": "gradient not a number",
    "overwrites-gradient": "overwrites gradient",
    "ignores-upstream": "ignores out.grad",
}


@dataclass
class Report:
    spec: str  # as the user gave it (for replay commands)
    where: str
    api: dict[str, Any]
    flags: list[str]  # the flags the user gave that replay commands need again
    notes: list[str] = field(default_factory=list)
    rows: dict[str, Row] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    output: tuple[int, str] = (0, "")  # bytes printed, the first of them
    walk_checked: bool = False  # shared nodes could be built from ops that passed (+ or *)

    @property
    def defects(self) -> list[str]:
        rows = [f"{name}: {KINDS[r.kind]}" for name, r in self.rows.items() if r.kind in DEFECTS]
        return rows + [f.title for f in self.findings if f.defect]

    @property
    def verified(self) -> bool:
        """At least one op was found right: a pass says something."""
        return any(r.kind == "correct" for r in self.rows.values())

    @property
    def exit_status(self) -> int:
        """1: a defect; 3: nothing could be verified (no op the table knows, say); 0: every op it has is right."""
        if self.defects:
            return 1
        return 0 if self.verified else 3

    def replay(self, row: Row) -> str:
        if row.case is None:
            return ""
        expr = row.case.text().split("  at ")[0]
        at = ",".join(f"{k}={v!r}" for k, v in row.case.point.items())
        words = ["gradverify", "check-engine", self.spec, *self.flags, "--replay", expr, "--at", at]
        if row.case.ints:
            words.append("--int-constants")
        return shlex.join(words)

    # ---- for a person ---------------------------------------------------------------------------------

    def render(self, console: Console) -> None:
        table = Table(title=f"{self.where}: each op", title_justify="left", show_lines=True)
        table.add_column("op", style="bold", no_wrap=True)
        table.add_column("verdict", no_wrap=True)
        table.add_column("details")
        for name, row in self.rows.items():
            style = "green" if row.kind == "correct" else ("bold red" if row.defect else "yellow")
            table.add_row(name, f"[{style}]{SHORT.get(row.kind, KINDS[row.kind])}[/]", self._details(row))
        console.print(table)
        console.print("[bold]engine-level findings[/]")
        if not any(f.defect for f in self.findings):
            if self.walk_checked:
                console.print("  [green]ok[/]  shared nodes, the order of the graph walk, time on shared nodes")
            else:
                console.print("  [yellow]not checked[/]  shared nodes and the graph walk: no + or * passed alone")
        for f in self.findings:
            mark = "[bold red]WRONG[/]" if f.defect else "[yellow]note[/]"
            console.print(f"  {mark}  {escape(f.title)}: {escape(f.detail)}", highlight=False)
        replays = [(name, self.replay(row)) for name, row in self.rows.items() if row.defect and row.case is not None]
        if replays:
            console.print("[bold]to see a finding again[/] (the smallest expression that shows it):")
            for name, command in replays:
                console.print(f"  {name}: {escape(command)}", highlight=False, soft_wrap=True)
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        console.print(f"time: {phases}", highlight=False)
        if self.defects:
            console.print(f"[bold red]{len(self.defects)} problem(s) with this engine's gradients[/]")
        elif not self.verified:
            console.print(
                "[bold yellow]nothing could be verified[/]: no op of this engine could be checked (see the table); "
                "if the class is not the engine, name it as FILE:CLASS"
            )
        else:
            console.print("[bold green]every op this engine has gives the right values and gradients[/]")

    def _details(self, row: Row) -> str:
        parts = []
        if row.kind == "correct":
            parts.append(f"{row.checked} probe expressions" + (f", {row.random} random ones" if row.random else ""))
        else:
            if row.kind in SHORT:
                parts.append(KINDS[row.kind])
            if row.detail:
                parts.append(row.detail)
        parts += row.notes
        return escape("\n".join(parts))

    # ---- for a program --------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.where,
            "api": self.api,
            "notes": self.notes,
            "exit_status": self.exit_status,
            "graph_walk_checked": self.walk_checked,
            "defects": self.defects,
            "ops": {
                name: {
                    "kind": row.kind,
                    "verdict": KINDS[row.kind],
                    "defect": row.defect,
                    "detail": row.detail,
                    "notes": row.notes,
                    "counterexample": row.case.text() if row.case is not None else None,
                    "replay": self.replay(row) or None,
                    "probe_expressions": row.checked,
                    "random_expressions": row.random,
                }
                for name, row in self.rows.items()
            },
            "findings": [
                {"code": f.code, "title": f.title, "defect": f.defect, "detail": f.detail, "example": f.example}
                for f in self.findings
            ],
            "seconds": self.seconds,
            "warnings": self.warnings,
            "output_bytes": self.output[0],
        }


def flag_words(pairs: Sequence[tuple[str, str | None]]) -> list[str]:
    words: list[str] = []
    for flag, value in pairs:
        if value:
            words += [flag, value]
    return words
