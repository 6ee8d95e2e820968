"""The exact referee: the derivative of the whole expression, evaluated to 30+ digits.

Three ways to the same exact gradient, tried in order, and counted (`Symbolic.modes`):

1. SymEngine (the SymPy project's C++ core): the op table's SymEngine spelling (the SymPy one unless the op
   says otherwise), differentiated whole, compiled to straight-line python-flint `arb` code (common
   subexpressions once) and evaluated in balls, raising the precision until every component is known to 30
   digits (`oracles.balls`). The ball's radius is a rigorous bound on the referee's own error. Per structure
   (constants are parameters) this costs a fraction of a millisecond, 100-1000 times less than SymPy; the
   property tests check that its derivative is SymPy's at 50 digits, on every op and on random DAGs.
2. SymPy, for an expression SymEngine or the arb translation cannot handle (and for `engine="sympy"`, which
   `gradverify grad` and every shrunk counterexample use to be re-checked by SymPy itself). SymPy's automatic
   simplification can run for minutes on a nested expression, and interrupting it in-process can leave its
   caches broken, so `diff` runs in a child process (`SymbolicServer`, `python -m oracles.symbolic`) that is
   killed past a time budget; its result is evaluated with mpmath at two precisions, whose difference is the
   error estimate. The child caches compiled derivatives per structure.
3. The exact chain rule: each op's value and local derivatives in arb balls (`oracles.local`), combined in
   reverse mode, again at rising precision until every ball is narrow.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import flint
import mpmath

from autodiff.ops import OPS
from oracles.balls import Untranslatable, arb_radius, arb_to_mpf, compile_arb, settle
from oracles.child import Child, ChildDied, TooSlow, serve
from oracles.expr import Apply, Const, Expr, Var, nodes, variables
from oracles.local import local_rule
from oracles.referee import RefereeResult

__all__ = ["Symbolic", "SymbolicServer", "TooSlow", "forget_structures"]


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
    """The exact gradient at 30+ digits: SymEngine's whole-expression derivative in arb balls, SymPy's where
    SymEngine cannot, the exact chain rule past SymPy's time budget or `max_nodes` (see the module docstring).

    `engine="sympy"` skips SymEngine: SymPy itself differentiates (the slow path, for re-checking a result).
    `RefereeResult.exact["__mode__"]` says which path gave the result; `modes` counts them.
    """

    name = "sympy"

    def __init__(self, dps: int = 30, max_nodes: int = 400, seconds: float = 2.0, engine: str = "symengine") -> None:
        if engine not in ("symengine", "sympy"):
            raise ValueError(f"unknown symbolic engine {engine!r}; choose symengine or sympy")
        self.dps, self.max_nodes, self.seconds, self.engine = dps, max_nodes, seconds, engine
        self._server: SymbolicServer | None = None
        self._too_slow: dict[tuple[Any, ...], str] = {}  # structures SymPy could not do in time, and why
        self.modes = {"symengine": 0, "sympy": 0, "chain": 0}

    def __call__(self, expr: Expr, point: Mapping[str, float]) -> RefereeResult:
        start = time.perf_counter()
        result = RefereeResult(self.name)
        names = variables(expr)
        key, consts = _structure(expr)
        args = [float(point[n]) for n in names] + consts
        bits = math.ceil(self.dps * math.log2(10))
        reasons: list[str] = []
        too_big = len(key) > self.max_nodes
        if too_big:
            reasons.append(f"{len(key)} nodes (limit {self.max_nodes})")
        balls: list[Any] | None = None
        rows: list[list[Any]] | None = None
        mode = ""
        if not too_big and self.engine == "symengine":
            program = _symengine_program(key)
            if isinstance(program, str):
                reasons.append(program)
            else:
                try:
                    balls, _ = settle(program, args, bits)
                    mode = "symengine"
                except (ArithmeticError, ValueError, ZeroDivisionError) as e:
                    reasons.append(f"SymEngine's derivative in balls: {type(e).__name__}: {e}")
        if not too_big and balls is None:
            reason = self._too_slow.get(key)
            if reason is None:
                try:
                    rows = self._sympy(key, args)
                    mode = "sympy"
                except (TooSlow, ArithmeticError) as e:
                    reason = self._too_slow[key] = str(e)
            if reason is not None:
                reasons.append(reason)
        if balls is None and rows is None:
            mode = f"chain (whole-expression diff skipped: {'; '.join(reasons)})"
            try:
                balls, _ = settle(_chain_program(key, len(names)), args, bits)
            except ArithmeticError as e:  # a relu input that no precision puts on one side of 0, say
                result.failure = f"no exact value: {e} ({mode})"
                result.skipped = dict.fromkeys(names, result.failure)
                result.seconds = time.perf_counter() - start
                return result
        self.modes[mode.split(" ")[0]] += 1
        if balls is not None:
            self._read_balls(balls, names, result)
        else:
            assert rows is not None
            self._read_rows(rows, names, result)
        result.exact["__mode__"] = mode
        result.seconds = time.perf_counter() - start
        return result

    def _sympy(self, key: tuple[Any, ...], args: list[float]) -> list[list[Any]]:
        if self._server is None:
            self._server = SymbolicServer.shared()
        return self._server.ask(key, args, [self.dps, self.dps + 20], self.seconds)

    @staticmethod
    def _read_balls(balls: list[Any], names: tuple[str, ...], result: RefereeResult) -> None:
        # The midpoint is the exact value to the ball's radius: a rigorous bound on this referee's own error.
        result.value = _to_float(arb_to_mpf(balls[0]))
        result.exact["__value__"] = arb_to_mpf(balls[0])
        result.errors["__value__"] = arb_radius(balls[0])
        for i, n in enumerate(names):
            g = arb_to_mpf(balls[i + 1])
            result.exact[n] = g
            result.grads[n] = _to_float(g)
            result.errors[n] = arb_radius(balls[i + 1])

    def _read_rows(self, rows: list[list[Any]], names: tuple[str, ...], result: RefereeResult) -> None:
        low, high = rows
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


@functools.lru_cache(maxsize=512)
def _symengine_program(key: tuple[Any, ...]) -> Callable[..., Any] | str:
    """SymEngine's value and gradient of the structure `key` as an arb program of (variables..., constants...),
    or the reason there is none (an op or a form the arb translation lacks). Cached per structure."""
    import symengine as se

    built: list[Any] = []
    var_symbols: dict[str, Any] = {}
    const_symbols: list[Any] = []
    try:
        for entry in key:
            if entry[0] == "v":
                # Fresh names (_v0, _c0) that cannot collide with the x0, x1, ... of SymEngine's CSE.
                built.append(var_symbols.setdefault(entry[1], se.Symbol(f"_v_{entry[1]}")))
            elif entry[0] == "c":
                const_symbols.append(se.Symbol(f"_c{entry[1]}"))
                built.append(const_symbols[-1])
            else:
                _, op, params, args = entry
                built.append(OPS[op].symengine_spelling()(se, *(built[a] for a in args), *params))
        f = built[-1]
        inputs = [var_symbols[n] for n in sorted(var_symbols)]
        grads = [f.diff(s) for s in inputs]
        return compile_arb([*inputs, *const_symbols], [f, *grads])
    except (Untranslatable, RuntimeError, TypeError, ValueError, RecursionError) as e:
        return f"SymEngine: {type(e).__name__}: {e}"


def forget_structures() -> None:
    """Forget every compiled structure, here and in SymPy's child process: for benchmarks that time a campaign
    or a set of DAGs more than once, which would otherwise find them compiled from the first run."""
    _symengine_program.cache_clear()
    if SymbolicServer._shared is not None:
        SymbolicServer._shared._child.close()


def _chain_program(key: tuple[Any, ...], n_vars: int) -> Callable[..., list[Any]]:
    """The exact chain rule as an arb program of (variables..., constants...): node values and each op's local
    derivatives in balls at flint's working precision, combined in reverse mode; returns [f, df/dv...]."""
    var_names = sorted({entry[1] for entry in key if entry[0] == "v"})
    where = {n: i for i, n in enumerate(var_names)}
    steps: list[tuple[Any, tuple[int, ...]]] = []
    var_nodes: dict[str, int] = {}
    for i, entry in enumerate(key):
        if entry[0] == "v":
            steps.append((None, (where[entry[1]],)))
            var_nodes[entry[1]] = i
        elif entry[0] == "c":
            steps.append((None, (n_vars + entry[1],)))
        else:
            _, op, params, args = entry
            steps.append((local_rule(op, params), tuple(args)))

    def run(*inputs: Any) -> list[Any]:
        value: list[Any] = []
        local: list[Any] = []
        for rule, args in steps:
            if rule is None:
                value.append(inputs[args[0]])
                local.append(())
            else:
                out = rule.value_first_arb([value[a] for a in args])
                value.append(out[0])
                local.append(out[1:])
        zero = flint.arb(0)
        adjoint = [zero] * len(steps)
        adjoint[-1] = flint.arb(1)
        for i in range(len(steps) - 1, -1, -1):
            rule, args = steps[i]
            if rule is not None:
                for a, d in zip(args, local[i], strict=True):
                    adjoint[a] = adjoint[a] + adjoint[i] * d
        return [value[-1], *(adjoint[var_nodes[n]] for n in var_names)]

    return run


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
