"""SymPy's whole-expression derivative, computed in a child process that can be stopped.

SymPy's automatic simplification can run for minutes on a nested expression. Interrupting it in-process
(an alarm signal raising an exception) can land inside SymPy's caches or a finalizer and leave them broken,
so the work runs in a child process instead: the parent waits up to a time budget and kills the child if it
is not done, then starts a fresh one for the next request. The child caches compiled derivatives per
structure, so checking one structure at many points pays for `diff` once.
"""

from __future__ import annotations

from typing import Any

from oracles.child import Child, ChildDied, TooSlow, serve

__all__ = ["SymbolicServer", "TooSlow"]


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
        self._child = Child("oracles.symbolic_server")

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


def warm_up() -> None:
    # Imported before the child says it is ready, so that no request's time budget pays for them.
    import mpmath  # noqa: F401
    import sympy  # noqa: F401

    import autodiff.ops  # noqa: F401


if __name__ == "__main__":
    serve(_handle, warm_up)
