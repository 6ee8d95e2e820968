"""Random expressions on someone else's engine: the ops that passed every probe, mixed in DAGs of up to 40 ops.

Hypothesis draws the DAGs (`oracles.strategies.checked_dags`, values kept below 50 so that a naive tanh
through exp(2x) does not overflow: large inputs are a finding of their own) and shrinks a failure to the
smallest expression that shows it; each is judged three ways by the `Checker`. An op blamed for a wrong local
derivative gets the counterexample on its own row and the search goes on without it; a failure no op explains
is an engine-level finding. The engine's answers are remembered per expression and point, so that Hypothesis
sees a deterministic test; a failing case is then run again on fresh graphs, and answers that change from run
to run are reported as nondeterminism, not as a crash of the search.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from autodiff.ops import OPS
from gradverify.engines.probes import FORMS, Row
from gradverify.engines.remote import RemoteEngine
from gradverify.engines.walks import Finding
from gradverify.fuzz import private_hypothesis_home
from oracles.check import Checker, PointOutsideDomain
from oracles.custom import expand
from oracles.engines import EngineAdapter, EngineRun
from oracles.expr import Apply, Expr, Var, nodes, to_source

__all__ = ["random_expressions"]

OPS_AT_IMPORT = frozenset(OPS)  # the table's own ops; anything added later was declared (oracles.custom)

# x ** 0 is probed alone (its derivative at 0 is a classic edge case); random expressions leave it out.
_PARAMS = {"pow": [p for p in OPS["pow"].params[0].examples if p != 0.0]}


class _Remembered(EngineAdapter):
    """The remote engine with its answers remembered per (expression, point)."""

    def __init__(self, engine: RemoteEngine) -> None:
        self.engine = engine
        self.memo: dict[tuple[bytes, tuple[tuple[str, float], ...]], EngineRun] = {}
        super().__init__(
            name=engine.name,
            make=engine.make,
            data=engine.data,
            grad=engine.grad,
            backward=engine.backward,
            method=engine.method,
            keeps_inner_grads=True,
        )

    def run(self, expr: Expr, point: Mapping[str, float]) -> EngineRun:
        key = (expr.digest, tuple(sorted(point.items())))
        if key not in self.memo:
            self.memo[key] = self.engine.run(expr, point)
        return self.memo[key]

    def local_derivatives(self, op: str, params: tuple[float, ...], args: list[float]) -> list[float] | str:
        return self.engine.local_derivatives(op, params, args)


def random_expressions(
    engine: RemoteEngine,
    rows: dict[str, Row],
    accuracy: Mapping[str, tuple[float, float]],
    examples: int,
    seed: int,
    status: Callable[[str], None],
) -> list[Finding]:
    """Search; put each failure on its op's row or in an engine-level finding."""
    remaining = [name for name in OPS if rows[name].kind == "correct"]
    # Numbers go where the engine takes them: an int-only `**` gets whole exponents passed as ints (and so do
    # other whole constants), and a number form it gets wrong, or refuses in the kind used here, gets the
    # number as a leaf (the form is reported on its own row).
    params = dict(_PARAMS)
    engine.ints = rows["pow"].refuses == "float"
    if engine.ints:
        params["pow"] = [p for p in params["pow"] if p == int(p)]
    refused_here = "int" if engine.ints else "float"
    engine.wrap = [
        FORMS[form]
        for form, row in rows.items()
        if form in FORMS and (row.kind != "correct" or row.refuses == refused_here)
    ]
    if rows["pow"].kind != "correct":  # x ** 2 is the pow row; in a random DAG it can also be powv(x, 2.0)
        engine.wrap.append(("powv", 1))
    memo = _Remembered(engine)
    checker = Checker(engine=memo, accuracy=accuracy)
    findings: list[Finding] = []
    for _ in range(4):  # each round leaves out the op the last failure was blamed on
        if not remaining:
            break
        status(f"random expressions over {', '.join(remaining)}...")
        try:
            failure, counted = _search(checker, remaining, examples, seed, params)
        except RandomPhaseError as e:
            findings.append(Finding("random-phase-stopped", False, f"the random expressions stopped early: {e}"))
            break
        for name, count in counted.items():
            rows[name].random = max(rows[name].random, count)
        if failure is None:
            break
        case, _ = failure
        verdict = checker.check(case.expr, case.point)  # now with blame
        text = f"{to_source(case.expr)}  at " + ",".join(f"{k}={v!r}" for k, v in case.point.items())
        again = [engine.run(case.expr, case.point) for _ in range(3)]
        runs = [memo.run(case.expr, case.point), *again]
        seen = {tuple(sorted(r.grads.items())) if not r.failed else (("error", r.error),) for r in runs}
        if len(seen) > 1:
            shown = " vs ".join(str(dict(s)) for s in list(seen)[:2])
            findings.append(Finding("nondeterministic", True, f"{text}: {shown}", text))
            break
        on_its_own = verdict.blame is not None and verdict.blame.explanation.startswith(
            ("its local derivative is wrong", "the op fails")
        )
        culprit = verdict.blame.op if verdict.blame is not None and on_its_own else None
        if verdict.blame is not None and verdict.blame.node.digest in expand(case.expr)[1]:
            # Blame lands inside a declared op's definition: judge the declared op itself, alone, where it ran.
            culprit = _wrong_declared(engine, checker, case.expr, case.point)
        if culprit in remaining:
            row = rows[culprit]
            from gradverify.engines.probes import Case

            kind = "crash" if verdict.engine.failed else "wrong-gradient"
            row.fail(kind, f"in random expressions: {_short(verdict)}", Case(case.expr, case.point))
            remaining.remove(culprit)
            continue
        findings.append(Finding("random-expressions", True, f"{text}\n{_short(verdict)}", text))
        break
    return findings


