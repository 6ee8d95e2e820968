"""Each op of someone else's engine, alone and then in the smallest contexts that expose a wrong backward.

A *row* is what a student would call one operation: an op of the table (`tanh`, `sub`, `x ** c` as `pow`), a
form with a plain number on one side (`2 - x` is the row `c - x`, `x - 2` the row `x - c`, each tried with an
int and a float), or an op the user declared (`--op`). Each row is probed

1. alone, at points inside its domain (`probe_alone`): does it exist, does it run, does it return a Value, is
   its value right, is each gradient a number and right? Where the engine's forward is less accurate than a
   correctly rounded one, how much less is measured here, and the error model allows for it everywhere else;
2. in context (`probe_in_context`), with ops that passed alone around it: under an incoming gradient that is
   not 1 (`f(x) * k`) and that is 0 (`f(x) * 0`), and with its input used again (`f(x) + x`,
   `f(g(x)) + g(x)`). An op whose backward ignores `out.grad`, or overwrites its input's gradient instead of
   adding to it, passes alone and fails here, on its own row, with the kind of fault named.

Every finding carries the smallest expression that shows it, as `gradverify check-engine --replay` reads it.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath

from autodiff.ops import OPS
from gradverify.engines.child import DATA_NAMES, GRAD_NAMES
from gradverify.engines.remote import Observation, RemoteEngine
from oracles.bounds import KAPPA
from oracles.check import Checker
from oracles.engines import EngineRun
from oracles.expr import Apply, Const, Expr, Var, nodes, to_source, variables
from oracles.local import local_rule

__all__ = ["DEFECTS", "KINDS", "Row", "Trusted", "exact_value", "probe_alone", "probe_in_context", "rows_for"]

U = 2.0**-53

KINDS = {
    "correct": "correct",
    "missing": "missing",
    "unsupported": "unsupported",
    "not-exercised": "not exercised",
    "wrong-value": "wrong value",
    "wrong-gradient": "wrong gradient",
    "crash": "crash",
    "returns-none": "returns None",
    "returns-non-value": "returns a plain number, not a Value",
    "grad-not-number": "gradient is not a number",
    "overwrites-gradient": "overwrites its input's gradient instead of adding to it",
    "ignores-upstream": "ignores the incoming gradient",
    "too-slow": "too slow",
}
"""Row verdicts: code -> what the report says."""

DEFECTS = frozenset(KINDS) - {"correct", "missing", "unsupported", "not-exercised"}

PROBE_VALUES = (0.5, -0.7, 1.3, -1.9, 2.6, 0.05, -0.003, 8.0, -6.5, 1.0, 3e-5, -4.2)
INT_CONSTANTS = (2, 3, -1)
FLOAT_CONSTANTS = (2.0, 0.5, -1.5)
SAMPLES = 24  # random points per op for measuring how accurate its forward is
K = 2.5  # the incoming gradient of the context probes (a value a mistake cannot produce by chance)

# Number on one side: row name -> (op, side of the number)
FORMS = {
    "x + c": ("add", 1),
    "c + x": ("add", 0),
    "x - c": ("sub", 1),
    "c - x": ("sub", 0),
    "x * c": ("mul", 1),
    "c * x": ("mul", 0),
    "x / c": ("div", 1),
    "c / x": ("div", 0),
    "c ** x": ("powv", 0),
}


@dataclass
class Case:
    """One probe: an expression and a point (with whole-number constants passed as ints when `ints`)."""

    expr: Expr
    point: dict[str, float]
    ints: bool = False

    def text(self) -> str:
        shown = to_source(self.expr)
        if self.ints:
            shown = _ints_shown(self.expr, shown)
        at = ",".join(f"{k}={v!r}" for k, v in self.point.items())
        return f"{shown}  at {at}"


def _ints_shown(expr: Expr, shown: str) -> str:
    for node in nodes(expr):
        if isinstance(node, Const) and node.value == int(node.value):
            shown = shown.replace(repr(node.value), str(int(node.value)))
    for node in nodes(expr):
        if isinstance(node, Apply) and node.params and node.params[0] == int(node.params[0]):
            shown = shown.replace(f"** {node.params[0]!r}", f"** {int(node.params[0])}")
    return shown


@dataclass
class Row:
    """What the probes found about one row."""

    name: str
    op: str  # the table op (or declared op) behind the row
    kind: str = "correct"
    detail: str = ""
    case: Case | None = None  # the smallest case that shows the fault
    checked: int = 0  # expressions this row was checked in
    random: int = 0  # random expressions it appeared in
    notes: list[str] = field(default_factory=list)
    passed: list[tuple[Case, Observation]] = field(default_factory=list)  # alone, for the context probes
    refuses: str = ""  # "int" or "float": numbers of this kind it does not take (`x ** 0.5` with int powers only)
    walk_independent: bool = False  # its fault was shown where the walk's order cannot matter (`f(x) + x`)

    @property
    def defect(self) -> bool:
        return self.kind in DEFECTS

    def fail(self, kind: str, detail: str, case: Case | None) -> None:
        if self.kind == "correct" or self.kind == "not-exercised":
            self.kind, self.detail, self.case = kind, detail, case


# ---------------------------------------------------------------------------------------------------------
# The rows and their cases
# ---------------------------------------------------------------------------------------------------------


def rows_for(engine: RemoteEngine, custom: Mapping[str, int]) -> dict[str, Row]:
    """Every row: the table's ops, the number forms of the binary operators, the declared ops."""
    ops = engine.config["ops"]
    rows: dict[str, Row] = {}
    for name in OPS:
        if name in custom:
            continue
        rows[name] = Row(name, name)
        if ops.get(name) is None:
            rows[name].kind = "missing"
            spelled = OPS[name].method if OPS[name].method.startswith("__") else f"{OPS[name].method}()"
            rows[name].detail = f"the engine has no {spelled}"
    for form, (op, _side) in FORMS.items():
        rows[form] = Row(form, op)
        if ops.get(op) is None:
            rows[form].kind = "missing"
            rows[form].detail = f"the engine has no {OPS[op].symbol} at all"
    for name in custom:
        rows[name] = Row(name, name)
        if ops.get(name) is None:
            rows[name].kind = "missing"
            rows[name].detail = f"the engine has no {name}() (declared with --op)"
    return rows


