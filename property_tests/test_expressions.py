"""Random expressions, checked three ways; laws that relate gradients of related expressions; and the
round trips of the expression format."""

from __future__ import annotations

import mpmath
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from gradverify.fuzz import POINTS
from oracles.bounds import ErrorModel
from oracles.check import Checker, PointOutsideDomain
from oracles.engines import AUTODIFF
from oracles.expr import Apply, Const, Expr, from_json, nodes, parse, to_json, to_source, variables
from oracles.properties import deep_chain_works, three_ways, twice_is_exactly_double
from oracles.strategies import VARIABLES, Checked, checked_dags, coordinates, record, small_trees
from property_tests.profiles import scaled


# The suite's main property: ten times the 150 DAGs it checked when SymPy's diff did the work, each at
# up to three points (the exact referee now costs a fraction of a millisecond per structure).
@settings(max_examples=scaled(1_500))
@given(case=checked_dags(points=POINTS))
def test_random_dags_three_ways(case: Checked, checker: Checker) -> None:
    record(case.expr)
    verdict = three_ways(checker, case)
    assert verdict.ok, verdict.summary()
    assert not verdict.referee_failures, verdict.referee_failures


def test_error_bound_is_second_order_where_the_derivative_vanishes(checker: Checker) -> None:
    # Found by a 20,000-DAG thorough run on the correct engine: log(tanh(huge)) is 0 in floats and about
    # -5e-20 exactly, and (0 + x + x) ** 2 at x = 0 has derivative 0, so a first-order bound allowed no
    # error at all while the exact value is 2.4e-39. The bound must include f'' e**2 / 2.
    expr = parse(
        "t1 = sigmoid(x); (log(tanh(exp(exp(-(-((t1 + x + x + x + x) ** 2.0 + x)) + t1) + 1.0))) + x + x) ** 2.0"
    )
    verdict = checker.check(expr, {"x": 0.0})
    assert verdict.ok, verdict.summary()


def test_error_bound_is_third_order_where_two_derivatives_vanish(checker: Checker) -> None:
    # Found by a thorough run on the commit above: log(tanh(27)) is 0 in floats and -7e-24 exactly, and u ** 3
    # at u = 0 has f' = f'' = 0 there; the bound must take f'' over the input's error interval (6 e), which
    # allows e**3 where the exact value is -3.5e-70 and its derivative 1.2e-67.
    expr = parse("t1 = x + 3.0; log(tanh(t1 ** t1)) ** 3.0")
    verdict = checker.check(expr, {"x": 0.0})
    assert verdict.ok, verdict.summary()
    # The same at the level of the model, against mpmath's value of the exact result.
    model = ErrorModel(parse("log(tanh(x)) ** 3.0"), {"x": 27.0})
    with mpmath.workdps(80):
        exact = abs(mpmath.log(mpmath.tanh(27)) ** 3)
    assert 0.0 < exact <= model.value_bound() < 1e-40


def test_adjoint_bound_keeps_the_product_of_two_errors(checker: Checker) -> None:
    # Found by the 20,000-DAG run on the commit above (shrunk here by hand): log(exp(-40) + 1.0) is 0 in floats,
    # 4.2e-18 exactly, so in (u ** 2) ** 2 both the adjoint reaching u ** 2 (2 u**2) and its local derivative
    # (2 u) are 0 as computed: only the product of their two error bounds is left of the gradient's bound.
    expr = parse("(log(exp(x) + 1.0) ** 2.0) ** 2.0")
    verdict = checker.check(expr, {"x": -40.0})
    assert verdict.ok, verdict.summary()
    model = ErrorModel(expr, {"x": -40.0})
    with mpmath.workdps(80):
        x = mpmath.mpf(-40)
        u = mpmath.log(mpmath.exp(x) + 1)
        exact = abs(4 * u**3 * mpmath.exp(x) / (mpmath.exp(x) + 1))
    assert 0.0 < exact <= model.gradient_bound("x") < 1e-50


def test_error_bound_stays_finite_where_a_second_derivative_overflows(checker: Checker) -> None:
    # Found on the commit that added the second-order term: t2 / sigmoid(-364.5) with t2 = 0 has an f'' of
    # about 1e316 (overflows), and the bound became NaN; the point must stay checkable (value) or be skipped.
    expr = parse("t1 = -(x + x); t2 = relu(t1); t3 = t2 + t2; t2 / sigmoid(((t3 + 3.0 + t3) ** 3.0) ** 2.0 / t1) + x")
    verdict = checker.check(expr, {"x": 1.0})
    assert verdict.ok, verdict.summary()


