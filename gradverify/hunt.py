"""Hunting a planted bug: run the suite's properties against a broken engine until one fails, then shrink.

Shared by `gradverify bugs --run` and property_tests/test_mutants.py, which asserts that every bug is caught.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import Phase, find, settings
from hypothesis.errors import NoSuchExample

from gradverify.bugs import Bug, broken_engine
from gradverify.fuzz import POINTS
from oracles.check import Checker
from oracles.properties import deep_chain_works, leaf_backward_works, three_ways, twice_is_exactly_double
from oracles.strategies import Checked, checked_dags

__all__ = ["Hunted", "first_failure", "hunt"]


def first_failure(check: Callable[[Checked], bool], budget: int, shrink: bool = False) -> tuple[int, Checked] | None:
    """How many generated examples it takes `check` to fail, and the failing example (shrunk if asked)."""
    count = 0
    failed = False

    def failing(case: Checked) -> bool:
        nonlocal count, failed
        if not failed:
            count += 1
        bad = not check(case)
        failed = failed or bad
        return bad

    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]
    try:
        case = find(
            checked_dags(points=POINTS),
            failing,
            settings=settings(max_examples=budget, derandomize=True, database=None, phases=phases, deadline=None),
        )
    except NoSuchExample:
        return None
    return count, case


@dataclass
class Hunted:
    """How a bug was caught: by which property, after how many examples, and the counterexample."""

    bug: Bug
    caught_by: str
    examples: int | None
    case: Checked | None
    detail: str

    def render(self) -> str:
        when = f" after {self.examples} example(s)" if self.examples is not None else ""
        lines = [f"caught by {self.caught_by}{when}"]
        if self.case is not None:
            from gradverify.report import point_text

            lines.append(f"smallest counterexample: {self.case.expr}   at {point_text(self.case.point)}")
        lines.append(self.detail)
        return "\n".join(lines)


def hunt(bug: Bug, budget: int = 300, shrink: bool = True) -> Hunted | None:
    """Run the properties, cheapest first, against the engine with `bug` planted; None if none fails."""
    engine = broken_engine(bug)
    problem = deep_chain_works(engine) or leaf_backward_works(engine)
    if problem:
        return Hunted(bug, "the deep-chain and leaf tests", None, None, problem)
    found = first_failure(lambda case: twice_is_exactly_double(engine, case) is None, budget, shrink)
    if found:
        detail = twice_is_exactly_double(engine, found[1]) or ""
        return Hunted(bug, "two backward() calls", found[0], found[1], detail)
    checker = Checker(engine=engine)
    found = first_failure(lambda case: three_ways(checker, case).ok, budget, shrink)
    if found:
        return Hunted(bug, "the three referees", found[0], found[1], three_ways(checker, found[1]).summary())
    return None