def _inside(op: Any, xs: Sequence[float]) -> bool:
    if not all(x in d for x, d in zip(xs, op.domains(), strict=True)):
        return False
    if any(abs(xs[k.arg] - k.at) <= 1e-6 for k in op.kinks):
        return False
    try:
        v = op.forward(*xs)
    except (OverflowError, ValueError, ZeroDivisionError):
        return False
    return isinstance(v, float) and math.isfinite(v) and abs(v) < 1e12


def cases_alone(row: Row, rng: random.Random) -> list[Case]:
    """The probe points of a row: fixed ones first (they make the smallest counterexamples), then a few random
    ones for the accuracy measurement."""
    family = OPS[row.op]
    names = ["x", "y"][: family.arity]
    if row.name in FORMS:
        op, side = FORMS[row.name]
        cases = []
        for constants, ints in ((INT_CONSTANTS, True), (FLOAT_CONSTANTS, False)):
            for c in constants:
                if op == "powv" and c <= 0:
                    continue
                for x in PROBE_VALUES[:6]:
                    xs = [float(c), x] if side == 0 else [x, float(c)]
                    if _inside(family, xs):
                        args: tuple[Expr, ...] = (
                            (Const(float(c)), Var("x")) if side == 0 else (Var("x"), Const(float(c)))
                        )
                        cases.append(Case(Apply(op, args), {"x": x}, ints))
        return cases
    param_sets: list[tuple[float, ...]] = (
        [tuple(p) for p in zip(*(p.examples for p in family.params), strict=True)] if family.params else [()]
    )
    cases = []
    for params in param_sets:
        bound = family.bind(*params) if params else family
        variants = [True, False] if params and all(p == int(p) for p in params) else [False]
        for i, a in enumerate(PROBE_VALUES):
            xs = [a] if family.arity == 1 else [a, PROBE_VALUES[(i + 3) % len(PROBE_VALUES)]]
            if params == (0.0,) and a == 0.0:
                continue
            if _inside(bound, xs):
                for ints in variants:
                    cases.append(
                        Case(
                            Apply(row.op, tuple(Var(n) for n in names), params), dict(zip(names, xs, strict=True)), ints
                        )
                    )
    for _ in range(SAMPLES if not family.params else 4):
        params = rng.choice(param_sets)
        bound = family.bind(*params) if params else family
        xs = [rng.uniform(-4.0, 4.0) for _ in names]
        if not _inside(bound, xs):
            xs = [abs(x) + 0.05 for x in xs]
        if _inside(bound, xs):
            cases.append(Case(Apply(row.op, tuple(Var(n) for n in names), params), dict(zip(names, xs, strict=True))))
    return cases