@settings(max_examples=scaled(1_000))
@given(expr=small_trees(), point=st.fixed_dictionaries({n: coordinates() for n in VARIABLES}))
def test_small_trees_three_ways(expr: Expr, point: dict[str, float], checker: Checker) -> None:
    record(expr)
    point = {n: point[n] for n in variables(expr)}
    assume(point)
    try:
        verdict = checker.check(expr, point)
    except PointOutsideDomain:
        assume(False)  # a rare overflow (exp of exp of ...): not a point to check at
        raise
    assert verdict.ok, verdict.summary()


@settings(max_examples=scaled(60))
@given(case=checked_dags(max_ops=20), pick=st.integers(0, 10**6))
def test_gradient_of_a_sum_is_the_sum_of_gradients(case: Checked, pick: int) -> None:
    # Metamorphic: d(f + g) = df + dg, on the engine alone, within the error model of each side. g is a
    # subexpression of f, so both are defined at the point (and the sum shares nodes between its terms).
    f = case.expr
    # (A constant subexpression such as -1.0 * -1.0 has no gradient to add: the engine rightly refuses it.)
    inner = [n for n in nodes(f) if isinstance(n, Apply) and variables(n)]
    g = inner[pick % len(inner)]
    total = Apply("add", (f, g))
    runs = {e: AUTODIFF.run(e, case.point) for e in (f, g, total)}
    assert not any(r.failed for r in runs.values()), [r.error for r in runs.values()]
    models = {e: ErrorModel(e, case.point) for e in runs}
    assume(not any(m.trouble for m in models.values()))
    for name in variables(total):
        both = runs[total].grads[name]
        parts = sum(runs[e].grads.get(name, 0.0) for e in (f, g))
        allowed = 2 * sum(models[e].gradient_bound(name) for e in runs if name in variables(e))
        allowed += 2**-52 * abs(parts)
        assert abs(both - parts) <= allowed, f"d/d{name}: {both!r} vs {parts!r} (allowed {allowed:.3g})"


@settings(max_examples=scaled(60))
@given(checked_dags(max_ops=20), st.sampled_from([2.0, -3.0, 0.5, 1e3]))
def test_scaling_scales_the_gradient(f: Checked, c: float) -> None:
    scaled_expr = Apply("mul", (Const(c), f.expr))
    base, scaled_run = AUTODIFF.run(f.expr, f.point), AUTODIFF.run(scaled_expr, f.point)
    assert not base.failed, base.error
    assert not scaled_run.failed, scaled_run.error
    m_base, m_scaled = ErrorModel(f.expr, f.point), ErrorModel(scaled_expr, f.point)
    assume(not m_base.trouble and not m_scaled.trouble)
    for name in variables(f.expr):
        want = c * base.grads[name]
        allowed = 2 * (abs(c) * m_base.gradient_bound(name) + m_scaled.gradient_bound(name)) + 2**-52 * abs(want)
        assert abs(scaled_run.grads[name] - want) <= allowed, name


@settings(max_examples=scaled(100))
@given(case=checked_dags())
def test_second_backward_doubles_leaf_gradients_exactly(case: Checked) -> None:
    problem = twice_is_exactly_double(AUTODIFF, case)
    assert problem is None, problem


def test_deep_chain() -> None:
    problem = deep_chain_works(AUTODIFF)
    assert problem is None, problem


# ---- the expression format --------------------------------------------------------------------------------


@given(st.one_of(checked_dags().map(lambda c: c.expr), small_trees()))
def test_json_and_source_round_trip(expr: Expr) -> None:
    assert from_json(to_json(expr)) == expr
    text = to_source(expr)
    note(text)
    assert parse(text) == expr
    assert parse(to_source(expr, bind_shared=False)) == expr


@given(checked_dags())
def test_source_text_evaluates_like_the_expression(case: Checked) -> None:
    # The text is Python: evaluated with floats and the op table's functions it gives the same value.
    from autodiff import OPS

    namespace = {op.name: op.forward for op in OPS.values() if op.symbol is None}
    namespace["powv"] = OPS["powv"].forward
    value = 0.0
    for statement in to_source(case.expr).split("; "):
        if " = " in statement:
            name, rhs = statement.split(" = ", 1)
            namespace[name] = eval(rhs, {}, {**namespace, **case.point})
        else:
            value = eval(statement, {}, {**namespace, **case.point})
    run = AUTODIFF.run(case.expr, case.point)
    assert run.value == value, (run.value, value)
