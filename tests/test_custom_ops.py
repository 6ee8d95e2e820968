"""Ops declared in the expression language (`oracles.custom`): parsed, registered for a block only, judged by
their definitions."""

from __future__ import annotations

import math

import pytest

from autodiff.ops import OPS
from oracles.custom import declared, expand, parse_definition
from oracles.expr import ParseError, parse
from oracles.local import local_rule


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("softplus=log(1 + exp(x))", r"not NAME\(ARGS\)"),
        ("tanh(x)=x", "already an op"),
        ("f(x, x)=x", "distinct names"),
        ("f(x)=x * y", "uses y"),
        ("f(x, y, z)=x", "at most two"),
        ("f(x)=x +", "the expression ends where"),
    ],
)
def test_bad_definitions_say_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ParseError, match=words):
        parse_definition(text)


def test_a_declared_op_exists_inside_its_block_only() -> None:
    softplus = parse_definition("softplus(x)=log(1 + exp(x))")
    with declared([softplus]):
        expr = parse("softplus(x * y) + x")
        assert "softplus" in OPS
        expanded, origin = expand(expr)
        assert str(expanded) == "log(1.0 + exp(x * y)) + x"
        assert {o for o in origin.values()} == {"softplus"}
        x = 0.3
        (d,) = local_rule("softplus").first([x])
        assert math.isclose(d, 1 / (1 + math.exp(-x)), rel_tol=1e-15)  # softplus' is the sigmoid
        assert OPS["softplus"].forward(x) == pytest.approx(math.log1p(math.exp(x)), rel=1e-15)
    assert "softplus" not in OPS
    with pytest.raises(ParseError, match="unknown function"):
        parse("softplus(x)")


def test_a_declared_op_with_a_kink_is_expanded_where_the_kink_matters() -> None:
    with declared([parse_definition("abs(x)=relu(x) + relu(-x)")]):
        expanded, _ = expand(parse("abs(x - 1.0)"))
        assert str(expanded) == "t1 = x - 1.0; relu(t1) + relu(-t1)"
        (d,) = local_rule("abs").first([-2.0])
        assert d == -1.0