def exact_value(expr: Expr, point: Mapping[str, float]) -> Any:
    """The exact value of `expr` at `point` (mpmath, 40 digits)."""
    with mpmath.workdps(40):
        value: dict[bytes, Any] = {}
        for node in nodes(expr):
            if isinstance(node, Var):
                value[node.digest] = mpmath.mpf(point[node.name])
            elif isinstance(node, Const):
                value[node.digest] = mpmath.mpf(node.value)
            else:
                assert isinstance(node, Apply)
                value[node.digest] = local_rule(node.op, node.params).value_mp([value[a.digest] for a in node.args])
        return value[expr.digest]


# ---------------------------------------------------------------------------------------------------------
# Alone
# ---------------------------------------------------------------------------------------------------------


def probe_alone(
    engine: RemoteEngine,
    rows: dict[str, Row],
    checker_for: Callable[[dict[str, tuple[float, float]]], Checker],
    unstable: list[str],
) -> dict[str, tuple[float, float]]:
    """Run every row alone; classify it; return the measured accuracy of each op's forward (ulps, absolute in
    units of 2**-53), for the error model everywhere else."""
    rng = random.Random(20261130)
    seen: dict[str, list[tuple[Case, Observation]]] = {}
    hung: list[str] = []  # rows whose backward() never returned
    for row in rows.values():
        if row.kind == "missing":
            continue
        if len(hung) >= 2:  # every try costs the whole time limit: the rest would only say the same, slowly
            row.kind = "too-slow"
            row.detail = f"not tried: backward() did not return for {' and '.join(hung)} either"
            continue
        observed = seen[row.name] = []
        for case in cases_alone(row, rng):
            obs = engine.observe(case.expr, case.point, case.ints)
            observed.append((case, obs))
            refused = obs.error is not None and (obs.error.get("unsupported") or obs.error.get("refused"))
            if obs.status == "slow" and obs.text.endswith("in backward()"):
                hung.append(row.name)
            if obs.status in ("slow", "died", "bad") or (obs.status == "error" and not refused):
                break  # the row has failed; more points only cost time (a hanging op: the time limit each)
    accuracy: dict[str, tuple[float, float]] = {}
    for name, observed in seen.items():
        row = rows[name]
        _classify_alone(row, observed)
        if row.kind in ("wrong-value", "wrong-gradient") and row.case is not None:
            first = next(o for c, o in observed if c is row.case)
            if _varies(engine, row.case, first, unstable):
                if _walk_dependent(row, first):
                    row.kind, row.detail, row.case = "correct", "", None
                else:
                    row.detail += " (and it changes from run to run)"
        if row.kind == "correct":
            rel, ab = _accuracy(observed)
            old = accuracy.get(row.op, (OPS[row.op].ulps if row.op in OPS else 0.5, 0.0))
            accuracy[row.op] = (max(old[0], rel), max(old[1], ab))
    # Allow several times what was seen: a handful of points cannot find the worst case of a formula.
    accuracy = {op: (max(OPS[op].ulps if op in OPS else 0.5, 4 * rel), 4 * ab) for op, (rel, ab) in accuracy.items()}
    checker = checker_for(accuracy)
    imprecise: dict[str, float] = {}  # op -> the worst relative error of a derivative right to IMPRECISE
    for name, observed in seen.items():
        row = rows[name]
        if row.kind != "correct":
            continue
        for case, obs in observed:
            if not obs.ok:  # a form the engine refuses (x ** 0.5 where only int powers are taken): not judged
                continue
            row.checked += 1
            verdict = checker.judge(case.expr, case.point, _run(obs))
            bad = [r for r in verdict.rows if r.status == "DISAGREES" and r.quantity != "value"]
            close = _relative_errors(bad, obs)
            if bad and close is not None:
                imprecise[row.op] = max(imprecise.get(row.op, 0.0), close)
                bad = []
            if bad:
                detail = "; ".join(f"d/d{r.quantity} gives {r.engine!r}, exactly {r.reference!r}" for r in bad)
                missing = [r for r in bad if obs.grads.get(r.quantity) is None]
                if missing:
                    detail = "; ".join(f"no gradient reaches {r.quantity} (exactly {r.reference!r})" for r in missing)
                if _varies(engine, case, obs, unstable):
                    if _walk_dependent(row, obs):
                        continue
                    detail += " (and it changes from run to run)"
                row.fail("wrong-gradient", f"{case.text()}: {detail}", case)
                break
            row.passed.append((case, obs))
    for op, worst in imprecise.items():
        # A derivative formula less exact than a few roundings (a numerical derivative, float32 somewhere)
        # is allowed for from here on, as a forward's measured inaccuracy is.
        ulps, ab = accuracy.get(op, (OPS[op].ulps, 0.0))
        accuracy[op] = (max(ulps, 4 * worst / (KAPPA * U)), ab)
        for row in rows.values():
            if row.op == op and row.kind == "correct":
                row.notes.append(f"its derivative is less exact than a few roundings (off by {worst:.1e} relative)")
    if imprecise:
        checker = checker_for(accuracy)
    for row in rows.values():
        if row.kind == "correct" and row.passed:
            _repeat(engine, row, checker, unstable)
    return accuracy


