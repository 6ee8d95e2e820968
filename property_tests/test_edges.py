"""The error model at the edges of the float range (issue 14): a wrong gradient never passes, a correct engine
never fails, and a check that would pass any answer says so instead of "ok".

Each case is a class of failure seen on the command line; the variations beside it are the same class at
other ops, points and magnitudes.
"""

from __future__ import annotations

import math

import pytest

from gradverify.bugs import broken_engine
from oracles.bounds import ErrorModel
from oracles.check import Checker, PointOutsideDomain
from oracles.compare import NOT_VERIFIED, Row, Verdict
from oracles.expr import parse


def check(text: str, point: dict[str, float], bug: str | None = None) -> Verdict:
    checker = Checker(engine=broken_engine(bug)) if bug else Checker()
    return checker.check(parse(text), point)


def statuses(verdict: Verdict, quantity: str) -> dict[str, str]:
    return {r.referee: r.status for r in verdict.rows if r.quantity == quantity}


# ---- a curvature bound beyond the float range must not leave a wrong gradient uncompared ---------------------

# (expression, point, planted bug): the error model's second derivatives overflow a float here (1e600 for log
# at 1e-300) while the gradient itself fits; the float model once gave up ("ill-conditioned") and the run
# ended "all referees agree" on an engine that returns 0.0 for a gradient of 1e300.
FAR_OUT = [
    ("log(x)", {"x": 1e-300}, "log-no-backward"),
    ("x ** 0.5", {"x": 1e-300}, "pow-exponent"),
    ("x ** -3", {"x": 1e-70}, "pow-exponent"),
    # Variations: an input with a rounding error of its own (h * e is then a finite product of an overflowing
    # h and a tiny e), a binary op, subnormal points, and the large end of the range.
    ("log(x * 1.1)", {"x": 1e-300}, "log-no-backward"),
    ("1.0 / x + x", {"x": 1e-150}, "div-sign"),
    ("log(x)", {"x": 1e-307}, "log-no-backward"),
    ("x ** 1.5", {"x": 1e-200}, "pow-exponent"),
    ("log(x * y)", {"x": 1e150, "y": 1e150}, "log-no-backward"),
    ("tanh(x) * exp(y)", {"x": -0.5, "y": 700.0}, "tanh-one-minus-t"),
]


@pytest.mark.parametrize(("text", "point", "bug"), FAR_OUT, ids=[f"{c[0]}@{c[1]}" for c in FAR_OUT])
def test_a_wrong_gradient_far_out_in_the_float_range_is_caught(text: str, point: dict[str, float], bug: str) -> None:
    verdict = check(text, point, bug)
    assert not verdict.ok, verdict.summary()
    assert "sympy" in verdict.disagreeing


@pytest.mark.parametrize(("text", "point"), [(c[0], c[1]) for c in FAR_OUT], ids=[f"{c[0]}@{c[1]}" for c in FAR_OUT])
def test_a_correct_engine_far_out_in_the_float_range_is_verified(text: str, point: dict[str, float]) -> None:
    verdict = check(text, point)
    assert verdict.verified, verdict.summary()
    assert ErrorModel(parse(text), point).wide  # the float pass could not hold these numbers


def test_the_float_pass_stays_in_floats_in_the_middle_of_the_range() -> None:
    assert not ErrorModel(parse("tanh(x * y) + log(x)"), {"x": 0.5, "y": 2.0}).wide


# ---- an input that is exact sits on one side of a kink ------------------------------------------------------

KINKS = [
    ("relu(x) + relu(-x)", {"x": 1e-300}),
    ("relu(x)", {"x": 5e-324}),
    ("relu(-x) * 3.0", {"x": -5e-324}),
    ("relu(x - y)", {"x": 2e-300, "y": 1e-300}),
]


@pytest.mark.parametrize(("text", "point"), KINKS, ids=[c[0] for c in KINKS])
def test_next_to_a_kink_a_flipped_mask_is_caught(text: str, point: dict[str, float]) -> None:
    # The allowed error once grew to the whole jump of relu' (2.0 <= 2.0 "ok"): a tiny absolute slack in every
    # node's error put an exact input "within its error" of the kink.
    verdict = check(text, point, "relu-mask-flipped")
    assert not verdict.ok, verdict.summary()
    assert {"sympy", "torch"} <= set(verdict.disagreeing)


@pytest.mark.parametrize(("text", "point"), KINKS, ids=[c[0] for c in KINKS])
def test_next_to_a_kink_a_correct_engine_is_verified(text: str, point: dict[str, float]) -> None:
    assert check(text, point).verified


