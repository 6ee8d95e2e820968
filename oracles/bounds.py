"""The comparison policy: the only place where tolerances live.

There is no global rtol. The allowed error of each comparison is built from two parts:

1. The engine's own float64 error, bounded by a first-order running error analysis of the expression at the
   point (`ErrorModel`). Every op's result is wrong by at most its declared `ulps`; that error flows forward
   through the local derivatives, perturbs each local derivative through the op's second derivatives (and,
   for `tanh' = 1 - out**2`-style rules, through the output's rounding), and then flows backward with the
   adjoints, plus one rounding per product and per sum. Where a derivative vanishes (x ** 2 at 0, u ** 3 at 0)
   the first-order terms are 0 and the second-order ones carry the bound, with f'' taken at its largest over
   the inputs' error box so that a stationary point one order up is covered as well. Cancellation shows up on
   its own: an expression that subtracts nearly equal large numbers gets a large bound, a well-conditioned one
   a bound of a few ulps.
2. The referee's own error estimate: ~0 for SymPy at 30+ digits (the distance between two precisions), the
   Richardson spread plus rounding / step for finite differences, and the same float64 bound for PyTorch.

A comparison passes when |engine - referee| <= allowed; NaN or infinity never passes. Where the first-order
analysis cannot be trusted (an input within its own error of a domain edge, or a forward value that has
lost most of its digits) the point is declared ill-conditioned and the gradient is not compared there.

When the engine is wrong, `blame` finds the node: the deepest node whose own adjoint agrees with the exact
one while the adjoint it passes to an input does not, and checks that node's op in isolation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath

from oracles.engines import EngineAdapter, EngineRun
from oracles.expr import Apply, Const, Expr, Var, nodes, op_of, to_source, variables
from oracles.local import LocalRule, local_rule
from oracles.referees import RefereeResult

__all__ = ["Blame", "ErrorModel", "Row", "Verdict", "compare"]

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
    `ulps` and no absolute part; for another engine, what probing it measured (see oracles.external).
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
            value_curv, local_curv = _curvature(rule, op.domains(), xs, es, h, same)
            error += 0.5 * sum(
                value_curv[a][c] * es[gi[0]] * es[gj[0]]
                for a, gi in enumerate(same)
                for c, gj in enumerate(same)
                if math.isfinite(value_curv[a][c])
            )
            local_errors = []
            for i in range(op.arity):
                ed = sum(local_curv[i][c] * es[g[0]] for c, g in enumerate(same))
                ed += KAPPA * U * abs(d[i]) * max(1.0, ulps)
                if op.arity == 1:
                    # A rule written with the output (tanh' = 1 - out**2) also inherits the output's rounding:
                    # d' / f' is how fast the derivative moves with the output.
                    ed += abs(rule.output_sensitivity(xs)) * own
                local_errors.append(ed)
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


# ---------------------------------------------------------------------------------------------------------
# Verdict
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One comparison: a quantity ("value" or a variable's name) between the engine and one referee."""

    quantity: str
    referee: str
    engine: float | None
    reference: float | None
    error: float | None
    allowed: float | None
    why: str
    status: str  # "ok", "DISAGREES" or "skipped"

    @property
    def ratio(self) -> float:
        """error / allowed (0 when skipped)."""
        if self.error is None or self.allowed is None or self.status == "skipped":
            return 0.0
        if not math.isfinite(self.error):
            return math.inf
        return self.error / self.allowed if self.allowed > 0 else (math.inf if self.error > 0 else 0.0)


@dataclass
class Blame:
    """The node to blame for a wrong gradient, and what was found there."""

    node: Expr
    text: str  # the node as source (subexpressions bound as in `to_source`)
    op: str
    depth: int  # ops between this node and the root
    explanation: str
    engine_local: list[float] | str | None = None
    exact_local: list[float] | None = None