IMPRECISE = (1e-6, 1e-9)
"""A derivative within 1e-6 of the exact one relatively, or 1e-9 absolutely (tanh'(8) = 4.5e-7 from a central
difference), is imprecise, not wrong: no bug in a formula comes this close, and a comparison with PyTorch to
its usual tolerances calls it right."""


def _relative_errors(bad: list[Any], obs: Observation) -> float | None:
    """The largest relative error of the disagreeing gradients, if every one is within IMPRECISE."""
    worst = 0.0
    for r in bad:
        got, exact = obs.grads.get(r.quantity), r.reference
        if got is None or exact is None or not math.isfinite(got):
            return None
        error = abs(got - exact)
        if error > IMPRECISE[0] * abs(exact) + IMPRECISE[1]:
            return None
        if exact != 0:  # at an exact 0 (log(|x| + 1e-10) at x = 1) the floor alone decides
            worst = max(worst, error / abs(exact))
    return worst


def _varies(engine: RemoteEngine, case: Case, first: Observation, unstable: list[str]) -> bool:
    """Run a failing case again on graphs built at other addresses (which reorders any `set` of children). If
    the answer changes, that is nondeterminism: recorded in `unstable`, and True."""
    tries = 3 if first.nodes is not None and first.nodes <= 1 else 6
    for i in range(tries):
        again = engine.observe(case.expr, case.point, case.ints, shuffle=5 + 12 * i)
        if (again.status, again.value, again.grads) != (first.status, first.value, first.grads):
            unstable.append(
                f"{case.text()}: {first.value!r}, {first.grads} on one run, {again.value!r}, {again.grads} on another"
            )
            return True
    return False


def _walk_dependent(row: Row, first: Observation) -> bool:
    """A result that changes from run to run, on a graph of several engine nodes (`x - y` built as
    `x + (-y)`): the order of the walk explains it, not this op. Noted once on the row."""
    if first.nodes is None or first.nodes <= 1:
        return False
    note = "right or wrong from run to run, as the graph walk goes (see nondeterministic)"
    if note not in row.notes:
        row.notes.append(note)
    return True


