"""Hypothesis strategies for expressions over the op table, and points where they are defined.

Two generators, for two jobs:

`checked_dags()` draws an expression together with a point, and builds the expression bottom-up at that
point: a node count n, the variables' values, then n ops from the table, each applied to the node made just
before it and, for a binary op, to an earlier node or a constant. Every node's value is known while it is
built, so every op's input is inside the op's domain *by construction*: an input outside it is first passed
through an adapter made of ops (`c*c + k` for log, a divisor, a power's base), an input near a kink is moved
off it, and a value that would grow past 1e6 is scaled and squashed with tanh first. Reusing earlier nodes
gives shared subexpressions (DAGs) for free; graphs of 20-50 nodes cost a few milliseconds each. With
`points=k` the same DAG comes with up to k - 1 more points near the first, on the same side of every kink.

The examples are made informative: a node that would pass no gradient to an input (a dead relu, `t - t`,
`x ** 0`, `y * 0`, a saturated tanh) hides any wrong derivative below it, so all but one in MINORITY such
nodes are revived (the relu's input negated, the saturated input scaled to about 1, the constant node left
out), and a coordinate is 0.0 one time in MINORITY. The minority kept is deliberate: a wrong relu mask shows
on a dead relu. `property_tests/test_strategies.py` holds the share of informative gradient components (nonzero
and verified to 1e-6 of their size) at 90% or more.

`small_trees()` draws small trees with `st.recursive`, which shrink to very small counterexamples; domains
are kept by construction with the same adapters, applied whatever the point, and a subtree is sometimes
used twice.

Shrinking: a DAG shrinks toward fewer nodes, toward the first op of the table (add), toward children that
are the variables (index draws shrink to 0, the first variable), toward fewer variables, toward the
point 0.0 / 1.0 values, toward keeping a flat node as drawn, and toward extra points equal to the first;
small trees shrink toward a single variable. A counterexample found with either
is usually one or two ops deep after shrinking.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import event
from hypothesis import strategies as st

from autodiff.ops import OPS, Op
from oracles.expr import Apply, Const, Expr, Var, depth, nodes, op_of, use_counts

__all__ = [
    "VARIABLES",
    "Checked",
    "checked_dags",
    "constants",
    "coordinates",
    "op_points",
    "record",
    "small_trees",
]

VARIABLES = ("x", "y", "z", "w")
LIMIT = 1e6  # no node value may exceed this in magnitude: keeps products and exps far from overflow
KINK_MARGIN = 1e-3  # inputs of kinked ops are kept this far from the kink (much more than an FD step)
EDGE_MARGIN = 1e-3  # and inputs of restricted ops this far inside their domain
MINORITY = 16  # one flat op in this many (dead relu, t - t, x ** 0, saturated tanh) is kept as drawn
FLAT = 1e-3  # a unary op whose |derivative| * max(1, |input|) is below this passes almost no gradient on


# Strategies are built once and reused: Hypothesis validates every new strategy object, and reads the source of
# a filter's lambda each time one is made, which made drawing a DAG cost about 30 ms instead of a few.


@functools.cache
def _integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


@functools.cache
def _sampled(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


_BOOLEANS = st.booleans()
_MOVES = st.floats(-0.25, 0.25, allow_subnormal=False)


@functools.lru_cache(maxsize=1)
def coordinates() -> st.SearchStrategy[float]:
    """A variable's value: 0.0 one time in MINORITY (a variable at 0 zeroes every product it enters, so a
    wrong derivative there goes unseen), else a round number or a float in [-2, 2] at least 1e-4 in magnitude
    (a 1e-200 here only produces 1e200 gradients and overflow); shrinks toward 0.0."""
    nonzero = st.one_of(
        st.sampled_from([1.0, -1.0, 0.5, 2.0, -0.5, 1.5]),
        st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, allow_subnormal=False).filter(
            lambda x: abs(x) >= 1e-4
        ),
    )
    return st.integers(0, MINORITY - 1).flatmap(lambda k: st.just(0.0) if k == 0 else nonzero)


@functools.lru_cache(maxsize=1)
def constants() -> st.SearchStrategy[float]:
    """A constant in an expression: round numbers and floats in [-3, 3]."""
    return st.one_of(
        st.sampled_from([1.0, 2.0, 0.5, -1.0, 3.0, 0.1]),
        st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, allow_subnormal=False).filter(
            lambda c: abs(c) >= 1e-4
        ),
    )


@dataclass(frozen=True)
class Checked:
    """An expression and a point where every op's input is inside its domain, away from kinks and overflow;
    `more` holds further such points (`checked_dags(points=...)`): compiling a structure for the referees costs
    more than checking it at one more point."""

    expr: Expr
    point: dict[str, float]
    more: tuple[dict[str, float], ...] = ()

    @property
    def points(self) -> tuple[dict[str, float], ...]:
        """Every point to check the expression at, `point` first."""
        return (self.point, *self.more)

    def __repr__(self) -> str:
        more = f", more={self.more!r}" if self.more else ""
        return f"Checked(parse({str(self.expr)!r}), {self.point!r}{more})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def _ops(names: Sequence[str] | None) -> list[Op]:
    chosen = list(OPS.values()) if names is None else [OPS[n] for n in names]
    if not chosen:
        raise ValueError("no ops to draw from")
    return chosen


def _value(node: Apply, args: list[float], limit: float = LIMIT) -> float | None:
    """The node's float value, or None if an input is outside a domain or the value is too large."""
    op = op_of(node)
    for x, domain in zip(args, op.domains(), strict=True):
        if x not in domain:
            return None
    try:
        v = op.forward(*args)
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    return v if isinstance(v, float) and abs(v) <= limit else None


