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
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from oracles.expr import Apply, Const, Expr, Var, nodes, op_of, to_source
from oracles.local import LocalRule, local_rule

__all__ = ["KAPPA", "SAFETY", "TINY", "TRUST", "ErrorModel", "NodeBound", "U"]

U = 2.0**-53  # unit roundoff of float64
TINY = 1e-300  # keeps bounds positive where everything underflows
KAPPA = 4.0  # ulps for evaluating a local-derivative formula from exact inputs (a handful of roundings)
SAFETY = 2.0  # covers the second-order terms a first-order analysis drops, while every relative error is small
TRUST = 1e-3  # an input error above this (relative to the op's scale) is too large to linearize around


# ---------------------------------------------------------------------------------------------------------
# The float64 error model
# ---------------------------------------------------------------------------------------------------------


@dataclass
class NodeBound:
    """What the model knows about one node: its value and adjoint (float64) and bounds on their errors."""

    value: float
    error: float = 0.0
    adjoint: float = 0.0
    adjoint_error: float = 0.0
    locals: list[float] = field(default_factory=list)
    local_errors: list[float] = field(default_factory=list)
    contributions: float = 0.0  # sum of |adjoint contributions| (for the summation rounding)
    uses: int = 0


class ErrorModel:
    """First-order bounds on the float64 errors of every value and adjoint of `expr` at `point`.

    `accuracy` overrides, per op name, how accurate the engine's forward is: (ulps, absolute) means an error of
    at most ulps units in the last place of the result plus absolute * 2**-53. By default each op's declared
    `ulps` and no absolute part; for another engine, what probing it measured (`gradverify check-engine`).
    `trouble` lists reasons the analysis cannot be trusted at this point.
    """

    def __init__(
        self, expr: Expr, point: Mapping[str, float], accuracy: Mapping[str, tuple[float, float]] | None = None
    ) -> None:
        self.expr = expr
        self.accuracy = dict(accuracy or {})
        self.order = nodes(expr)
        self.trouble: list[str] = []
        self.bounds: dict[bytes, NodeBound] = {}
        self._forward(point, accuracy or {})
        self._backward()
        for node in self.order:
            nb = self.bounds[node.digest]
            numbers = [nb.error, nb.adjoint, nb.adjoint_error, *nb.locals, *nb.local_errors]
            if not all(math.isfinite(x) for x in numbers):
                self.trouble.append(f"{to_source(node)[:60]}: a derivative or bound overflows a float here")
                break

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
            d = rule.first(xs)
            h = rule.second(xs)
            ulps, absolute = accuracy.get(node.op, (op.ulps, 0.0))
            rho = 2.0 * U * max(ulps, 0.5)
            own = rho * abs(v) + absolute * U  # this op's own rounding
            if op.arity == 1:
                error, local_errors = _unary_errors(rule, op.domains(), xs[0], es[0], d[0], h[0][0], own, ulps)
            else:
                error, local_errors = _binary_errors(rule, op.domains(), node, xs, es, d, h, own, ulps)
            for kink in op.kinks:
                x, e = xs[kink.arg], es[kink.arg]
                if e > 0.0 and abs(x - kink.at) <= e:
                    # The computed input may sit on either side: the engine may use either one-sided derivative.
                    left = list(xs)
                    right = list(xs)
                    left[kink.arg], right[kink.arg] = kink.at - e, kink.at + e
                    dl, dr = rule.first(left), rule.first(right)
                    for i in range(op.arity):
                        local_errors[i] += abs(dl[i] - dr[i]) + abs(d[i] - kink.subgradient) * (i == kink.arg)
            self._check_trust(node, op.domains(), xs, es, h)
            b[node.digest] = NodeBound(v, error, locals=d, local_errors=local_errors)

    def _check_trust(
        self, node: Apply, domains: Sequence[Any], xs: list[float], es: list[float], h: list[list[float]]
    ) -> None:
        """Note inputs whose error is too large for a first-order analysis around them to hold."""
        for j, (x, e) in enumerate(zip(xs, es, strict=True)):
            if e <= 1e-300:
                continue
            domain = domains[j]
            if not domain.is_real_line:
                # Near a finite edge of its domain (log's 0, a divisor's 0) an op changes on the scale of the
                # distance to that edge: the input's error must be small against it.
                edge = min(abs(x - b) for i in domain.intervals for b in (i.lo, i.hi) if math.isfinite(b))
                if not (x - e in domain and x + e in domain) or e > TRUST * edge:
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
        root.adjoint = 1.0
        for node in reversed(self.order):
            nb = b[node.digest]
            if nb.uses > 1:
                nb.adjoint_error += (nb.uses - 1) * U * nb.contributions
            if not isinstance(node, Apply):
                continue
            for i, arg in enumerate(node.args):
                t = nb.adjoint * nb.locals[i]
                child = b[arg.digest]
                child.adjoint += t
                # |a l - (a + da)(l + dl)| <= |l| da + |a| dl + da dl. The last term is the whole error where the
                # computed a and l are both 0 ((u ** 2) ** 2 at a computed u = 0: a = 2 u**2 and l = 2 u); a
                # thorough run found its omission as a bound of 1.6e-103 on an exact gradient of 1.3e-69.
                ea, el = nb.adjoint_error, nb.local_errors[i]
                child.adjoint_error += abs(nb.locals[i]) * ea + abs(nb.adjoint) * el + ea * el + U * abs(t)
                child.contributions += abs(t)
                child.uses += 1

    def value_bound(self) -> float:
        """Bound on |engine value - exact value| (float64 forward)."""
        return SAFETY * self.bounds[self.expr.digest].error

    def gradient_bound(self, name: str) -> float:
        """Bound on |engine gradient - exact gradient| for variable `name`."""
        return SAFETY * self.bounds[Var(name).digest].adjoint_error + TINY

    def adjoint_bound(self, node: Expr) -> float:
        return SAFETY * self.bounds[node.digest].adjoint_error + TINY