REPEATS = 96  # more runs of the cases that passed: a fault that strikes one time in ten is missed 0.9**96 = 4e-5


def _repeat(engine: RemoteEngine, row: Row, checker: Checker, unstable: list[str]) -> None:
    """The row's passing cases again, on fresh graphs built at other addresses: the same answers, bit for bit?
    Cases with a nonzero value and gradient first: a fault that zeroes a result at random (dropout left in
    relu) cannot show where the result is 0 anyway."""
    informative = [(c, o) for c, o in row.passed if o.value and any(o.grads.values())] or row.passed
    for i in range(REPEATS):
        case, first = informative[i % len(informative)]
        obs = engine.observe(case.expr, case.point, case.ints, shuffle=1 + (i * 7) % 50)
        if obs.status == first.status and (obs.value, obs.grads) == (first.value, first.grads):
            continue
        problem = _problem(case, obs)
        verdict = checker.judge(case.expr, case.point, _run(obs)) if problem is None else None
        bad = [r for r in verdict.rows if r.status == "DISAGREES" and r.quantity != "value"] if verdict else []
        change = f"{case.text()}: {first.value!r}, {first.grads} on one run, {obs.value!r}, {obs.grads} on another"
        if problem is None and not bad:
            row.notes.append(f"its results differ in the last bits from run to run ({change})")
            continue
        unstable.append(change)
        if _walk_dependent(row, obs):
            return
        if problem is not None:
            row.fail(problem[0], f"{problem[1]} (on one run of several: it changes from run to run)", case)
        else:
            numbers = "; ".join(f"d/d{r.quantity} gives {r.engine!r}, exactly {r.reference!r}" for r in bad)
            row.fail("wrong-gradient", f"{case.text()}: {numbers} (on one run of several: it changes)", case)
        return


def _run(obs: Observation) -> EngineRun:
    return run_of(obs.value, obs.grads)


def run_of(value: float | None, grads: Mapping[str, float | None]) -> EngineRun:
    """What the Checker judges: a value and gradients, a missing gradient read as 0."""
    return EngineRun(value, {k: (v if v is not None else 0.0) for k, v in grads.items()})


def _classify_alone(row: Row, observed: list[tuple[Case, Observation]]) -> None:
    refusals: list[tuple[Case, Observation]] = []
    usable = 0
    for case, obs in observed:
        if (
            obs.status == "error"
            and obs.error is not None
            and (obs.error.get("unsupported") or obs.error.get("refused"))
        ):
            refusals.append((case, obs))
            continue
        usable += 1
        problem = _problem(case, obs)
        if problem is not None:
            kind, detail = problem
            row.fail(kind, detail, case)
            return
    if refusals and not usable:
        case, obs = refusals[0]
        assert obs.error is not None
        python = obs.error.get("unsupported") and not obs.error.get("refused")  # a raise in the engine is its own
        how = "Python says the operator is not defined" if python else "the engine refuses it"
        if python and obs.error.get("where"):  # raised inside the engine's __pow__, on the Value it was given
            how = "its ** takes numbers only"
        row.kind = "unsupported" if row.name in FORMS else "missing"
        row.detail = f"{how}: {obs.error['text']}"
        row.case = case
        return
    if refusals:
        kinds = {c.ints for c, _ in refusals}
        which = "int" if kinds == {True} else ("float" if kinds == {False} else "some")
        case, obs = refusals[0]
        assert obs.error is not None
        row.notes.append(f"with {which} numbers: unsupported ({obs.error['text']})")
        row.refuses = which
    if not usable:
        row.kind = "not-exercised"
        row.detail = "no point inside its domain to try it at"


VALUE_NAMES = frozenset(DATA_NAMES + GRAD_NAMES)


