"""Expression trees: the one input every backend reads.

`Expr` is `Var(name)`, `Const(value)` or `Apply(op, args, params)`, immutable and hashable. Structurally equal
subtrees are equal (they share a digest), so an expression is really a DAG: `nodes()` lists each distinct
node once. Expressions round-trip through JSON and through source text (`to_source`/`parse`), the syntax of
`gradverify grad`: `t1 = x * y; tanh(t1) + log(x)`, with a binding for every subexpression used twice.

`parse` reads that syntax (Python's operators and precedence, and the op table's names as functions) with its
own tokenizer and an operator-precedence parser; it never evaluates text, and neither it nor any walker here
recurses, so a 100,000-node expression reads, walks and prints like a small one.
"""

from __future__ import annotations

import functools
import hashlib
import keyword
import math
import re
import unicodedata
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
    return repr(float(x))


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
            lines.append(f"{name} = {_render(node, names)}")
            names[node.digest] = name
    lines.append(_render(expr, names))
    return "; ".join(lines)


def _render(root: Expr, names: Mapping[bytes, str]) -> str:
    """Source text of `root`, with the nodes in `names` written as those names. Iterative, and linear in the
    size of the text: a node's pieces (strings, and child nodes still to write) go on a stack, so that a chain
    100,000 ops deep needs neither 100,000 Python frames nor 100,000 ever longer strings."""
    out: list[str] = []
    stack: list[str | Expr] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        else:
            stack.extend(reversed(_pieces(item, names, top=item is root)))
    return "".join(out)


def _precedence(node: Expr, names: Mapping[bytes, str]) -> int:
    """How tightly `node`'s text binds (100 for atoms), as its parent sees it."""
    if node.digest in names or isinstance(node, Var):
        return 100
    if isinstance(node, Const):
        return _UNARY_MINUS if node.value < 0 or _number(node.value).startswith("-") else 100
    assert isinstance(node, Apply)
    op = OPS[node.op]
    if op.symbol is None or (node.op == "powv" and isinstance(node.args[1], Const)):
        return 100
    if op.arity == 1 and not node.params and isinstance(node.args[0], Const):
        return 100  # neg(2.0)
    return op.precedence


def _pieces(node: Expr, names: Mapping[bytes, str], top: bool) -> list[str | Expr]:
    """`node`'s text as strings and child nodes, in order."""
    if node.digest in names and not top:
        return [names[node.digest]]
    if isinstance(node, Var):
        return [node.name]
    if isinstance(node, Const):
        return [_number(node.value)]
    assert isinstance(node, Apply)
    op = OPS[node.op]
    if op.symbol is None:
        return [f"{op.name}(", *_joined(node.args), ")"]
    prec = op.precedence
    if op.arity == 1 and not node.params:  # unary minus
        (arg,) = node.args
        if isinstance(arg, Const):  # `-1.0` would read back as the constant -1.0
            return [f"neg({_number(arg.value)})"]
        return ["-", *_paren(arg, _precedence(arg, names) <= prec)]
    if node.params:  # x ** p
        (arg,) = node.args
        p = node.params[0]
        exponent = f"({_number(p)})" if p < 0 else _number(p)
        return [*_paren(arg, _precedence(arg, names) <= prec), f" {op.symbol} {exponent}"]
    left, right = node.args
    if node.op == "powv" and isinstance(right, Const):
        # `x ** 2.0` reads back as the op pow (a number exponent); a powv with a constant exponent needs its name.
        return ["powv(", *_joined(node.args), ")"]
    lp, rp = _precedence(left, names), _precedence(right, names)
    right_assoc = op.symbol == "**"
    left_needs = lp < prec or (lp == prec and right_assoc) or (right_assoc and lp == _UNARY_MINUS)
    right_needs = rp < prec or (rp == prec and not right_assoc and node.op in ("sub", "div", "add", "mul"))
    return [*_paren(left, left_needs), f" {op.symbol} ", *_paren(right, right_needs)]


def _paren(node: Expr, needed: bool) -> list[str | Expr]:
    return ["(", node, ")"] if needed else [node]


def _joined(args: Sequence[Expr]) -> list[str | Expr]:
    out: list[str | Expr] = []
    for i, a in enumerate(args):
        out.extend([", ", a] if i else [a])
    return out


class ParseError(ValueError):
    """Text that is not an expression of this language; `column` points at the problem (1-based)."""

    def __init__(self, message: str, text: str = "", column: int = 0) -> None:
        self.text, self.column = text, column
        pointer = f"\n  {text}\n  {' ' * max(column - 1, 0)}^" if text and column else ""
        super().__init__(f"{message}{pointer}")