def _errors(
    rule: LocalRule,
    domains: Sequence[Any],
    node: Apply,
    xs: list[float],
    es: list[float],
    d: list[float],
    h: list[list[float]],
    own: float,
    ulps: float,
) -> tuple[float, list[float]]:
    """The error bound of a node's value and of each of its local derivatives, given its inputs' bounds."""
    # Inputs that are the same node carry the same error, so their terms add before taking |.|:
    # x - x is exact whatever the error of x, and x * x doubles it.
    same = _groups(node)
    error = sum(abs(sum(d[i] for i in g)) * es[g[0]] for g in same) + own + TINY
    # The second-order term: where the first derivative vanishes (x ** 2 at x = 0), an input error e
    # still moves the output by about f'' e**2 / 2. A thorough run found a first-order-only bound of 0
    # there while the engine's exact input error of 5e-20 gave an output error of 2.4e-39.
    # f'' is taken at its largest over the inputs' error box (see _curvature), not at the computed point
    # alone: where f'' vanishes too (u ** 3 at u = 0) the third-order term is what remains.
    # Skipped where f'' overflows a float: the local errors below are then infinite too, and the model
    # reports the point as ill-conditioned, as it did before this term.
    value_curv, local_curv = _curvature(rule, domains, xs, es, h, same)
    error += 0.5 * sum(
        value_curv[a][c] * es[gi[0]] * es[gj[0]]
        for a, gi in enumerate(same)
        for c, gj in enumerate(same)
        if math.isfinite(value_curv[a][c])
    )
    local_errors = []
    for i in range(len(xs)):
        ed = sum(local_curv[i][c] * es[g[0]] for c, g in enumerate(same))
        ed += KAPPA * U * abs(d[i]) * max(1.0, ulps)
        local_errors.append(ed)
    return error, local_errors


