"""Ball arithmetic (python-flint's `arb`): SymEngine expressions compiled to straight-line arb code, and the
loop that raises the precision until every result is known to the digits asked for.

An `arb` is a midpoint and a rigorous radius: the exact value lies in the ball, whatever rounding or
cancellation happened on the way. So a result whose radius is a millionth of its midpoint is right to six
digits, with no second evaluation to compare against. Where cancellation eats the digits (1 - tanh(x)**2 once
tanh(x) is 1 to the working precision) the ball just gets wide, and `settle` doubles the precision until it is
narrow again, or until a ball around 0 is narrower than anything a float could show.

`compile_arb` turns SymEngine expressions (after SymEngine's common-subexpression elimination, so a DAG stays a
DAG) into one Python function over arbs. Only the forms the op table produces are translated: + * ** (integer,
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


class _Emitter:
    """Writes one Python expression per SymEngine node, naming inputs and CSE symbols."""

    def __init__(self, names: dict[Any, str]) -> None:
        self.names = names

    def emit(self, e: Any) -> str:
        name = self.names.get(e)
        if name is not None:
            return name
        kind = type(e).__name__
        args = e.args
        if e.is_Integer:  # Integer, Zero, One, NegativeOne
            return f"_A({int(e)})"
        if e.is_Rational:  # Rational, Half
            p, q = e.get_num_den()
            return f"_q({int(p)}, {int(q)})"
        if kind == "RealDouble":
            return f"_A({float(e)!r})"
        if kind == "Exp1":
            return "_A(1).exp()"
        if kind == "Add":
            return "(" + " + ".join(self.emit(a) for a in args) + ")"
        if kind == "Mul":
            return "(" + " * ".join(self.emit(a) for a in args) + ")"
        if kind == "Pow":
            base, exponent = args
            if type(base).__name__ == "Exp1":
                return f"{self.emit(exponent)}.exp()"
            if exponent.is_Integer:
                return f"_ipow({self.emit(base)}, {int(exponent)})"
            if exponent.is_Rational and tuple(int(v) for v in exponent.get_num_den()) == (1, 2):
                return f"{self.emit(base)}.sqrt()"
            return f"_pow({self.emit(base)}, {self.emit(exponent)})"
        if kind in ("log", "tanh"):
            (a,) = args
            return f"{self.emit(a)}.{kind}()"
        if kind == "Piecewise":
            # ((value, condition), ..., (value, True)), flattened by SymEngine into one tuple.
            pairs = list(zip(args[::2], args[1::2], strict=True))
            if not self._is_true(pairs[-1][1]):
                raise Untranslatable(f"a Piecewise without an otherwise case: {str(e)[:80]}")
            text = self.emit(pairs[-1][0])
            for value, condition in reversed(pairs[:-1]):
                text = f"({self.emit(value)} if {self.condition(condition)} else {text})"
            return text
        raise Untranslatable(f"no arb spelling for {kind}: {str(e)[:80]}")

    @staticmethod
    def _is_true(c: Any) -> bool:
        return type(c).__name__ == "BooleanTrue"

    def condition(self, c: Any) -> str:
        name = self.names.get(c)
        if name is not None:
            return name
        kind = type(c).__name__
        if kind == "StrictLessThan":
            return f"_lt({self.emit(c.args[0])}, {self.emit(c.args[1])})"
        if kind == "LessThan":
            return f"_le({self.emit(c.args[0])}, {self.emit(c.args[1])})"
        if kind == "BooleanTrue":
            return "True"
        if kind == "BooleanFalse":
            return "False"
        if kind == "Equality" and self._is_true(c.args[1]):  # CSE writes a shared condition as `x0 == True`
            return self.condition(c.args[0])
        raise Untranslatable(f"no arb spelling for the condition {kind}: {str(c)[:80]}")


def compile_arb(inputs: Sequence[Any], outputs: Sequence[Any]) -> Callable[..., tuple[Any, ...]]:
    """A function of arbs (one per SymEngine symbol in `inputs`) returning an arb per expression in `outputs`,
    each common subexpression computed once."""
    import symengine as se

    replacements, reduced = se.cse(list(outputs))
    names: dict[Any, str] = {s: f"i{k}" for k, s in enumerate(inputs)}
    emitter = _Emitter(names)
    lines = []
    for k, (symbol, value) in enumerate(replacements):
        kind = type(value).__name__
        text = emitter.condition(value) if kind in ("StrictLessThan", "LessThan", "Equality") else emitter.emit(value)
        lines.append(f"    s{k} = {text}")
        names[symbol] = f"s{k}"
    body = "\n".join(lines)
    result = ", ".join(emitter.emit(e) for e in reduced)
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
