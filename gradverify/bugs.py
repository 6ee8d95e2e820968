"""Classic bugs of micrograd-style engines, planted one at a time in a copy of this engine.

Each `Bug` is either a change to a copy of the op table (a wrong local derivative) or a textual change to a copy
of `autodiff/engine.py` (a wrong backward pass), loaded as a separate module so that the real engine is never
touched. The property tests use them to show that the suite catches every one (`property_tests/test_mutants.py`),
and `gradverify bugs` shows them to students.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from autodiff.ops import OPS, Op
from oracles.engines import EngineAdapter

__all__ = ["BUGS", "Bug", "adapter_for", "broken_engine", "engine_copy", "source_of"]

Table = Mapping[str, Op]


@dataclass(frozen=True)
class Bug:
    """One planted bug: what a student wrote, and how to make the engine do it."""

    name: str
    title: str
    story: str  # the code as a student writes it, and why it is wrong
    table: Callable[[Table], Table] | None = None  # a change to the op table
    source: tuple[tuple[str, str], ...] = ()  # (original text, replacement) in autodiff/engine.py
    finding: str = "gradient"  # what catches it: "gradient", "value", "crash", "accumulation", "depth"


def _derivative(op: str, derivative: Callable[..., object]) -> Callable[[Table], Table]:
    def change(table: Table) -> Table:
        changed = dict(table)
        changed[op] = replace(table[op], derivative=derivative)
        return changed

    return change


_RECURSIVE = """