@dataclass
class Verdict:
    """Everything one check found at one point."""

    expr: Expr
    point: dict[str, float]
    engine: EngineRun
    rows: list[Row] = field(default_factory=list)
    blame: Blame | None = None
    notes: list[str] = field(default_factory=list)
    referee_failures: list[str] = field(default_factory=list)
    ill_conditioned: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The engine ran and no referee disagrees with it."""
        return not self.engine.failed and not any(r.status == "DISAGREES" for r in self.rows)

    @property
    def disagreeing(self) -> list[str]:
        """The referees that disagree with the engine, in order."""
        return list(dict.fromkeys(r.referee for r in self.rows if r.status == "DISAGREES"))

    def worst_ratio(self, referee: str) -> float:
        ratios = [r.ratio for r in self.rows if r.referee == referee and r.status != "skipped"]
        return max(ratios, default=0.0)

    def summary(self) -> str:
        """A few lines for a person: what disagrees, by how much, and where."""
        where = ", ".join(f"{k}={v!r}" for k, v in self.point.items())
        if self.engine.failed:
            return f"{self.expr} at {where}: the engine raised {self.engine.error}"
        if self.ok:
            return f"{self.expr} at {where}: all referees agree"
        lines = [f"{self.expr} at {where}:"]
        for r in self.rows:
            if r.status == "DISAGREES":
                lines.append(
                    f"  d/d{r.quantity} engine {r.engine!r} vs {r.referee} {r.reference!r}: "
                    f"error {_g(r.error)} > allowed {_g(r.allowed)}"
                    if r.quantity != "value"
                    else f"  value: engine {r.engine!r} vs {r.referee} {r.reference!r}"
                )
        if self.blame:
            lines.append(f"  blame: {self.blame.text} ({self.blame.op}): {self.blame.explanation}")
        return "\n".join(lines)


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


# ---------------------------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------------------------


def compare(
    expr: Expr,
    point: Mapping[str, float],
    engine: EngineRun,
    referees: Sequence[RefereeResult],
    model: ErrorModel,
    adapter: EngineAdapter | None = None,
) -> Verdict:
    """Judge the engine's run against each referee under the error model; find the node to blame."""
    verdict = Verdict(expr, dict(point), engine)
    verdict.ill_conditioned = list(model.trouble)
    for ref in referees:
        if ref.failure:
            verdict.referee_failures.append(f"{ref.name}: {ref.failure}")
        verdict.seconds[ref.name] = ref.seconds
    if engine.failed:
        if adapter is not None:
            verdict.blame = _blame_crash(expr, model, adapter)
        return verdict
    for ref in referees:
        verdict.rows.extend(_value_rows(ref, engine, model))
        for name in variables(expr):
            verdict.rows.append(_gradient_row(name, ref, engine, model))
    # Blame follows wrong gradients through the model's adjoints; a value that alone disagrees gives it nothing
    # to follow (and a NaN bound once had it blame a correct `add` for "a dropped chain-rule factor").
    if adapter is not None and any(r.status == "DISAGREES" and r.quantity != "value" for r in verdict.rows):
        verdict.blame = blame(expr, point, engine, model, adapter)
    return verdict


def _value_rows(ref: RefereeResult, engine: EngineRun, model: ErrorModel) -> list[Row]:
    if ref.value is None or ref.name == "fd":  # FD's value is the float program's: nothing independent
        return []
    bound = model.value_bound()
    if not math.isfinite(bound):
        why = "ill-conditioned here: " + (model.trouble[0] if model.trouble else "the forward error bound overflows")
        return [Row("value", ref.name, engine.value, ref.value, None, None, why, "skipped")]
    if ref.name == "sympy":
        exact = ref.exact.get("__value__")
        with mpmath.workdps(60):
            error = float(abs(mpmath.mpf(engine.value) - exact)) if exact is not None else math.inf
        allowed = bound + abs(ref.value) * 1e-25 + TINY
        why = f"float64 forward bound {_g(bound)}"
    else:
        error = abs(engine.value - ref.value) if engine.value is not None else math.inf
        allowed = 2 * bound + TINY
        why = f"twice the float64 forward bound {_g(bound)}"
    status = _status(engine.value, ref.value, error, allowed)
    return [Row("value", ref.name, engine.value, ref.value, error, allowed, why, status)]


