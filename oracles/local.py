"""Each op's first and second derivatives, derived by SymPy from the op's SymPy spelling.

These are the referees' own local derivatives, independent of the `derivative` functions in the op table
that the engine uses. The error model reads them for magnitudes (how much an input error moves a local
derivative) and blame reads them as the exact local derivative of a node.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import sympy as sp

from autodiff.ops import OPS

__all__ = ["LocalRule", "local_rule"]

_DPS = 40


@dataclass(frozen=True)
class LocalRule:
    """f, its gradient and its Hessian for one op (params bound), as float functions with an mpmath fallback."""

    name: str
    arity: int
    _value: Callable[..., Any]
    _first: Callable[..., Any]
    _second: Callable[..., Any]
    _value_mp: Callable[..., Any]
    _first_mp: Callable[..., Any]
    _second_mp: Callable[..., Any]
    # Entries whose float formula cannot round (see _exact_in_floats): a 0 there needs no mpmath confirmation.
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
        return [_to_float(v) for v in _settled(self._first_mp, args)]

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
        flat = _settled(lambda *a: [v for row in self._second_mp(*a) for v in row], args)
        n = self.arity
        return [[_to_float(flat[i * n + j]) for j in range(n)] for i in range(n)]

    def output_sensitivity(self, args: Sequence[float]) -> float:
        """For a unary op, f'' / f': how much the derivative moves per unit change of the output (-2 tanh(x)
        for tanh). 0 where f' is exactly 0 (relu's flat side). Computed in mpmath when floats underflow."""
        d = self.first(args)[0]
        h = self.second(args)[0][0]
        if _trusted(d) and (_trusted(h) or h == 0.0):
            return h / d
        (d_mp,) = _settled(self._first_mp, args)
        (h_mp,) = _settled(lambda *a: [self._second_mp(*a)[0][0]], args)
        return _to_float(h_mp / d_mp) if d_mp != 0 else 0.0

    def first_exact(self, args: Sequence[float]) -> list[Any]:
        """The local derivatives, correct to about 12 digits whatever cancellation their formula suffers."""
        return _settled(self._first_mp, args)

    def second_exact(self, args: Sequence[float]) -> list[list[Any]]:
        """The second derivatives in mpmath, correct to about 12 digits, whatever their size (no overflow)."""
        flat = _settled(lambda *a: [v for row in self._second_mp(*a) for v in row], args)
        return [flat[i * self.arity : (i + 1) * self.arity] for i in range(self.arity)]

    def value_mp(self, args: Sequence[Any]) -> Any:
        """f at the working precision of mpmath (the caller sets it)."""
        return mpmath.mpf(self._value_mp(*args))

    def first_mp(self, args: Sequence[Any]) -> list[Any]:
        """The local derivatives at the working precision of mpmath."""
        return [mpmath.mpf(v) for v in self._first_mp(*args)]


def _settled(f: Callable[..., Any], args: Sequence[float]) -> list[Any]:
    """f's results in mpmath at rising precision until two precisions agree to 12 digits.

    A formula like 1 - tanh(x)**2 cancels in any fixed precision once tanh(x) rounds to 1 there (at 40
    digits, from x = 47 on); doubling until the answer stops moving gets the small exact value.
    """
    previous: list[Any] | None = None
    for dps in (_DPS, 2 * _DPS, 4 * _DPS, 8 * _DPS, 16 * _DPS, 32 * _DPS):
        with mpmath.workdps(dps):
            current = [mpmath.mpf(v) for v in f(*(mpmath.mpf(a) for a in args))]
            if previous is not None and all(
                abs(c - p) <= mpmath.mpf(10) ** -12 * abs(c) and (c != 0 or dps >= 800)
                for c, p in zip(current, previous, strict=True)
            ):
                return current
            previous = current
    assert previous is not None
    return previous


def _exact_in_floats(e: Any, args: Sequence[Any]) -> bool:
    """A derivative formula that floats evaluate exactly: piecewise constant (add's 1, relu's step, mul's second
    derivatives) or plus or minus one argument (mul's derivative is the other factor)."""
    return all(sp.diff(e, a) == 0 for a in args) or e in args or -e in args


def _trusted(v: float) -> bool:
    # A float formula like 1 - tanh(x)**2 returns 0, or a number with few correct digits, once it saturates;
    # small results are recomputed with mpmath. (Large ones carry no such cancellation.)
    return math.isfinite(v) and abs(v) >= 1e-6


def _to_float(v: Any) -> float:
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


@functools.lru_cache(maxsize=1024)
def local_rule(op_name: str, params: tuple[float, ...] = ()) -> LocalRule:
    """The rule for `op_name` with `params` bound (cached: SymPy runs once per op and params)."""
    op = OPS[op_name]
    args = sp.symbols(f"a0:{op.arity}", real=True)
    f = sp.sympify(op.sympy(sp, *args, *params))
    first = [sp.diff(f, a) for a in args]
    second = [[sp.diff(d, a) for a in args] for d in first]
    return LocalRule(
        name=op_name,
        arity=op.arity,
        _value=sp.lambdify(args, f, modules="math"),
        _first=sp.lambdify(args, first, modules="math"),
        _second=sp.lambdify(args, second, modules="math"),
        _value_mp=sp.lambdify(args, f, modules="mpmath"),
        _first_mp=sp.lambdify(args, first, modules="mpmath"),
        _second_mp=sp.lambdify(args, second, modules="mpmath"),
        _first_fixed=tuple(_exact_in_floats(d, args) for d in first),
        _second_fixed=tuple(tuple(_exact_in_floats(h, args) for h in row) for row in second),
        constant_curvature=all(sp.diff(h, a) == 0 for row in second for h in row for a in args),
    )