def _problem(case: Case, obs: Observation) -> tuple[str, str] | None:
    """What is wrong with one observation, apart from the gradient's accuracy (judged by the error model)."""
    shown = case.text()
    if obs.status == "slow":
        return "too-slow", f"{shown}: {obs.text}"
    if obs.status == "died":
        return "crash", f"{shown}: {obs.text}"
    if obs.status == "error":
        text = obs.error["text"] if obs.error else ""
        hint = ""
        missing = re.search(r"'(?:int|float)' object has no attribute '(\w+)'", text)
        # `other.data` with `other` the number itself; not `out._backward = ...` on a result left a float, nor
        # `_prev` of a number an op put among a node's children.
        if any(c.value for c in nodes(case.expr) if isinstance(c, Const)) and missing and missing[1] in VALUE_NAMES:
            hint = " (the number is used as if it were a Value: it is never wrapped)"
        return "crash", f"{shown}: {obs.describe()}{hint}"
    if obs.status == "bad":
        kind = "returns-none" if obs.bad and obs.bad["kind"] == "none" else "returns-non-value"
        return kind, f"{shown}: {obs.describe()}"
    if obs.value_kind != "number" or obs.value is None:
        held = {"value": "a Value (a Value inside a Value)", "none": "None"}.get(obs.value_kind, "not a number")
        return "wrong-value", f"{shown}: the result's value is {held}"
    exact = exact_value(case.expr, case.point)
    if not math.isfinite(obs.value) or not abs(mpmath.mpf(obs.value) - exact) <= mpmath.mpf(1e-6) * abs(exact) + 1e-12:
        return "wrong-value", f"{shown} gives {obs.value!r}, expected {mpmath.nstr(exact, 17)}"
    for name, kind in obs.grad_kinds.items():
        if kind == "value":
            return (
                "grad-not-number",
                f"{shown}: the gradient of {name} is a Value (holding {obs.grads[name]!r}), not a number",
            )
        if kind == "other":
            return "grad-not-number", f"{shown}: the gradient of {name} is not a number"
    for name, g in obs.grads.items():
        if g is not None and not math.isfinite(g):
            return "wrong-gradient", f"{shown}: d/d{name} gives {g!r}"
    return None


def _accuracy(observed: Iterable[tuple[Case, Observation]]) -> tuple[float, float]:
    """The worst forward error seen: in ulps of the result where it is not small, else in units of 2**-53."""
    rel, ab = 0.0, 0.0
    for case, obs in observed:
        if not obs.ok or obs.value is None:
            continue
        exact = exact_value(case.expr, case.point)
        error = float(abs(mpmath.mpf(obs.value) - exact))
        scale = abs(float(exact))
        if scale >= 0.1:
            rel = max(rel, error / math.ulp(float(exact)))
        else:
            ab = max(ab, error / U)
    return rel, ab


# ---------------------------------------------------------------------------------------------------------
# In context
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Trusted:
    """Ops that passed alone, to build contexts with: a root that scales the incoming gradient, a root that adds
    a second use of an input, and unary ops to nest."""

    scale: str | None  # "mul" (P * k) or "div" (P / k), or a unary op h (h(P))
    reuse: str | None  # "add", "sub" or "mul": (P op x)
    unary: Sequence[str]


def trusted(rows: Mapping[str, Row]) -> Trusted:
    ok = {name for name, r in rows.items() if r.kind == "correct" and r.passed}
    scale = next((o for o in ("mul", "div", "exp", "tanh", "sigmoid") if o in ok), None)
    reuse = next((o for o in ("add", "sub", "mul") if o in ok), None)
    unary = [o for o in ("tanh", "exp", "sigmoid") if o in ok]
    return Trusted(scale, reuse, unary)


