"""Ball arithmetic (python-flint's `arb`): SymEngine expressions compiled to straight-line arb code, and the
loop that raises the precision until every result is known to the digits asked for.

An `arb` is a midpoint and a rigorous radius: the exact value lies in the ball, whatever rounding or
cancellation happened on the way. So a result whose radius is a millionth of its midpoint is right to six
digits, with no second evaluation to compare against. Where cancellation eats the digits (1 - tanh(x)**2 once
tanh(x) is 1 to the working precision) the ball just gets wide, and `settle` doubles the precision until it is
narrow again, or until a ball around 0 is narrower than anything a float could show.

`compile_arb` turns SymEngine expressions (each distinct subexpression once, so a DAG stays a DAG) into one
Python function over arbs. Only the forms the op table produces are translated: + * ** (integer,
rational and real exponents), exp, log, tanh, and relu's Piecewise; anything else raises `Untranslatable` and
the caller falls back (to SymPy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import flint
import mpmath

__all__ = ["Undecided", "Untranslatable", "arb_to_mpf", "compile_arb", "exact_arb", "settle"]

MAX_PREC = 5_400  # bits (about 1,600 digits), where the mpmath referee stopped doubling too


class Untranslatable(ValueError):
    """A SymEngine expression that `compile_arb` has no arb spelling for."""


class Undecided(ArithmeticError):
    """A comparison (relu's `0 < u`) that the ball cannot decide at this precision: its ball contains 0."""


def exact_arb(x: float) -> Any:
    """A float as an exact ball (radius 0)."""
    return flint.arb(x)


def _less(a: Any, b: Any) -> bool:
    if a < b:
        return True
    if a >= b:
        return False
    raise Undecided(f"cannot decide {a} < {b} at {flint.ctx.prec} bits")


def _less_equal(a: Any, b: Any) -> bool:
    if a <= b:
        return True
    if a > b:
        return False
    raise Undecided(f"cannot decide {a} <= {b} at {flint.ctx.prec} bits")


def _rational(p: int, q: int) -> Any:
    return flint.arb(p) / q


def _integer_power(base: Any, n: int) -> Any:
    # By repeated squaring: arb's own ** returns nan for a ball that contains 0 (it goes through a logarithm).
    result = flint.arb(1)
    square = base
    k = abs(n)
    while k:
        if k & 1:
            result = result * square
        k >>= 1
        if k:
            square = square * square
    return result if n >= 0 else 1 / result


def _power(base: Any, exponent: Any) -> Any:
    # arb's ** with an arb exponent is exp(e log b): fine for b > 0, which is the only place the op table uses it.
    return base**exponent


_NAMESPACE: dict[str, Any] = {
    "_A": flint.arb,
    "_lt": _less,
    "_le": _less_equal,
    "_q": _rational,
    "_pow": _power,
    "_ipow": _integer_power,
}


_LEAVES = (
    *("Integer", "Zero", "One", "NegativeOne", "Rational", "Half", "RealDouble", "Exp1"),
    *("BooleanTrue", "BooleanFalse"),
)


class _Emitter:
    """Writes straight-line Python over arbs for SymEngine expressions: one line per distinct compound node (so a
    DAG stays a DAG), numbers inline.

    Common subexpressions are found by SymEngine's own equality (its hash-consing), not by `symengine.cse`: on a
    derivative holding a sum SymEngine had left unflattened (`(x + P) + x + P`, from differentiating
    (log(t) * t) ** 2 with t = u ** (x + P)), cse returned x + P for the whole sum and lost a factor of 2. A
    thorough run caught it: SymPy's own derivative disagreed with SymEngine's compiled one.
    """

    def __init__(self, names: dict[Any, str]) -> None:
        self.names = names
        self.lines: list[str] = []

    def value(self, e: Any) -> str:
        """A Python expression for `e`: a number, an input's name, or the name of the line that computes it."""
        name = self.names.get(e)
        if name is not None:
            return name
        if type(e).__name__ in _LEAVES:
            return self._leaf(e)
        stack: list[tuple[Any, bool]] = [(e, False)]
        while stack:  # post-order, without recursion: a derivative can be deeper than Python's stack
            node, ready = stack.pop()
            if node in self.names:
                continue
            if not ready:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in self.names and type(a).__name__ not in _LEAVES)
                continue
            text = self._compound(node)
            self.names[node] = f"s{len(self.lines)}"
            self.lines.append(f"    {self.names[node]} = {text}")
        return self.names[e]

    def _leaf(self, e: Any) -> str:
        kind = type(e).__name__
        if e.is_Integer:
            return f"_A({int(e)})"
        if e.is_Rational:
            p, q = e.get_num_den()
            return f"_q({int(p)}, {int(q)})"
        if kind == "RealDouble":
            return f"_A({float(e)!r})"
        if kind == "Exp1":
            return "_A(1).exp()"
        return "True" if kind == "BooleanTrue" else "False"

    def _compound(self, e: Any) -> str:
        """One node, its arguments already named."""
        kind = type(e).__name__
        args = e.args
        v = self.value
        if kind == "Add":
            return " + ".join(v(a) for a in args)
        if kind == "Mul":
            return " * ".join(v(a) for a in args)
        if kind == "Pow":
            base, exponent = args
            if type(base).__name__ == "Exp1":
                return f"{v(exponent)}.exp()"
            if exponent.is_Integer:
                return f"_ipow({v(base)}, {int(exponent)})"
            if exponent.is_Rational and tuple(int(k) for k in exponent.get_num_den()) == (1, 2):
                return f"{v(base)}.sqrt()"
            return f"_pow({v(base)}, {v(exponent)})"
        if kind in ("log", "tanh"):
            return f"{v(args[0])}.{kind}()"
        if kind == "Piecewise":
            # ((value, condition), ..., (value, True)), flattened by SymEngine into one tuple.
            pairs = list(zip(args[::2], args[1::2], strict=True))
            if type(pairs[-1][1]).__name__ != "BooleanTrue":
                raise Untranslatable(f"a Piecewise without an otherwise case: {str(e)[:80]}")
            text = v(pairs[-1][0])
            for value, condition in reversed(pairs[:-1]):
                text = f"({v(value)} if {v(condition)} else {text})"
            return text
        if kind == "StrictLessThan":
            return f"_lt({v(args[0])}, {v(args[1])})"
        if kind == "LessThan":
            return f"_le({v(args[0])}, {v(args[1])})"
        if kind == "Equality" and type(args[1]).__name__ == "BooleanTrue":
            return v(args[0])
        raise Untranslatable(f"no arb spelling for {kind}: {str(e)[:80]}")


