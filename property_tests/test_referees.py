"""The referees themselves, on derivatives known in closed form, and the comparison policy's refusals."""

from __future__ import annotations

import math
import time

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracles.autograd import Autograd
from oracles.bounds import ErrorModel
from oracles.compare import blame, compare
from oracles.engines import AUTODIFF, EngineRun
from oracles.expr import Var, nodes, parse, to_source
from oracles.finite import FiniteDifferences
from oracles.referee import RefereeResult
from oracles.strategies import Checked, checked_dags
from oracles.symbolic import Symbolic

# (expression, variable, its derivative written out by hand in mpmath, a range of points)
CLOSED_FORMS = [
    ("tanh(x)", "x", lambda x: mpmath.sech(x) ** 2, (-4, 4)),
    ("x ** 3", "x", lambda x: 3 * x**2, (-3, 3)),
    ("log(x * x + 1.0)", "x", lambda x: 2 * x / (x**2 + 1), (-3, 3)),
    ("exp(x) * x", "x", lambda x: mpmath.exp(x) * (1 + x), (-3, 3)),
    ("sigmoid(x)", "x", lambda x: mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2, (-8, 8)),
    ("2.0 / x", "x", lambda x: -2 / x**2, (0.2, 3)),
    ("x ** 0.5", "x", lambda x: 0.5 / mpmath.sqrt(x), (0.1, 4)),
    ("2.0 ** x", "x", lambda x: mpmath.power(2, x) * mpmath.log(2), (-3, 3)),
    ("relu(x) * x", "x", lambda x: 2 * x if x > 0 else mpmath.mpf(0), (0.1, 3)),
    ("-x - x * x", "x", lambda x: -1 - 2 * x, (-3, 3)),
]

REFEREES = {"sympy": Symbolic(), "fd": FiniteDifferences(), "torch": Autograd()}


