"""Expression trees: the one input every backend reads.

`Expr` is `Var(name)`, `Const(value)` or `Apply(op, args, params)`, immutable and hashable. Structurally equal
subtrees are equal (they share a digest), so an expression is really a DAG: `nodes()` lists each distinct
node once. Expressions round-trip through JSON and through source text (`to_source`/`parse`), the syntax of
`gradverify grad`: `t1 = x * y; tanh(t1) + log(x)`, with a binding for every subexpression used twice.

`parse` reads that syntax with Python's `ast` and a whitelist of the op table's names; it never evaluates text.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autodiff.ops import OPS, Op

__all__ = [
    "Apply",
    "Const",
    "Expr",
    "ParseError",
    "Var",
    "depth",
    "from_json",
    "nodes",
    "op_of",
    "parse",
    "to_json",
    "to_source",
    "use_counts",
    "variables",
]


def _digest(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(len(p).to_bytes(4, "little"))
        h.update(p)
    return h.digest()


@dataclass(frozen=True, eq=False)
class Expr:
    """Base of the three node kinds; equality and hashing go through a structural digest."""

    digest: bytes = field(init=False, repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and self.digest == other.digest

    def __hash__(self) -> int:
        return int.from_bytes(self.digest[:8], "little")

    def __str__(self) -> str:
        return to_source(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis and IPython pretty-print dataclasses field by field, which for a DAG is exponential.
        printer.text(repr(self))

    # Operators, so that tests and users can write x * y + Const(2) with these nodes too.
    def __add__(self, other: Expr | float) -> Apply:
        return Apply("add", (self, _wrap(other)))

    def __radd__(self, other: float) -> Apply:
        return Apply("add", (_wrap(other), self))

    def __sub__(self, other: Expr | float) -> Apply:
        return Apply("sub", (self, _wrap(other)))

    def __rsub__(self, other: float) -> Apply:
        return Apply("sub", (_wrap(other), self))

    def __mul__(self, other: Expr | float) -> Apply:
        return Apply("mul", (self, _wrap(other)))

    def __rmul__(self, other: float) -> Apply:
        return Apply("mul", (_wrap(other), self))

    def __truediv__(self, other: Expr | float) -> Apply:
        return Apply("div", (self, _wrap(other)))

    def __rtruediv__(self, other: float) -> Apply:
        return Apply("div", (_wrap(other), self))

    def __neg__(self) -> Apply:
        return Apply("neg", (self,))

    def __pow__(self, other: Expr | float) -> Apply:
        if isinstance(other, Expr):
            return Apply("powv", (self, other))
        return Apply("pow", (self,), (float(other),))

    def __rpow__(self, other: float) -> Apply:
        return Apply("powv", (_wrap(other), self))


@dataclass(frozen=True, eq=False)
class Var(Expr):
    """An input variable; gradients are taken with respect to these."""

    name: str

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and self.name.isidentifier()) or self.name in OPS:
            raise ValueError(f"Var: {self.name!r} is not a usable variable name")
        object.__setattr__(self, "digest", _digest(b"v", self.name.encode()))

    def __repr__(self) -> str:
        return f"Var({self.name!r})"


@dataclass(frozen=True, eq=False)
class Const(Expr):
    """A finite float constant."""

    value: float

    def __post_init__(self) -> None:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"Const: expected a finite number, got {v!r}")
        object.__setattr__(self, "value", float(v))
        object.__setattr__(self, "digest", _digest(b"c", float(v).hex().encode()))

    def __repr__(self) -> str:
        return f"Const({self.value!r})"


@dataclass(frozen=True, eq=False)
class Apply(Expr):
    """An op from the table applied to argument expressions (and, for an op family, constant params)."""

    op: str
    args: tuple[Expr, ...]
    params: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"Apply: unknown op {self.op!r}; known ops: {', '.join(OPS)}")
        table = OPS[self.op]
        args = tuple(self.args)
        if len(args) != table.arity or not all(isinstance(a, Expr) for a in args):
            raise ValueError(f"Apply: {self.op} takes {table.arity} expression argument(s), got {self.args!r}")
        params = tuple(float(p) for p in self.params)
        if len(params) != len(table.params) or not all(math.isfinite(p) for p in params):
            raise ValueError(f"Apply: {self.op} takes {len(table.params)} finite parameter(s), got {self.params!r}")
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "params", params)
        parts = [b"a", self.op.encode(), *(p.hex().encode() for p in params), *(a.digest for a in args)]
        object.__setattr__(self, "digest", _digest(*parts))

    def __repr__(self) -> str:
        # The source form, with shared subexpressions bound: a nested repr of a DAG grows exponentially.
        return f"parse({to_source(self)!r})"


def _wrap(x: Expr | float) -> Expr:
    return x if isinstance(x, Expr) else Const(x)


def op_of(node: Apply) -> Op:
    """The table op a node applies, with its params bound."""
    return _bound(node.op, node.params) if node.params else OPS[node.op]


@functools.lru_cache(maxsize=1024)
def _bound(name: str, params: tuple[float, ...]) -> Op:
    # Cached: binding makes a new Op (a dataclass copy) each time, and the error model asks for it per node.
    return OPS[name].bind(*params)


# ---------------------------------------------------------------------------------------------------------
# Walking the DAG
# ---------------------------------------------------------------------------------------------------------


def nodes(expr: Expr) -> list[Expr]:
    """Each distinct node of `expr` once, every node after its arguments (so `expr` itself is last)."""
    return list(_nodes(expr))


@functools.lru_cache(maxsize=128)
def _nodes(expr: Expr) -> tuple[Expr, ...]:
    # Cached: one check walks the same expression in the error model, each referee and the comparison.
    order: list[Expr] = []
    done: set[bytes] = set()
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node.digest in done:
            continue
        if expanded or not isinstance(node, Apply):
            done.add(node.digest)
            order.append(node)
            continue
        stack.append((node, True))
        for arg in reversed(node.args):
            if arg.digest not in done:
                stack.append((arg, False))
    return tuple(order)


def variables(expr: Expr) -> tuple[str, ...]:
    """The names of the variables in `expr`, sorted."""
    return tuple(sorted({n.name for n in nodes(expr) if isinstance(n, Var)}))


def use_counts(expr: Expr) -> dict[bytes, int]:
    """How many times each node is used as an argument (by digest); a count above 1 is a shared node."""
    counts: dict[bytes, int] = {}
    for node in nodes(expr):
        if isinstance(node, Apply):
            for arg in node.args:
                counts[arg.digest] = counts.get(arg.digest, 0) + 1
    return counts


def depth(expr: Expr) -> int:
    """The number of ops on the longest path from a leaf to the root."""
    d: dict[bytes, int] = {}
    for node in nodes(expr):
        d[node.digest] = 1 + max(d[a.digest] for a in node.args) if isinstance(node, Apply) else 0
    return d[expr.digest]


# ---------------------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------------------


def to_json(expr: Expr) -> dict[str, Any]:
    """A JSON-ready dict: the distinct nodes in order, arguments as indices into the list."""
    order = nodes(expr)
    index = {n.digest: i for i, n in enumerate(order)}
    out: list[dict[str, Any]] = []
    for n in order:
        if isinstance(n, Var):
            out.append({"var": n.name})
        elif isinstance(n, Const):
            out.append({"const": n.value})
        else:
            assert isinstance(n, Apply)
            entry: dict[str, Any] = {"op": n.op, "args": [index[a.digest] for a in n.args]}
            if n.params:
                entry["params"] = list(n.params)
            out.append(entry)
    return {"nodes": out, "root": len(order) - 1}


def from_json(data: Mapping[str, Any]) -> Expr:
    """The inverse of `to_json`; raises ValueError on anything malformed."""
    try:
        raw = data["nodes"]
        built: list[Expr] = []
        for i, entry in enumerate(raw):
            if "var" in entry:
                built.append(Var(entry["var"]))
            elif "const" in entry:
                built.append(Const(entry["const"]))
            else:
                args = [int(a) for a in entry["args"]]
                if any(not 0 <= a < i for a in args):
                    raise ValueError(f"node {i} refers to a node that does not come before it")
                built.append(Apply(entry["op"], tuple(built[a] for a in args), tuple(entry.get("params", ()))))
        return built[int(data.get("root", len(built) - 1))]
    except (KeyError, TypeError, IndexError) as e:
        raise ValueError(f"not an expression in JSON form: {e!r}") from None


# ---------------------------------------------------------------------------------------------------------
# Source text
# ---------------------------------------------------------------------------------------------------------

_UNARY_MINUS = 3


def _number(x: float) -> str:
    s = repr(float(x))
    return s


def to_source(expr: Expr, bind_shared: bool = True) -> str:
    """`expr` in the syntax `parse` reads. Shared subexpressions get a binding (`t1 = ...;`) so that the
    text stays as small as the DAG; with bind_shared=False the tree is written out in full."""
    counts = use_counts(expr) if bind_shared else {}
    names: dict[bytes, str] = {}
    lines: list[str] = []
    taken = set(variables(expr))
    counter = 0
    for node in nodes(expr):
        if isinstance(node, Apply) and counts.get(node.digest, 0) > 1 and node is not expr:
            counter += 1
            while f"t{counter}" in taken:
                counter += 1
            name = f"t{counter}"
            lines.append(f"{name} = {_render(node, names)[0]}")
            names[node.digest] = name
    lines.append(_render(expr, names)[0])
    return "; ".join(lines)


def _render(node: Expr, names: Mapping[bytes, str]) -> tuple[str, int]:
    """Source text and precedence of `node` (100 for atoms)."""
    if node.digest in names:
        return names[node.digest], 100
    if isinstance(node, Var):
        return node.name, 100
    if isinstance(node, Const):
        text = _number(node.value)
        return text, (_UNARY_MINUS if node.value < 0 or text.startswith("-") else 100)
    assert isinstance(node, Apply)
    op = OPS[node.op]
    parts = [_render(a, names) for a in node.args]
    if op.symbol is None:
        return f"{op.name}({', '.join(p[0] for p in parts)})", 100
    prec = op.precedence
    if op.arity == 1 and not node.params:  # unary minus
        text, p = parts[0]
        if isinstance(node.args[0], Const):  # `-1.0` would read back as the constant -1.0
            return f"neg({text})", 100
        return f"-{_paren(text, p <= prec)}", prec
    if node.params:  # x ** p
        text, p = parts[0]
        return f"{_paren(text, p <= prec)} {op.symbol} {_paren(_number(node.params[0]), node.params[0] < 0)}", prec
    (left, lp), (right, rp) = parts
    if node.op == "powv" and isinstance(node.args[1], Const):
        # `x ** 2.0` reads back as the op pow (a number exponent); a powv with a constant exponent needs its name.
        return f"powv({left}, {right})", 100
    right_assoc = op.symbol == "**"
    left_needs = lp < prec or (lp == prec and right_assoc) or (right_assoc and lp == _UNARY_MINUS)
    right_needs = rp < prec or (rp == prec and not right_assoc and node.op in ("sub", "div", "add", "mul"))
    return f"{_paren(left, left_needs)} {op.symbol} {_paren(right, right_needs)}", prec


def _paren(text: str, needed: bool) -> str:
    return f"({text})" if needed else text


class ParseError(ValueError):
    """Text that is not an expression of this language; `column` points at the problem (1-based)."""

    def __init__(self, message: str, text: str = "", column: int = 0) -> None:
        self.text, self.column = text, column
        pointer = f"\n  {text}\n  {' ' * max(column - 1, 0)}^" if text and column else ""
        super().__init__(f"{message}{pointer}")


_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div"}
_FUNCTIONS = {op.name: op for op in OPS.values() if op.symbol is None}
_NAMED = dict(OPS)  # every op may also be called by name: `powv(x, 2.0)`, `pow(x, 3)`, `mul(x, y)`


def parse(text: str) -> Expr:
    """Read `t1 = x * y; tanh(t1) + log(x)`: bindings, then one expression.

    Allowed: variable names, numbers, + - * / ** and unary minus, and calls to the op table's functions
    (`tanh(x)`). `x ** 3` with a number exponent is the op `pow`; with an expression exponent, `powv`.
    Anything else (attributes, other calls, strings, ...) raises ParseError pointing at it.
    """
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except SyntaxError as e:
        raise ParseError(f"syntax error: {e.msg}", text.strip(), e.offset or 0) from None
    src = text.strip()
    if not tree.body:
        raise ParseError("empty expression")
    bound: dict[str, Expr] = {}
    *assignments, last = tree.body
    for stmt in assignments:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            raise ParseError("only `name = expression` may come before the final expression", src, stmt.col_offset + 1)
        name = stmt.targets[0].id
        if name in _NAMED:
            raise ParseError(f"{name!r} is an op name and cannot be assigned", src, stmt.col_offset + 1)
        bound[name] = _convert(stmt.value, bound, src)
    if not isinstance(last, ast.Expr):
        raise ParseError("the text must end with an expression", src, last.col_offset + 1)
    return _convert(last.value, bound, src)


def _convert(node: ast.AST, bound: Mapping[str, Expr], src: str) -> Expr:
    col = getattr(node, "col_offset", -1) + 1

    def fail(message: str) -> ParseError:
        return ParseError(message, src, col)

    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise fail(f"{node.value!r} is not a number")
        if not math.isfinite(float(node.value)):
            raise fail(f"{node.value!r} is not a finite number")
        return Const(float(node.value))
    if isinstance(node, ast.Name):
        if node.id in bound:
            return bound[node.id]
        if node.id in _NAMED:
            raise fail(f"{node.id!r} is an op; call it, as in {node.id}(x)")
        return Var(node.id)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            inner = _convert(node.operand, bound, src)
            return Const(-inner.value) if isinstance(inner, Const) else Apply("neg", (inner,))
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, bound, src)
        raise fail(f"unsupported operator {type(node.op).__name__}")
    if isinstance(node, ast.BinOp):
        left = _convert(node.left, bound, src)
        if isinstance(node.op, ast.Pow):
            right = _convert(node.right, bound, src)
            if isinstance(right, Const):
                return Apply("pow", (left,), (right.value,))
            return Apply("powv", (left, right))
        kind = _BINARY.get(type(node.op))
        if kind is None:
            raise fail(f"unsupported operator {type(node.op).__name__}; use + - * / **")
        return Apply(kind, (left, _convert(node.right, bound, src)))
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in _NAMED:
            shown = name if name else ast.unparse(node.func)
            raise fail(f"unknown function {shown!r}; known: {', '.join(_FUNCTIONS)}")
        op = _NAMED[name]
        wanted = op.arity + len(op.params)
        if node.keywords or len(node.args) != wanted:
            raise fail(f"{name} takes {wanted} argument(s)")
        args = [_convert(a, bound, src) for a in node.args]
        params = args[op.arity :]
        if not all(isinstance(p, Const) for p in params):
            raise fail(f"the last argument of {name} must be a number")
        return Apply(op.name, tuple(args[: op.arity]), tuple(p.value for p in params))  # type: ignore[attr-defined]
    raise fail(f"{type(node).__name__} is not allowed in an expression")


def iter_apply(expr: Expr) -> Iterator[Apply]:
    """The Apply nodes of `expr`, arguments first."""
    for n in nodes(expr):
        if isinstance(n, Apply):
            yield n


def substitute_point(point: Mapping[str, float], names: Sequence[str]) -> tuple[float, ...]:
    """The point's values in the order of `names`, or a ValueError naming what is missing."""
    missing = [n for n in names if n not in point]
    if missing:
        raise ValueError(f"no value given for {', '.join(missing)}")
    return tuple(float(point[n]) for n in names)