def _gradient_row(name: str, ref: RefereeResult, engine: EngineRun, model: ErrorModel) -> Row:
    g = engine.grads.get(name)
    reference = ref.grads.get(name)
    if reference is None:
        reason = ref.skipped.get(name, "no value")
        return Row(name, ref.name, g, None, None, None, reason, "skipped")
    if model.trouble:
        return Row(name, ref.name, g, reference, None, None, "ill-conditioned here: " + model.trouble[0], "skipped")
    bound = model.gradient_bound(name)
    if ref.name == "sympy":
        exact = ref.exact[name]
        with mpmath.workdps(60):
            error = float(abs(mpmath.mpf(g) - exact)) if g is not None and math.isfinite(g) else math.inf
        own = ref.errors.get(name, 0.0)
        allowed = bound + own
        why = f"float64 bound {_g(bound)} + symbolic {_g(own)}"
    elif ref.name == "fd":
        trunc = SAFETY * ref.errors.get(name, 0.0)
        # Each f on the stencil is off by at least its own rounding, and by as much as the model says f is.
        f_error = max(model.value_bound(), 2 * U * ref.scales.get(name, 0.0))
        rounding = SAFETY * ref.weights.get(name, 0.0) * f_error
        allowed = bound + trunc + rounding + TINY
        error = abs(g - reference) if g is not None else math.inf
        why = f"float64 bound {_g(bound)} + FD truncation {_g(trunc)} + FD rounding {_g(rounding)}"
    else:
        allowed = 2 * bound
        error = abs(g - reference) if g is not None else math.inf
        why = f"twice the float64 bound {_g(bound)} (both in float64)"
    return Row(name, ref.name, g, reference, error, allowed, why, _status(g, reference, error, allowed))


def _status(engine: float | None, reference: float | None, error: float, allowed: float) -> str:
    finite = engine is not None and reference is not None and math.isfinite(engine) and math.isfinite(reference)
    return "ok" if finite and math.isfinite(error) and error <= allowed else "DISAGREES"


# ---------------------------------------------------------------------------------------------------------
# Blame
# ---------------------------------------------------------------------------------------------------------


def blame(
    expr: Expr, point: Mapping[str, float], engine: EngineRun, model: ErrorModel, adapter: EngineAdapter
) -> Blame | None:
    """Where a wrong gradient starts: the deepest node whose adjoint is wrong although every node using it
    passes it the right adjoint... or rather, a user that passes the wrong one.

    Adjoints are judged against the model (exact up to its bounds). For the node found, each user's op is
    re-run in isolation at the same inputs: a wrong local derivative is blamed on that user; if every user is
    right in isolation, the fault is in how backward() combines them (accumulation, or the incoming gradient
    not being multiplied in). Without inner adjoints, every op is tested in isolation and the deepest wrong one
    is blamed.
    """
    order = nodes(expr)
    distance = _distance_from_root(expr, order)
    users: dict[bytes, list[Apply]] = {}
    for node in order:
        if isinstance(node, Apply):
            for a in node.args:
                users.setdefault(a.digest, []).append(node)

    def agrees(node: Expr) -> bool | None:
        mine = engine.grads.get(node.name) if isinstance(node, Var) else engine.adjoints.get(node.digest)
        if mine is None or isinstance(node, Const):
            return None
        nb = model.bounds[node.digest]
        return math.isfinite(mine) and abs(mine - nb.adjoint) <= 2 * model.adjoint_bound(node)

    if not engine.adjoints:
        ops = sorted((n for n in order if isinstance(n, Apply)), key=lambda n: -distance[n.digest])
        for node in ops:
            found = _isolate(node, model, adapter, distance[node.digest])
            if found.explanation.startswith(("its local derivative is wrong", "the op fails")):
                return found
        return None
    if agrees(expr) is False:
        return Blame(expr, to_source(expr), getattr(expr, "op", "leaf"), 0, "backward() does not seed the root with 1")
    suspects = [n for n in order if agrees(n) is False and all(agrees(u) is not False for u in users.get(n.digest, []))]
    for node in sorted(suspects, key=lambda n: -distance[n.digest]):
        its_users = list({u.digest: u for u in users.get(node.digest, [])}.values())
        for user in its_users:
            found = _isolate(user, model, adapter, distance[user.digest])
            if found.explanation.startswith(("its local derivative is wrong", "the op fails")):
                return found
        uses = len(users.get(node.digest, []))
        name = getattr(node, "op", "input variable")
        if uses > 1:
            return Blame(
                node,
                to_source(node),
                name,
                distance[node.digest],
                f"it is used {uses} times and each use passes back the right gradient, but its gradient is not "
                "their sum: look at how backward() accumulates gradients (+= rather than =)",
            )
        user = its_users[0]
        return Blame(
            user,
            to_source(user),
            user.op,
            distance[user.digest],
            "its local derivative is right in isolation (where the incoming gradient is 1), but the gradient it "
            "passes to its input is not the incoming gradient times that local derivative: a dropped chain-rule "
            "factor?",
        )
    return None