def compile_arb(inputs: Sequence[Any], outputs: Sequence[Any]) -> Callable[..., tuple[Any, ...]]:
    """A function of arbs (one per SymEngine symbol in `inputs`) returning an arb per expression in `outputs`,
    each distinct subexpression computed once."""
    emitter = _Emitter({s: f"i{k}" for k, s in enumerate(inputs)})
    result = ", ".join(emitter.value(e) for e in outputs)
    body = "\n".join(emitter.lines)
    source = f"def f({', '.join(f'i{k}' for k in range(len(inputs)))}):\n{body}\n    return ({result},)\n"
    namespace = dict(_NAMESPACE)
    exec(compile(source, "<arb program>", "exec"), namespace)
    function: Callable[..., tuple[Any, ...]] = namespace["f"]
    return function


def _known(ball: Any, bits: int) -> bool:
    """`ball` pins its value to `bits` bits, or is exactly 0."""
    if not ball.is_finite():
        return False
    if ball.is_exact():
        return True
    return bool(ball.rel_accuracy_bits() >= bits)


def settle(
    function: Callable[..., Sequence[Any]], args: Sequence[float], bits: int, start: int = 128
) -> tuple[list[Any], int]:
    """`function`'s results on exact balls of `args`, at rising precision until each is known to `bits` bits
    (or is exactly 0). Returns the balls and the precision used. A result that stays a ball around 0 up to
    MAX_PREC is returned as it is: its radius (below 2**-MAX_PREC times the inputs' scale) is then its error.
    Raises Undecided (a relu whose input's sign no precision decides) or ArithmeticError (a result that is not
    finite at any precision: a log of a non-positive number)."""
    prec = start
    saved = flint.ctx.prec
    try:
        while True:
            flint.ctx.prec = prec
            try:
                balls = list(function(*(flint.arb(a) for a in args)))
            except Undecided:
                if prec >= MAX_PREC:
                    raise
                prec = min(2 * prec, MAX_PREC)
                continue
            if all(_known(b, bits) for b in balls):
                return balls, prec
            if prec >= MAX_PREC:
                if all(b.is_finite() for b in balls):
                    return balls, prec
                raise ArithmeticError("a result is not finite at any precision (outside a domain?)")
            prec = min(2 * prec, MAX_PREC)
    finally:
        flint.ctx.prec = saved


def arb_to_mpf(ball: Any) -> Any:
    """The ball's midpoint as an exact mpmath number (at a precision that holds all its bits)."""
    man, exp = ball.mid().man_exp()
    man, exp = int(man), int(exp)
    if man == 0:
        return mpmath.mpf(0)
    sign = 1 if man < 0 else 0
    man = abs(man)
    with mpmath.workprec(max(53, man.bit_length() + 2)):  # an mpf is rounded to the working precision once
        return mpmath.mpf((sign, man, exp, man.bit_length()))


def arb_radius(ball: Any) -> float:
    """The ball's radius as a float, rounded up."""
    r = ball.rad()
    if r == 0:
        return 0.0
    v = float(r)
    return math.nextafter(v, math.inf) if math.isfinite(v) else math.inf
