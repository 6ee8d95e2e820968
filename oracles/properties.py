"""The properties the suite checks, as plain functions of an engine, shared by the property tests, the test
that plants bugs (test_mutants.py) and the command line. Each returns None when the property holds and a
sentence saying what went wrong otherwise."""

from __future__ import annotations

from typing import Any

from oracles.check import Checker
from oracles.compare import Verdict
from oracles.engines import EngineAdapter
from oracles.expr import Apply, Const, Expr, Var, nodes
from oracles.strategies import Checked

__all__ = ["DEEP", "deep_chain_works", "leaf_backward_works", "three_ways", "twice_is_exactly_double"]

DEEP = 5_000  # nodes in the chain of `deep_chain_works`: far past any recursion limit


def three_ways(checker: Checker, case: Checked) -> Verdict:
    """The engine against all three referees at each of the case's points: the first Verdict that is not ok,
    or the last one."""
    for point in case.points:
        verdict = checker.check(case.expr, point)
        if not verdict.ok:
            return verdict
    return verdict


def _build(engine: EngineAdapter, expr: Expr, point: dict[str, float]) -> tuple[Any, dict[str, Any]]:
    built: dict[bytes, Any] = {}
    leaves = {n: engine.make(v) for n, v in point.items()}
    for node in nodes(expr):
        if isinstance(node, Apply):
            built[node.digest] = engine.apply(node, [built[a.digest] for a in node.args])
        elif isinstance(node, Const):
            built[node.digest] = node.value
        else:
            assert isinstance(node, Var)
            built[node.digest] = leaves[node.name]
    return built[expr.digest], leaves


def twice_is_exactly_double(engine: EngineAdapter, case: Checked) -> str | None:
    """Two backward() calls give exactly twice the leaf gradients of one (PyTorch's accumulation)."""
    try:
        root, leaves = _build(engine, case.expr, case.point)
        engine.backward(root)
        once = {n: engine.grad(v) for n, v in leaves.items()}
        engine.backward(root)
        twice = {n: engine.grad(v) for n, v in leaves.items()}
    except Exception as e:  # the engine under test may raise anything
        return f"{type(e).__name__}: {e}"
    for n in leaves:
        if twice[n] != 2 * once[n]:
            return f"d/d{n}: {once[n]!r} after one backward(), {twice[n]!r} after two: not exactly twice"
    return None


def deep_chain_works(engine: EngineAdapter, depth: int = DEEP) -> str | None:
    """backward() through a chain of `depth` additions (x + 0.5 + 0.5 + ...), whose gradient is exactly 1.

    Additions, so that this tests depth alone: a wrong local derivative is the other properties' business.
    """
    step = Apply("add", (Var("a"), Const(0.5)))
    x = engine.make(0.5)
    y = x
    try:
        for _ in range(depth):
            y = engine.apply(step, [y, 0.5])
        engine.backward(y)
        got = engine.grad(x)
    except RecursionError:
        return f"RecursionError in backward() on a chain of {depth} nodes"
    except Exception as e:
        return f"{type(e).__name__} on a chain of {depth} nodes: {e}"
    if got != 1.0:
        return f"a chain of {depth} additions: gradient {got!r}, expected 1.0"
    return None


def leaf_backward_works(engine: EngineAdapter) -> str | None:
    """backward() called on a leaf itself gives it gradient 1, and 2 after a second call."""
    try:
        x = engine.make(1.5)
        engine.backward(x)
        once = engine.grad(x)
        engine.backward(x)
        twice = engine.grad(x)
    except Exception as e:
        return f"{type(e).__name__} in backward() on a leaf: {e}"
    if (once, twice) != (1.0, 2.0):
        return f"backward() on a leaf: gradient {once!r}, then {twice!r}; expected 1.0, then 2.0"
    return None