def _blame_crash(expr: Expr, model: ErrorModel, adapter: EngineAdapter) -> Blame | None:
    """The deepest op that raises when run alone at its inputs here, for an engine that crashed."""
    order = nodes(expr)
    distance = _distance_from_root(expr, order)
    for node in sorted((n for n in order if isinstance(n, Apply)), key=lambda n: -distance[n.digest]):
        found = _isolate(node, model, adapter, distance[node.digest])
        if found.explanation.startswith("the op fails"):
            return found
    return None


def _isolate(node: Apply, model: ErrorModel, adapter: EngineAdapter, dist: int) -> Blame:
    xs = [model.bounds[a.digest].value for a in node.args]
    exact = [float(v) for v in local_rule(node.op, node.params).first_exact(xs)]
    mine = adapter.local_derivatives(node.op, node.params, xs)
    text = to_source(node)
    if isinstance(mine, str):
        return Blame(node, text, node.op, dist, f"the op fails in isolation: {mine}", mine, exact)
    # The same error model, on the op alone with exact inputs, says how far a correct engine may be off.
    names = [f"a{i}" for i in range(len(xs))]
    alone = Apply(node.op, tuple(Var(n) for n in names), node.params)
    local_errors = (
        ErrorModel(alone, dict(zip(names, xs, strict=True)), model.accuracy).bounds[alone.digest].local_errors
    )
    wrong = [
        i for i, (m, e) in enumerate(zip(mine, exact, strict=True)) if not abs(m - e) <= SAFETY * local_errors[i] + TINY
    ]
    if wrong:
        args = ", ".join(f"{x!r}" for x in xs)
        which = " and ".join(f"d/d(input {i + 1}) = {mine[i]!r}, exactly {exact[i]!r}" for i in wrong)
        return Blame(node, text, node.op, dist, f"its local derivative is wrong at ({args}): {which}", mine, exact)
    return Blame(
        node,
        text,
        node.op,
        dist,
        "its local derivative is right in isolation, but the adjoint it passes to its inputs is not: "
        "look at how backward() accumulates gradients (+= rather than =) and orders the nodes",
        mine,
        exact,
    )


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
    the computed log is 0, the exact one -7e-24). f'' is sampled at the computed point and at the box's corners
    (inputs that are one node move together), which finds the maximum wherever f'' is monotone across the box
    (or |f''| convex); for the ops here, within the tiny boxes rounding makes, it is. Corners outside an op's
    domain are left out (the model then reports the point as ill-conditioned anyway), and so are corner values
    that overflow.

    Returns (value_curv, local_curv): value_curv[a][c] = max |sum of h[i][j], i in group a, j in group c| for
    the output's second-order term; local_curv[i][c] = max |sum of h[i][j], j in group c| for input i's local
    derivative (at the computed point even if infinite, so that an overflow is still reported).
    """

    def grouped(hm: list[list[float]]) -> list[list[float]]:
        by_groups = [[abs(sum(hm[i][j] for i in gi for j in gj)) for gj in same] for gi in same]
        by_input = [[abs(sum(hm[i][j] for j in g)) for g in same] for i in range(len(xs))]
        return by_groups + by_input  # value_curv's rows, then local_curv's

    rows = grouped(h)
    moving = [a for a, g in enumerate(same) if es[g[0]] > 0.0]
    if moving and not rule.constant_curvature:
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
    return rows[: len(same)], rows[len(same) :]


def _groups(node: Apply) -> list[list[int]]:
    """Argument positions grouped by node: [[0, 1]] for x * x, [[0], [1]] for x * y."""
    groups: dict[bytes, list[int]] = {}
    for i, a in enumerate(node.args):
        groups.setdefault(a.digest, []).append(i)
    return list(groups.values())


def _distance_from_root(expr: Expr, order: Sequence[Expr]) -> dict[bytes, int]:
    dist = {expr.digest: 0}
    for node in reversed(order):
        if isinstance(node, Apply) and node.digest in dist:
            for a in node.args:
                dist[a.digest] = max(dist.get(a.digest, 0), dist[node.digest] + 1)
    return dist
