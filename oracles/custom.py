"""Ops declared in the expression language, for engines that have more than the op table: `softplus(x)=log(1 +
exp(x))`, `silu(x)=x * sigmoid(x)`, `abs(x)=relu(x) + relu(-x)`.

`declared(definitions)` registers each for the length of a `with` block: expressions may then apply it
(`softplus(x * y)`), the strategies draw it and the probes try it, and the engine under test is asked for a
method (or function) of that name. Its exact value and derivatives come from SymPy on the definition. Where an
answer must be exact everywhere, kinks included, the referees and the error model see the definition itself:
`expand` replaces every declared op by its body.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from autodiff.ops import OPS, REAL, DomainError, Op
from oracles import expr as _expr
from oracles.expr import Apply, Const, Expr, ParseError, Var, nodes, parse
from oracles.local import local_rule

__all__ = ["Definition", "declared", "expand", "parse_definition"]


@dataclass(frozen=True)
class Definition:
    """`name(params) = body`."""

    name: str
    params: tuple[str, ...]
    body: Expr
    text: str = field(default="", compare=False)


def parse_definition(text: str) -> Definition:
    """Read `name(x, y)=expression`. ParseError (a ValueError) says what is wrong."""
    head, sep, body_text = text.partition("=")
    if not sep:
        raise ParseError(f"expected NAME(ARGS)=EXPRESSION, e.g. softplus(x)=log(1 + exp(x)); got {text!r}")
    try:
        call = ast.parse(head.strip(), mode="eval").body
    except SyntaxError:
        raise ParseError(f"{head.strip()!r} is not NAME(ARGS)") from None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and not call.keywords):
        raise ParseError(f"{head.strip()!r} is not NAME(ARGS)")
    name = call.func.id
    if name in OPS:
        raise ParseError(f"{name} is already an op of the table; a declared op needs a new name")
    params = tuple(a.id for a in call.args if isinstance(a, ast.Name))
    if len(params) != len(call.args) or not params or len(set(params)) != len(params):
        raise ParseError(f"{head.strip()}: the arguments must be distinct names, e.g. f(x) or f(x, y)")
    if len(params) > 2:
        raise ParseError(f"{head.strip()}: at most two arguments")
    body = parse(body_text)
    used = {n.name for n in nodes(body) if isinstance(n, Var)}
    stray = sorted(used - set(params))
    if stray:
        raise ParseError(f"{text.strip()}: the definition uses {', '.join(stray)}, which is not an argument")
    return Definition(name, params, body, text.strip())


def _substitute(body: Expr, args: dict[str, Expr]) -> Expr:
    built: dict[bytes, Expr] = {}
    for node in nodes(body):
        if isinstance(node, Var):
            built[node.digest] = args[node.name]
        elif isinstance(node, Const):
            built[node.digest] = node
        else:
            assert isinstance(node, Apply)
            built[node.digest] = Apply(node.op, tuple(built[a.digest] for a in node.args), node.params)
    return built[body.digest]


def _spelled(body: Expr, params: Sequence[str], spell: Any) -> Any:
    """A function of the op's inputs that builds `body` with `spell(op, module, *args)`."""

    def build(module: Any, *xs: Any) -> Any:
        values: dict[bytes, Any] = {}
        point = dict(zip(params, xs, strict=True))
        for node in nodes(body):
            if isinstance(node, Var):
                values[node.digest] = point[node.name]
            elif isinstance(node, Const):
                values[node.digest] = spell(None, module, node.value)
            else:
                assert isinstance(node, Apply)
                values[node.digest] = spell(node, module, *(values[a.digest] for a in node.args))
        return values[body.digest]

    return build


def _sympy_spelling(node: Apply | None, sp: Any, *args: Any) -> Any:
    if node is None:  # a constant: exactly the float the expression holds
        return sp.Rational(*float(args[0]).as_integer_ratio())
    return OPS[node.op].sympy(sp, *args, *node.params)


def _symengine_spelling(node: Apply | None, se: Any, *args: Any) -> Any:
    if node is None:
        return se.Rational(*float(args[0]).as_integer_ratio())
    return OPS[node.op].symengine_spelling()(se, *args, *node.params)


def _torch_spelling(node: Apply | None, torch: Any, *args: Any) -> Any:
    if node is None:
        return torch.tensor(args[0], dtype=torch.float64)
    return OPS[node.op].torch(torch, *args, *node.params)


def _op(definition: Definition) -> Op:
    from oracles.floats import FloatProgram, OutsideDomain

    program = FloatProgram(definition.body, list(definition.params))
    name = definition.name

    def forward(*xs: float) -> float:
        try:
            return program(*xs)
        except OutsideDomain as e:
            raise DomainError(f"{name}: {e}") from None

    def derivative(*args: float) -> Any:
        raise NotImplementedError(f"{name} is declared, not built in: its exact derivative comes from its definition")

    return Op(
        name=name,
        arity=len(definition.params),
        forward=forward,
        derivative=derivative,
        sympy=_spelled(definition.body, definition.params, _sympy_spelling),
        symengine=_spelled(definition.body, definition.params, _symengine_spelling),
        torch=_spelled(definition.body, definition.params, _torch_spelling),
        method=name,
        domain=(REAL,) * len(definition.params),
        ulps=4.0,
        doc=f"declared: {definition.text}",
    )


_DECLARED: dict[str, Definition] = {}


@contextlib.contextmanager
def declared(definitions: Sequence[Definition]) -> Iterator[dict[str, Op]]:
    """Each definition registered as an op (in the table, the parser, the referees) inside the block."""
    added: dict[str, Op] = {}
    try:
        for d in definitions:
            if d.name in OPS:
                raise ValueError(f"{d.name} is already an op")
            op = _op(d)
            OPS[d.name] = op
            _expr._NAMED[d.name] = op
            _expr._FUNCTIONS[d.name] = op
            _DECLARED[d.name] = d
            added[d.name] = op
        local_rule.cache_clear()
        yield added
    finally:
        for name in added:
            OPS.pop(name, None)
            _expr._NAMED.pop(name, None)
            _expr._FUNCTIONS.pop(name, None)
            _DECLARED.pop(name, None)
        local_rule.cache_clear()  # a later declaration may reuse the name


def expand(expr: Expr) -> tuple[Expr, dict[bytes, str]]:
    """`expr` with every declared op replaced by its definition, and for each node that came from a definition
    (not its arguments), the declared op it belongs to."""
    if not _DECLARED or not any(isinstance(n, Apply) and n.op in _DECLARED for n in nodes(expr)):
        return expr, {}
    built: dict[bytes, Expr] = {}
    origin: dict[bytes, str] = {}
    for node in nodes(expr):
        if isinstance(node, Apply):
            args = tuple(built[a.digest] for a in node.args)
            if node.op in _DECLARED:
                d = _DECLARED[node.op]
                new = _substitute(d.body, dict(zip(d.params, args, strict=True)))
                kept = {a.digest for a in args}
                for inner in nodes(new):
                    if inner.digest not in kept and not any(inner.digest in {n.digest for n in nodes(a)} for a in args):
                        origin.setdefault(inner.digest, node.op)
                built[node.digest] = new
            else:
                built[node.digest] = Apply(node.op, args, node.params)
        else:
            built[node.digest] = node
    return built[expr.digest], origin
