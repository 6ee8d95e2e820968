"""Plain-float evaluation of an expression, compiled to straight-line Python once per expression.

`FloatProgram` is what the finite-difference referee calls many times per check. Besides the value it
reports where the point sits relative to every kink (so that FD can see a stencil straddle one), and it
raises `OutsideDomain` rather than returning garbage when an op's input leaves its domain or a value
overflows. The op table's forward functions are the only arithmetic it uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from autodiff.ops import OPS, Domain
from oracles.expr import Apply, Const, Expr, Var, nodes, op_of, variables

__all__ = ["COMPILE_LIMIT", "FloatProgram", "OutsideDomain", "evaluate"]

COMPILE_LIMIT = 20_000  # nodes; past this a FloatProgram interprets instead of compiling


class OutsideDomain(ArithmeticError):
    """An op's input left its domain, or a value overflowed, during float evaluation."""

    def __init__(self, op: str, arg: int = -2, value: float = math.nan, domain: str = "") -> None:
        self.op, self.arg, self.value = op, arg, value
        if arg >= 0:
            which = f"input {arg + 1}" if OPS[op].arity > 1 else "its input"
            message = f"{op}: {which} is {value!r}, outside its domain ({domain})"
        elif arg == -1:
            message = f"{op}: the result overflows a float ({value!r})"
        else:
            message = op
        super().__init__(message)


@dataclass(frozen=True)
class KinkSite:
    """An op input that can sit on a kink: the op's node index, the index of its input node, the kink."""

    node: int
    input: int
    at: float


class FloatProgram:
    """`expr` as a Python function of its variables (in `names` order) returning the value, or the value and
    the side of every kink site (-1, 0 or 1)."""

    def __init__(self, expr: Expr, names: Sequence[str] | None = None) -> None:
        self.expr = expr
        self.names = tuple(names) if names is not None else variables(expr)
        order = nodes(expr)
        index = {n.digest: i for i, n in enumerate(order)}
        namespace: dict[str, Any] = {"_Out": OutsideDomain}
        body: list[str] = []
        kinks: list[KinkSite] = []
        pieces: list[str] = []
        # The same program as data, for expressions too large to compile quickly (see _interpret).
        steps: list[tuple[Any, ...]] = []
        split: list[tuple[Callable[[float], int], int]] = []
        for i, node in enumerate(order):
            if isinstance(node, Var):
                if node.name not in self.names:
                    raise ValueError(f"variable {node.name!r} is not among {self.names}")
                body.append(f"v{i} = a{self.names.index(node.name)}")
                steps.append((0, self.names.index(node.name)))
            elif isinstance(node, Const):
                body.append(f"v{i} = {node.value!r}")
                steps.append((1, node.value))
            else:
                assert isinstance(node, Apply)
                op = op_of(node)
                args = [f"v{index[a.digest]}" for a in node.args]
                checks = []
                for j, domain in enumerate(op.domains()):
                    if not domain.is_real_line:
                        namespace[f"D{i}_{j}"] = domain.__contains__
                        checks.append((j, domain.__contains__, str(domain)))
                        body.append(
                            f"if not D{i}_{j}({args[j]}): raise _Out({node.op!r}, {j}, {args[j]}, {str(domain)!r})"
                        )
                        if len(domain.intervals) > 1:  # which piece: x/y for y < 0 and y > 0 are apart
                            namespace[f"P{i}_{j}"] = _piece(domain)
                            pieces.append(f"P{i}_{j}({args[j]})")
                            split.append((_piece(domain), index[node.args[j].digest]))
                for kink in op.kinks:
                    kinks.append(KinkSite(i, index[node.args[kink.arg].digest], kink.at))
                namespace[f"F{i}"] = op.forward
                body.append(f"v{i} = F{i}({', '.join(args)})")
                body.append(f"if v{i} - v{i}: raise _Out({node.op!r}, -1, v{i})")
                steps.append((2, node.op, op.forward, tuple(index[a.digest] for a in node.args), tuple(checks)))
        self.kink_sites = tuple(kinks)
        self.value: Callable[..., float]
        self.with_sides: Callable[..., tuple[float, tuple[int, ...]]]
        if len(order) > COMPILE_LIMIT:
            # Compiling a function of 100,000 lines takes longer than interpreting it a few dozen times.
            self.source = ""
            self._steps, self._split = steps, split
            self.value = lambda *a: self._interpret(*a)[0]
            self.with_sides = self._interpret
            return
        params = ", ".join(f"a{k}" for k in range(len(self.names)))
        # The side of every kink, then the piece of every split domain: a finite-difference stencil is only
        # valid if it sees the same tuple at every one of its points.
        sides = ", ".join([*(f"(v{s.input} > {s.at!r}) - (v{s.input} < {s.at!r})" for s in self.kink_sites), *pieces])
        value_src = "\n    ".join([*body, f"return v{len(order) - 1}"])
        sides_src = "\n    ".join([*body, f"return v{len(order) - 1}, ({sides}{',' if sides else ''})"])
        source = f"def value({params}):\n    {value_src}\n\ndef with_sides({params}):\n    {sides_src}\n"
        code = compile(source, f"<float program for {str(expr)[:60]}>", "exec")
        exec(code, namespace)
        self.source = source
        self.value = namespace["value"]
        self.with_sides = namespace["with_sides"]

    def _interpret(self, *args: float) -> tuple[float, tuple[int, ...]]:
        v: list[float] = []
        for step in self._steps:
            if step[0] == 0:
                v.append(args[step[1]])
            elif step[0] == 1:
                v.append(step[1])
            else:
                _, name, forward, inputs, checks = step
                xs = [v[k] for k in inputs]
                forward = cast(Callable[..., float], forward)
                for j, inside, phrase in checks:
                    if not inside(xs[j]):
                        raise OutsideDomain(name, j, xs[j], phrase)
                out = forward(*xs)
                if out - out:
                    raise OutsideDomain(name, -1, out)
                v.append(out)
        sides = [(v[s.input] > s.at) - (v[s.input] < s.at) for s in self.kink_sites]
        return v[-1], (*sides, *(piece(v[k]) for piece, k in self._split))

    def __call__(self, *args: float) -> float:
        try:
            return self.value(*args)
        except OverflowError:
            raise OutsideDomain("a value overflows a float") from None
        except (ZeroDivisionError, ValueError):
            raise OutsideDomain("an op's input is outside its domain") from None


def evaluate(expr: Expr, point: Mapping[str, float]) -> float:
    """`expr`'s float value at `point`, checking every op's domain as FloatProgram does, without compiling: for
    evaluating a large expression once (compiling a 100,000-line function takes seconds)."""
    values: dict[bytes, float] = {}
    for node in nodes(expr):
        if isinstance(node, Var):
            values[node.digest] = float(point[node.name])
        elif isinstance(node, Const):
            values[node.digest] = node.value
        else:
            assert isinstance(node, Apply)
            op = op_of(node)
            xs = [values[a.digest] for a in node.args]
            for j, domain in enumerate(op.domains()):
                if not domain.is_real_line and xs[j] not in domain:
                    raise OutsideDomain(node.op, j, xs[j], str(domain))
            try:
                v = op.forward(*xs)
            except OverflowError:  # float ** raises instead of returning inf
                raise OutsideDomain(node.op, -1, math.inf) from None
            if v - v:
                raise OutsideDomain(node.op, -1, v)
            values[node.digest] = v
    return values[expr.digest]


def _piece(domain: Domain) -> Callable[[float], int]:
    intervals = domain.intervals

    def piece(x: float) -> int:
        return next(i for i, interval in enumerate(intervals) if x in interval) + 1

    return piece
