"""The three referees. Each returns, per variable, a gradient and its own estimate of how wrong that gradient
may be; none of them looks at the engine.

- `Symbolic`: SymPy differentiates the whole expression exactly; the derivative is compiled once per tree
  structure (constants become parameters) and evaluated with mpmath at two precisions, whose difference is
  the error estimate.
- `FiniteDifferences`: central differences at three step sizes scaled to the point, combined by Richardson
  extrapolation; the spread of the extrapolants is the error estimate. A variable whose stencil straddles a
  kink or leaves a domain is skipped, with the reason.
- `Autograd`: PyTorch on 0-d float64 tensors; it also gives the adjoint of every node, for blame.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import mpmath

from autodiff.ops import OPS
from oracles.expr import Apply, Const, Expr, Var, nodes, variables
from oracles.floats import FloatProgram, OutsideDomain
from oracles.local import local_rule
from oracles.symbolic_server import SymbolicServer, TooSlow, _agree

__all__ = ["Autograd", "FiniteDifferences", "RefereeResult", "Symbolic"]

EPS = 2.0**-52


@dataclass
class RefereeResult:
    """One referee's answer at one point. `grads[v]` is None where the referee abstained (`skipped[v]` says
    why); `errors[v]` is the referee's own bound on its error; `weights[v]`, for finite differences, is the
    sum of |stencil weights| (multiplied by the float evaluation error of f, it bounds FD's rounding error)."""

    name: str
    value: float | None = None
    grads: dict[str, float | None] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    exact: dict[str, Any] = field(default_factory=dict)  # high-precision values, where the referee has them
    weights: dict[str, float] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)  # FD: the largest |f| on the stencil
    adjoints: dict[bytes, float] = field(default_factory=dict)
    seconds: float = 0.0
    failure: str | None = None  # the referee itself could not run (reported, never counted as agreement)


# ---------------------------------------------------------------------------------------------------------
# SymPy
# ---------------------------------------------------------------------------------------------------------


def _structure(expr: Expr) -> tuple[tuple[Any, ...], list[float]]:
    """A key that ignores constant values (they become parameters c0, c1, ...), and those values in order."""
    key: list[Any] = []
    consts: list[float] = []
    index: dict[bytes, int] = {}
    for i, node in enumerate(nodes(expr)):
        index[node.digest] = i
        if isinstance(node, Var):
            key.append(("v", node.name))
        elif isinstance(node, Const):
            key.append(("c", len(consts)))
            consts.append(node.value)
        else:
            assert isinstance(node, Apply)
            key.append(("a", node.op, node.params, tuple(index[a.digest] for a in node.args)))
    return tuple(key), consts


class Symbolic:
    """The exact gradient at 30+ digits, from SymPy.

    First choice: SymPy's `diff` of the whole expression, compiled once per tree structure (constants become
    parameters) and evaluated with mpmath. SymPy's automatic simplification can make `diff` take minutes on
    nested expressions, so it gets `seconds` per structure; past that (or past `max_nodes`), the gradient is
    computed exactly by the chain rule instead: node values and SymPy's derivative of each op at `dps` digits,
    combined in reverse mode. Either way the result is evaluated at `dps` and `dps + 20` digits, and their
    difference is the error estimate. `RefereeResult.exact["__mode__"]` says which was used.
    """

    name = "sympy"

    def __init__(self, dps: int = 30, max_nodes: int = 400, seconds: float = 2.0) -> None:
        self.dps, self.max_nodes, self.seconds = dps, max_nodes, seconds
        self._server = SymbolicServer.shared()
        self._too_slow: dict[tuple[Any, ...], str] = {}  # structures SymPy could not do in time, and why
        self.modes = {"diff": 0, "chain": 0}

    def __call__(self, expr: Expr, point: Mapping[str, float]) -> RefereeResult:
        start = time.perf_counter()
        result = RefereeResult(self.name)
        names = variables(expr)
        key, consts = _structure(expr)
        precisions = [self.dps, self.dps + 20]
        reason = self._too_slow.get(key)
        if reason is None and len(key) > self.max_nodes:
            reason = f"{len(key)} nodes (limit {self.max_nodes})"
        rows: list[list[Any]] | None = None
        if reason is None:
            try:
                rows = self._server.ask(key, [point[n] for n in names] + consts, precisions, self.seconds)
            except (TooSlow, ArithmeticError) as e:
                reason = self._too_slow[key] = str(e)
        if rows is None:
            mode = f"chain (whole-expression diff skipped: {reason})"
            rows = [_exact_chain_rule(expr, point, names, dps) for dps in precisions]
            dps = precisions[-1]
            while not _agree(rows[-2], rows[-1], dps) and dps < 1600:  # cancellation ate the precision: more
                dps *= 2
                rows.append(_exact_chain_rule(expr, point, names, dps))
            rows = rows[-2:]
        else:
            mode = "diff"
        low, high = rows
        self.modes["diff" if mode == "diff" else "chain"] += 1
        result.value = _to_float(high[0])
        with mpmath.workdps(self.dps + 20):
            for i, n in enumerate(names):
                g = high[i + 1]
                result.exact[n] = g
                result.grads[n] = _to_float(g)
                # The lower precision's distance from the higher bounds the higher's error (generously).
                result.errors[n] = float(abs(g - low[i + 1])) + float(abs(g)) * 10.0 ** -(self.dps + 18)
            result.exact["__value__"] = high[0]
        result.exact["__mode__"] = mode
        result.seconds = time.perf_counter() - start
        return result