_FUNCTIONS = {op.name: op for op in OPS.values() if op.symbol is None}
_NAMED = dict(OPS)  # every op may also be called by name: `powv(x, 2.0)`, `pow(x, 3)`, `mul(x, y)`
_BINARY = {"+": ("add", 1), "-": ("sub", 1), "*": ("mul", 2), "/": ("div", 2), "**": ("pow", 4)}
_UNARY_PREC = 3  # Python's: -x ** 2 is -(x ** 2), -x * y is (-x) * y
_TOKENS = re.compile(
    r"""(?P<space>[ \t\r\f\v]+)
      | (?P<number>(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?)
      | (?P<name>[^\W\d]\w*)
      | (?P<op>\*\*|//|[-+*/(),=;\n%@<>!&|^~.:\[\]{}'"`#$?\\])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    column: int  # 1-based


def _tokens(src: str) -> list[_Token]:
    out: list[_Token] = []
    position = 0
    while position < len(src):
        m = _TOKENS.match(src, position)
        if m is None:
            raise ParseError(f"unexpected character {src[position]!r}", src, position + 1)
        kind = m.lastgroup or "op"
        text = m.group()
        if kind == "number" and m.end() < len(src) and (src[m.end()].isalnum() or src[m.end()] == "_"):
            raise ParseError(f"a number cannot run into a name: {text + src[m.end()]!r}...", src, m.end() + 1)
        if kind == "name":
            # Python reads identifiers after NFKC normalisation (the ligature ﬁ is fi); so does --at.
            text = unicodedata.normalize("NFKC", text)
        if kind != "space":
            out.append(_Token(kind, text, position + 1))
        position = m.end()
    out.append(_Token("end", "", len(src) + 1))
    return out


def parse(text: str) -> Expr:
    """Read `t1 = x * y; tanh(t1) + log(x)`: bindings, then one expression.

    Allowed: variable names, numbers, + - * / ** and unary minus, and calls to the op table's functions
    (`tanh(x)`). `x ** 3` with a number exponent is the op `pow`; with an expression exponent, `powv`.
    Anything else raises ParseError pointing at it. The text is never evaluated, and reading it is iterative:
    an expression nested 100,000 deep reads as well as a short one.
    """
    src = text.strip()
    tokens = _tokens(src)
    statements: list[list[_Token]] = [[]]
    depth = 0
    for tok in tokens[:-1]:
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        if tok.text == ";" or (tok.text == "\n" and depth <= 0):
            statements.append([])
        elif tok.text != "\n":
            statements[-1].append(tok)
    if statements and not statements[-1] and len(statements) > 1:
        statements.pop()  # a trailing `;`
    if not any(statements):
        raise ParseError("empty expression")
    bound: dict[str, Expr] = {}
    *assignments, last = statements
    for stmt in assignments:
        if not stmt:
            raise ParseError("an empty statement between two `;`", src, 1)
        if not (len(stmt) > 2 and stmt[0].kind == "name" and stmt[1].text == "="):
            raise ParseError("only `name = expression` may come before the final expression", src, stmt[0].column)
        name = stmt[0].text
        if name in _NAMED:
            raise ParseError(f"{name!r} is an op name and cannot be assigned", src, stmt[0].column)
        _check_name(name, src, stmt[0].column)
        bound[name] = _expression(stmt[2:], bound, src)
    if len(last) > 1 and last[0].kind == "name" and last[1].text == "=":
        raise ParseError("the text must end with an expression, not a binding", src, last[0].column)
    return _expression(last, bound, src)


def _check_name(name: str, src: str, column: int) -> None:
    if keyword.iskeyword(name):
        raise ParseError(f"{name!r} is a Python keyword, not a name for a value", src, column)


@dataclass
class _Call:
    """An open function call on the operator stack: its op and the arguments read so far."""

    name: str
    column: int
    args: int = 1


def _expression(tokens: Sequence[_Token], bound: Mapping[str, Expr], src: str) -> Expr:
    """Operator precedence parsing (Dijkstra's shunting yard) with explicit stacks: no recursion."""
    operands: list[Expr] = []
    # Binary operators as (symbol, column), unary minus as ("neg", column), "(" as ("(", column), calls.
    ops: list[tuple[str, int] | _Call] = []
    end = _Token("end", "", (tokens[-1].column + len(tokens[-1].text)) if tokens else len(src) + 1)
    want_operand = True

    def fail(message: str, tok: _Token) -> ParseError:
        return ParseError(message, src, tok.column)

    def reduce() -> None:
        top = ops.pop()
        assert not isinstance(top, _Call)
        symbol = top[0]
        if symbol in ("neg", "pos"):
            inner = operands.pop()
            if symbol == "neg":
                operands.append(Const(-inner.value) if isinstance(inner, Const) else Apply("neg", (inner,)))
            else:
                operands.append(inner)
            return
        right = operands.pop()
        left = operands.pop()
        if symbol == "**":
            if isinstance(right, Const):
                operands.append(Apply("pow", (left,), (right.value,)))
            else:
                operands.append(Apply("powv", (left, right)))
            return
        operands.append(Apply(_BINARY[symbol][0], (left, right)))

    def precedence(entry: tuple[str, int] | _Call) -> int:
        if isinstance(entry, _Call) or entry[0] == "(":
            return -1
        return _UNARY_PREC if entry[0] in ("neg", "pos") else _BINARY[entry[0]][1]

    i = 0
    while True:
        tok = tokens[i] if i < len(tokens) else end
        i += 1
        if want_operand:
            if tok.kind == "number":
                value = float(tok.text.replace("_", ""))
                if not math.isfinite(value):
                    raise fail(f"{tok.text} is not a finite number", tok)
                operands.append(Const(value))
                want_operand = False
            elif tok.kind == "name":
                nxt = tokens[i] if i < len(tokens) else end
                if nxt.text == "(":
                    if tok.text not in _NAMED:
                        raise fail(f"unknown function {tok.text!r}; known: {', '.join(_FUNCTIONS)}", tok)
                    ops.append(_Call(tok.text, tok.column))
                    i += 1
                    if i < len(tokens) and tokens[i].text == ")":
                        raise fail(f"{tok.text} takes {_wanted(tok.text)} argument(s)", tok)
                    continue
                if tok.text in bound:
                    operands.append(bound[tok.text])
                elif tok.text in _NAMED:
                    raise fail(f"{tok.text!r} is an op; call it, as in {tok.text}(x)", tok)
                else:
                    _check_name(tok.text, src, tok.column)
                    operands.append(Var(tok.text))
                want_operand = False
            elif tok.text == "(":
                ops.append(("(", tok.column))
            elif tok.text in ("-", "+"):
                ops.append(("neg" if tok.text == "-" else "pos", tok.column))
            elif tok.kind == "end":
                raise fail("the expression ends where a number, a name or '(' should come", tok)
            else:
                raise fail(f"expected a number, a name or '(' here, not {tok.text!r}", tok)
            continue
        # After an operand: an operator, a comma, a closing parenthesis, or the end.
        if tok.text in _BINARY:
            prec = _BINARY[tok.text][1]
            right_assoc = tok.text == "**"
            while ops and (precedence(ops[-1]) > prec or (precedence(ops[-1]) == prec and not right_assoc)):
                reduce()
            ops.append((tok.text, tok.column))
            want_operand = True
        elif tok.text in (",", ")"):
            while ops and not (isinstance(ops[-1], _Call) or ops[-1][0] == "("):
                reduce()
            if not ops:
                raise fail("',' outside a function call" if tok.text == "," else "unmatched ')'", tok)
            top = ops[-1]
            if tok.text == ",":
                if not isinstance(top, _Call):
                    raise fail("',' outside a function call", tok)
                top.args += 1
                want_operand = True
            elif isinstance(top, _Call):
                ops.pop()
                operands.append(_call(top, [operands.pop() for _ in range(top.args)][::-1], src))
            else:
                ops.pop()
        elif tok.kind == "end":
            while ops:
                if isinstance(ops[-1], _Call) or ops[-1][0] == "(":
                    opening = ops[-1]
                    column = opening.column if isinstance(opening, _Call) else opening[1]
                    raise ParseError("'(' is never closed", src, column)
                reduce()
            (result,) = operands
            return result
        elif tok.text == "=":
            raise fail("'=' only binds a name at the start of a statement: `t = x * y; tanh(t)`", tok)
        elif tok.text in ("//", "%", "@", "<", ">", "!", "&", "|", "^", "~"):
            raise fail(f"unsupported operator {tok.text!r}; use + - * / **", tok)
        else:
            raise fail(f"unexpected {tok.text!r} after a complete operand", tok)


def _wanted(name: str) -> int:
    op = _NAMED[name]
    return op.arity + len(op.params)


def _call(call: _Call, args: list[Expr], src: str) -> Expr:
    op = _NAMED[call.name]
    if len(args) != _wanted(call.name):
        raise ParseError(f"{call.name} takes {_wanted(call.name)} argument(s)", src, call.column)
    params = args[op.arity :]
    if not all(isinstance(p, Const) for p in params):
        raise ParseError(f"the last argument of {call.name} must be a number", src, call.column)
    return Apply(op.name, tuple(args[: op.arity]), tuple(p.value for p in params if isinstance(p, Const)))


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
