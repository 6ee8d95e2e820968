"""Turn a graph the engine built (a model, a loss) back into an expression, so that the referees can check it.

`trace(root, params)` walks the engine's graph through its public API (`_prev`, `op`, `data`): each Value in
`params` becomes a variable p0, p1, ..., every other leaf a constant, and every inner node the op that made
it. The returned point holds the parameters' values. This is how a model's gradients are checked against a
PyTorch twin with the same weights: the twin is the PyTorch referee run on the traced expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oracles.expr import Apply, Const, Expr, Var

__all__ = ["trace", "trace_values"]


def trace(root: Any, params: Sequence[Any]) -> tuple[Expr, dict[str, float]]:
    """The expression computing `root` from `params`, and the point (parameter values) it was computed at."""
    expr, point, _ = trace_values(root, params)
    return expr, point


def trace_values(root: Any, params: Sequence[Any]) -> tuple[Expr, dict[str, float], dict[bytes, list[Any]]]:
    """`trace`, and for each node of the expression the engine's values it stands for (equal subgraphs built
    twice become one node of the expression, standing for both)."""
    names = {id(p): f"p{i}" for i, p in enumerate(params)}
    built: dict[int, Expr] = {}
    seen: dict[int, Any] = {}  # keeps every traced Value alive, so that no id() is reused while tracing
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if key in built:
            continue
        seen[key] = node
        inputs = tuple(node._prev)
        if not expanded and inputs:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(inputs) if id(child) not in built)
            continue
        if not inputs:
            built[key] = Var(names[key]) if key in names else Const(float(node.data))
        else:
            op = node.op
            built[key] = Apply(op.name, tuple(built[id(c)] for c in inputs), tuple(op.values))
    point = {names[id(p)]: float(p.data) for p in params}
    values: dict[bytes, list[Any]] = {}
    for key, expr in built.items():
        values.setdefault(expr.digest, []).append(seen[key])
    return built[id(root)], point, values
