"""One call to check a gradient three ways: `Checker().check(expr, point)` returns a `Verdict`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from oracles.autograd import Autograd
from oracles.bounds import ErrorModel
from oracles.compare import Verdict, compare
from oracles.custom import expand
from oracles.engines import AUTODIFF, EngineAdapter, EngineRun
from oracles.expr import Expr, variables
from oracles.finite import FiniteDifferences
from oracles.floats import OutsideDomain
from oracles.referee import RefereeResult
from oracles.symbolic import Symbolic

__all__ = ["Checker", "PointOutsideDomain"]


class PointOutsideDomain(ValueError):
    """The point is not a valid place to check this expression (an op input outside its domain, overflow)."""


class Checker:
    """Holds the referees (and their caches) and the engine under test; `check` runs them all on one point."""

    def __init__(
        self,
        engine: EngineAdapter = AUTODIFF,
        referees: Sequence[str] = ("sympy", "fd", "torch"),
        accuracy: Mapping[str, tuple[float, float]] | None = None,
        symbolic_seconds: float = 2.0,
        symbolic_max_nodes: int = 400,
        symbolic_engine: str = "symengine",
    ) -> None:
        self.engine = engine
        self.accuracy = dict(accuracy or {})
        makers: dict[str, Callable[[], Any]] = {
            "sympy": lambda: Symbolic(max_nodes=symbolic_max_nodes, seconds=symbolic_seconds, engine=symbolic_engine),
            "fd": FiniteDifferences,
            "torch": Autograd,
        }
        unknown = [r for r in referees if r not in makers]
        if unknown:
            raise ValueError(f"unknown referee(s) {unknown}; choose from {list(makers)}")
        self.referees = [makers[r]() for r in referees]

    def model(self, expr: Expr, point: Mapping[str, float]) -> ErrorModel:
        """The error model at `point`, or PointOutsideDomain if the expression is not defined and finite there."""
        missing = [n for n in variables(expr) if n not in point]
        if missing:
            raise PointOutsideDomain(f"no value given for {', '.join(missing)}")
        bad = {k: v for k, v in point.items() if not isinstance(v, (int, float)) or not math.isfinite(v)}
        if bad:
            raise PointOutsideDomain(f"not finite numbers: {bad}")
        try:
            model = ErrorModel(expr, point, self.accuracy)
        except (OutsideDomain, OverflowError, ZeroDivisionError, ValueError) as e:
            raise PointOutsideDomain(f"the expression is not defined and finite here: {e}") from None
        if model.overflow:
            # A float64 engine cannot hold this derivative: its OverflowError here is what it documents, not a
            # defect, and no float referee can check it either.
            raise PointOutsideDomain(f"a derivative overflows a float here ({model.overflow})")
        return model

    def check(self, expr: Expr, point: Mapping[str, float], blame: bool = True) -> Verdict:
        """Run the engine and every referee at `point` and compare them. `blame=False` skips looking for the
        node to blame (which re-runs ops in isolation): for a search that only needs to know whether it failed."""
        point = {k: float(v) for k, v in point.items()}
        self._require_domain(expand(expr)[0], point)
        start = time.perf_counter()
        run = self.engine.run(expr, point)
        engine_seconds = time.perf_counter() - start
        verdict = self.judge(expr, point, run, blame=blame)
        verdict.seconds["engine"] = engine_seconds
        return verdict

    def judge(
        self,
        expr: Expr,
        point: Mapping[str, float],
        run: EngineRun,
        engine: EngineAdapter | None = None,
        blame: bool = True,
    ) -> Verdict:
        """Compare what an engine already computed for `expr` at `point` (`run`) with every referee. `engine`
        (default: this checker's) is what blame re-runs single ops on. Ops declared with `oracles.custom` are
        judged by their definitions: the referees and the error model see the expression expanded."""
        point = {k: float(v) for k, v in point.items()}
        reference = expand(expr)[0]
        start = time.perf_counter()
        model = self.model(reference, point)
        model_seconds = time.perf_counter() - start
        results: list[RefereeResult] = [referee(reference, point) for referee in self.referees]
        start = time.perf_counter()
        verdict = compare(reference, point, run, results, model, (engine or self.engine) if blame else None)
        verdict.seconds["error model"] = model_seconds
        verdict.seconds["compare"] = time.perf_counter() - start
        verdict.expr = expr
        return verdict

    def _require_domain(self, expr: Expr, point: Mapping[str, float]) -> None:
        from oracles.floats import evaluate

        try:
            evaluate(expr, point)
        except KeyError as e:
            raise PointOutsideDomain(f"no value given for {e.args[0]}") from None
        except OutsideDomain as e:
            raise PointOutsideDomain(str(e)) from None
        except OverflowError:
            raise PointOutsideDomain("a value overflows a float here") from None
