"""How tight the allowed errors are: |engine - referee| / allowed on random DAGs checked three ways, per referee,
and which term of the allowed error carries it (the float64 bound of the error model, the referee's own error,
finite differences' truncation and rounding). A ratio near 1 is a bound with no slack; the error model's
SAFETY factor of 2 caps it at about 0.5 where the analysis is sharp. Rows that verified nothing ("not
verified") and rows with no error at all are counted separately."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from oracles.check import Checker
from oracles.strategies import Checked

__all__ = ["Tightness", "tightness"]

REFEREES = ("sympy", "fd", "torch")


@dataclass
class Tightness:
    referee: str
    ratios: list[float] = field(default_factory=list)  # error / allowed, rows with a nonzero error
    exact: int = 0  # rows where the engine equals the referee exactly
    not_verified: int = 0
    dominant: dict[str, int] = field(default_factory=dict)  # the largest term of `allowed`, per row

    def quantile(self, q: float) -> float:
        if not self.ratios:
            return 0.0
        ordered = sorted(self.ratios)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def median(self) -> float:
        return statistics.median(self.ratios) if self.ratios else 0.0


def tightness(cases: list[Checked]) -> dict[str, Tightness]:
    """Check every case with the correct engine; collect error / allowed per referee."""
    checker = Checker()
    found = {r: Tightness(r) for r in REFEREES}
    for case in cases:
        verdict = checker.check(case.expr, case.point)
        for row in verdict.rows:
            t = found.get(row.referee)
            if t is None or row.quantity == "value" or row.error is None or row.allowed is None:
                continue
            if row.status == "not verified":
                t.not_verified += 1
                continue
            if row.status != "ok":
                continue
            if row.terms:
                top = max(row.terms, key=lambda k: row.terms[k])
                t.dominant[top] = t.dominant.get(top, 0) + 1
            if row.error == 0.0:
                t.exact += 1
            else:
                t.ratios.append(row.error / row.allowed)
    return found
