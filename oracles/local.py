"""Each op's first and second derivatives, derived by SymPy from the op's SymPy spelling (float formulas) and by
SymEngine from its SymEngine spelling (ball arithmetic, for high precision).

These are the referees' own local derivatives, independent of the `derivative` functions in the op table
that the engine uses. The error model reads them for magnitudes (how much an input error moves a local
derivative) and blame reads them as the exact local derivative of a node; the exact chain rule of
`oracles.symbolic` combines their balls. Where a float formula cannot be trusted (a small result that
cancellation may have made up), the value is confirmed in python-flint's `arb` balls at rising precision
(`oracles.balls.settle`), about five times faster than the mpmath evaluation it replaced.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import flint
import mpmath
import sympy as sp

from autodiff.ops import OPS
from oracles.balls import arb_to_mpf, compile_arb, settle

__all__ = ["LocalRule", "local_rule"]

_BITS = 40  # 12 digits: what the error model's magnitudes need


@dataclass(frozen=True)
class LocalRule:
    """f, its gradient and its Hessian for one op (params bound), as float functions with an arb fallback."""

    name: str
    arity: int
    _value: Callable[..., Any]
    _first: Callable[..., Any]
    _second: Callable[..., Any]
    _value_mp: Callable[..., Any]
    # In arb balls, from the SymEngine spelling: (f, d f / d a_i...) and the Hessian, row by row.
    _value_first_arb: Callable[..., Any]
    _second_arb: Callable[..., Any]
    # Entries whose float formula cannot round (see _exact_in_floats): a 0 there needs no arb confirmation.
    _first_fixed: tuple[bool, ...] = ()
    _second_fixed: tuple[tuple[bool, ...], ...] = ()
    # Every second derivative is constant (add, mul, relu, x ** 2): the Hessian at one point is the Hessian anywhere.
    constant_curvature: bool = False

    def first(self, args: Sequence[float]) -> list[float]:
        """d f / d arg_i for each argument, to nearly full float precision."""
        try:
            out = [float(v) for v in self._first(*args)]
            if all(fixed or _trusted(v) for v, fixed in zip(out, self._first_fixed, strict=True)):
                return out
        except (OverflowError, ZeroDivisionError, ValueError):
            pass
        return [_to_float(v) for v in self._confirmed_first(args)]

    def second(self, args: Sequence[float]) -> list[list[float]]:
        """d2 f / d arg_i d arg_j, to nearly full float precision."""
        try:
            out = [[float(v) for v in row] for row in self._second(*args)]
            if all(
                fixed or _trusted(v)
                for row, fixed_row in zip(out, self._second_fixed, strict=True)
                for v, fixed in zip(row, fixed_row, strict=True)
            ):
                return out
        except (OverflowError, ZeroDivisionError, ValueError):
            pass
        flat = _settled(self._second_arb, args)
        n = self.arity
        return [[_to_float(flat[i * n + j]) for j in range(n)] for i in range(n)]

    def second_over_box(self, args: Sequence[float], errors: Sequence[float]) -> list[list[Any]] | None:
        """The Hessian as arb balls enclosing its values over the whole box args[i] +- errors[i] (at 128 bits),
        or None where a ball is not finite (the box touches a pole or leaves the domain)."""
        saved = flint.ctx.prec
        flint.ctx.prec = 128
        try:
            flat = self._second_arb(*(flint.arb(a, e) for a, e in zip(args, errors, strict=True)))
        except (ZeroDivisionError, ValueError, ArithmeticError):
            return None
        finally:
            flint.ctx.prec = saved
        if not all(b.is_finite() for b in flat):
            return None
        n = self.arity
        return [[flat[i * n + j] for j in range(n)] for i in range(n)]

    def output_sensitivity(self, args: Sequence[float], d: float | None = None, h: float | None = None) -> float:
        """For a unary op, f'' / f': how much the derivative moves per unit change of the output (-2 tanh(x)
        for tanh). 0 where f' is exactly 0 (relu's flat side). Computed in arb balls when floats underflow."""
        if d is None or h is None:  # the caller may have them already
            d = self.first(args)[0]
            h = self.second(args)[0][0]
        if _trusted(d) and (_trusted(h) or h == 0.0):
            return h / d
        (d_mp,) = self._confirmed_first(args)
        h_mp = _settled(self._second_arb, args)[0]
        return _to_float(h_mp / d_mp) if d_mp != 0 else 0.0

    def first_exact(self, args: Sequence[float]) -> list[Any]:
        """The local derivatives, correct to about 12 digits whatever cancellation their formula suffers."""
        return self._confirmed_first(args)

    def _confirmed_first(self, args: Sequence[float]) -> list[Any]:
        return _settled(self._value_first_arb, args)[1:]

    def value_first_arb(self, args: Sequence[Any]) -> tuple[Any, ...]:
        """(f, d f / d a_i...) as arb balls at flint's working precision (the caller sets it)."""
        return self._value_first_arb(*args)  # type: ignore[no-any-return]

    def second_exact(self, args: Sequence[float]) -> list[list[Any]]:
        """The second derivatives in mpmath, correct to about 12 digits, whatever their size (no overflow)."""
        flat = _settled(self._second_arb, args)
        return [flat[i * self.arity : (i + 1) * self.arity] for i in range(self.arity)]

    def value_mp(self, args: Sequence[Any]) -> Any:
        """f at the working precision of mpmath (the caller sets it)."""
        return mpmath.mpf(self._value_mp(*args))