def _exact_chain_rule(expr: Expr, point: Mapping[str, float], names: tuple[str, ...], dps: int) -> list[Any]:
    """[f, df/dname...] at `dps` digits: node values and SymPy's local derivatives, combined in reverse mode."""
    with mpmath.workdps(dps):
        order = nodes(expr)
        value: dict[bytes, Any] = {}
        local: dict[bytes, list[Any]] = {}
        for node in order:
            if isinstance(node, Var):
                value[node.digest] = mpmath.mpf(point[node.name])
            elif isinstance(node, Const):
                value[node.digest] = mpmath.mpf(node.value)
            else:
                assert isinstance(node, Apply)
                rule = local_rule(node.op, node.params)
                xs = [value[a.digest] for a in node.args]
                value[node.digest] = rule.value_mp(xs)
                local[node.digest] = rule.first_mp(xs)
        adjoint: dict[bytes, Any] = {expr.digest: mpmath.mpf(1)}
        for node in reversed(order):
            if isinstance(node, Apply) and node.digest in adjoint:
                for a, d in zip(node.args, local[node.digest], strict=True):
                    adjoint[a.digest] = adjoint.get(a.digest, mpmath.mpf(0)) + adjoint[node.digest] * d
        return [value[expr.digest], *(adjoint.get(Var(n).digest, mpmath.mpf(0)) for n in names)]


def _to_float(v: Any) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


# ---------------------------------------------------------------------------------------------------------
# Finite differences
# ---------------------------------------------------------------------------------------------------------


