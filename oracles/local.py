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

    def first(self, args: Sequence[float]) -> list[float]:
        """d f / d arg_i for each argument, to nearly full float precision."""
        try:
            out = [float(v) for v in self._first(*args)]
            if all(_trusted(v) for v in out):
                return out
        except (OverflowError, ZeroDivisionError, ValueError):
            pass
        with mpmath.workdps(_DPS):
            return [_to_float(v) for v in self._first_mp(*map(mpmath.mpf, args))]

    def second(self, args: Sequence[float]) -> list[list[float]]:
        """d2 f / d arg_i d arg_j, to nearly full float precision."""
        try:
            out = [[float(v) for v in row] for row in self._second(*args)]
            if all(_trusted(v) for row in out for v in row):
                return out
        except (OverflowError, ZeroDivisionError, ValueError):
            pass
        with mpmath.workdps(_DPS):
            return [[_to_float(v) for v in row] for row in self._second_mp(*map(mpmath.mpf, args))]

    def first_exact(self, args: Sequence[float]) -> list[Any]:
        """The local derivatives at `_DPS` digits (mpmath numbers)."""
        with mpmath.workdps(_DPS):
            return self.first_mp([mpmath.mpf(a) for a in args])

    def value_mp(self, args: Sequence[Any]) -> Any:
        """f at the working precision of mpmath (the caller sets it)."""
        return mpmath.mpf(self._value_mp(*args))

    def first_mp(self, args: Sequence[Any]) -> list[Any]:
        """The local derivatives at the working precision of mpmath."""
        return [mpmath.mpf(v) for v in self._first_mp(*args)]


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
    )