def _settled(f: Callable[..., Any], args: Sequence[float]) -> list[Any]:
    """f's results (an arb program) at rising precision until each ball pins 12 digits, as mpmath numbers.

    A formula like 1 - tanh(x)**2 cancels in any fixed precision once tanh(x) rounds to 1 there; the ball then
    straddles its small exact value, and doubling the precision until it no longer does gets that value (a
    ball, unlike two precisions that happen to agree, cannot be fooled).
    """
    balls, _ = settle(f, args, bits=_BITS)
    return [arb_to_mpf(b) for b in balls]


def _exact_in_floats(e: Any, args: Sequence[Any]) -> bool:
    """A derivative formula that floats evaluate exactly: piecewise constant (add's 1, relu's step, mul's second
    derivatives) or plus or minus one argument (mul's derivative is the other factor)."""
    return all(sp.diff(e, a) == 0 for a in args) or e in args or -e in args


def _trusted(v: float) -> bool:
    # A float formula like 1 - tanh(x)**2 returns 0, or a number with few correct digits, once it saturates;
    # small results are recomputed in arb balls. (Large ones carry no such cancellation.)
    return math.isfinite(v) and abs(v) >= 1e-6


def _to_float(v: Any) -> float:
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


@functools.lru_cache(maxsize=1024)
def local_rule(op_name: str, params: tuple[float, ...] = ()) -> LocalRule:
    """The rule for `op_name` with `params` bound (cached: SymPy runs once per op and params)."""
    import symengine as se

    op = OPS[op_name]
    args = sp.symbols(f"a0:{op.arity}", real=True)
    f = sp.sympify(op.sympy(sp, *args, *params))
    first = [sp.diff(f, a) for a in args]
    second = [[sp.diff(d, a) for a in args] for d in first]
    se_args = se.symbols(f"a0:{op.arity}") if op.arity > 1 else (se.Symbol("a0"),)
    se_f = op.symengine_spelling()(se, *se_args, *params)
    se_first = [se_f.diff(a) for a in se_args]
    se_second = [d.diff(a) for d in se_first for a in se_args]
    return LocalRule(
        name=op_name,
        arity=op.arity,
        _value=sp.lambdify(args, f, modules="math"),
        _first=sp.lambdify(args, first, modules="math"),
        _second=sp.lambdify(args, second, modules="math"),
        _value_mp=sp.lambdify(args, f, modules="mpmath"),
        _value_first_arb=compile_arb(se_args, [se_f, *se_first]),
        _second_arb=compile_arb(se_args, se_second),
        _first_fixed=tuple(_exact_in_floats(d, args) for d in first),
        _second_fixed=tuple(tuple(_exact_in_floats(h, args) for h in row) for row in second),
        constant_curvature=all(sp.diff(h, a) == 0 for row in second for h in row for a in args),
    )
