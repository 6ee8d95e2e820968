"""Test the tests: plant each classic bug in a copy of the engine and check that the suite catches it.

The suite here is the same properties the other tests assert on the real engine (oracles/properties.py):
random DAGs three ways, two backward() calls giving exactly twice one, and a deep chain. For each bug the
test reports which property caught it and after how many generated examples (pytest's summary lists them).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gradverify.bugs import BUGS, Bug
from gradverify.hunt import first_failure, hunt
from oracles.check import Checker
from oracles.engines import AUTODIFF
from oracles.properties import deep_chain_works, three_ways, twice_is_exactly_double

BUDGET = 300  # examples per property before a bug counts as missed


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_planted_bug_is_caught(bug: Bug, record_property: Callable[[str, object], None]) -> None:
    found = hunt(bug, budget=BUDGET, shrink=False)
    assert found is not None, f"{bug.title}: no property caught it in {BUDGET} examples each"
    when = f" after {found.examples} example(s)" if found.examples is not None else ""
    example = f", e.g. {found.case.expr}" if found.case is not None else f": {found.detail}"
    record_property("caught", f"{bug.name:24s} {found.caught_by}{when}{example}")


def test_the_real_engine_passes_the_same_properties(checker: Checker) -> None:
    # The control: what catches the bugs above does not fire on the engine itself. (Three ways on the real
    # engine is test_expressions.py's main test; here a shorter run of the same search.)
    assert deep_chain_works(AUTODIFF) is None
    assert first_failure(lambda case: twice_is_exactly_double(AUTODIFF, case) is None, BUDGET) is None
    assert first_failure(lambda case: three_ways(checker, case).ok, 500) is None
