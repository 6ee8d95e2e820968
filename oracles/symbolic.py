"""The exact referee: SymPy's derivative of the whole expression, evaluated at 30+ digits at two precisions.

SymPy's automatic simplification can run for minutes on a nested expression. Interrupting it in-process
(an alarm signal raising an exception) can land inside SymPy's caches or a finalizer and leave them broken,
so `diff` runs in a child process instead (`SymbolicServer`, `python -m oracles.symbolic`): the parent waits up
to a time budget and kills the child if it is not done, then starts a fresh one for the next request. The
child caches compiled derivatives per structure, so checking one structure at many points pays for `diff` once.
Past the budget, the exact chain rule of per-op derivatives takes over (`Symbolic`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import mpmath

from oracles.child import Child, ChildDied, TooSlow, serve
from oracles.expr import Apply, Const, Expr, Var, nodes, variables
from oracles.local import local_rule
from oracles.referee import RefereeResult

__all__ = ["Symbolic", "SymbolicServer", "TooSlow"]


def _compile(key: tuple[Any, ...]) -> tuple[tuple[str, ...], Any]:
    import sympy as sp

    from autodiff.ops import OPS

    built: list[Any] = []
    var_symbols: dict[str, Any] = {}
    const_symbols: list[Any] = []
    for entry in key:
        if entry[0] == "v":
            built.append(var_symbols.setdefault(entry[1], sp.Symbol(entry[1])))
        elif entry[0] == "c":
            const_symbols.append(sp.Symbol(f"_c{entry[1]}"))
            built.append(const_symbols[-1])
        else:
            _, op, params, args = entry
            built.append(OPS[op].sympy(sp, *(built[a] for a in args), *params))
    f = built[-1]
    names = tuple(sorted(var_symbols))
    grads = [sp.diff(f, var_symbols[n]) for n in names]
    function = sp.lambdify([*(var_symbols[n] for n in names), *const_symbols], [f, *grads], modules="mpmath", cse=True)
    return names, function


_compiled: dict[tuple[Any, ...], Any] = {}


def _handle(request: tuple[Any, ...]) -> tuple[str, Any]:
    """In the child: (key, args, precisions) -> ("ok", [f, df/dv...] per precision, as exact mpf tuples)."""

    key, args, precisions = request
    try:
        if key not in _compiled:
            _compiled[key] = _compile(key)[1]
        out = [_evaluate(_compiled[key], args, dps) for dps in precisions]
        # Cancellation (1 - tanh(x)**2 once tanh(x) rounds to 1) can eat any fixed precision: while the last
        # two precisions disagree, double it.
        dps = precisions[-1]
        while not _agree(out[-2], out[-1], dps) and dps < 1600:
            dps *= 2
            out.append(_evaluate(_compiled[key], args, dps))
        return ("ok", [[v._mpf_ for v in row] for row in out[-2:]])
    except RecursionError:
        return ("error", "SymPy recursed too deeply")
    except Exception as e:
        return ("error", f"{type(e).__name__}: {e}")


def _evaluate(function: Any, args: list[float], dps: int) -> list[Any]:
    import mpmath

    with mpmath.workdps(dps):
        row = []
        for v in function(*(mpmath.mpf(a) for a in args)):
            if isinstance(v, mpmath.mpc):
                if v.imag != 0:
                    raise ArithmeticError(f"the symbolic result is complex: {v}")
                v = v.real
            row.append(mpmath.mpf(v))
        return row


def _agree(a: list[Any], b: list[Any], dps: int, digits: int = 20) -> bool:
    """Two evaluations agree to `digits` digits. An exact 0 at both is only trusted from 800 digits on: a
    factor like 1 - tanh(700)**2 (about 1e-608) is 0 at any lower precision, yet times exp(700) it is a
    float64 number."""
    import mpmath

    with mpmath.workdps(max(60, digits * 3)):
        close = all(abs(x - y) <= mpmath.mpf(10) ** -digits * abs(y) for x, y in zip(a, b, strict=True))
    return close and (dps >= 800 or all(y != 0 for y in b))


class SymbolicServer:
    """The parent's side: one child per process (shared by every Symbolic referee), killed past the budget."""

    _shared: SymbolicServer | None = None

    def __init__(self) -> None:
        self._child = Child("oracles.symbolic")

    @classmethod
    def shared(cls) -> SymbolicServer:
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def ask(self, key: tuple[Any, ...], args: list[float], precisions: list[int], seconds: float) -> list[list[Any]]:
        """The whole-expression value and gradient at each precision, as mpmath numbers; TooSlow past `seconds`;
        ArithmeticError when SymPy itself failed."""
        import mpmath

        try:
            status, payload = self._child.request((key, args, precisions), seconds)
        except TooSlow:
            raise TooSlow(f"SymPy took more than {seconds:g} s") from None
        except ChildDied as e:
            raise TooSlow(f"SymPy's process died: {e}") from None
        if status != "ok":
            raise ArithmeticError(payload)
        with mpmath.workdps(max(precisions) + 10):  # an mpf made from a tuple is rounded to the working precision
            return [[mpmath.mpf(t) for t in row] for row in payload]


# ---------------------------------------------------------------------------------------------------------
# The referee
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
            result.errors["__value__"] = float(abs(high[0] - low[0])) + float(abs(high[0])) * 10.0 ** -(self.dps + 18)
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


def warm_up() -> None:
    # Imported before the child says it is ready, so that no request's time budget pays for them.
    import mpmath  # noqa: F401
    import sympy  # noqa: F401

    import autodiff.ops  # noqa: F401


if __name__ == "__main__":
    serve(_handle, warm_up)