def _unary_errors(
    rule: LocalRule, domains: Sequence[Any], x: float, e: float, d: float, h: float, own: float, ulps: float
) -> tuple[float, list[float]]:
    """`_errors` for an op of one input, written out (most nodes are unary): the same terms, without the
    bookkeeping of input groups."""
    curv = abs(h)
    if e > 0.0 and not rule.constant_curvature:
        boxed = rule.second_over_box([x], [e])
        if boxed is not None:
            upper = _upper(boxed[0][0])
            if not upper <= curv:  # `not <=`: a NaN at the point is replaced
                curv = upper
        else:
            rows = [[curv], [curv]]
            _sample_corners(rule, domains, [x], [e], [[0]], [0], _grouped_one, rows)
            curv = rows[0][0]
    error = abs(d) * e + own + TINY
    if math.isfinite(curv):
        error += 0.5 * curv * e * e
    # A rule written with the output (tanh' = 1 - out**2) also inherits the output's rounding: d' / f' is how
    # fast the derivative moves with the output.
    ed = curv * e + KAPPA * U * abs(d) * max(1.0, ulps) + abs(rule.output_sensitivity([x], d, h)) * own
    return error, [ed]


def _binary_errors(
    rule: LocalRule,
    domains: Sequence[Any],
    node: Apply,
    xs: list[float],
    es: list[float],
    d: list[float],
    h: list[list[float]],
    own: float,
    ulps: float,
) -> tuple[float, list[float]]:
    """`_errors` for an op of two inputs, written out: the same terms, for the two ways its inputs can be
    grouped (two nodes, or one node twice: x * x). Falls back to `_errors` where the box's ball fails."""
    (h00, h01), (h10, h11) = h
    k = KAPPA * U * max(1.0, ulps)
    if node.args[0] is node.args[1] or node.args[0] == node.args[1]:
        e = es[0]
        hv, l0, l1 = abs(h00 + h01 + h10 + h11), abs(h00 + h01), abs(h10 + h11)
        if e > 0.0 and not rule.constant_curvature:
            boxed = rule.second_over_box(xs, es)
            if boxed is None:
                return _errors(rule, domains, node, xs, es, d, h, own, ulps)
            (b00, b01), (b10, b11) = boxed
            hv, l0, l1 = _raised(hv, b00 + b01 + b10 + b11), _raised(l0, b00 + b01), _raised(l1, b10 + b11)
        error = abs(d[0] + d[1]) * e + own + TINY
        if math.isfinite(hv):
            error += 0.5 * hv * e * e
        return error, [l0 * e + k * abs(d[0]), l1 * e + k * abs(d[1])]
    e0, e1 = es
    v00, v01, v10, v11 = abs(h00), abs(h01), abs(h10), abs(h11)
    if (e0 > 0.0 or e1 > 0.0) and not rule.constant_curvature:
        boxed = rule.second_over_box(xs, es)
        if boxed is None:
            return _errors(rule, domains, node, xs, es, d, h, own, ulps)
        (b00, b01), (b10, b11) = boxed
        v00, v01, v10, v11 = _raised(v00, b00), _raised(v01, b01), _raised(v10, b10), _raised(v11, b11)
    error = abs(d[0]) * e0 + abs(d[1]) * e1 + own + TINY
    error += 0.5 * sum(
        v * a * b for v, a, b in ((v00, e0, e0), (v01, e0, e1), (v10, e1, e0), (v11, e1, e1)) if math.isfinite(v)
    )
    return error, [v00 * e0 + v01 * e1 + k * abs(d[0]), v10 * e0 + v11 * e1 + k * abs(d[1])]


def _raised(at_point: float, ball: Any) -> float:
    """The larger of |f''| at the point and its bound over the box (`not <=`: a NaN at the point is replaced)."""
    upper = _upper(ball)
    return upper if not upper <= at_point else at_point


def _grouped_one(hm: list[list[float]]) -> list[list[float]]:
    return [[abs(hm[0][0])], [abs(hm[0][0])]]


