"""The comparison policy: the only place where tolerances live.

There is no global rtol. The allowed error of each comparison is built from two parts:

1. The engine's own float64 error, bounded by the error model (`oracles.bounds.ErrorModel`).
2. The referee's own error estimate: ~0 for SymPy at 30+ digits (the distance between two precisions), the
   Richardson spread plus rounding / step for finite differences, and the same float64 bound for PyTorch.

A comparison passes when |engine - referee| <= allowed; NaN or infinity never passes. Where the error model
cannot be trusted (`ErrorModel.trouble`) the point is declared ill-conditioned and the gradient is not
compared there. A comparison that passes only because its allowed error is as large as the quantity itself
(an engine answering 0, or the opposite sign, would pass too) verifies nothing: its row says "not verified",
and a variable that no referee verified is listed in `Verdict.unverified`, never counted as agreement.

When the engine is wrong, `blame` finds the node: the deepest node whose own adjoint agrees with the exact
one while the adjoint it passes to an input does not, and checks that node's op in isolation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import mpmath

from oracles.bounds import SAFETY, TINY, ErrorModel, U
from oracles.engines import EngineAdapter, EngineRun
from oracles.expr import Apply, Const, Expr, Var, nodes, to_source, variables
from oracles.local import local_rule
from oracles.referee import RefereeResult

__all__ = ["NOT_VERIFIED", "Blame", "ErrorModel", "Row", "Verdict", "blame", "compare"]

NOT_VERIFIED = "not verified"


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
    status: str  # "ok", "DISAGREES", "not verified" (passes, but would pass a wrong answer too) or "skipped"
    terms: dict[str, float] = field(default_factory=dict)  # what `allowed` is the sum of, by name

    @property
    def ratio(self) -> float:
        """error / allowed (0 when not compared, or when the comparison verified nothing)."""
        if self.error is None or self.allowed is None or self.status in ("skipped", NOT_VERIFIED):
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
    def unverified(self) -> list[str]:
        """The variables whose gradient no referee verified here (each row skipped or not verified)."""
        if self.engine.failed:
            return []
        return [n for n in variables(self.expr) if not any(r.quantity == n and r.status == "ok" for r in self.rows)]

    @property
    def verified(self) -> bool:
        """No referee disagrees and every variable's gradient was verified by at least one of them."""
        return self.ok and not self.unverified

    @property
    def disagreeing(self) -> list[str]:
        """The referees that disagree with the engine, in order."""
        return list(dict.fromkeys(r.referee for r in self.rows if r.status == "DISAGREES"))

    def worst_ratio(self, referee: str) -> float:
        ratios = [r.ratio for r in self.rows if r.referee == referee and r.status in ("ok", "DISAGREES")]
        return max(ratios, default=0.0)

    def summary(self) -> str:
        """A few lines for a person: what disagrees, by how much, and where."""
        where = ", ".join(f"{k}={v!r}" for k, v in self.point.items())
        if self.engine.failed:
            return f"{self.expr} at {where}: the engine raised {self.engine.error}"
        if self.ok and self.unverified:
            which = ", ".join(f"d/d{n}" for n in self.unverified)
            return f"{self.expr} at {where}: no referee disagrees, but {which} could not be verified here"
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
    truth = _truth(referees)
    for ref in referees:
        for row in _value_rows(ref, engine, model):
            verdict.rows.append(_unless_vacuous(row, truth.get("value"), model.value_scale()))
        for name in variables(expr):
            row = _gradient_row(name, ref, engine, model)
            verdict.rows.append(_unless_vacuous(row, truth.get(name), model.reach(name)))
    # Blame follows wrong gradients through the inner adjoints (PyTorch's, else the model's); a value that alone
    # disagrees gives it nothing to follow (and a NaN bound once had it blame a correct `add` for "a dropped
    # chain-rule factor").
    if adapter is not None and any(r.status == "DISAGREES" and r.quantity != "value" for r in verdict.rows):
        inner = next((r.adjoints for r in referees if r.adjoints and not r.failure), None)
        verdict.blame = blame(expr, point, engine, model, adapter, inner)
    return verdict


def _truth(referees: Sequence[RefereeResult]) -> dict[str, float]:
    """The exact value and gradients, where the exact referee has them."""
    exact = next((r for r in referees if r.name == "sympy" and not r.failure), None)
    if exact is None:
        return {}
    found = {name: g for name, g in exact.grads.items() if g is not None}
    if exact.value is not None:
        found["value"] = exact.value
    return found


