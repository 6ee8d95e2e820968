"""The float64 error model: how far a correct float64 engine may be from the exact value and gradient.

`ErrorModel` bounds the engine's own float64 error by a running error analysis of the expression at the point.
Every op's result is wrong by at most its declared `ulps`; that error flows forward through the local
derivatives, perturbs each local derivative through the op's second derivatives (and, for `tanh' = 1 - out**2`-
style rules, through the output's rounding), and then flows backward with the adjoints, plus one rounding per
product and per sum. Where a derivative vanishes (x ** 2 at 0, u ** 3 at 0) the first-order terms are 0 and
the second-order ones carry the bound, with f'' taken at its largest over the inputs' error box so that a
stationary point one order up is covered as well. Cancellation shows up on its own: an expression that
subtracts nearly equal large numbers gets a large bound, a well-conditioned one a bound of a few ulps.

Where the first-order analysis cannot be trusted (an input within its own error of a domain edge, or a forward
value that has lost most of its digits) the model lists the reason in `trouble`, and `oracles.compare` does not
compare the gradient there.

The analysis runs in floats, and again in python-flint `arb` balls (whose exponents reach far beyond a
float's) wherever a float pass meets a number that is not finite or far out of the float range's middle:
a second derivative of 1e600 (log at 1e-300) times an input error of 0 is 0, not a NaN that would leave the
gradient uncompared, and 1e-200 squared is not 0. A local derivative or adjoint that itself overflows a float
is recorded in `overflow`: no float64 engine can compute that gradient, so the point is outside what floats
can check.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import flint

from oracles.expr import Apply, Const, Expr, Var, nodes, op_of, to_source
from oracles.local import LocalRule, local_rule

__all__ = ["KAPPA", "SAFETY", "TINY", "TRUST", "ErrorModel", "NodeBound", "U"]

U = 2.0**-53  # unit roundoff of float64
ETA = 2.0**-1074  # the smallest subnormal: an op's rounding error where its result underflows
TINY = 4 * ETA  # keeps every allowed error positive; gradients down to the subnormals stay checkable
KAPPA = 4.0  # ulps for evaluating a local-derivative formula from exact inputs (a handful of roundings)
SAFETY = 2.0  # covers the second-order terms a first-order analysis drops, while every relative error is small
TRUST = 1e-3  # an input error above this (relative to the op's scale) is too large to linearize around
DBL_MAX = 1.7976931348623157e308
WIDE = 1e150  # a float pass that meets a magnitude beyond this (or below its inverse) is redone in arb balls
FAST = True  # the float pass uses `_fast_errors` (a test compares it with the general `ErrorModel._errors`)


# ---------------------------------------------------------------------------------------------------------
# The float64 error model
# ---------------------------------------------------------------------------------------------------------


@dataclass
class NodeBound:
    """What the model knows about one node: its value and adjoint and bounds on their errors. Floats, or `arb`
    balls where the model had to leave the float range (`ErrorModel.wide`)."""

    value: float
    error: Any = 0.0
    adjoint: Any = 0.0
    adjoint_error: Any = 0.0
    locals: list[Any] = field(default_factory=list)
    local_errors: list[Any] = field(default_factory=list)
    contributions: Any = 0.0  # sum of |adjoint contributions| (for the summation rounding)
    uses: int = 0
    # The gradient this node would get if every local derivative on the way were at least 1 in magnitude: how
    # large a wrong local derivative anywhere above it would make its gradient (`oracles.compare` reads it to
    # tell a meaningful check of a zero gradient from one that allows anything).
    reach: Any = 0.0


class ErrorModel:
    """First-order bounds on the float64 errors of every value and adjoint of `expr` at `point`.

    `accuracy` overrides, per op name, how accurate the engine's forward is: (ulps, absolute) means an error of
    at most ulps units in the last place of the result plus absolute * 2**-53. By default each op's declared
    `ulps` and no absolute part; for another engine, what probing it measured (`gradverify check-engine`).
    `trouble` lists reasons the analysis cannot be trusted at this point; `overflow` says which derivative no
    float64 engine can compute here (None when every one fits in a float).
    """

    def __init__(
        self, expr: Expr, point: Mapping[str, float], accuracy: Mapping[str, tuple[float, float]] | None = None
    ) -> None:
        self.expr = expr
        self.accuracy = dict(accuracy or {})
        self.order = nodes(expr)
        self.wide = False
        self._run(point)
        if self._far:  # the float pass met numbers its products could overflow or underflow: redo it in balls
            self.wide = True
            self._run(point)

    def _run(self, point: Mapping[str, float]) -> None:
        self.trouble: list[str] = []
        self.overflow: str | None = None
        self.bounds: dict[bytes, NodeBound] = {}
        self._far = False
        self._forward(point, self.accuracy)
        self._backward()
        for node in self.order:
            nb = self.bounds[node.digest]
            numbers = [nb.value, nb.error, nb.adjoint, nb.adjoint_error, *nb.locals, *nb.local_errors]
            if not self.wide:
                self._far = self._far or _any_far(numbers)
            elif not all(_finite(x) for x in numbers):
                self.trouble.append(f"{to_source(node)[:60]}: a derivative or bound is not a number here")
                break
        if self.wide:
            self.overflow = self._overflowing()

    def _overflowing(self) -> str | None:
        """The first local derivative, adjoint or product of the two that a float64 engine cannot hold."""
        for node in reversed(self.order):
            nb = self.bounds[node.digest]
            if _beyond_floats(abs(nb.adjoint) + SAFETY * nb.adjoint_error):
                return f"the gradient reaching {_short(node)} is about {_show(nb.adjoint)}"
            for i, local in enumerate(nb.locals):
                if _beyond_floats(abs(local)) or _beyond_floats(abs(local * nb.adjoint)):
                    which = f" with respect to its input {i + 1}" if len(nb.locals) > 1 else ""
                    return f"the derivative of {_short(node)}{which} is about {_show(local)}"
        return None

    def _first(self, rule: LocalRule, xs: list[float]) -> list[Any]:
        return [flint.arb(v) for v in rule.first_exact(xs)] if self.wide else rule.first(xs)

    def _second(self, rule: LocalRule, xs: list[float]) -> list[list[Any]]:
        return [[flint.arb(v) for v in row] for row in rule.second_exact(xs)] if self.wide else rule.second(xs)

    def _forward(self, point: Mapping[str, float], accuracy: Mapping[str, tuple[float, float]]) -> None:
        b = self.bounds
        for node in self.order:
            if isinstance(node, Var):
                b[node.digest] = NodeBound(float(point[node.name]))
                continue
            if isinstance(node, Const):
                b[node.digest] = NodeBound(node.value)
                continue
            assert isinstance(node, Apply)
            op = op_of(node)
            xs = [b[a.digest].value for a in node.args]
            es = [b[a.digest].error for a in node.args]
            v = op.forward(*xs)
            rule = local_rule(node.op, node.params)
            d = self._first(rule, xs)
            h = self._second(rule, xs)
            if not self.wide:
                self._far = self._far or any(_any_far(row) for row in h)
            ulps, absolute = accuracy.get(node.op, (op.ulps, 0.0))
            rho = 2.0 * U * max(ulps, 0.5)
            # This op's own rounding: relative, and where the result underflows, absolute. An exact op (ulps 0:
            # neg, relu) adds none: the engine's -x is exactly minus its x, on the same side of any kink.
            own = (rho * abs(v) + ulps * ETA + absolute * U) if ulps or absolute else 0.0
            fast = None if self.wide or not FAST else _fast_errors(rule, node, xs, es, d, h, own, ulps)
            error, local_errors = fast if fast is not None else self._errors(rule, op, node, xs, es, d, h, own, ulps)
            for kink in op.kinks:
                x, e = xs[kink.arg], es[kink.arg]
                if e > 0.0 and abs(x - kink.at) <= e:
                    # The computed input may sit on either side: the engine may use either one-sided derivative.
                    # (An input that is exact, a variable or an exact op's result, is on the side it shows.)
                    left = list(xs)
                    right = list(xs)
                    left[kink.arg], right[kink.arg] = _lower(kink.at - e), _upper(kink.at + e)
                    dl, dr = self._first(rule, left), self._first(rule, right)
                    for i in range(op.arity):
                        local_errors[i] += abs(dl[i] - dr[i]) + abs(d[i] - kink.subgradient) * (i == kink.arg)
                    # ... and the value moves with the slope of the other side: relu of a computed 0 whose exact
                    # value is 1e-17 is off by 1e-17, though relu's slope at the computed 0 is 0.
                    error += abs(dl[kink.arg] - dr[kink.arg]) * e
            self._check_trust(node, op.domains(), xs, es, h)
            b[node.digest] = NodeBound(v, error, locals=d, local_errors=local_errors)

    def _errors(
        self,
        rule: LocalRule,
        op: Any,
        node: Apply,
        xs: list[float],
        es: list[Any],
        d: list[Any],
        h: list[list[Any]],
        own: Any,
        ulps: float,
    ) -> tuple[Any, list[Any]]:
        """The error bound of a node's value and of each of its local derivatives, given its inputs' bounds (in
        floats or, in the ball pass, in arb balls). `_fast_errors` is the same for the common cases, written out."""
        # Inputs that are the same node carry the same error, so their terms add before taking |.|:
        # x - x is exact whatever the error of x, and x * x doubles it.
        same = _groups(node)
        error = sum(abs(sum(d[i] for i in g)) * es[g[0]] for g in same) + own
        # The second-order term: where the first derivative vanishes (x ** 2 at x = 0), an input error e
        # still moves the output by about f'' e**2 / 2. A thorough run found a first-order-only bound of 0
        # there while the engine's exact input error of 5e-20 gave an output error of 2.4e-39.
        # f'' is taken at its largest over the inputs' error box (see _curvature), not at the computed point
        # alone: where f'' vanishes too (u ** 3 at u = 0) the third-order term is what remains.
        value_curv, local_curv = _curvature(rule, op.domains(), xs, es, h, same, self._second, self.wide)
        error += 0.5 * sum(
            value_curv[a][c] * es[gi[0]] * es[gj[0]]
            for a, gi in enumerate(same)
            for c, gj in enumerate(same)
            if es[gi[0]] and es[gj[0]]  # an exact input moves nothing, however large f'' is
        )
        local_errors = []
        for i in range(op.arity):
            ed = sum(local_curv[i][c] * es[g[0]] for c, g in enumerate(same) if es[g[0]])
            ed += KAPPA * (U * abs(d[i]) * max(1.0, ulps) + ETA)
            if op.arity == 1 and own:
                # A rule written with the output (tanh' = 1 - out**2) also inherits the output's rounding:
                # d' / f' is how fast the derivative moves with the output.
                ed += abs(self._sensitivity(rule, xs, d[0], h[0][0])) * own
            local_errors.append(ed)
        return error, local_errors

    def _sensitivity(self, rule: LocalRule, xs: list[float], d: Any, h: Any) -> Any:
        if not self.wide:
            return rule.output_sensitivity(xs)
        return h / d if d != 0 else 0.0

    def _check_trust(
        self, node: Apply, domains: Sequence[Any], xs: list[float], es: list[Any], h: list[list[Any]]
    ) -> None:
        """Note inputs whose error is too large for a first-order analysis around them to hold."""
        for j, (x, error) in enumerate(zip(xs, es, strict=True)):
            e = _upper(error)
            if not e:  # an exact input (even a tiny error next to a subnormal input can be too large)
                continue
            domain = domains[j]
            if not domain.is_real_line:
                # Near a finite edge of its domain (log's 0, a divisor's 0) an op changes on the scale of the
                # distance to that edge: the input's error must be small against it (which also keeps x +- e
                # inside the domain).
                edge = min(abs(x - b) for i in domain.intervals for b in (i.lo, i.hi) if math.isfinite(b))
                if e > TRUST * edge:
                    self.trouble.append(
                        f"{node.op}: input {x!r} may be off by {e:.1e}, too close to its domain's edge for the "
                        "error analysis (cancellation has eaten its digits)"
                    )
            elif h[j][j] != 0.0 and e > TRUST:
                # A curved op (tanh, exp, ...) changes on a scale of about 1.
                self.trouble.append(f"{node.op}: input {x!r} may be off by {e:.1e} (cancellation has eaten its digits)")

    def _backward(self) -> None:
        b = self.bounds
        root = b[self.expr.digest]
        root.adjoint = flint.arb(1) if self.wide else 1.0
        root.reach = root.adjoint
        for node in reversed(self.order):
            nb = b[node.digest]
            if nb.uses > 1:
                nb.adjoint_error += (nb.uses - 1) * U * nb.contributions
            if not isinstance(node, Apply):
                continue
            for i, arg in enumerate(node.args):
                local = nb.locals[i]
                t = nb.adjoint * local
                child = b[arg.digest]
                child.adjoint += t
                # |a l - (a + da)(l + dl)| <= |l| da + |a| dl + da dl. The last term is the whole error where the
                # computed a and l are both 0 ((u ** 2) ** 2 at a computed u = 0: a = 2 u**2 and l = 2 u); a
                # thorough run found its omission as a bound of 1.6e-103 on an exact gradient of 1.3e-69.
                ea, el = nb.adjoint_error, nb.local_errors[i]
                child.adjoint_error += abs(local) * ea + abs(nb.adjoint) * el + ea * el + U * abs(t) + ETA
                child.contributions += abs(t)
                child.uses += 1
                child.reach += nb.reach * (abs(local) if abs(local) > 1 else 1)

    def value_bound(self) -> float:
        """Bound on |engine value - exact value| (float64 forward)."""
        return _upper(SAFETY * self.bounds[self.expr.digest].error)

    def gradient_bound(self, name: str) -> float:
        """Bound on |engine gradient - exact gradient| for variable `name`."""
        return _upper(SAFETY * self.bounds[Var(name).digest].adjoint_error + TINY)

    def adjoint_bound(self, node: Expr) -> float:
        return _upper(SAFETY * self.bounds[node.digest].adjoint_error + TINY)

    def reach(self, name: str) -> float:
        """How large a wrong local derivative of size 1 anywhere on its paths would make d/d`name` (a float,
        infinite past the float range)."""
        return _upper(self.bounds[Var(name).digest].reach)

    def value_scale(self) -> float:
        """The largest |value| of any node: how large a wrong value could be."""
        return max(abs(nb.value) for nb in self.bounds.values())


def _fast_errors(
    rule: LocalRule,
    node: Apply,
    xs: list[float],
    es: list[Any],
    d: list[float],
    h: list[list[float]],
    own: float,
    ulps: float,
) -> tuple[float, list[float]] | None:
    """`ErrorModel._errors` in the float pass, written out for one input and for two (most nodes): the same
    terms without the bookkeeping of input groups, about twice as fast. None where f'' over the error box has
    no ball (the box touches a pole or leaves the domain): the general path samples the corners then."""
    if len(xs) == 1:
        (x,), (e,), (d0,), h00 = xs, es, d, h[0][0]
        curv = abs(h00)
        if e and not rule.constant_curvature:
            boxed = rule.second_over_box([x], [e])
            if boxed is None:
                return None
            curv = _raised(curv, boxed[0][0])
        error = abs(d0) * e + own
        ed = KAPPA * (U * abs(d0) * max(1.0, ulps) + ETA)
        if e:
            error += 0.5 * curv * e * e
            ed += curv * e
        if own:
            # A rule written with the output (tanh' = 1 - out**2) also inherits the output's rounding.
            ed += abs(rule.output_sensitivity(xs, d0, h00)) * own
        return error, [ed]
    (h00, h01), (h10, h11) = h
    k0 = KAPPA * (U * abs(d[0]) * max(1.0, ulps) + ETA)
    k1 = KAPPA * (U * abs(d[1]) * max(1.0, ulps) + ETA)
    if node.args[0] == node.args[1]:  # x op x: one input error, both terms add before |.|
        e = es[0]
        hv, l0, l1 = abs(h00 + h01 + h10 + h11), abs(h00 + h01), abs(h10 + h11)
        if e and not rule.constant_curvature:
            boxed = rule.second_over_box(xs, es)
            if boxed is None:
                return None
            (b00, b01), (b10, b11) = boxed
            hv, l0, l1 = _raised(hv, b00 + b01 + b10 + b11), _raised(l0, b00 + b01), _raised(l1, b10 + b11)
        error = abs(d[0] + d[1]) * e + own
        if e:
            error += 0.5 * hv * e * e
            return error, [l0 * e + k0, l1 * e + k1]
        return error, [k0, k1]
    e0, e1 = es
    v00, v01, v10, v11 = abs(h00), abs(h01), abs(h10), abs(h11)
    if (e0 or e1) and not rule.constant_curvature:
        boxed = rule.second_over_box(xs, es)
        if boxed is None:
            return None
        (b00, b01), (b10, b11) = boxed
        v00, v01, v10, v11 = _raised(v00, b00), _raised(v01, b01), _raised(v10, b10), _raised(v11, b11)
    error = abs(d[0]) * e0 + abs(d[1]) * e1 + own
    error += 0.5 * sum(v * a * b for v, a, b in ((v00, e0, e0), (v01, e0, e1), (v10, e1, e0), (v11, e1, e1)) if a and b)
    l0 = (v00 * e0 if e0 else 0.0) + (v01 * e1 if e1 else 0.0)
    l1 = (v10 * e0 if e0 else 0.0) + (v11 * e1 if e1 else 0.0)
    return error, [l0 + k0, l1 + k1]


def _raised(at_point: float, ball: Any) -> float:
    """The larger of |f''| at the point and the upper end of its bound over the box (`not <=`: a NaN at the
    point is replaced)."""
    upper = _upper(abs(ball))
    return upper if not upper <= at_point else at_point


def _any_far(xs: Sequence[float]) -> bool:
    """Is any of `xs` (floats) outside the middle of the float range, where a product of two or three such
    numbers can overflow or underflow (or not a number at all)? One loop: the model asks it of every node."""
    low = 1.0 / WIDE
    for x in xs:
        a = abs(x)
        if a and not low <= a <= WIDE:  # NaN fails both comparisons: far
            return True
    return False


def _finite(x: Any) -> bool:
    return x.is_finite() if isinstance(x, flint.arb) else math.isfinite(x)


def _upper(x: Any) -> float:
    """A float at least x (x a float, or a ball: its upper end rounded up, infinite past the float range)."""
    if not isinstance(x, flint.arb):
        return float(x)
    end = x.upper()
    f = float(end)  # to nearest: one step up if that was down
    return math.nextafter(f, math.inf) if f < end else f


def _lower(x: Any) -> float:
    if not isinstance(x, flint.arb):
        return float(x)
    end = x.lower()
    f = float(end)
    return math.nextafter(f, -math.inf) if f > end else f


def _beyond_floats(x: Any) -> bool:
    """x (a float or a ball) may exceed the largest float."""
    return bool(x.upper() > DBL_MAX) if isinstance(x, flint.arb) else x > DBL_MAX


def _show(x: Any) -> str:
    return x.str(3, radius=False) if isinstance(x, flint.arb) else f"{x:.3g}"


def _short(node: Expr) -> str:
    text = to_source(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _curvature(
    rule: LocalRule,
    domains: Sequence[Any],
    xs: list[float],
    es: list[float],
    h: list[list[Any]],
    same: list[list[int]],
    second: Callable[[LocalRule, list[float]], list[list[Any]]],
    wide: bool = False,
) -> tuple[list[list[Any]], list[list[Any]]]:
    """|f''| summed over input groups, at its largest over the box the inputs' errors span.

    Taylor's remainder needs max |f''| between the computed and the exact inputs, not |f''| at the computed
    point: for u ** 3 at a computed u = 0, f' and f'' are both 0 there, and a bound built from them alone is 0
    while an input error e moves the result by e**3. A thorough run found exactly that (`log(tanh(27)) ** 3`:
    the computed log is 0, the exact one -7e-24). The maximum comes from ball arithmetic: f'' evaluated on arb
    balls that cover each input's error interval encloses f'' over the whole box, with no assumption about its
    shape (inputs that are one node get the same ball; treating them as independent only widens the box).
    Where the ball cannot be evaluated (the box touches a pole or leaves the domain: the model then reports
    the point as ill-conditioned anyway), and in the model's ball pass, f'' is sampled at the computed point
    and at the box's corners instead (inputs that are one node move together), which finds the maximum
    wherever f'' is monotone across the box; corner values that overflow are left out (the float pass then
    meets an infinite f'' at the point, or the model is redone in balls).

    Returns (value_curv, local_curv): value_curv[a][c] = max |sum of h[i][j], i in group a, j in group c| for
    the output's second-order term; local_curv[i][c] = max |sum of h[i][j], j in group c| for input i's local
    derivative (at the computed point even if infinite, so that an overflow is still reported).
    """

    def grouped(hm: list[list[Any]]) -> list[list[Any]]:
        by_groups = [[abs(_sum([hm[i][j] for i in gi for j in gj])) for gj in same] for gi in same]
        by_input = [[abs(_sum([hm[i][j] for j in g])) for g in same] for i in range(len(xs))]
        return by_groups + by_input  # value_curv's rows, then local_curv's

    rows = grouped(h)
    moving = [a for a, g in enumerate(same) if es[g[0]] > 0.0]
    if moving and not rule.constant_curvature and not wide:
        boxed = rule.second_over_box(xs, es)
        if boxed is not None:
            for row, box_row in zip(rows, grouped(boxed), strict=True):
                for k, v in enumerate(box_row):
                    upper = _upper(v)
                    if not upper <= row[k]:  # `not <=`: a NaN at the point is replaced
                        row[k] = upper
            return rows[: len(same)], rows[len(same) :]
    # In balls the box's corners are rounded outward to floats, the only inputs the rules take.
    if moving and not rule.constant_curvature:
        for signs in itertools.product((-1.0, 1.0), repeat=len(moving)):
            corner = list(xs)
            for s, a in zip(signs, moving, strict=True):
                for i in same[a]:
                    corner[i] = _upper(xs[i] + es[i]) if s > 0 else _lower(xs[i] - es[i])
            if not all(x in dom for x, dom in zip(corner, domains, strict=True)):
                continue
            try:
                at_corner = grouped(second(rule, corner))
            except (OverflowError, ZeroDivisionError, ValueError):
                continue
            for row, corner_row in zip(rows, at_corner, strict=True):
                for k, v in enumerate(corner_row):
                    if _finite(v) and not v <= row[k]:  # `not <=`: a NaN at the point is replaced
                        row[k] = v
    return rows[: len(same)], rows[len(same) :]


def _sum(values: list[Any]) -> Any:
    """values[0] + values[1] + ...: unlike sum(), no 0 to start with, whose addition would round a 128-bit ball
    to the working precision."""
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def _groups(node: Apply) -> list[list[int]]:
    """Argument positions grouped by node: [[0, 1]] for x * x, [[0], [1]] for x * y."""
    groups: dict[bytes, list[int]] = {}
    for i, a in enumerate(node.args):
        groups.setdefault(a.digest, []).append(i)
    return list(groups.values())
