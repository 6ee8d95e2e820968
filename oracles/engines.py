"""Running an engine on an expression: the engine under test, seen only through its public API.

`EngineAdapter` builds an expression out of an engine's values with the engine's own operators and methods
(`a * b`, `2 - a`, `a.tanh()`), calls `backward()`, and reads the value, the gradient of every variable and,
where the engine keeps them, the adjoints of inner nodes. `AUTODIFF` adapts this project's engine; adapters for
other people's engines are built the same way (`gradverify check-engine` builds one for someone else's engine).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from autodiff.ops import OPS
from oracles.expr import Apply, Const, Expr, Var, nodes, variables

__all__ = ["AUTODIFF", "EngineAdapter", "EngineRun"]


@dataclass
class EngineRun:
    """What an engine computed for one expression at one point."""

    value: float | None = None
    grads: dict[str, float] = field(default_factory=dict)
    adjoints: dict[bytes, float] = field(default_factory=dict)  # inner node digest -> adjoint
    error: str | None = None  # the exception the engine raised, as text

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class EngineAdapter:
    """How to drive one engine. `make(x)` builds a leaf; `data`/`grad` read a node; `backward(root)` runs reverse
    mode; `method(op)` says which method or operator applies an op from the table (None: the engine lacks it)."""

    name: str
    make: Callable[[float], Any]
    data: Callable[[Any], float]
    grad: Callable[[Any], float]
    backward: Callable[[Any], None]
    method: Callable[[str], str | None] = lambda op: OPS[op].method
    keeps_inner_grads: bool = True

    def apply(self, node: Apply, args: list[Any]) -> Any:
        """`node`'s op on engine values (or floats, for constant arguments), as a user would write it."""
        name = self.method(node.op)
        if name is None:
            raise NotImplementedError(f"{self.name} has no {node.op}")
        if node.params:  # x ** p with a number p
            return getattr(operator, name)(args[0], node.params[0])
        if name.startswith("__"):  # an operator: Python picks the reflected form for `2 - x`
            return getattr(operator, name)(*args)
        receiver = args[0] if not isinstance(args[0], float) else self.make(args[0])
        return getattr(receiver, name)(*args[1:])

    def build(self, expr: Expr, point: Mapping[str, float]) -> dict[bytes, Any]:
        """The engine's graph of `expr` at `point` (no backward yet): node digest -> engine value (a float for a
        constant)."""
        built: dict[bytes, Any] = {}
        for node in nodes(expr):
            if isinstance(node, Var):
                built[node.digest] = self.make(float(point[node.name]))
            elif isinstance(node, Const):
                built[node.digest] = node.value
            else:
                assert isinstance(node, Apply)
                built[node.digest] = self.apply(node, [built[a.digest] for a in node.args])
        if isinstance(built[expr.digest], float):
            raise ValueError("the expression is constant: it depends on no variable")
        return built

    def run(self, expr: Expr, point: Mapping[str, float]) -> EngineRun:
        """Build `expr` at `point`, run backward, and read everything back; an exception becomes `error`."""
        try:
            built = self.build(expr, point)
            root = built[expr.digest]
            leaves = {node.name: built[node.digest] for node in nodes(expr) if isinstance(node, Var)}
            value = float(self.data(root))
            self.backward(root)
            grads = {name: float(self.grad(leaves[name])) for name in variables(expr)}
            adjoints: dict[bytes, float] = {}
            if self.keeps_inner_grads:
                for node in nodes(expr):
                    v = built[node.digest]
                    if isinstance(node, Apply) and not isinstance(v, float):
                        adjoints[node.digest] = float(self.grad(v))
            return EngineRun(value, grads, adjoints)
        except Exception as e:  # the engine under test may raise anything; report it, never crash
            return EngineRun(error=f"{type(e).__name__}: {e}")

    def local_derivatives(self, op: str, params: tuple[float, ...], args: list[float]) -> list[float] | str:
        """The engine's derivative of one op at `args`, on fresh leaves (or the error it raised)."""
        leaves = [self.make(a) for a in args]
        try:
            node = Apply(op, tuple(Var(f"a{i}") for i in range(len(args))), params)
            out = self.apply(node, leaves)
            self.backward(out)
            return [float(self.grad(leaf)) for leaf in leaves]
        except Exception as e:
            return f"{type(e).__name__}: {e}"


def _autodiff() -> EngineAdapter:
    from autodiff import Value

    def backward(v: Any) -> None:
        v.backward()

    return EngineAdapter(
        name="autodiff",
        make=Value,
        data=lambda v: v.data,
        grad=lambda v: v.grad,
        backward=backward,
    )


AUTODIFF = _autodiff()
"""This project's engine."""
