"""The op table: every operation the engine knows, declared once.

Each `Op` carries its forward function, its local derivatives, how SymPy and PyTorch spell it, where it is
defined and smooth, and where it has kinks. `Value` builds its methods from this table, and the oracles and
strategies read it; nothing else says what an op is. To add an op, add one entry to `OPS` (see README.md).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "NONZERO",
    "OPS",
    "POSITIVE",
    "REAL",
    "Domain",
    "DomainError",
    "Interval",
    "Kink",
    "Op",
    "Param",
]


class DomainError(ValueError):
    """An op was applied outside its domain (log of 0, 0 to a negative power, ...)."""


# ---------------------------------------------------------------------------------------------------------
# Domains: where an op is defined and smooth, as a union of intervals
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """An interval of the real line; `closed_lo`/`closed_hi` say whether each end belongs to it."""

    lo: float
    hi: float
    closed_lo: bool = False
    closed_hi: bool = False

    def __contains__(self, x: float) -> bool:
        above = x >= self.lo if self.closed_lo else x > self.lo
        below = x <= self.hi if self.closed_hi else x < self.hi
        return above and below

    def __str__(self) -> str:
        lo = "[" if self.closed_lo else "("
        hi = "]" if self.closed_hi else ")"
        return f"{lo}{self.lo:g}, {self.hi:g}{hi}"


@dataclass(frozen=True)
class Domain:
    """A union of intervals, with a phrase for error messages ("x > 0")."""

    intervals: tuple[Interval, ...]
    phrase: str

    def __contains__(self, x: float) -> bool:
        return any(x in interval for interval in self.intervals)

    @property
    def is_real_line(self) -> bool:
        return self.intervals == REAL.intervals

    def __str__(self) -> str:
        return self.phrase


_INF = math.inf
REAL = Domain((Interval(-_INF, _INF),), "any real number")
POSITIVE = Domain((Interval(0.0, _INF),), "> 0")
NONZERO = Domain((Interval(-_INF, 0.0), Interval(0.0, _INF)), "!= 0")


@dataclass(frozen=True)
class Kink:
    """A point where an op is continuous but not differentiable in argument `arg`.

    `subgradient` is the local derivative the engine uses exactly at the kink (PyTorch's convention).
    """

    arg: int
    at: float
    subgradient: float


@dataclass(frozen=True)
class Param:
    """A constant parameter of an op family (the exponent of `x ** p`), and values worth testing."""

    name: str
    examples: tuple[float, ...]


# ---------------------------------------------------------------------------------------------------------
# The op record
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Op:
    """One operation on floats, with everything every backend needs to know about it.

    forward(*inputs, *params) -> float
    derivative(*inputs, out, *params) -> the local derivatives d out / d input_i: a float for a unary op,
        a pair for a binary op. It receives the output too, so that tanh' can be `1 - out**2` (JAX's defjvp2).
    sympy(sp, *inputs, *params), torch(torch, *inputs, *params): the same op in SymPy and PyTorch; they
        receive the module so that this file imports neither.
    symengine(se, *inputs, *params): the op in SymEngine, only where the SymPy spelling does not work when
        given the symengine module instead (relu, a SymPy Function class); None means "as in SymPy". The
        property tests check that the two spellings differentiate alike.
    domain: one `Domain` per input, or for an op with params a function of the params returning them.
    kinks: points of non-differentiability inside the domain, with the subgradient used there.
    ulps: how many units in the last place the float forward may be off (checked by the property tests).
    symbol/precedence: infix spelling for binary operators ("+", 1); None for functions (`tanh(x)`).
    method: the `Value` method that applies the op ("__add__", "tanh"); binary dunders also get their
        reflected form (`2 - x` is `sub(2, x)`).
    """

    name: str
    arity: int
    forward: Callable[..., float]
    derivative: Callable[..., Any]
    sympy: Callable[..., Any]
    torch: Callable[..., Any]
    method: str
    symengine: Callable[..., Any] | None = None
    domain: tuple[Domain, ...] | Callable[..., tuple[Domain, ...]] = (REAL,)
    kinks: tuple[Kink, ...] = ()
    params: tuple[Param, ...] = ()
    ulps: float = 0.5
    symbol: str | None = None
    precedence: int = 100
    doc: str = ""
    # Set by `bind`: the parameter values this op was made from (its family has them as `params`).
    values: tuple[float, ...] = ()

    def symengine_spelling(self) -> Callable[..., Any]:
        """How SymEngine spells this op: its own spelling if it has one, else the SymPy one."""
        return self.symengine or self.sympy

    def domains(self, *values: float) -> tuple[Domain, ...]:
        """The domain of each input, given the parameter values (none for most ops)."""
        if callable(self.domain):
            return self.domain(*values)
        return self.domain

    def bind(self, *values: float) -> Op:
        """This op family with its parameters fixed: `OPS["pow"].bind(3.0)` is the op x -> x**3.

        The result is an ordinary op without params: its forward and derivative take the inputs only.
        """
        if len(values) != len(self.params):
            raise TypeError(f"{self.name} takes {len(self.params)} parameter(s), got {len(values)}")
        fwd, der = self.forward, self.derivative

        def forward(*inputs: float) -> float:
            return fwd(*inputs, *values)

        def derivative(*inputs_and_out: float) -> Any:
            return der(*inputs_and_out, *values)

        return replace(
            self, forward=forward, derivative=derivative, domain=self.domains(*values), params=(), values=values
        )

    def __str__(self) -> str:
        if self.values:
            return f"{self.symbol or self.name}{', '.join(f'{v:g}' for v in self.values)}"
        return self.symbol or self.name

    def __repr__(self) -> str:
        return f"<Op {self.name}{self.values or ''}>"


# ---------------------------------------------------------------------------------------------------------
# Numerically careful forward functions
# ---------------------------------------------------------------------------------------------------------


def _sigmoid(x: float) -> float:
    # Branch on the sign so that exp never overflows: sigmoid(-1000) == 0.0, sigmoid(1000) == 1.0.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def _pow_domain(p: float) -> tuple[Domain, ...]:
    if p == int(p):
        return (REAL,) if p >= 0 else (NONZERO,)
    # A fractional power is real only for x >= 0; at 0 its derivative is infinite (p < 1) or one-sided.
    return (POSITIVE,)


def _pow_derivative(x: float, out: float, p: float) -> float:
    # p * x**(p-1), except that x**0 is constant: no 0 * 0**-1 at x = 0.
    return p * x ** (p - 1.0) if p != 0.0 else 0.0


def _powv_derivative(x: float, y: float, out: float) -> tuple[float, float]:
    return y * x ** (y - 1.0), out * math.log(x)


# ---------------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------------

_ENTRIES = [
    # ---- arithmetic -----------------------------------------------------------------------------------
    Op(
        name="add",
        arity=2,
        forward=operator.add,
        derivative=lambda x, y, out: (1.0, 1.0),
        sympy=lambda sp, x, y: x + y,
        torch=lambda torch, x, y: x + y,
        method="__add__",
        domain=(REAL, REAL),
        symbol="+",
        precedence=1,
        doc="x + y",
    ),
    Op(
        name="sub",
        arity=2,
        forward=operator.sub,
        derivative=lambda x, y, out: (1.0, -1.0),
        sympy=lambda sp, x, y: x - y,
        torch=lambda torch, x, y: x - y,
        method="__sub__",
        domain=(REAL, REAL),
        symbol="-",
        precedence=1,
        doc="x - y",
    ),
    Op(
        name="mul",
        arity=2,
        forward=operator.mul,
        derivative=lambda x, y, out: (y, x),
        sympy=lambda sp, x, y: x * y,
        torch=lambda torch, x, y: x * y,
        method="__mul__",
        domain=(REAL, REAL),
        symbol="*",
        precedence=2,
        doc="x * y",
    ),
    Op(
        name="div",
        arity=2,
        forward=operator.truediv,
        derivative=lambda x, y, out: (1.0 / y, -out / y),
        sympy=lambda sp, x, y: x / y,
        torch=lambda torch, x, y: x / y,
        method="__truediv__",
        domain=(REAL, NONZERO),
        symbol="/",
        precedence=2,
        doc="x / y",
    ),
    Op(
        name="neg",
        arity=1,
        forward=operator.neg,
        derivative=lambda x, out: -1.0,
        sympy=lambda sp, x: -x,
        torch=lambda torch, x: -x,
        method="__neg__",
        ulps=0.0,
        symbol="-",
        precedence=3,
        doc="-x",
    ),
    Op(
        name="pow",
        arity=1,
        forward=lambda x, p: x**p,
        derivative=_pow_derivative,
        sympy=lambda sp, x, p: x ** _sympy_number(sp, p),
        torch=lambda torch, x, p: x**p,
        method="__pow__",
        domain=_pow_domain,
        params=(Param("p", (2.0, 3.0, -1.0, -2.0, 0.5, 1.5, 0.0, 1.0)),),
        ulps=1.0,
        symbol="**",
        precedence=4,
        doc="x ** p for a constant number p",
    ),
    Op(
        name="powv",
        arity=2,
        forward=lambda x, y: x**y,
        derivative=_powv_derivative,
        sympy=lambda sp, x, y: x**y,
        torch=lambda torch, x, y: x**y,
        method="__pow__",
        domain=(POSITIVE, REAL),
        ulps=1.0,
        symbol="**",
        precedence=4,
        doc="x ** y for a Value exponent y (base x > 0)",
    ),
    # ---- functions --------------------------------------------------------------------------------------
    Op(
        name="relu",
        arity=1,
        forward=_relu,
        derivative=lambda x, out: 1.0 if x > 0.0 else 0.0,
        sympy=lambda sp, x: _sympy_relu(sp)(x),
        torch=lambda torch, x: torch.relu(x),
        method="relu",
        # x if 0 < x, else 0: the derivative SymEngine takes is 1 if 0 < x, else 0, so relu'(0) = 0 here too.
        symengine=lambda se, x: se.Piecewise((x, x > 0), (0, True)),
        kinks=(Kink(arg=0, at=0.0, subgradient=0.0),),
        ulps=0.0,
        doc="max(x, 0); relu'(0) = 0",
    ),
    Op(
        name="tanh",
        arity=1,
        forward=math.tanh,
        derivative=lambda x, out: 1.0 - out * out,
        sympy=lambda sp, x: sp.tanh(x),
        torch=lambda torch, x: torch.tanh(x),
        method="tanh",
        ulps=2.0,
        doc="hyperbolic tangent",
    ),
    Op(
        name="sigmoid",
        arity=1,
        forward=_sigmoid,
        derivative=lambda x, out: out * (1.0 - out),
        sympy=lambda sp, x: 1 / (1 + sp.exp(-x)),
        torch=lambda torch, x: torch.sigmoid(x),
        method="sigmoid",
        ulps=3.0,
        doc="1 / (1 + exp(-x)), computed without overflow",
    ),
    Op(
        name="exp",
        arity=1,
        forward=math.exp,
        derivative=lambda x, out: out,
        sympy=lambda sp, x: sp.exp(x),
        torch=lambda torch, x: torch.exp(x),
        method="exp",
        ulps=1.0,
        doc="e ** x",
    ),
    Op(
        name="log",
        arity=1,
        forward=math.log,
        derivative=lambda x, out: 1.0 / x,
        sympy=lambda sp, x: sp.log(x),
        torch=lambda torch, x: torch.log(x),
        method="log",
        domain=(POSITIVE,),
        ulps=1.0,
        doc="natural logarithm",
    ),
]


_SYMPY_RELU: dict[int, Any] = {}


def _sympy_relu(sp: Any) -> Any:
    """relu as a SymPy function, with relu'(0) = 0 as the engine and PyTorch have it.

    SymPy's Max(0, x) differentiates to Heaviside(x) with Heaviside(0) = 1/2, and a Piecewise makes SymPy
    reason about inequalities (slowly). This pair of functions does neither: relu' = Relu_step, whose own
    derivative is 0; `_imp_` tells lambdify how to evaluate them.
    """
    if id(sp) not in _SYMPY_RELU:

        class Relu_step(sp.Function):  # type: ignore[misc]
            nargs = 1
            _imp_ = staticmethod(lambda x: 1 if x > 0 else 0)

            @classmethod
            def eval(cls, x: Any) -> Any:
                if x.is_Number:
                    return sp.S.One if x > 0 else sp.S.Zero
                return None

            def fdiff(self, argindex: int = 1) -> Any:
                return sp.S.Zero

        class Relu(sp.Function):  # type: ignore[misc]
            nargs = 1
            _imp_ = staticmethod(lambda x: x if x > 0 else 0 * x)

            @classmethod
            def eval(cls, x: Any) -> Any:
                if x.is_Number:
                    return x if x > 0 else sp.S.Zero
                return None

            def fdiff(self, argindex: int = 1) -> Any:
                return Relu_step(self.args[0])

        _SYMPY_RELU[id(sp)] = Relu
    return _SYMPY_RELU[id(sp)]


def _sympy_number(sp: Any, p: float) -> Any:
    # Integral exponents stay integers so that SymPy keeps x**2 polynomial (and defined for x < 0); others are
    # the float's exact value as a fraction (0.1 is 3602879701896397/36028797018963968), never a rounded Float.
    return sp.Integer(int(p)) if p == int(p) else sp.Rational(*p.as_integer_ratio())


OPS: dict[str, Op] = {op.name: op for op in _ENTRIES}
"""Every op, by name, in declaration order."""