def _curvature(
    rule: LocalRule,
    domains: Sequence[Any],
    xs: list[float],
    es: list[float],
    h: list[list[float]],
    same: list[list[int]],
) -> tuple[list[list[float]], list[list[float]]]:
    """|f''| summed over input groups, at its largest over the box the inputs' errors span.

    Taylor's remainder needs max |f''| between the computed and the exact inputs, not |f''| at the computed
    point: for u ** 3 at a computed u = 0, f' and f'' are both 0 there, and a bound built from them alone is 0
    while an input error e moves the result by e**3. A thorough run found exactly that (`log(tanh(27)) ** 3`:
    the computed log is 0, the exact one -7e-24). The maximum comes from ball arithmetic: f'' evaluated on arb
    balls that cover each input's error interval encloses f'' over the whole box, with no assumption about its
    shape (inputs that are one node get the same ball; treating them as independent only widens the box).
    Where the ball cannot be evaluated (the box touches a pole or leaves the domain: the model then reports
    the point as ill-conditioned anyway), f'' is sampled at the box's corners instead, as before.

    Returns (value_curv, local_curv): value_curv[a][c] = max |sum of h[i][j], i in group a, j in group c| for
    the output's second-order term; local_curv[i][c] = max |sum of h[i][j], j in group c| for input i's local
    derivative (at the computed point even if infinite, so that an overflow is still reported).
    """

    def grouped(hm: list[list[Any]]) -> list[list[Any]]:
        by_groups = [[abs(sum(hm[i][j] for i in gi for j in gj)) for gj in same] for gi in same]
        by_input = [[abs(sum(hm[i][j] for j in g)) for g in same] for i in range(len(xs))]
        return by_groups + by_input  # value_curv's rows, then local_curv's

    rows = grouped(h)
    moving = [a for a, g in enumerate(same) if es[g[0]] > 0.0]
    if moving and not rule.constant_curvature:
        boxed = rule.second_over_box(xs, es)
        if boxed is not None:
            for row, box_row in zip(rows, grouped(boxed), strict=True):
                for k, v in enumerate(box_row):
                    upper = _upper(v)
                    if not upper <= row[k]:  # `not <=`: a NaN at the point is replaced
                        row[k] = upper
        else:
            _sample_corners(rule, domains, xs, es, same, moving, grouped, rows)
    return rows[: len(same)], rows[len(same) :]


def _upper(ball: Any) -> float:
    """An upper bound on |ball| as a float (rounded up)."""
    v = float(ball.abs_upper())
    return math.nextafter(v, math.inf) if v else 0.0


def _sample_corners(
    rule: LocalRule,
    domains: Sequence[Any],
    xs: list[float],
    es: list[float],
    same: list[list[int]],
    moving: list[int],
    grouped: Any,
    rows: list[list[float]],
) -> None:
    """f'' at the corners of the box (inputs that are one node move together) raises `rows` where larger."""
    for signs in itertools.product((-1.0, 1.0), repeat=len(moving)):
        corner = list(xs)
        for s, a in zip(signs, moving, strict=True):
            for i in same[a]:
                corner[i] = xs[i] + s * es[i]
        if not all(x in dom for x, dom in zip(corner, domains, strict=True)):
            continue
        try:
            at_corner = grouped(rule.second(corner))
        except (OverflowError, ZeroDivisionError, ValueError):
            continue
        for row, corner_row in zip(rows, at_corner, strict=True):
            for k, v in enumerate(corner_row):
                if math.isfinite(v) and not v <= row[k]:  # `not <=`: a NaN at the point is replaced
                    row[k] = v


def _groups(node: Apply) -> list[list[int]]:
    """Argument positions grouped by node: [[0, 1]] for x * x, [[0], [1]] for x * y."""
    groups: dict[bytes, list[int]] = {}
    for i, a in enumerate(node.args):
        groups.setdefault(a.digest, []).append(i)
    return list(groups.values())