class _Builder:
    """Grows an expression at a known point, keeping every input legal (see the module docstring).

    Adapters use only `allowed` ops: with no mul and add there is no domain adapter, with neither tanh nor
    sigmoid no squashing, and an op that cannot be made legal is skipped.
    """

    def __init__(
        self, draw: Callable[[st.SearchStrategy[Any]], Any], point: dict[str, float], allowed: set[str], limit: float
    ) -> None:
        self.draw = draw
        self.allowed = allowed
        self.limit = limit
        self.pool: list[tuple[Expr, float]] = [(Var(n), v) for n, v in point.items()]
        self.squasher = next((s for s in ("tanh", "sigmoid") if s in allowed), None)

    def apply(
        self, name: str, args: list[tuple[Expr, float]], params: tuple[float, ...] = (), main: int = 0
    ) -> tuple[Expr, float]:
        """`name` applied to `args`, made legal; failing that, `args[main]` squashed (or as it is)."""
        op = OPS[name].bind(*params) if params else OPS[name]
        fixed = [self._legal(op, i, a) for i, a in enumerate(args)]
        if all(f is not None for f in fixed):
            legal = [f for f in fixed if f is not None]
            node = Apply(name, tuple(e for e, _ in legal), params)
            v = _value(node, [x for _, x in legal], self.limit)
            if v is None and self.squasher:  # too large: squash the inputs first
                squashed = [self._squash(a) for a in legal]
                node = Apply(name, tuple(e for e, _ in squashed), params)
                v = _value(node, [x for _, x in squashed], self.limit)
            if v is not None:
                return self._lively(node, v, [x for _, x in legal], legal, main)
        return self._squash(args[main])

    def _lively(
        self, node: Apply, v: float, xs: list[float], args: list[tuple[Expr, float]], main: int
    ) -> tuple[Expr, float]:
        """`node`, unless it passes (almost) no gradient on: a wrong derivative times 0 is still 0, so such a
        node hides every bug below it. All but one in MINORITY such nodes are revived: a dead relu gets its input
        negated, a saturated tanh/sigmoid/exp its input scaled to about 1, and a node that is constant (t - t,
        t / t, t ** 0) is left out. The minority kept tests the zero cases (a wrong relu mask shows there)."""
        op = op_of(node)
        try:
            d = op.derivative(*xs, v)
        except (OverflowError, ZeroDivisionError, ValueError):
            return node, v  # steep, not flat
        except NotImplementedError:
            return node, v  # an op declared with --op (oracles.custom) has no float derivative: kept as drawn
        ds = list(d) if isinstance(d, tuple) else [d]
        same = op.arity == 2 and node.args[0] == node.args[1]
        # Dead: no gradient passes to any input that is not a constant (relu's flat side, x ** 0, base ** 0,
        # y * 0), or the node is constant (t - t, t / t).
        live = [di for di, a in zip(ds, node.args, strict=True) if not isinstance(a, Const)]
        dead = (0.0 in live) or (same and ds[0] + ds[1] == 0.0)
        saturated = op.arity == 1 and abs(ds[0]) * max(1.0, abs(xs[0])) < FLAT
        if not (dead or saturated) or self.draw(_integers(0, MINORITY - 1)) == 0:
            return node, v
        expr, x = args[0]
        revived: Apply | None = None
        if op.arity == 1 and any(k.at == 0.0 for k in op.kinks) and x < 0.0 and "neg" in self.allowed:
            revived = Apply(node.op, (Apply("neg", (expr,)),), node.params)
            xs = [-x]
        elif saturated and not dead and op.arity == 1 and not op.kinks and abs(x) > 1.0 and "mul" in self.allowed:
            c = 2.0 ** -math.ceil(math.log2(abs(x)))  # a power of two: x * c is exact, in (0.5, 1] in size
            revived = Apply(node.op, (Apply("mul", (expr, Const(c))),), node.params)
            xs = [x * c]
        if revived is not None:
            w = _value(revived, xs, self.limit)
            if w is not None:
                return revived, w
        return args[main]

    def _legal(self, op: Op, i: int, arg: tuple[Expr, float]) -> tuple[Expr, float] | None:
        expr, x = arg
        domain = op.domains()[i]
        margin = EDGE_MARGIN * max(1.0, abs(x))
        if not domain.is_real_line and not (x - margin in domain and x + margin in domain):
            if not {"mul", "add"} <= self.allowed:
                return None
            # c*c + k lies in (0, inf) for any c: good for > 0 and != 0 alike. Near c = 0 it is flat (its
            # derivative 2c passes no gradient on), so c is shifted by 1 there first.
            k = self.draw(_sampled((0.5, 1.0, 0.25, 2.0)))
            if abs(x) < 0.25:
                expr, x = Apply("add", (expr, Const(1.0))), x + 1.0
            squared = Apply("mul", (expr, expr))
            expr, x = Apply("add", (squared, Const(k))), x * x + k
        for kink in op.kinks:
            if kink.arg == i and abs(x - kink.at) < KINK_MARGIN:
                if "add" not in self.allowed:
                    return None
                shift = self.draw(_sampled((0.5, -0.5)))
                expr, x = Apply("add", (expr, Const(shift))), x + shift
        return expr, x

    def _squash(self, arg: tuple[Expr, float]) -> tuple[Expr, float]:
        expr, x = arg
        if self.squasher is None:
            return arg
        if abs(x) > 1.0 and "mul" in self.allowed:  # scaled first, or tanh(1e5) passes no gradient on
            c = 2.0 ** -math.ceil(math.log2(abs(x)))
            expr, x = Apply("mul", (expr, Const(c))), x * c
        squashed = Apply(self.squasher, (expr,))
        return squashed, OPS[self.squasher].forward(x)


