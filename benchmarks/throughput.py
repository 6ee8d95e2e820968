"""Verification throughput, two ways: the campaign as a user runs it (`gradverify fuzz`, generation included:
DAGs and checks per second, the time per stage, the informative share and the symbolic paths taken), and
three-way checks per second on a fixed set of random DAGs of a given size at 20 points each, per symbolic mode,
with the time spent in each referee; and the naive baseline (SymPy `diff` + `evalf` of the whole expression at
every point, no cache) for comparison."""

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
from oracles.symbolic import forget_structures

__all__ = [
    "MODES",
    "CampaignRate",
    "ThroughputResult",
    "campaign_rate",
    "draw",
    "naive_sympy_rate",
    "sample_dags",
    "throughput",
]


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
    paths: dict[str, int] = field(default_factory=dict)  # how often each symbolic path gave the result

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
    "symengine": "SymEngine's derivative of the whole expression, compiled per structure to arb code, evaluated in "
    "balls to 30 digits (the default; SymPy where SymEngine cannot)",
    "sympy": "SymPy's `diff` of the whole expression in a child process, compiled per structure, evaluated with "
    "mpmath at 30 and 50 digits (2 s budget, then the chain rule)",
    "chain rule": "each op's derivative (from SymEngine), in arb balls, combined exactly in reverse mode to 30 digits",
}


def throughput(size: int, trees: int, points_per_tree: int, mode: str = "symengine") -> ThroughputResult:
    """Check `trees` DAGs of `size` ops at `points_per_tree` points each, timing each part. `mode` (one of
    MODES) picks how the symbolic referee gets its exact gradient; all are exact to 30 digits."""
    from oracles.compare import compare

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {list(MODES)}")
    forget_structures()  # every run pays for compiling its structures, as the first did
    checker = Checker(
        symbolic_max_nodes=0 if mode == "chain rule" else 400,
        symbolic_engine="sympy" if mode == "sympy" else "symengine",
    )
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
    result.paths = dict(checker.referees[0].modes)
    result.paths[_first_path(mode)] -= 1  # the warm-up check
    return result


def _first_path(mode: str) -> str:
    return {"symengine": "symengine", "sympy": "sympy"}.get(mode, "chain")


@dataclass
class CampaignRate:
    """One `gradverify fuzz` campaign on one worker, as a user runs it."""

    examples: int
    points: int
    seconds: float
    checks: int
    stage_seconds: dict[str, float]  # engine, error model, each referee, compare; "generation" is the rest
    informative: float  # share of gradient components nonzero and verified to 1e-6 of their size
    zero: float  # share exactly zero
    paths: dict[str, int]
    range: tuple[float, float] = (0.0, 0.0)  # the lowest and highest DAGs/s over repeated runs

    @property
    def dags_per_second(self) -> float:
        return self.examples / self.seconds

    @property
    def checks_per_second(self) -> float:
        return self.checks / self.seconds


def campaign_rate(examples: int, points: int, seed: int = 7) -> CampaignRate:
    """`gradverify fuzz --examples N --points P --seed S` on one worker, in this process, timed."""
    from gradverify.fuzz import run_campaign

    forget_structures()  # the same seed draws the same DAGs: without this, later runs find them compiled
    result = run_campaign(examples, workers=1, seed=seed, points=points)
    if result.defects or result.errors:
        raise AssertionError(f"the campaign found a defect or failed: {result.defects or result.errors}")
    stages = dict(result.stage_seconds)
    stages["generation"] = max(0.0, result.seconds - sum(stages.values()))
    return CampaignRate(
        examples=result.examples,
        points=points,
        seconds=result.seconds,
        checks=result.checks,
        stage_seconds=stages,
        informative=result.informative / max(result.components, 1),
        zero=result.zero / max(result.components, 1),
        paths=dict(result.symbolic_modes),
    )


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