class FiniteDifferences:
    """Central differences with steps h, h/2, h/4 (h = cbrt(eps) * max(1, |x|)), Richardson-extrapolated."""

    name = "fd"

    def __init__(self, step: float | None = None, richardson: bool = True) -> None:
        self.step = step  # a fixed step instead of the scaled one (for the accuracy benchmark)
        self.richardson = richardson
        self._programs = functools.lru_cache(maxsize=256)(FloatProgram)

    def __call__(self, expr: Expr, point: Mapping[str, float]) -> RefereeResult:
        start = time.perf_counter()
        result = RefereeResult(self.name)
        program = self._programs(expr)
        x0 = [float(point[n]) for n in program.names]
        try:
            center, sides = program.with_sides(*x0)
        except (OutsideDomain, OverflowError, ZeroDivisionError, ValueError) as e:
            result.failure = f"the expression cannot be evaluated in floats here ({e})"
            result.skipped = {n: result.failure for n in program.names}
            return result
        result.value = center
        for i, name in enumerate(program.names):
            self._one(program, x0, i, name, sides, result)
        result.seconds = time.perf_counter() - start
        return result

    def _one(
        self, program: FloatProgram, x0: list[float], i: int, name: str, sides: tuple[int, ...], result: RefereeResult
    ) -> None:
        if 0 in sides:
            result.skipped[name] = "an op's input sits exactly on a kink"
            return
        x = x0[i]
        h0 = self.step if self.step is not None else EPS ** (1 / 3) * max(1.0, abs(x))
        levels = (h0, h0 / 2, h0 / 4) if self.richardson else (h0,)
        diffs: list[float] = []
        weight_sums: list[float] = []
        scale = abs(result.value or 0.0)
        for h in levels:
            args = list(x0)
            plus = x + h
            minus = x - h
            try:
                args[i] = plus
                fp, sp_ = program.with_sides(*args)
                args[i] = minus
                fm, sm = program.with_sides(*args)
            except (OutsideDomain, OverflowError, ZeroDivisionError, ValueError) as e:
                result.skipped[name] = f"the finite-difference stencil leaves the domain of {e}"
                return
            if sp_ != sides or sm != sides:
                result.skipped[name] = f"within a finite-difference step ({h:.1e}) of a kink or a pole"
                return
            scale = max(scale, abs(fp), abs(fm))
            width = plus - minus  # the step actually taken, after rounding x + h and x - h
            diffs.append((fp - fm) / width)
            weight_sums.append(2.0 / width)
        result.scales[name] = scale
        if not self.richardson:
            result.grads[name] = diffs[0]
            result.errors[name] = 0.0
            result.weights[name] = weight_sums[0]
            return
        d1, d2, d3 = diffs
        r1 = (4 * d2 - d1) / 3
        r2 = (4 * d3 - d2) / 3
        best = (16 * r2 - r1) / 15  # = (64 d3 - 20 d2 + d1) / 45
        result.grads[name] = best
        # |r2 - r1| is about the error of r1, far more than that of `best` when f is smooth at this scale; when
        # it is not, this spread is what grows.
        result.errors[name] = abs(r2 - r1) + abs(best - r2)
        result.weights[name] = (64 * weight_sums[2] + 20 * weight_sums[1] + weight_sums[0]) / 45


# ---------------------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------------------


class Autograd:
    """The same DAG on 0-d float64 tensors; `torch.autograd.grad` for the variables and every inner node."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def __call__(self, expr: Expr, point: Mapping[str, float]) -> RefereeResult:
        torch = self.torch
        start = time.perf_counter()
        result = RefereeResult(self.name)
        built: dict[bytes, Any] = {}
        inner: list[Apply] = []
        names = variables(expr)
        leaves: list[Any] = []
        leaf_names: list[str] = []
        try:
            for node in nodes(expr):
                if isinstance(node, Var):
                    t = torch.tensor(float(point[node.name]), dtype=torch.float64, requires_grad=True)
                    leaves.append(t)
                    leaf_names.append(node.name)
                elif isinstance(node, Const):
                    t = torch.tensor(node.value, dtype=torch.float64)
                else:
                    assert isinstance(node, Apply)
                    t = OPS[node.op].torch(torch, *(built[a.digest] for a in node.args), *node.params)
                    if t.requires_grad:
                        inner.append(node)
                built[node.digest] = t
            root = built[expr.digest]
            wanted = leaves + [built[n.digest] for n in inner]
            grads = torch.autograd.grad(root, wanted, allow_unused=True)
        except Exception as e:  # a broken torch spelling in the op table: report it
            result.failure = f"PyTorch referee failed: {type(e).__name__}: {e}"
            result.skipped = {n: result.failure for n in names}
            return result
        result.value = float(root.detach())
        by_name = dict(zip(leaf_names, grads[: len(leaves)], strict=True))
        for n in names:
            g = by_name[n]
            result.grads[n] = 0.0 if g is None else float(g)
            result.errors[n] = 0.0  # float64 rounding: accounted for by the error model in compare
        for node, g in zip(inner, grads[len(leaves) :], strict=True):
            result.adjoints[node.digest] = 0.0 if g is None else float(g)
        result.seconds = time.perf_counter() - start
        return result
