"""Verification throughput: three-way checks per second on random DAGs of a given size, several points per
DAG, with the time spent in each referee (so everyone can see what bounds it), and the naive baseline
(SymPy `diff` + `evalf` of the whole expression at every point, no cache) for comparison."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from oracles.check import Checker, PointOutsideDomain
from oracles.engines import AUTODIFF
from oracles.expr import nodes, parse, variables
from oracles.floats import FloatProgram, OutsideDomain
from oracles.strategies import Checked, checked_dags

__all__ = ["MODES", "ThroughputResult", "draw", "naive_sympy_rate", "sample_dags", "throughput"]


@dataclass
class ThroughputResult:
    mode: str
    size: int
    trees: int
    points_per_tree: int
    checks: int = 0
    seconds: float = 0.0
    per_part: dict[str, float] = field(default_factory=dict)  # seconds spent in each part, summed
    range: tuple[float, float] = (0.0, 0.0)  # the lowest and highest rate over repeated runs

    @property
    def rate(self) -> float:
        return self.checks / self.seconds if self.seconds else 0.0


def draw(strategy: st.SearchStrategy[Checked], count: int) -> list[Checked]:
    """`count` examples of `strategy`, the same ones on every run (derandomized, no database)."""
    found: list[Checked] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Checked) -> None:
        found.append(case)

    collect()
    return found[:count]


def sample_dags(size: int, count: int) -> list[Checked]:
    """`count` random DAGs of `size` ops (before adapters), reproducibly."""
    return draw(checked_dags(min_ops=size, max_ops=size), count)


def nearby_points(case: Checked, count: int, seed: int = 0) -> list[dict[str, float]]:
    """The DAG's own point and `count - 1` nearby points where it is also defined."""
    rng = random.Random(seed)
    program = FloatProgram(case.expr)
    names = program.names
    points = [case.point]
    tries = 0
    while len(points) < count and tries < 50 * count:
        tries += 1
        candidate = {n: case.point[n] * (1 + rng.uniform(-0.05, 0.05)) + rng.uniform(-0.01, 0.01) for n in names}
        try:
            program.value(*(candidate[n] for n in names))
        except (OutsideDomain, OverflowError, ValueError, ZeroDivisionError):
            continue
        points.append(candidate)
    return points


MODES = {
    "diff first": "SymPy's `diff` of the whole expression, compiled per structure (2 s budget, then the chain rule)",
    "chain rule": "SymPy's derivative of each op, compiled per op, combined exactly in reverse mode at 30/50 digits",
}


def throughput(size: int, trees: int, points_per_tree: int, mode: str = "diff first") -> ThroughputResult:
    """Check `trees` DAGs of `size` ops at `points_per_tree` points each, timing each part. `mode` (one of
    MODES) picks how the symbolic referee gets its exact gradient; both are exact at 30 and 50 digits."""
    from oracles.compare import compare

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {list(MODES)}")
    checker = Checker(symbolic_max_nodes=400 if mode == "diff first" else 0)
    result = ThroughputResult(mode, size, trees, points_per_tree)
    cases = sample_dags(size, trees)
    checker.check(parse("tanh(x) * x"), {"x": 0.5})  # warm up: import SymPy and start its child process
    parts = dict.fromkeys(["engine", "error model", "sympy", "fd", "torch", "compare"], 0.0)
    start = time.perf_counter()
    for case in cases:
        for point in nearby_points(case, points_per_tree):
            try:
                t = time.perf_counter()
                model = checker.model(case.expr, point)
                parts["error model"] += time.perf_counter() - t
            except PointOutsideDomain:
                continue
            t = time.perf_counter()
            run = AUTODIFF.run(case.expr, point)
            parts["engine"] += time.perf_counter() - t
            refs = []
            for referee in checker.referees:
                t = time.perf_counter()
                refs.append(referee(case.expr, point))
                parts[referee.name] += time.perf_counter() - t
            t = time.perf_counter()
            verdict = compare(case.expr, point, run, refs, model, AUTODIFF)
            parts["compare"] += time.perf_counter() - t
            if not verdict.ok:
                raise AssertionError(f"throughput run found a defect: {verdict.summary()}")
            result.checks += 1
    result.seconds = time.perf_counter() - start
    result.per_part = parts
    return result


def naive_sympy_rate(size: int, trees: int, points_per_tree: int, seconds_per_tree: float = 30.0) -> tuple[float, int]:
    """Symbolic checks per second done naively: SymPy builds and differentiates the whole expression again at
    every point and evaluates it with evalf (symbolic part only, so an upper bound on a naive checker). Runs in
    a child process; a tree that takes longer than `seconds_per_tree` is stopped and counted at that time.
    Returns the rate and how many trees were stopped."""
    from oracles.child import Child, ChildDied, TooSlow
    from oracles.expr import to_json

    child = Child("benchmarks.throughput")
    checks, elapsed, stopped = 0, 0.0, 0
    for case in sample_dags(size, trees):
        points = nearby_points(case, points_per_tree)
        start = time.perf_counter()
        try:
            checks += child.request((to_json(case.expr), points), seconds_per_tree)
        except (TooSlow, ChildDied):
            stopped += 1
        elapsed += time.perf_counter() - start
    child.close()
    return (checks / elapsed if elapsed else 0.0), stopped


def _naive(request: tuple[dict[str, object], list[dict[str, float]]]) -> int:
    """In the child: the naive checks of one expression at its points."""
    import sympy as sp

    from autodiff.ops import OPS
    from oracles.expr import Apply, Const, Var, from_json

    expr_json, points = request
    expr = from_json(expr_json)
    for point in points:
        built: dict[bytes, object] = {}
        symbols = {n: sp.Symbol(n) for n in variables(expr)}
        for node in nodes(expr):
            if isinstance(node, Var):
                built[node.digest] = symbols[node.name]
            elif isinstance(node, Const):
                built[node.digest] = sp.Float(node.value, 30)
            else:
                assert isinstance(node, Apply)
                built[node.digest] = OPS[node.op].sympy(sp, *(built[a.digest] for a in node.args), *node.params)
        f = built[expr.digest]
        subs = {symbols[n]: sp.Float(v, 30) for n, v in point.items()}
        for n in symbols:
            sp.diff(f, symbols[n]).evalf(30, subs=subs)
    return len(points)


if __name__ == "__main__":
    from oracles.child import serve
    from oracles.symbolic import warm_up

    serve(_naive, warm_up)
