"""Each op alone, checked three ways over its domain, and each kink against its declared subgradient.

One parametrized test per op, as HIPS/autograd and JAX do it: the domain comes from the op table, so an op
added to the table is tested here with no new code.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autodiff import OPS
from autodiff.ops import Kink, Op
from oracles.check import Checker
from oracles.engines import AUTODIFF
from oracles.expr import Apply, Var
from oracles.local import local_rule
from oracles.strategies import op_points

CASES = [
    (op, values)
    for op in OPS.values()
    for values in (zip(*(p.examples for p in op.params), strict=True) if op.params else [()])
]


def _ident(case: tuple[Op, tuple[float, ...]]) -> str:
    op, values = case
    return f"{op.name}{list(values) if values else ''}"


@pytest.mark.parametrize("case", CASES, ids=[_ident(c) for c in CASES])
@given(data=st.data())
def test_op_three_ways(case: tuple[Op, tuple[float, ...]], data: st.DataObject, checker: Checker) -> None:
    op, values = case
    xs = data.draw(op_points(op, values), label="inputs")
    names = [f"a{i}" for i in range(op.arity)]
    expr = Apply(op.name, tuple(Var(n) for n in names), values)
    verdict = checker.check(expr, dict(zip(names, xs, strict=True)))
    assert verdict.ok, verdict.summary()
    assert not verdict.referee_failures, verdict.referee_failures


KINKS = [(op, kink) for op in OPS.values() for kink in op.kinks]


@pytest.mark.parametrize(("op", "kink"), KINKS, ids=[f"{op.name}@{k.at}" for op, k in KINKS])
@given(others=st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=1))
def test_kink_uses_the_declared_subgradient(op: Op, kink: Kink, others: list[float]) -> None:
    # Exactly at the kink every backend must use the declared subgradient: the engine, PyTorch, and the
    # symbolic referee's derivative of the op. Finite differences never look here.
    xs = [others[0]] * op.arity
    xs[kink.arg] = kink.at
    engine = AUTODIFF.local_derivatives(op.name, (), xs)
    assert not isinstance(engine, str), engine
    assert engine[kink.arg] == kink.subgradient, f"engine: {op.name}'({kink.at}) = {engine[kink.arg]}"
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    (grad,) = torch.autograd.grad(op.torch(torch, *tensors), [tensors[kink.arg]])
    assert float(grad) == kink.subgradient, f"torch: {op.name}'({kink.at}) = {float(grad)}"
    exact = local_rule(op.name).first_exact(xs)[kink.arg]
    assert float(exact) == kink.subgradient, f"sympy: {op.name}'({kink.at}) = {exact}"