@pytest.mark.parametrize("referee", list(REFEREES))
@pytest.mark.parametrize(("text", "var", "derivative", "span"), CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
@given(data=st.data())
def test_referee_agrees_with_the_closed_form(
    referee: str, text: str, var: str, derivative: object, span: tuple[float, float], data: st.DataObject
) -> None:
    x = data.draw(st.floats(*span, allow_nan=False).filter(lambda v: abs(v) > 1e-3), label=var)
    expr = parse(text)
    result = REFEREES[referee](expr, {var: x})
    got = result.grads[var]
    assert got is not None, result.skipped
    with mpmath.workdps(50):
        exact = derivative(mpmath.mpf(x))  # type: ignore[operator]
        mine = result.exact.get(var, mpmath.mpf(got))  # SymPy's own high-precision value, not its float
        error = float(abs(mine - exact))
    model = ErrorModel(expr, {var: x})
    # Each referee must be within its own error estimate, plus, for the float64 ones, float64 rounding.
    if referee == "sympy":
        allowed = result.errors[var] + abs(float(exact)) * 1e-25
    elif referee == "fd":
        rounding = 2 * result.weights[var] * max(model.value_bound(), 2**-52 * result.scales[var])
        allowed = 2 * result.errors[var] + rounding + model.gradient_bound(var)
        assert error <= 1e-7 * max(1.0, abs(float(exact))), "finite differences should give 7+ digits here"
    else:
        allowed = model.gradient_bound(var)
    assert error <= allowed, f"{referee}: {got!r} vs exact {mpmath.nstr(exact, 20)} (error {error:.3g})"


def test_the_three_symbolic_paths_agree() -> None:
    # SymEngine in balls, SymPy in mpmath, and the exact chain rule in balls: the same 30+ digits.
    expr = parse(
        "t = x * y; tanh(t) * log(x * x + 1.0) + exp(-t) / (y * y + 0.5) + relu(x - 0.3) ** 2.0 + x ** 1.5 + "
        "sigmoid(y) ** -2.0 + 2.0 ** t"
    )
    point = {"x": 0.7, "y": -1.3}
    paths = {
        "symengine": Symbolic()(expr, point),
        "sympy": Symbolic(engine="sympy")(expr, point),
        "chain": Symbolic(max_nodes=0)(expr, point),  # forces the chain-rule fallback
    }
    for mode, result in paths.items():
        assert result.exact["__mode__"].split(" ")[0] == mode
    whole = paths["sympy"]
    with mpmath.workdps(50):
        for result in paths.values():
            for v in ("__value__", "x", "y"):
                assert abs(whole.exact[v] - result.exact[v]) <= mpmath.mpf(10) ** -28 * (1 + abs(whole.exact[v]))


def test_symbolic_referee_gives_up_cleanly_on_expression_swell() -> None:
    # 60 nested exps and logs: SymPy could take minutes; the budget makes it fall back instead of hanging.
    # SymEngine, which does not simplify as it goes, differentiates it whole.
    lines = ["t0 = x"] + [f"t{i + 1} = log(exp(t{i}) + 1.0) * tanh(t{i} + {i % 3}.0)" for i in range(30)]
    expr = parse("; ".join([*lines, "t30"]))
    referee = Symbolic(seconds=0.5, engine="sympy")
    start = time.perf_counter()
    result = referee(expr, {"x": 0.3})
    assert time.perf_counter() - start < 30
    assert result.grads["x"] is not None
    assert "chain" in result.exact["__mode__"]
    fast = Symbolic()(expr, {"x": 0.3})
    assert fast.exact["__mode__"] == "symengine"
    with mpmath.workdps(50):
        assert abs(fast.exact["x"] - result.exact["x"]) <= mpmath.mpf(10) ** -28 * abs(result.exact["x"])


def test_symbolic_referee_reports_an_undecidable_kink_instead_of_raising() -> None:
    # exp(log(x)) - x is exactly 0, but no ball around it is: relu's side cannot be decided at any precision.
    # SymPy's mpmath evaluation picks a side (SymEngine's balls hand the case to it); the exact chain rule,
    # alone, must report that it has no value rather than crash the campaign.
    expr = parse("relu(exp(log(x)) - x) + x")
    assert Symbolic()(expr, {"x": 0.7}).exact["__mode__"] == "sympy"
    alone = Symbolic(max_nodes=0)(expr, {"x": 0.7})
    assert alone.failure is not None
    assert "no exact value" in alone.failure
    assert alone.grads == {}


@settings(max_examples=30)
@given(case=checked_dags(max_ops=12))
def test_fd_error_estimate_is_honest(case: Checked) -> None:
    fd = FiniteDifferences()(case.expr, case.point)
    exact = Symbolic()(case.expr, case.point)
    model = ErrorModel(case.expr, case.point)
    for v, got in fd.grads.items():
        if got is None:
            continue
        rounding = 2 * fd.weights[v] * max(model.value_bound(), 2**-52 * fd.scales[v])
        allowed = 2 * fd.errors[v] + rounding + model.gradient_bound(v)
        error = abs(got - exact.grads[v])  # type: ignore[operator]
        assert error <= allowed, f"d/d{v}: FD {got!r}, exact {exact.grads[v]!r}: {error:.3g} > {allowed:.3g}"


def _verdict_with(engine_grad: float, reference: float) -> list[str]:
    expr = parse("x * 2.0")
    point = {"x": 1.5}
    model = ErrorModel(expr, point)
    engine = EngineRun(value=3.0, grads={"x": engine_grad})
    ref = RefereeResult("torch", value=3.0, grads={"x": reference}, errors={"x": 0.0})
    return [r.status for r in compare(expr, point, engine, [ref], model).rows if r.quantity == "x"]


@pytest.mark.parametrize(
    ("engine", "reference"), [(math.nan, 2.0), (2.0, math.nan), (math.nan, math.nan), (math.inf, math.inf)]
)
def test_nan_and_infinity_never_count_as_agreement(engine: float, reference: float) -> None:
    assert _verdict_with(engine, reference) == ["DISAGREES"]


def test_a_wrong_gradient_by_one_ulp_of_slack_is_still_caught() -> None:
    assert _verdict_with(2.0, 2.0) == ["ok"]
    assert _verdict_with(2.0 + 1e-9, 2.0) == ["DISAGREES"]


def test_blame_follows_wrong_gradients_only() -> None:
    # A value that alone disagrees gives blame no wrong gradient to follow; run anyway, it read an inner adjoint
    # the model could not vouch for (once a NaN bound, here a stray 5.0) and blamed a correct `add` for "a
    # dropped chain-rule factor". A wrong gradient still gets its node.
    expr = parse("x * 2.0 + x")
    point = {"x": 1.5}
    model = ErrorModel(expr, point)
    ref = RefereeResult("torch", value=4.5, grads={"x": 3.0}, errors={"x": 0.0})
    product = expr.args[0]  # type: ignore[attr-defined]
    stray = {expr.digest: 1.0, product.digest: 5.0}
    wrong_value = compare(expr, point, EngineRun(value=4.6, grads={"x": 3.0}, adjoints=stray), [ref], model, AUTODIFF)
    assert wrong_value.disagreeing == ["torch"]
    assert wrong_value.blame is None
    adjoints = {expr.digest: 1.0, product.digest: 1.0}
    wrong_grad = compare(expr, point, EngineRun(value=4.5, grads={"x": 3.5}, adjoints=adjoints), [ref], model, AUTODIFF)
    assert wrong_grad.disagreeing == ["torch"]
    assert wrong_grad.blame is not None
    assert wrong_grad.blame.text == "x"
    assert "accumulates" in wrong_grad.blame.explanation


def test_a_value_bound_that_overflows_skips_the_value_instead_of_failing_it() -> None:
    expr = parse("x * 2.0")
    point = {"x": 1.5}
    model = ErrorModel(expr, point)
    # What an overflowing f'' once did to every bound, and what the model then says about the point.
    for nb in model.bounds.values():
        nb.error = nb.adjoint_error = math.nan
    model.trouble.append("x * 2.0: a derivative or bound overflows a float here")
    ref = RefereeResult("torch", value=3.0, grads={"x": 2.0}, errors={"x": 0.0})
    engine = EngineRun(value=3.0, grads={"x": 2.0}, adjoints={expr.digest: 1.0})
    verdict = compare(expr, point, engine, [ref], model, AUTODIFF)
    (value_row,) = [r for r in verdict.rows if r.quantity == "value"]
    assert value_row.status == "skipped"
    assert "overflows" in value_row.why
    assert verdict.ok
    assert verdict.blame is None


def test_blame_follows_the_pytorch_referees_adjoints() -> None:
    # PyTorch's adjoints of the inner nodes were computed and never read. Blame now judges the engine's inner
    # adjoints against them: the real ones lead it to x (a wrong accumulation), a doctored one elsewhere.
    expr = parse("x * 2.0 + x")
    point = {"x": 1.5}
    model = ErrorModel(expr, point)
    product = expr.args[0]  # type: ignore[attr-defined]
    engine = EngineRun(value=4.5, grads={"x": 3.5}, adjoints={expr.digest: 1.0, product.digest: 1.0})
    torch = Autograd()(expr, point)
    assert torch.adjoints == {expr.digest: 1.0, product.digest: 1.0}
    found = compare(expr, point, engine, [torch], model, AUTODIFF).blame
    assert found is not None
    assert found.text == "x"
    torch.adjoints[product.digest] = 7.0  # a referee that says the product's adjoint is 7
    found = compare(expr, point, engine, [torch], model, AUTODIFF).blame
    assert found is not None
    assert found.text != "x"


def test_the_chain_rule_raises_its_precision_until_two_agree() -> None:
    # 1 - tanh(60)**2 is 0 at 30 and 50 digits; the fallback doubles the precision until two evaluations agree,
    # and their distance is the error estimate. Stopping at the first nonzero row (a row compared with itself)
    # gave an estimate as large as the value.
    result = Symbolic(max_nodes=0)(parse("tanh(x)"), {"x": 60.0})
    with mpmath.workdps(200):
        exact = mpmath.sech(60) ** 2
        assert abs(result.exact["x"] - exact) <= mpmath.mpf(10) ** -25 * exact
    assert 0.0 < result.errors["x"] <= 1e-20 * float(exact)


def test_an_engine_that_raises_is_blamed_on_the_op_that_fails_alone() -> None:
    import dataclasses

    from autodiff.ops import OPS

    no_tanh = dataclasses.replace(AUTODIFF, method=lambda op: None if op == "tanh" else OPS[op].method)
    expr = parse("tanh(x * y) + x")
    point = {"x": 0.5, "y": 2.0}
    verdict = compare(expr, point, no_tanh.run(expr, point), [], ErrorModel(expr, point), no_tanh)
    assert not verdict.ok
    assert verdict.engine.failed
    assert verdict.blame is not None
    assert verdict.blame.op == "tanh"
    assert verdict.blame.explanation.startswith("the op fails in isolation")
    # Of two ops that fail alone, the deeper one is named.
    deep = parse("tanh(tanh(x))")
    verdict = compare(deep, point, no_tanh.run(deep, point), [], ErrorModel(deep, point), no_tanh)
    assert verdict.blame is not None
    assert verdict.blame.text == "tanh(x)"


def _doctored(text: str, point: dict[str, float], off: dict[str, float]) -> tuple[EngineRun, ErrorModel]:
    """The correct engine's run, with the adjoints of the nodes (written as source) or variables in `off` moved
    by that many times the model's bound for them."""
    expr = parse(text)
    model = ErrorModel(expr, point)
    run = AUTODIFF.run(expr, point)
    by_text = {to_source(n): n for n in nodes(expr)}
    for where, factor in off.items():
        node = by_text[where]
        if isinstance(node, Var):
            run.grads[node.name] += factor * model.gradient_bound(node.name)
        else:
            run.adjoints[node.digest] += factor * model.adjoint_bound(node)
    return run, model


def test_blame_allows_twice_the_bound_and_no_more() -> None:
    # An inner adjoint is judged against the referee's within twice the model's bound (both are float64): 1.5
    # bounds off is not a suspect, 3 bounds off is.
    text, point = "tanh(x * 3.0) * y", {"x": 0.3, "y": 1.7}
    for factor, suspect in ((1.5, False), (3.0, True)):
        run, model = _doctored(text, point, {"x * 3.0": factor})
        found = blame(parse(text), point, run, model, AUTODIFF)
        assert (found is not None and found.text == "tanh(x * 3.0)") is suspect, (factor, found)


def test_blame_starts_from_the_deepest_suspect() -> None:
    # Two wrong adjoints on two branches; the deeper one (three ops below the root) is reported first.
    text, point = "tanh(x) + exp(exp(tanh(y)))", {"x": 0.3, "y": 0.2}
    run, model = _doctored(text, point, {"x": 1e6, "tanh(y)": 1e6, "y": 1e6})
    found = blame(parse(text), point, run, model, AUTODIFF)
    assert found is not None
    assert found.text == "exp(tanh(y))"
    assert "chain-rule factor" in found.explanation


def test_blame_of_a_dropped_chain_factor_and_the_wrong_local_derivative_say_which() -> None:
    from gradverify.bugs import broken_engine
    from oracles.check import Checker

    verdict = Checker(engine=broken_engine("dropped-chain-factor")).check(parse("tanh(x) * 3.0"), {"x": 0.2})
    assert verdict.blame is not None
    assert "chain-rule factor" in verdict.blame.explanation  # used once: not an accumulation
    verdict = Checker(engine=broken_engine("div-sign")).check(parse("x / y"), {"x": 1.5, "y": 2.0})
    assert verdict.blame is not None
    assert "d/d(input 2) = " in verdict.blame.explanation


def test_without_inner_adjoints_blame_tries_the_deepest_op_first() -> None:
    import dataclasses

    from gradverify.bugs import broken_engine
    from oracles.check import Checker

    opaque = dataclasses.replace(broken_engine("tanh-one-minus-t"), keeps_inner_grads=False)
    verdict = Checker(engine=opaque).check(parse("tanh(tanh(x))"), {"x": 0.4})
    assert verdict.blame is not None
    assert verdict.blame.text == "tanh(x)"