def test_an_input_that_may_really_be_on_either_side_still_gets_the_jump() -> None:
    # (x + 1.0) - 1.0 is 0.0 in floats and -1e-17 exactly: the engine's relu may use either side.
    model = ErrorModel(parse("relu((x + 1.0) - 1.0)"), {"x": -1e-17})
    relu = model.bounds[model.expr.digest]
    assert relu.local_errors[0] >= 1.0


# ---- a comparison that would pass any answer verifies nothing -----------------------------------------------


def test_an_allowed_error_larger_than_the_exact_gradient_is_not_verified() -> None:
    # engine 0.293, exact -1.359, "error 1.7 <= allowed 18": the wrong sign would pass too.
    verdict = check("(1 + x) ** (1 / x)", {"x": 1e-8})
    assert verdict.ok
    assert verdict.unverified == ["x"]
    assert not verdict.verified
    assert set(statuses(verdict, "x").values()) <= {NOT_VERIFIED, "skipped"}
    assert "could not be verified" in verdict.summary()
    (row,) = [r for r in verdict.rows if r.referee == "sympy" and r.quantity == "x"]
    assert row.why.startswith("float64 bound")  # what was allowed, then why that verifies nothing
    assert "is as large as the exact 1.36" in row.why


def test_a_small_exact_gradient_is_judged_by_its_own_size() -> None:
    # The same, scaled down to an exact gradient of -0.136: it is the exact value, not "a wrong answer's size"
    # (here 1e16, the size of the terms that cancel), that an allowed error of 1.8 must stay below.
    verdict = check("0.1 * (1 + x) ** (1 / x)", {"x": 1e-8})
    assert verdict.unverified == ["x"]


def test_finite_differences_drowned_in_rounding_verify_nothing_but_the_others_do() -> None:
    # FD gives 0.0 against 1.0 "<= 6e49": its row says so, and SymPy and PyTorch still verify d/dx.
    verdict = check("x + 1.23e59", {"x": 1.0})
    assert statuses(verdict, "x") == {"sympy": "ok", "fd": NOT_VERIFIED, "torch": "ok"}
    assert verdict.verified


def test_a_zero_gradient_is_verified_when_a_wrong_one_would_stand_out() -> None:
    # relu's flat side: exactly 0, allowed ~1e-300; a flipped mask gives 2.0 there.
    verdict = check("relu(x) * y", {"x": -1.0, "y": 2.0})
    assert statuses(verdict, "x") == {"sympy": "ok", "fd": "ok", "torch": "ok"}
    assert statuses(verdict, "value") == {"sympy": "ok", "torch": "ok"}  # an exact 0, allowed a few subnormals
    assert verdict.verified
    assert not check("relu(x) * y", {"x": -1.0, "y": 2.0}, "relu-mask-flipped").ok


def test_a_zero_gradient_drowned_in_rounding_is_not_verified_by_that_referee() -> None:
    # FD's rounding at |f| = 1e59 allows 6e49, far above what a wrong local derivative would give here (2).
    verdict = check("relu(-x) * 2.0 + 1.23e59", {"x": 1.0})
    assert statuses(verdict, "x")["fd"] == NOT_VERIFIED
    assert verdict.verified  # SymPy and PyTorch compare to ~1e-300


def test_a_value_lost_to_cancellation_is_not_verified_but_its_gradient_is() -> None:
    verdict = check("(x + 1e16) - 1e16", {"x": 0.5})
    assert statuses(verdict, "value")["sympy"] == NOT_VERIFIED
    assert statuses(verdict, "x")["sympy"] == "ok"
    assert verdict.verified


def test_an_input_error_next_to_a_subnormal_edge_is_ill_conditioned() -> None:
    # The sum rounds x = 1e-315 to a multiple of 1.5e-316: an error of 10% of the input, next to the square
    # root's edge at 0. The trust check once skipped every error below 1e-300 as if it were none.
    assert ErrorModel(parse("((x + 1e-300) - 1e-300) ** 0.5"), {"x": 1e-315}).trouble


def test_an_ill_conditioned_point_leaves_its_variables_unverified() -> None:
    # log of a difference that cancellation has emptied: the model does not trust itself there.
    verdict = check("log((x + 1.0) - 1.0)", {"x": 1e-15})
    assert verdict.ill_conditioned
    assert verdict.unverified == ["x"]


# ---- a gradient that overflows a float is outside what floats can check --------------------------------------


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("1 / x", {"x": 1e-160}),
        ("x ** -1.5", {"x": 1e-160}),
        ("log(x) * 1e300", {"x": 1e-10}),
        ("(1 / x) * x", {"x": 1e-160}),
        ("log(x)", {"x": 5e-324}),
        # A gradient within its error bound of the largest float: a correct engine's rounding may overflow it.
        ("x * 1.7976931348623157e308", {"x": 1.0}),
        ("x * 1.797693134862315e308", {"x": 1.0}),  # four ulps below it: still within the bound
    ],
)
def test_an_overflowing_derivative_is_outside_the_checkable_range(text: str, point: dict[str, float]) -> None:
    # The engine's documented OverflowError was once blamed as a defect ("the op fails in isolation").
    with pytest.raises(PointOutsideDomain, match="overflows a float"):
        check(text, point)


