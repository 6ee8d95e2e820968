"""Expressions of 100,000 nodes (issue 14): reading, walking, printing and checking them needs no recursion.

Python's own parser recursed on a sum of 495 terms; the engine handles a 1e6-node chain, so everything between
the text and the verdict must be iterative too."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

import oracles.floats
from oracles.autograd import Autograd
from oracles.bounds import ErrorModel
from oracles.compare import compare
from oracles.engines import AUTODIFF
from oracles.expr import (
    Apply,
    Const,
    Expr,
    Var,
    depth,
    from_json,
    nodes,
    parse,
    to_json,
    to_source,
    use_counts,
    variables,
)
from oracles.finite import FiniteDifferences
from oracles.floats import FloatProgram, OutsideDomain
from oracles.strategies import Checked, checked_dags
from oracles.symbolic import Symbolic

N = 100_000

TEXTS = {
    "a sum of 100,000 terms": " + ".join(["x"] * N),
    "100,000 chained bindings": "; ".join(["t0 = x", *(f"t{i + 1} = tanh(t{i})" for i in range(N)), f"t{N}"]),
    "100,000 unary minuses": "-" * N + "x",
    "100,000 nested calls": "tanh(" * N + "x" + ")" * N,
    "100,000 nested powers": "(" * N + "x" + " ** 1.0)" * N,
}


@pytest.mark.slow
@pytest.mark.parametrize("text", list(TEXTS.values()), ids=list(TEXTS))
def test_a_100000_node_expression_reads_prints_and_round_trips(text: str) -> None:
    expr = parse(text)
    assert len(nodes(expr)) >= N
    assert depth(expr) >= N - 1
    assert variables(expr) == ("x",)
    assert parse(to_source(expr)) == expr


def _chain(n: int) -> Expr:
    """tanh(... tanh(x * 1.0000001) * 1.0000001 ...): n ops, each using the one before."""
    e: Expr = Var("x")
    for i in range(n):
        e = Apply("tanh", (e,)) if i % 2 else Apply("mul", (e, Const(1.0000001)))
    return e


@pytest.mark.slow
def test_every_referee_and_the_comparison_handle_a_100000_node_chain() -> None:
    expr = _chain(N)
    point = {"x": 0.3}
    run = AUTODIFF.run(expr, point)
    assert not run.failed, run.error
    model = ErrorModel(expr, point)
    results = [Symbolic()(expr, point), FiniteDifferences()(expr, point), Autograd()(expr, point)]
    for result in results:
        assert result.failure is None
        assert result.grads["x"] is not None, result.skipped
    assert results[0].exact["__mode__"].startswith("chain")  # too large for SymPy's diff: the exact chain rule
    verdict = compare(expr, point, run, results, model, AUTODIFF)
    assert verdict.verified, verdict.summary()[:500]
    assert from_json(json.loads(json.dumps(to_json(expr)))) == expr
    assert repr(expr).startswith("parse(")
    assert use_counts(expr)[Const(1.0000001).digest] == N // 2  # one constant node, used by every mul


@settings(max_examples=30)
@given(case=checked_dags())
def test_an_interpreted_float_program_is_the_compiled_one(case: Checked) -> None:
    # Past COMPILE_LIMIT nodes a FloatProgram interprets (compiling 100,000 lines took 17 s); same numbers, same
    # kink sides, same refusals.
    compiled = FloatProgram(case.expr)
    limit = oracles.floats.COMPILE_LIMIT
    oracles.floats.COMPILE_LIMIT = 0
    try:
        interpreted = FloatProgram(case.expr)
    finally:
        oracles.floats.COMPILE_LIMIT = limit
    assert interpreted.source == ""
    args = [case.point[n] for n in compiled.names]
    for scale in (1.0, -3.0, 1e200):
        moved = [a * scale for a in args]
        try:
            expected = compiled.with_sides(*moved)
        except (OutsideDomain, OverflowError) as e:
            with pytest.raises(type(e)):
                interpreted.with_sides(*moved)
            continue
        assert interpreted.with_sides(*moved) == expected