def probe_in_context(
    engine: RemoteEngine,
    rows: dict[str, Row],
    checker: Checker,
    trust: Trusted,
    nested: bool,
    unstable: list[str],
) -> None:
    """Each row that passed alone, under an incoming gradient of K and of 0 and with its inputs reused
    (`nested=False`), or with its input an inner node used elsewhere too (`nested=True`, only once the graph
    walk is known to be right: a shared inner node counted twice is the walk's fault, not the op's).

    A failure that does not repeat on a fresh graph is not the op's: it goes to `unstable` (nondeterminism)."""
    for row in rows.values():
        if row.kind != "correct" or not row.passed:
            continue
        for case, alone in _good_points(row):
            for pattern, expr, point, expect in _contexts(case, trust):
                if (pattern == "nested") != nested:
                    continue
                obs = engine.observe(expr, point, case.ints)
                row.checked += 1
                context = Case(expr, point, case.ints)
                problem = _problem(context, obs)
                verdict = checker.judge(expr, point, _run(obs)) if problem is None else None
                bad = [r for r in verdict.rows if r.status == "DISAGREES" and r.quantity != "value"] if verdict else []
                if problem is None and not bad:
                    continue
                if _varies(engine, context, obs, unstable):
                    _walk_dependent(row, obs)
                    continue
                if problem is not None:
                    kind, detail = problem
                    if kind == "wrong-value":  # the context's other ops passed alone: still this row's fault
                        kind = "wrong-gradient"
                    row.fail(kind, f"alone it is right; {detail}", context)
                    break
                kind, why = expect(obs, alone, bad)
                numbers = "; ".join(f"d/d{r.quantity} gives {r.engine!r}, exactly {r.reference!r}" for r in bad)
                row.fail(kind, f"{why}: {context.text()}: {numbers}", context)
                break
            if row.kind != "correct":
                break


def _good_points(row: Row) -> list[tuple[Case, Observation]]:
    """Two passing cases where every gradient is clearly nonzero (a fault times 0 is 0), fixed points first."""
    good = [
        (c, o)
        for c, o in row.passed
        if all(g is not None and 0.05 <= abs(g) <= 50 for g in o.grads.values()) and o.value is not None
    ]
    return (good or row.passed)[:2]


Expect = Callable[[Observation, Observation, list[Any]], tuple[str, str]]


def _contexts(case: Case, trust: Trusted) -> list[tuple[str, Expr, dict[str, float], Expect]]:
    p, point = case.expr, dict(case.point)
    names = list(variables(p))
    out: list[tuple[str, Expr, dict[str, float], Expect]] = []
    if trust.scale is not None:
        if trust.scale in ("mul", "div"):
            scaled = Apply(trust.scale, (p, Var("k")))
            out.append(("upstream", scaled, {**point, "k": K}, _ignores(names)))
        else:
            out.append(("upstream", Apply(trust.scale, (p,)), point, _ignores(names)))
        if trust.scale == "mul":
            out.append(("zero", Apply("mul", (p, Var("k"))), {**point, "k": 0.0}, _ignores(names)))
    if trust.reuse is not None:
        for n in names:
            combined = Apply(trust.reuse, (p, Var(n)))
            out.append(("reuse", combined, point, _overwrites(n, trust.reuse, p, point)))
    if trust.unary and len(names) == 1 and trust.reuse is not None and isinstance(p, Apply):
        # f(g(x)) + g(x): the op's input is an inner node that is also used elsewhere.
        g = Apply(trust.unary[0], (Var(names[0]),))
        inner = _substitute(p, names[0], g)
        if inner is not None:
            out.append(("nested", Apply(trust.reuse, (inner, g)), point, _generic))
    return out


def _substitute(p: Apply, name: str, g: Expr) -> Expr | None:
    args = tuple(g if a == Var(name) else a for a in p.args)
    try:
        return Apply(p.op, args, p.params)
    except ValueError:
        return None


def _generic(obs: Observation, alone: Observation, bad: list[Any]) -> tuple[str, str]:
    return "wrong-gradient", "right alone, wrong when its input is also used elsewhere"