def test_a_gradient_near_the_bottom_of_the_range_is_still_checked() -> None:
    # A fixed 1e-300 slack in every gradient bound once made d/dx = 1e-300 unverifiable.
    verdict = check("x * 1e-300", {"x": 1.7e308})
    assert verdict.verified
    assert not check("x * 1e-300 + relu(-x)", {"x": 1.7e308}, "relu-mask-flipped").ok


# ---- finite differences that cannot be computed abstain, they never disagree ---------------------------------

FD_OUT_OF_RANGE = [
    ("exp(x)", {"x": 708.0}),  # the Richardson combination 64 * d3 overflowed
    ("exp(x) * y", {"x": 700.0, "y": 1e4}),
    ("x * 0.5", {"x": 1.79769e308}),  # x + h is past the largest float
    ("exp(x) * 1e8", {"x": 690.0}),  # a value on the stencil overflows
]


@pytest.mark.parametrize(("text", "point"), FD_OUT_OF_RANGE, ids=[c[0] for c in FD_OUT_OF_RANGE])
def test_finite_differences_out_of_the_float_range_skip_with_the_reason(text: str, point: dict[str, float]) -> None:
    verdict = check(text, point)
    assert verdict.verified, verdict.summary()
    for row in verdict.rows:
        if row.referee == "fd" and row.status == "skipped":
            assert "overflow" in row.why or "float range" in row.why, row.why


def test_a_rows_ratio_counts_only_comparisons_that_could_fail() -> None:
    # Campaigns report the largest error / allowed per referee: rows that verified nothing do not count.
    def row(status: str, error: float | None, allowed: float | None) -> Row:
        return Row("x", "torch", 1.0, 1.0, error, allowed, "", status)

    assert row("ok", 1.0, 4.0).ratio == 0.25
    assert row("ok", 0.0, 0.0).ratio == 0.0
    assert row("DISAGREES", math.inf, 1.0).ratio == math.inf
    assert row("DISAGREES", 1.0, 0.0).ratio == math.inf
    assert row(NOT_VERIFIED, 1.0, 2.0).ratio == 0.0
    assert row("skipped", None, None).ratio == 0.0


def test_the_vacuity_rule_at_its_boundaries() -> None:
    from oracles.compare import _unless_vacuous

    def row(allowed: float, reference: float = 1.0, status: str = "ok") -> Row:
        return Row("x", "torch", reference, reference, 0.0, allowed, "", status)

    def judged(r: Row, truth: float | None, scale: float) -> tuple[str, str]:
        out = _unless_vacuous(r, truth, scale)
        return out.status, out.why

    assert judged(row(0.5), 1.0, 10.0) == ("ok", "")
    # An allowed error equal to the exact value passes an engine that answers 0: it verifies nothing.
    status, why = judged(row(1.0), 1.0, 10.0)
    assert status == NOT_VERIFIED
    assert "as large as the exact 1" in why
    assert judged(row(0.5), -1.0, 0.1)[0] == "ok"  # the size of a negative exact value
    assert judged(row(0.5, reference=0.7), None, 0.1)[0] == "ok"  # no exact value: the referee's own
    assert judged(row(0.5, reference=0.7), 0.3, 10.0)[0] == NOT_VERIFIED  # the exact value comes first
    # An exact 0 is judged against the size a wrong local derivative would give (`scale`).
    assert judged(row(0.5, reference=0.0), None, 0.6)[0] == "ok"
    assert judged(row(2.0, reference=0.0), None, 3.0)[0] == "ok"
    status, why = judged(row(0.5, reference=0.0), 0.0, 0.4)
    assert status == NOT_VERIFIED
    assert "a wrong answer's size 0.4" in why
    # Rows that disagree or were skipped are left as they are.
    assert judged(row(10.0, status="DISAGREES"), 1.0, 1.0)[0] == "DISAGREES"
    assert _unless_vacuous(Row("x", "fd", 1.0, None, None, None, "", "skipped"), 1.0, 1.0).status == "skipped"


def test_an_overflowing_derivative_is_named() -> None:
    with pytest.raises(PointOutsideDomain, match=r"the derivative of 1\.0 / x with respect to its input 2 is about"):
        check("1 / x", {"x": 1e-160})
    with pytest.raises(PointOutsideDomain, match=r"the derivative of log\(x\) is about 2\.02e\+323"):
        check("log(x)", {"x": 5e-324})
