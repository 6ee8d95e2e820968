"""SymPy's whole-expression derivative, computed in a child process that can be stopped.

SymPy's automatic simplification can run for minutes on a nested expression. Interrupting it in-process
(an alarm signal raising an exception) can land inside SymPy's caches or a finalizer and leave them broken,
so the work runs in a child process instead: the parent waits up to a time budget and kills the child if it
is not done, then starts a fresh one for the next request. The child caches compiled derivatives per
structure, so checking one structure at many points pays for `diff` once.
"""

from __future__ import annotations

import atexit
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["SymbolicServer", "TooSlow"]


class TooSlow(Exception):
    """SymPy did not finish within the budget (or its process died)."""


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


def _serve(conn: Connection) -> None:
    """The child's loop: (key, args, precisions) in, [f, df/dv...] per precision out (exact mpf tuples)."""
    import mpmath

    compiled: dict[tuple[Any, ...], Any] = {}
    while True:
        try:
            key, args, precisions = conn.recv()
        except EOFError:
            return
        try:
            if key not in compiled:
                compiled[key] = _compile(key)[1]
            out = []
            for dps in precisions:
                with mpmath.workdps(dps):
                    values = compiled[key](*(mpmath.mpf(a) for a in args))
                    row = []
                    for v in values:
                        if isinstance(v, mpmath.mpc):
                            if v.imag != 0:
                                raise ArithmeticError(f"the symbolic result is complex: {v}")
                            v = v.real
                        row.append(mpmath.mpf(v)._mpf_)
                    out.append(row)
            conn.send(("ok", out))
        except RecursionError:
            conn.send(("error", "SymPy recursed too deeply"))
        except Exception as e:
            conn.send(("error", f"{type(e).__name__}: {e}"))


class SymbolicServer:
    """The parent's side: send a request, wait at most `seconds`, kill and restart the child on a timeout."""

    _shared: SymbolicServer | None = None

    def __init__(self) -> None:
        self._process: Any = None
        self._conn: Connection | None = None
        atexit.register(self.close)

    @classmethod
    def shared(cls) -> SymbolicServer:
        """One server per process, so that every referee shares the child and its cache."""
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork: the parent may hold threads (torch)
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True, name="gradverify-sympy")
        self._process.start()
        child.close()
        self._conn = parent

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
        self._process = self._conn = None

    def ask(self, key: tuple[Any, ...], args: list[float], precisions: list[int], seconds: float) -> list[list[Any]]:
        """The whole-expression value and gradient at each precision, as mpmath numbers; TooSlow past `seconds`;
        ArithmeticError when SymPy itself failed."""
        import mpmath

        if self._process is None or not self._process.is_alive():
            self._start()
        assert self._conn is not None
        try:
            self._conn.send((key, args, precisions))
            if not self._conn.poll(seconds):
                self.close()
                raise TooSlow(f"SymPy took more than {seconds:g} s")
            status, payload = self._conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError) as e:
            self.close()
            raise TooSlow(f"SymPy's process died ({type(e).__name__})") from None
        if status != "ok":
            raise ArithmeticError(payload)
        with mpmath.workdps(max(precisions) + 10):  # an mpf made from a tuple is rounded to the working precision
            return [[mpmath.mpf(t) for t in row] for row in payload]
