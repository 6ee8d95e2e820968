"""Test the tests: plant each classic bug in a copy of the engine and check that the suite catches it.

The suite here is the same properties the other tests assert on the real engine (property_tests/properties.py):
random DAGs three ways, two backward() calls giving exactly twice one, and a deep chain. For each bug the
test reports which property caught it and after how many generated examples (pytest's summary lists them).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import Phase, find, settings
from hypothesis.errors import NoSuchExample

from oracles.bugs import BUGS, Bug, broken_engine
from oracles.check import Checker
from property_tests.properties import deep_chain_works, three_ways, twice_is_exactly_double
from property_tests.strategies import Checked, checked_dags

BUDGET = 300  # examples per property before a bug counts as missed


def _first_failure(check: Callable[[Checked], bool], budget: int = BUDGET) -> tuple[int, Checked] | None:
    """How many examples it takes `check` to fail, and the first failing example (no shrinking)."""
    count = 0

    def failing(case: Checked) -> bool:
        nonlocal count
        count += 1
        return not check(case)

    try:
        case = find(
            checked_dags(),
            failing,
            settings=settings(max_examples=budget, derandomize=True, database=None, phases=[Phase.generate]),
        )
    except NoSuchExample:
        return None
    return count, case


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_planted_bug_is_caught(bug: Bug, record_property: Callable[[str, object], None]) -> None:
    # The properties in order of cost; the first that fails is reported.
    engine = broken_engine(bug)
    problem = deep_chain_works(engine)
    if problem:
        caught = f"deep chain: {problem}"
    elif found := _first_failure(lambda case: twice_is_exactly_double(engine, case) is None):
        caught = f"double backward() after {found[0]} example(s)"
    elif found := _first_failure(lambda case: three_ways(Checker(engine=engine), case).ok):
        caught = f"three ways after {found[0]} example(s), e.g. {found[1].expr}"
    else:
        pytest.fail(f"{bug.title}: no property caught it in {BUDGET} examples each")
    record_property("caught", f"{bug.name:24s} {caught}")


def test_the_real_engine_passes_the_same_properties(checker: Checker) -> None:
    # The control: what catches the bugs above does not fire on the engine itself. (Three ways on the real
    # engine is test_expressions.py's main test; here a shorter run of the same search.)
    from oracles.engines import AUTODIFF

    assert deep_chain_works(AUTODIFF) is None
    assert _first_failure(lambda case: twice_is_exactly_double(AUTODIFF, case) is None) is None
    assert _first_failure(lambda case: three_ways(checker, case).ok, budget=50) is None