def _close(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-300


def _ignores(names: list[str]) -> Expect:
    def expect(obs: Observation, alone: Observation, bad: list[Any]) -> tuple[str, str]:
        if all(_close(obs.grads.get(n), alone.grads.get(n)) for n in names):
            return "ignores-upstream", "its backward ignores the incoming gradient (out.grad)"
        return "wrong-gradient", "right alone, wrong when the incoming gradient is not 1"

    return expect


def _overwrites(name: str, reuse: str, p: Expr, point: Mapping[str, float]) -> Expect:
    def expect(obs: Observation, alone: Observation, bad: list[Any]) -> tuple[str, str]:
        # (P op x): the path through P gives d(op)/dP * dP/dx, the direct one d(op)/dx. An op that overwrites
        # its input's gradient loses the direct path, which the root (processed first) put there.
        value = float(exact_value(p, point))
        d = local_rule(reuse).first([value, point[name]])
        g_alone = alone.grads.get(name)
        if g_alone is not None and _close(obs.grads.get(name), d[0] * g_alone):
            return "overwrites-gradient", f"its backward sets {name}'s gradient instead of adding to it"
        return "wrong-gradient", "right alone, wrong when its input is also used elsewhere"

    return expect


def overwrites_beside_the_walk(
    engine: RemoteEngine, rows: dict[str, Row], checker: Checker, reuse: str, assigners: set[str]
) -> None:
    """When every `x op x` counts one use (backward() does not sum, or every binary op overwrites), `f(x) + x`
    still tells the one-input ops apart: the root runs first and its write lands on a zero, so `f(x) + x` comes
    out wrong only where f's own backward overwrites too. If every one-input op fails it, that may be the walk:
    a row is blamed then only if its own code assigns its input's gradient (`self.grad = ...`)."""
    failed: list[tuple[Row, Case, str]] = []
    tried = 0
    for row in rows.values():
        if row.kind != "correct" or not row.passed or len(variables(row.passed[0][0].expr)) != 1:
            continue
        case, alone = _good_points(row)[0]
        (name,) = variables(case.expr)
        expr = Apply(reuse, (case.expr, Var(name)))
        context = Case(expr, case.point, case.ints)
        obs = engine.observe(expr, case.point, case.ints)
        tried += 1
        problem = _problem(context, obs)
        if problem is not None:
            continue  # not what this probe is about; the row's other checks see it
        verdict = checker.judge(expr, case.point, _run(obs))
        bad = [r for r in verdict.rows if r.status == "DISAGREES" and r.quantity != "value"]
        if not bad:
            continue
        kind, why = _overwrites(name, reuse, case.expr, case.point)(obs, alone, bad)
        if kind == "overwrites-gradient":
            numbers = "; ".join(f"d/d{r.quantity} gives {r.engine!r}, exactly {r.reference!r}" for r in bad)
            failed.append((row, context, f"{why}: {context.text()}: {numbers}"))
    for row, context, detail in failed:
        if len(failed) < tried or row.op in assigners:
            row.fail("overwrites-gradient", detail, context)
            row.walk_independent = True  # the root's backward runs first in any walk that starts at the root


def self_reuse(engine: RemoteEngine, rows: dict[str, Row], checker: Checker) -> None:
    """x op x for each binary op that passed alone: its two inputs are one node, so both contributions must add."""
    for name in ("add", "sub", "mul", "div", "powv"):
        row = rows.get(name)
        if row is None or row.kind != "correct" or not row.passed:
            continue
        op = OPS[name]
        for x in (1.3, 0.5, 2.6):
            if not _inside(op, [x, x]):
                continue
            expr = Apply(name, (Var("x"), Var("x")))
            case = Case(expr, {"x": x})
            obs = engine.observe(expr, case.point)
            row.checked += 1
            problem = _problem(case, obs)
            if problem is not None and obs.error is not None and obs.error.get("explicit"):
                # `assert len(parents) == len(set(parents))`: the engine refuses a node used twice by one op, on
                # purpose. A limit, said on the row; shared nodes are still judged in other shapes.
                row.notes.append(f"refuses x {op.symbol} x on purpose: {obs.describe()}")
                break
            if problem is not None:
                row.fail(problem[0], problem[1], case)
                break
            verdict = checker.judge(expr, case.point, _run(obs))
            bad = [r for r in verdict.rows if r.status == "DISAGREES" and r.quantity != "value"]
            if bad:
                d = local_rule(name).first([x, x])
                numbers = f"d/dx gives {obs.grads.get('x')!r}, exactly {bad[0].reference!r}"
                if any(_close(obs.grads.get("x"), di) for di in d):
                    row.fail("overwrites-gradient", f"x {op.symbol} x: only one use of x counts: {numbers}", case)
                else:
                    row.fail("wrong-gradient", f"x {op.symbol} x: {numbers}", case)
                break