@st.composite
def checked_dags(
    draw: Callable[[st.SearchStrategy[Any]], Any],
    ops: Sequence[str] | None = None,
    min_ops: int = 1,
    max_ops: int = 40,
    max_vars: int = 4,
    limit: float = LIMIT,
    params: Mapping[str, Sequence[float]] | None = None,
    points: int = 1,
) -> Checked:
    """An expression DAG of `min_ops`..`max_ops` op applications (before adapters) and a point inside every
    op's domain, with no node's value above `limit` in magnitude. See the module docstring for how it is
    built and how it shrinks. `params` overrides, per op family, the parameter values drawn (default: the
    op table's examples). With `points` > 1, up to `points - 1` more points near the first (each coordinate
    moved by up to 0.25) where the same holds; a candidate that leaves a domain or nears a kink is dropped.
    The moves shrink toward 0, that is toward the first point."""
    table = _ops(ops)
    n_vars = draw(_integers(1, max_vars))
    point = {n: draw(coordinates()) for n in VARIABLES[:n_vars]}
    b = _Builder(draw, point, {op.name for op in table}, limit)
    count = draw(_integers(min_ops, max_ops))
    ops_drawn = _sampled(tuple(table))
    for _ in range(count):
        op = draw(ops_drawn)
        choices = (params or {}).get(op.name)
        drawn = tuple(draw(_sampled(tuple(choices or p.examples))) for p in op.params)
        args = [b.pool[-1]]
        main = 0
        for _ in range(op.arity - 1):
            if draw(_integers(0, 3)) == 3:
                c = draw(constants())
                args.append((Const(c), c))
            else:
                args.append(b.pool[draw(_integers(0, len(b.pool) - 1))])
            if draw(_BOOLEANS):  # the constant or earlier node on the left: `2 - x`, `y * x`
                args.reverse()
                main = 1
        b.pool.append(b.apply(op.name, args, drawn, main))
    root = b.pool[-1][0]
    if not isinstance(root, Apply):  # every op was skipped: use the first op on the variables
        first = table[0]
        root = Apply(
            first.name,
            tuple(b.pool[i % n_vars][0] for i in range(first.arity)),
            tuple(p.examples[0] for p in first.params),
        )
    used = {n.name for n in nodes(root) if isinstance(n, Var)}
    at = {k: v for k, v in point.items() if k in used}
    more = []
    sides = _sides(root, at, limit)
    for _ in range(points - 1):
        candidate = {k: v + draw(_MOVES) for k, v in at.items()}
        if sides is not None and _sides(root, candidate, limit) == sides:
            more.append(candidate)
    return Checked(root, at, tuple(more))