def _unless_vacuous(row: Row, truth: float | None, scale: float) -> Row:
    """`row`, marked "not verified" if it passes only because its allowed error is as large as what it checks.

    What it checks is the exact number (the referee's own where no exact one is known): an allowed error at
    least that large also passes 0 and numbers of the wrong sign. Where the exact number is 0, the question is
    whether a wrong answer would stand out: `scale` is how large a wrong local derivative would make it (for a
    gradient, `ErrorModel.reach`; for a value, the largest value in the expression).
    """
    if row.status != "ok" or row.allowed is None:
        return row
    size = abs(truth if truth is not None else row.reference or 0.0)
    if row.allowed < (size if size > 0.0 else scale):
        return row
    against = f"the exact {_g(size)}" if size > 0.0 else f"a wrong answer's size {_g(scale)}"
    row.why += f"; allowed error {_g(row.allowed)} is as large as {against}: ill-conditioned here"
    row.status = NOT_VERIFIED
    return row


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
        # (No slack beyond the two: where both are 0, every op was exact and so is the engine's value.)
        terms = {"float64 bound": bound, "symbolic": ref.errors["__value__"]}
        why = f"float64 forward bound {_g(bound)}"
    else:
        error = abs(engine.value - ref.value) if engine.value is not None else math.inf
        terms = {"float64 bound": 2 * bound}
        why = f"twice the float64 forward bound {_g(bound)}"
    allowed = sum(terms.values())
    status = _status(engine.value, ref.value, error, allowed)
    return [Row("value", ref.name, engine.value, ref.value, error, allowed, why, status, terms)]


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
        own = ref.errors[name]  # every referee that gives a gradient gives its own error bound with it
        terms = {"float64 bound": bound, "symbolic": own}
        why = f"float64 bound {_g(bound)} + symbolic {_g(own)}"
    elif ref.name == "fd":
        trunc = SAFETY * ref.errors[name]
        # Each f on the stencil is off by at least its own rounding, and by as much as the model says f is.
        f_error = max(model.value_bound(), 2 * U * ref.scales[name])
        rounding = SAFETY * ref.weights[name] * f_error
        terms = {"float64 bound": bound, "FD truncation": trunc, "FD rounding": rounding + TINY}
        error = abs(g - reference) if g is not None else math.inf
        why = f"float64 bound {_g(bound)} + FD truncation {_g(trunc)} + FD rounding {_g(rounding)}"
    else:
        terms = {"float64 bound": 2 * bound}
        error = abs(g - reference) if g is not None else math.inf
        why = f"twice the float64 bound {_g(bound)} (both in float64)"
    allowed = sum(terms.values())
    return Row(name, ref.name, g, reference, error, allowed, why, _status(g, reference, error, allowed), terms)


def _status(engine: float | None, reference: float | None, error: float, allowed: float) -> str:
    finite = engine is not None and reference is not None and math.isfinite(engine) and math.isfinite(reference)
    return "ok" if finite and math.isfinite(error) and error <= allowed else "DISAGREES"


# ---------------------------------------------------------------------------------------------------------
# Blame
# ---------------------------------------------------------------------------------------------------------


def blame(
    expr: Expr,
    point: Mapping[str, float],
    engine: EngineRun,
    model: ErrorModel,
    adapter: EngineAdapter,
    reference: Mapping[bytes, float] | None = None,
) -> Blame | None:
    """Where a wrong gradient starts: the deepest node whose adjoint is wrong although every node using it
    passes it the right adjoint... or rather, a user that passes the wrong one.

    Adjoints are judged against a referee's adjoints of the inner nodes (`reference`: PyTorch's, node digest ->
    adjoint) where it has them, else against the model's own float64 reverse pass, within twice the model's bound
    (both are float64 computations of the exact adjoint). For the node found, each user's op is
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
        theirs = (reference or {}).get(node.digest, model.bounds[node.digest].adjoint)
        return math.isfinite(mine) and abs(mine - theirs) <= 2 * model.adjoint_bound(node)

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


def _distance_from_root(expr: Expr, order: Sequence[Expr]) -> dict[bytes, int]:
    dist = {expr.digest: 0}
    for node in reversed(order):
        if isinstance(node, Apply) and node.digest in dist:
            for a in node.args:
                dist[a.digest] = max(dist.get(a.digest, 0), dist[node.digest] + 1)
    return dist