def _recursive_propagate(root):
    # micrograd's build_topo: one Python frame per level of depth.
    topo, visited = [], set()

    def build(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build(child)
            topo.append(v)

    build(root)
    root.grad = 1.0
    for node in reversed(topo):
        node._n = 0
        if node._op is None:
            continue
        a, b, g = node._a, node._b, node.grad
        if b is None:
            a.grad += node._op.derivative(a.data, node.data) * g
        else:
            da, db = node._op.derivative(a.data, b.data, node.data)
            a.grad += da * g
            b.grad += db * g
"""

BUGS: tuple[Bug, ...] = (
    Bug(
        "tanh-one-minus-t",
        "tanh' written as 1 - t",
        "self.grad += (1 - t) * out.grad   # should be (1 - t**2)",
        table=_derivative("tanh", lambda x, out: 1.0 - out),
    ),
    Bug(
        "relu-mask-flipped",
        "relu's mask on the wrong side",
        "self.grad += (out.data < 0) * out.grad   # passes gradient where relu is flat",
        table=_derivative("relu", lambda x, out: 1.0 if x < 0.0 else 0.0),
    ),
    Bug(
        "exp-of-out",
        "exp's backward uses exp(out)",
        "self.grad += math.exp(out.data) * out.grad   # should be out.data itself",
        table=_derivative("exp", lambda x, out: math.exp(min(out, 700.0))),
    ),
    Bug(
        "log-no-backward",
        "an op with no backward (log)",
        "out = Value(math.log(self.data), (self,), 'log')   # and no out._backward: the gradient stops here",
        table=_derivative("log", lambda x, out: 0.0),
    ),
    Bug(
        "div-sign",
        "a swapped sign in division",
        "other.grad += self.data / other.data**2 * out.grad   # d(a/b)/db is -a/b**2",
        table=_derivative("div", lambda x, y, out: (1.0 / y, out / y)),
    ),
    Bug(
        "pow-exponent",
        "power rule without the -1",
        "self.grad += other * self.data**other * out.grad   # should be other * self.data**(other - 1)",
        table=lambda t: {**t, "pow": replace(t["pow"], derivative=lambda x, out, p: p * x**p)},
    ),
    Bug(
        "sigmoid-plus",
        "sigmoid' written as s * (1 + s)",
        "self.grad += s * (1 + s) * out.grad   # should be s * (1 - s)",
        table=_derivative("sigmoid", lambda x, out: out * (1.0 + out)),
    ),
    Bug(
        "assign-not-accumulate",
        "= instead of += in backward",
        "self.grad = other.data * out.grad   # overwrites what another use of self contributed",
        source=(
            (
                "a.grad += node._op.derivative(a.data, node.data) * g",
                "a.grad = node._op.derivative(a.data, node.data) * g",
            ),
            ("a.grad += da * g", "a.grad = da * g"),
            ("b.grad += db * g", "b.grad = db * g"),
        ),
        finding="gradient",
    ),
    Bug(
        "dropped-chain-factor",
        "a dropped chain-rule factor",
        "self.grad += (1 - t**2)   # forgot * out.grad",
        source=(
            (
                "a.grad += node._op.derivative(a.data, node.data) * g",
                "a.grad += node._op.derivative(a.data, node.data)",
            ),
        ),
    ),
    Bug(
        "rsub-order",
        "wrong order in __rsub__ (and the other reflected operators)",
        "def __rsub__(self, other): return self - other   # 2 - x computed as x - 2",
        source=(("return method(other, self)", "return method(self, other)"),),
        finding="value",
    ),
    Bug(
        "missing-return",
        "a missing return in a reflected operator",
        "def __radd__(self, other): self + other   # returns None",
        source=(("return method(other, self)", "method(other, self)"),),
        finding="crash",
    ),
    Bug(
        "inexact-accumulation",
        "a second backward() that does not accumulate exactly",
        "leaf.grad += contribution, straight onto the old gradient: grad + c1 + c2 rounds differently from "
        "grad + (c1 + c2), so two calls do not give exactly twice one call",
        source=(
            (
                "                saved.append(a.grad)\n                a.grad = 0.0",
                "                saved.append(a.grad)",
            ),
            (
                "                saved.append(b.grad)\n                b.grad = 0.0",
                "                saved.append(b.grad)",
            ),
            ("totals = [before + leaf.grad for leaf, before", "totals = [leaf.grad for leaf, before"),
        ),
        finding="accumulation",
    ),
    Bug(
        "recursive-topo",
        "recursion on deep graphs",
        "def build_topo(v): ... build_topo(child)   # RecursionError past ~1000 levels",
        source=(("            _propagate(self)\n", "            _recursive_propagate(self)\n"),),
        finding="depth",
    ),
)


def source_of(module_name: str) -> str:
    """The source text of one of this project's modules (the installed copy)."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"cannot find the source of {module_name}")
    with open(spec.origin, encoding="utf-8") as f:
        return f.read()


def engine_copy(name: str, engine_source: str, table: Table | None = None) -> types.ModuleType:
    """A separate module made from `engine_source` (autodiff/engine.py, possibly changed), its Value given the
    methods of `table` when one is passed. The real engine is never touched."""
    module = types.ModuleType(f"autodiff_copy_{name.replace('-', '_')}")
    exec(compile(engine_source, f"<autodiff.engine: {name}>", "exec"), module.__dict__)
    if table is not None:
        module._install_ops(table)
    return module


def adapter_for(module: types.ModuleType, name: str) -> EngineAdapter:
    """An EngineAdapter for the Value class of an engine copy."""

    def backward(v: object) -> None:
        v.backward()  # type: ignore[attr-defined]

    return EngineAdapter(name=name, make=module.Value, data=lambda v: v.data, grad=lambda v: v.grad, backward=backward)


@functools.cache
def _module(bug_name: str) -> types.ModuleType:
    bug = next(b for b in BUGS if b.name == bug_name)
    source = source_of("autodiff.engine")
    for old, new in bug.source:
        if source.count(old) != 1:
            raise RuntimeError(f"bug {bug.name}: {old!r} occurs {source.count(old)} times in autodiff/engine.py")
        source = source.replace(old, new)
    if bug.name == "recursive-topo":
        source += _RECURSIVE
    return engine_copy(bug.name, source, bug.table(OPS) if bug.table else None)


def broken_engine(bug: Bug | str) -> EngineAdapter:
    """An adapter for a copy of the engine with `bug` planted."""
    name = bug if isinstance(bug, str) else bug.name
    return adapter_for(_module(name), f"autodiff with {name}")