def _sides(expr: Expr, point: Mapping[str, float], limit: float) -> tuple[bool, ...] | None:
    """Which side of its kink each kinked op's input is on at `point` (a relu alive at the first point stays
    alive at the others), or None unless every op's input is inside its domain by EDGE_MARGIN and KINK_MARGIN
    from its kinks and no value exceeds `limit`: what the builder guarantees at the point it builds at."""
    values: dict[bytes, float] = {}
    sides: list[bool] = []
    for node in nodes(expr):
        if isinstance(node, Var):
            values[node.digest] = point[node.name]
        elif isinstance(node, Const):
            values[node.digest] = node.value
        else:
            assert isinstance(node, Apply)
            op = op_of(node)
            xs = [values[a.digest] for a in node.args]
            for i, (x, domain) in enumerate(zip(xs, op.domains(), strict=True)):
                margin = EDGE_MARGIN * max(1.0, abs(x))
                if not domain.is_real_line and not (x - margin in domain and x + margin in domain):
                    return None
                for k in op.kinks:
                    if k.arg == i:
                        if abs(x - k.at) < KINK_MARGIN:
                            return None
                        sides.append(x > k.at)
            v = _value(node, xs, limit)
            if v is None:
                return None
            values[node.digest] = v
    return tuple(sides)


def small_trees(ops: Sequence[str] | None = None, max_leaves: int = 8, max_vars: int = 4) -> st.SearchStrategy[Expr]:
    """Small expression trees by `st.recursive`, defined at every point (domains kept by adapters)."""
    table = _ops(ops)
    names = VARIABLES[:max_vars]
    leaves = st.one_of(st.sampled_from([Var(n) for n in names]), constants().map(Const))

    def guard(op: Op, i: int, e: Expr, params: tuple[float, ...]) -> Expr:
        domain = op.domains(*params)[i]
        if domain.is_real_line:
            return e
        return Apply("add", (Apply("mul", (e, e)), Const(0.5)))

    def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        @st.composite
        def one(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Expr:
            op = draw(st.sampled_from(table))
            params = tuple(draw(st.sampled_from(p.examples)) for p in op.params)
            first = draw(children)
            args = [first] + [first if draw(st.booleans()) else draw(children) for _ in range(op.arity - 1)]
            return Apply(op.name, tuple(guard(op, i, a, params) for i, a in enumerate(args)), params)

        return one()

    return st.recursive(leaves, extend, max_leaves=max_leaves).filter(lambda e: isinstance(e, Apply))


def op_points(op: Op, params: tuple[float, ...] = ()) -> st.SearchStrategy[list[float]]:
    """Inputs for one op inside its domain, away from kinks and edges, not overflowing."""
    domains = op.domains(*params)

    def inside(i: int) -> st.SearchStrategy[float]:
        d = domains[i]
        lo = max(d.intervals[0].lo, -20.0)
        hi = min(d.intervals[-1].hi, 20.0)
        s = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
        return s.filter(lambda x: x in d and all(abs(x - e) > 1e-6 for e in _edges(d)))

    def ok(xs: list[float]) -> bool:
        if any(k.arg < len(xs) and abs(xs[k.arg] - k.at) < 1e-6 for k in op.kinks):
            return False
        bound = op.bind(*params) if params else op
        try:
            v = bound.forward(*xs)
        except (OverflowError, ZeroDivisionError, ValueError):
            return False
        return isinstance(v, float) and math.isfinite(v) and abs(v) < 1e100

    return st.tuples(*(inside(i) for i in range(op.arity))).map(list).filter(ok)


def _edges(domain: Any) -> list[float]:
    return [e for i in domain.intervals for e in (i.lo, i.hi) if math.isfinite(e)]


def record(expr: Expr) -> None:
    """Tell Hypothesis's statistics what was generated: size, depth, sharing and the ops used."""
    order = nodes(expr)
    size = sum(isinstance(n, Apply) for n in order)
    event("nodes", _bucket(size))
    event("depth", _bucket(depth(expr)))
    event("shared subexpressions", "yes" if any(c > 1 for c in use_counts(expr).values()) else "no")
    for name in sorted({n.op for n in order if isinstance(n, Apply)}):
        event("op", name)


def _bucket(n: int) -> str:
    for hi in (1, 2, 5, 10, 20, 50, 100):
        if n <= hi:
            return f"<= {hi}"
    return "> 100"
