"""Finite-difference accuracy: plain central differences (h = 1e-6), the step scaled to the point
(cbrt(eps) * max(1, |x|)), and the referee's Richardson extrapolation, each against SymPy's exact derivative,
over random smooth DAGs (no relu: a kink would only measure the kink)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import mpmath

from oracles.finite import FiniteDifferences
from oracles.strategies import Checked
from oracles.symbolic import Symbolic

__all__ = ["FDAccuracy", "fd_accuracy"]

SMOOTH = ("add", "sub", "mul", "div", "neg", "pow", "powv", "tanh", "sigmoid", "exp", "log")


@dataclass
class FDAccuracy:
    method: str
    errors: list[float]  # per gradient component: |error| / max(1, |exact|)

    @property
    def median(self) -> float:
        return statistics.median(self.errors)

    @property
    def worst(self) -> float:
        return max(self.errors)

    def share_below(self, bound: float) -> float:
        return sum(e <= bound for e in self.errors) / len(self.errors)


def fd_accuracy(cases: list[Checked]) -> list[FDAccuracy]:
    exact_referee = Symbolic(dps=50)
    methods = {
        "central, h = 1e-6": FiniteDifferences(step=1e-6, richardson=False),
        "central, h = cbrt(eps) max(1, |x|)": FiniteDifferences(richardson=False),
        "Richardson (h, h/2, h/4), scaled": FiniteDifferences(),
    }
    results = {name: FDAccuracy(name, []) for name in methods}
    for case in cases:
        exact = exact_referee(case.expr, case.point)
        per_method = {name: fd(case.expr, case.point) for name, fd in methods.items()}
        for var, g in exact.exact.items():
            if var.startswith("__"):
                continue
            if any(r.grads.get(var) is None for r in per_method.values()):
                continue  # a stencil left a domain: compare like with like
            with mpmath.workdps(60):
                scale = max(abs(g), mpmath.mpf(1))  # relative for |g| >= 1, absolute below
                for name, r in per_method.items():
                    results[name].errors.append(float(abs(mpmath.mpf(r.grads[var]) - g) / scale))
    return list(results.values())