def _wrong_declared(engine: RemoteEngine, checker: Checker, expr: Expr, point: Mapping[str, float]) -> str | None:
    """The first declared op of `expr` whose engine gradient is wrong alone, at the inputs it had in `expr`."""
    from oracles.floats import evaluate

    for node in nodes(expr):
        if isinstance(node, Apply) and node.op not in OPS_AT_IMPORT and node.op in OPS:
            names = [f"a{i}" for i in range(len(node.args))]
            inputs = {
                n: evaluate(expand(a)[0], point) if not isinstance(a, Var) else point[a.name]
                for n, a in zip(names, node.args, strict=True)
            }
            alone = Apply(node.op, tuple(Var(n) for n in names), node.params)
            run = engine.run(alone, inputs)
            if run.failed or not checker.judge(alone, inputs, run, blame=False).ok:
                return node.op
    return None


def _short(verdict: Any) -> str:
    lines = [line.strip() for line in verdict.summary().split("\n")[1:]]
    if verdict.engine.failed:
        lines = [f"the engine failed: {verdict.engine.error}"]
    blame = [line for line in lines if line.startswith("blame:")]
    return "\n".join(lines[:2] + blame)


SHRINK_SECONDS = 10.0  # shrinking stops improving the counterexample after this long


def _search(
    checker: Checker, ops: list[str], examples: int, seed_value: int, params: Mapping[str, list[float]]
) -> tuple[Any, dict[str, int]]:
    """One Hypothesis search: the smallest failing (case, verdict) found, if any, and how often each op
    appeared in the expressions that passed. Shrinking gets SHRINK_SECONDS: after that every new candidate is
    let pass, the shrinker gives up, and the smallest failure so far is the answer (Hypothesis then reports
    the test as flaky, which is expected here and ignored)."""
    from hypothesis import HealthCheck, Verbosity, assume, given, seed, settings

    from oracles.strategies import Checked, checked_dags

    failure: list[Any] = []
    counted: dict[str, int] = {}
    first_failure: list[float] = []

    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    @given(case=checked_dags(ops=ops, limit=50.0, params=params))
    def check(case: Checked) -> None:
        if first_failure and time.monotonic() - first_failure[0] > SHRINK_SECONDS:
            return
        try:
            verdict = checker.check(case.expr, case.point, blame=False)
        except PointOutsideDomain:
            assume(False)
        if not verdict.ok:
            failure[:] = [case, verdict]
            if not first_failure:
                first_failure.append(time.monotonic())
            raise AssertionError(verdict.summary())
        if not failure:  # count the search, not the shrinking
            for name in {n.op for n in nodes(case.expr) if isinstance(n, Apply)}:
                counted[name] = counted.get(name, 0) + 1

    with private_hypothesis_home():
        try:
            check()
        except Exception as e:  # the failure (or Hypothesis's note that it could not replay it)...
            if not failure:  # ...or gradverify's own fault, which must not pass for "no failure found"
                raise RandomPhaseError(f"{type(e).__name__}: {e}".splitlines()[0][:300]) from e
    return (tuple(failure) if failure else None), counted


class RandomPhaseError(Exception):
    """The random phase stopped on an error of gradverify's own (not of the engine): reported, never a pass."""
