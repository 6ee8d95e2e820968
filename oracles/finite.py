"""The finite-difference referee: central differences at three step sizes scaled to the point, combined by
Richardson extrapolation; the spread of the extrapolants is the error estimate. A variable whose stencil
straddles a kink, leaves a domain or the float range (a step past 1.8e308, a value on the stencil that
overflows, a difference quotient that does) is skipped, with the reason: a referee that cannot compute abstains,
it never disagrees. It knows nothing of derivatives: it only evaluates the expression in floats
(`oracles.floats`)."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping

from oracles.expr import Expr
from oracles.floats import FloatProgram, OutsideDomain
from oracles.referee import RefereeResult

__all__ = ["FiniteDifferences"]

EPS = 2.0**-52


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
            if not (math.isfinite(plus) and math.isfinite(minus)):
                result.skipped[name] = f"the finite-difference step ({h:.1e}) leaves the float range"
                return
            try:
                args[i] = plus
                fp, sp_ = program.with_sides(*args)
                args[i] = minus
                fm, sm = program.with_sides(*args)
            except OutsideDomain as e:
                where = "overflows a float" if e.arg == -1 else "leaves the domain"
                result.skipped[name] = f"a value on the finite-difference stencil {where}: {e}"
                return
            except (OverflowError, ZeroDivisionError, ValueError) as e:
                result.skipped[name] = f"the finite-difference stencil leaves the float range ({e})"
                return
            if sp_ != sides or sm != sides:
                result.skipped[name] = f"within a finite-difference step ({h:.1e}) of a kink or a pole"
                return
            scale = max(scale, abs(fp), abs(fm))
            width = plus - minus  # the step actually taken, after rounding x + h and x - h
            diffs.append(fp / width - fm / width if math.isinf(fp - fm) else (fp - fm) / width)
            weight_sums.append(2.0 / width)
        result.scales[name] = scale
        if not self.richardson:
            if not math.isfinite(diffs[0]):
                result.skipped[name] = "the finite differences overflow a float here"
                return
            result.grads[name] = diffs[0]
            result.errors[name] = 0.0
            result.weights[name] = weight_sums[0]
            return
        d1, d2, d3 = diffs
        # Written as corrections to the finer estimate, so that near the top of the float range (exp at 708) no
        # intermediate such as 4 * d2 overflows.
        r1 = d2 + (d2 - d1) / 3
        r2 = d3 + (d3 - d2) / 3
        best = r2 + (r2 - r1) / 15  # = (64 d3 - 20 d2 + d1) / 45
        # |r2 - r1| is about the error of r1, far more than that of `best` when f is smooth at this scale; when
        # it is not, this spread is what grows.
        spread = abs(r2 - r1) + abs(best - r2)
        if not (math.isfinite(best) and math.isfinite(spread)):
            result.skipped[name] = "the finite differences overflow a float here"
            return
        result.grads[name] = best
        result.errors[name] = spread
        result.weights[name] = (64 * weight_sums[2] + 20 * weight_sums[1] + weight_sums[0]) / 45
