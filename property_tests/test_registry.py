"""The op table's contract: every op declares everything, every `Value` operator maps to an op, every op
can be generated, and every op's forward is as accurate as it claims."""

from __future__ import annotations

import ast
import importlib.util
import math
import operator

import mpmath
import pytest
import sympy
import torch
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from autodiff import OPS, Value
from autodiff.ops import Domain, Op
from oracles.expr import Apply, nodes
from oracles.local import local_rule
from oracles.strategies import checked_dags, op_points, small_trees

OP_IDS = list(OPS)


def _bound_examples(op: Op) -> list[Op]:
    """The op itself, or for an op family each example of its params bound."""
    return [op.bind(*vals) for vals in zip(*(p.examples for p in op.params), strict=True)] if op.params else [op]


@pytest.mark.parametrize("name", OP_IDS)
def test_every_op_declares_every_field(name: str) -> None:
    op = OPS[name]
    assert op.name == name
    assert op.arity in (1, 2), f"{name}: arity must be 1 or 2 (Value holds two inputs)"
    assert callable(op.forward)
    assert callable(op.derivative)
    assert callable(op.sympy)
    assert callable(op.torch)
    assert op.doc, f"{name}: needs a doc"
    assert op.ulps >= 0
    assert hasattr(Value, op.method), f"{name}: Value has no method {op.method!r}"
    for p in op.params:
        assert p.examples, f"{name}: param {p.name} needs example values"
    for bound in _bound_examples(op):
        domains = bound.domains()
        assert len(domains) == op.arity
        assert all(isinstance(d, Domain) and d.intervals for d in domains)
    for kink in op.kinks:
        assert 0 <= kink.arg < op.arity
        assert all(kink.at in d for d in op.domains()[kink.arg : kink.arg + 1]), f"{name}: kink outside domain"


@pytest.mark.parametrize("name", OP_IDS)
def test_sympy_and_torch_spellings_build(name: str) -> None:
    op = OPS[name]
    for bound_values in zip(*(p.examples for p in op.params), strict=True) if op.params else [()]:
        symbols = sympy.symbols(f"a0:{op.arity}")
        assert isinstance(sympy.sympify(op.sympy(sympy, *symbols, *bound_values)), sympy.Expr)
        tensors = [torch.tensor(0.7 + i, dtype=torch.float64, requires_grad=True) for i in range(op.arity)]
        out = op.torch(torch, *tensors, *bound_values)
        assert isinstance(out, torch.Tensor)
        assert out.dim() == 0


NUMERIC_DUNDERS = {
    name
    for name in dir(operator)
    if name.startswith("__") and name.endswith("__") and name not in ("__doc__", "__name__", "__package__")
}
NUMERIC_DUNDERS |= {"__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rpow__", "__rfloordiv__", "__rmod__"}


def test_every_value_operator_maps_to_an_op() -> None:
    table_ops = set(map(id, OPS.values()))
    defined = [n for n in NUMERIC_DUNDERS if n in Value.__dict__]
    assert defined, "Value defines no operators?"
    for name in defined:
        method = Value.__dict__[name]
        ops = getattr(method, "ops", None) or (getattr(method, "op", None),)
        assert all(op is not None and id(op) in table_ops for op in ops), f"Value.{name} maps to no op in the table"
    for op in OPS.values():
        method = Value.__dict__.get(op.method)
        assert method is not None, f"{op.name}: Value.{op.method} missing"
        ops = getattr(method, "ops", None) or (getattr(method, "op", None),)
        assert op in ops, f"Value.{op.method} is not generated from {op.name}"


def test_type_checking_block_lists_every_method() -> None:
    spec = importlib.util.find_spec("autodiff.engine")
    assert spec is not None
    assert spec.origin is not None
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    value_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Value")
    block = next(n for n in value_class.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    declared = {n.name for n in block.body if isinstance(n, ast.FunctionDef)}
    expected = {name for name in NUMERIC_DUNDERS | {op.method for op in OPS.values()} if name in Value.__dict__}
    expected -= {n for n in expected if n in {"__init__"}}
    assert expected <= declared, f"add to Value's TYPE_CHECKING block: {sorted(expected - declared)}"


@pytest.mark.parametrize("name", OP_IDS)
def test_every_op_can_be_generated(name: str) -> None:
    def uses(expr: Apply) -> bool:
        return any(isinstance(n, Apply) and n.op == name for n in nodes(expr))

    # Generation only: whether the op shows up is the question, not the smallest DAG that has it (shrinking
    # toward one took 36 s for `sub`, whose smallest form `x - x` the strategy mostly revives away).
    quick = settings(max_examples=2_000, database=None, phases=[Phase.generate])
    find(checked_dags(), lambda c: uses(c.expr), settings=quick)
    find(small_trees(), uses, settings=quick)


@pytest.mark.parametrize(
    "op", [b for op in OPS.values() for b in _bound_examples(op)], ids=lambda o: f"{o.name}{o.values or ''}"
)
@given(data=st.data())
def test_forward_is_as_accurate_as_declared(op: Op, data: st.DataObject) -> None:
    xs = data.draw(op_points(OPS[op.name], op.values))
    got = op.forward(*xs)
    with mpmath.workdps(40):
        exact = local_rule(op.name, op.values).value_mp([mpmath.mpf(x) for x in xs])
        error = abs(mpmath.mpf(got) - exact)
        ulp = mpmath.mpf(math.ulp(float(exact)))  # math.ulp(0.0) is the smallest subnormal
        allowed = op.ulps * ulp
        assert error <= allowed, (
            f"{op.name}{xs}: forward {got!r}, exact {mpmath.nstr(exact, 20)}, off by {mpmath.nstr(error / ulp, 3)} "
            f"ulp (declared {op.ulps})"
        )
