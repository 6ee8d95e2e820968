"""Mutation testing of the referees and the judgement: does the test suite notice a wrong error model?

A mutant is one change to the comparison policy (oracles/compare.py), the float64 error model
(oracles/bounds.py) or a referee (oracles/finite.py, oracles/autograd.py, the parent side of oracles/symbolic.py):
the changes of `benchmarks.mutation` (operators swapped, constants changed, signs and factors dropped,
comparisons flipped) plus, since a bound is a sum of terms, each term of a sum dropped in turn and each side of a
max() taken alone. Each mutant is swapped into this process (the mutated function's code object replaces the
original's, a mutated module constant is rebound everywhere it was imported) and the suite's tests that judge
the oracles run against it with pytest, cheapest first, stopping at the first failure: that test killed it.
A survivor is a change the tests cannot see: either a missing test, or a change that cannot matter (listed in
EQUIVALENT with the reason).

Run: `python -m benchmarks.oracle_mutation` (part of `tox -e mutation`); writes a section of benchmarks/MUTATION.md.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import json
import re
import signal
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.mutation import _Scoped, outcome_sections

__all__ = ["TARGETS", "OracleMutant", "oracle_mutants", "run"]

ROOT = Path(__file__).parent.parent

# module -> the functions and methods whose bodies are mutated (the parent side only for symbolic.py: its diff
# runs in a child process that imports the file from disk)
TARGETS: dict[str, tuple[str, ...]] = {
    "oracles.compare": (
        "compare",
        "_truth",
        "_unless_vacuous",
        "_value_rows",
        "_gradient_row",
        "_status",
        "blame",
        "_isolate",
        "_blame_crash",
        "ratio",
        "unverified",
        "verified",
        "ok",
    ),
    "oracles.bounds": (
        "__init__",
        "_run",
        "_overflowing",
        "_forward",
        "_sensitivity",
        "_check_trust",
        "_backward",
        "value_bound",
        "gradient_bound",
        "adjoint_bound",
        "reach",
        "value_scale",
        "_far",
        "_curvature",
        "grouped",
    ),
    "oracles.finite": ("__call__", "_one"),
    "oracles.autograd": ("__call__",),
    "oracles.symbolic": ("__call__", "_exact_chain_rule", "_agree"),
}
CONSTANTS: dict[str, tuple[str, ...]] = {
    "oracles.bounds": ("U", "ETA", "TINY", "KAPPA", "SAFETY", "TRUST", "WIDE", "DBL_MAX"),
    "oracles.finite": ("EPS",),
}

# The tests that judge the oracles, cheapest and most telling first. pytest stops at the first failure.
KILLERS = (
    "property_tests/test_each_referee.py::test_the_allowed_error_is_tight",
    "property_tests/test_each_referee.py",
    "property_tests/test_error_terms.py",
    "property_tests/test_expressions.py::test_error_bound_is_second_order_where_the_derivative_vanishes",
    "property_tests/test_expressions.py::test_error_bound_is_third_order_where_two_derivatives_vanish",
    "property_tests/test_expressions.py::test_adjoint_bound_keeps_the_product_of_two_errors",
    "property_tests/test_expressions.py::test_error_bound_stays_finite_where_a_second_derivative_overflows",
    "property_tests/test_edges.py",
    "property_tests/test_expressions.py::test_random_dags_three_ways",
    "property_tests/test_referees.py",
    "property_tests/test_expressions.py::test_small_trees_three_ways",
)


@dataclass
class OracleMutant:
    module: str
    where: str
    line: int
    description: str
    source: str  # the whole mutated module

    def __str__(self) -> str:
        return f"{self.module.split('.')[-1]}.py:{self.line} ({self.where}): {self.description}"


class _OracleMutator(_Scoped):
    """The engine mutations, and two more that matter for bounds: drop one term of a sum, take one side of a
    max() or min()."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)  # type: ignore[assignment]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and not _text(node):
            if self._hit(node, f"drop the term {ast.unparse(node.right)}"):
                return node.left
            if self._hit(node, f"drop the term {ast.unparse(node.left)}"):
                return node.right
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node = super().visit_Call(node)  # type: ignore[assignment]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("max", "min")
            and len(node.args) == 2
            and not node.keywords
        ):
            for arg in node.args:
                if self._hit(node, f"{node.func.id}(...) -> {ast.unparse(arg)}"):
                    return arg
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, int) and not isinstance(node.value, bool) and node.value in (2, 10, 12, 20):
            for replacement in (node.value // 2, node.value * 2):
                if self._hit(node, f"{node.value!r} -> {replacement!r}"):
                    return ast.copy_location(ast.Constant(replacement), node)
        return super().visit_Constant(node)


class _ConstantMutator(ast.NodeTransformer):
    """The k-th change to a module constant: halve it or double it (U and ETA: ten times smaller or larger)."""

    def __init__(self, target: int, names: tuple[str, ...]) -> None:
        self.target, self.names, self.count = target, names, 0
        self.done: tuple[int, str, str] | None = None

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and node.targets[0].id in self.names:
            name = node.targets[0].id
            for factor in (0.5, 2.0):
                if self.count == self.target:
                    self.done = (node.lineno, name, f"{name} = ({ast.unparse(node.value)}) * {factor}")
                    node.value = ast.BinOp(node.value, ast.Mult(), ast.Constant(factor))
                self.count += 1
        return node


def _text(node: ast.BinOp) -> bool:
    """A string concatenation (a message, not a bound)."""
    return any(
        isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, str))
        for n in (node.left, node.right)
    )


def _source(module: str) -> str:
    return (ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")


def oracle_mutants() -> list[OracleMutant]:
    """Every mutant of the oracle functions in TARGETS and of the constants in CONSTANTS."""
    found: list[OracleMutant] = []
    for module, functions in TARGETS.items():
        source = _source(module)
        k = 0
        while True:
            mutator = _OracleMutator(k, functions, ())
            tree = mutator.visit(ast.parse(source))
            if mutator.done is None:
                break
            line, description = mutator.done
            found.append(
                OracleMutant(module, mutator.hit_where, line, description, ast.unparse(ast.fix_missing_locations(tree)))
            )
            k += 1
        k = 0
        while True:
            constant = _ConstantMutator(k, CONSTANTS.get(module, ()))
            tree = constant.visit(ast.parse(source))
            if constant.done is None:
                break
            line, name, description = constant.done
            found.append(OracleMutant(module, name, line, description, ast.unparse(ast.fix_missing_locations(tree))))
            k += 1
    return found


# ---------------------------------------------------------------------------------------------------------
# Swapping a mutant into this process
# ---------------------------------------------------------------------------------------------------------


def _functions(namespace: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, types.FunctionType]]:
    """(qualified name, function) for the module's functions and its classes' methods and properties."""
    for name, value in namespace.items():
        if isinstance(value, types.FunctionType) and value.__module__ == namespace.get("__name__"):
            yield prefix + name, value
        elif isinstance(value, type) and value.__module__ == namespace.get("__name__") and not prefix:
            for attr, member in vars(value).items():
                if isinstance(member, property) and member.fget is not None:
                    yield f"{name}.{attr}", member.fget  # type: ignore[misc]
                elif isinstance(member, (staticmethod, classmethod)):
                    yield f"{name}.{attr}", member.__func__  # type: ignore[misc]
                elif isinstance(member, types.FunctionType):
                    yield f"{name}.{attr}", member


@contextlib.contextmanager
def swapped(mutant: OracleMutant) -> Iterator[None]:
    """The mutant in place of the original, in every module that uses it, until the block ends."""
    module = importlib.import_module(mutant.module)
    scratch = types.ModuleType(mutant.module)
    scratch.__file__ = module.__file__
    previous = sys.modules[mutant.module]
    sys.modules[mutant.module] = scratch  # dataclasses look their module up while a class is made
    try:
        exec(compile(mutant.source, f"<mutant of {mutant.module}>", "exec"), scratch.__dict__)
    finally:
        sys.modules[mutant.module] = previous
    originals = dict(_functions(module.__dict__))
    saved_code = {name: (f.__code__, f.__defaults__) for name, f in originals.items()}
    for name, f in _functions(scratch.__dict__):
        if name in originals and f.__code__ != originals[name].__code__:
            originals[name].__code__ = f.__code__
            originals[name].__defaults__ = f.__defaults__
    rebound: list[tuple[dict[str, Any], str, Any]] = []
    for name in CONSTANTS.get(mutant.module, ()):
        old, new = module.__dict__[name], scratch.__dict__[name]
        if new != old:
            for m in list(sys.modules.values()):
                namespace = getattr(m, "__dict__", None)
                if isinstance(namespace, dict) and namespace.get(name) is old:
                    rebound.append((namespace, name, old))
                    namespace[name] = new
    try:
        yield
    finally:
        for name, (code, defaults) in saved_code.items():
            originals[name].__code__ = code
            originals[name].__defaults__ = defaults
        for namespace, name, old in rebound:
            namespace[name] = old


# ---------------------------------------------------------------------------------------------------------
# Judging a mutant
# ---------------------------------------------------------------------------------------------------------


class _FirstFailure:
    """A pytest plugin that remembers the first failing test."""

    def __init__(self) -> None:
        self.failed: str | None = None

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed and self.failed is None:
            self.failed = report.nodeid


class _TooSlow(Exception):
    pass


@dataclass
class OracleOutcome:
    mutant: OracleMutant
    killed_by: str | None
    seconds: float


def judge(mutant: OracleMutant, killers: tuple[str, ...] = KILLERS, seconds: int = 600) -> OracleOutcome:
    import pytest

    start = time.perf_counter()
    try:
        compile(mutant.source, "<mutant>", "exec")
    except SyntaxError:
        return OracleOutcome(mutant, "does not compile", 0.0)
    plugin = _FirstFailure()

    def too_slow(signum: int, frame: Any) -> None:
        raise _TooSlow(f"more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(seconds)
    try:
        with swapped(mutant):
            args = ["-x", "-q", "-p", "no:cacheprovider", "--assert=plain", "--no-header", "-o", "addopts="]
            code = pytest.main([*args, "--import-mode=importlib", "-W", "error", *killers], plugins=[plugin])
    except _TooSlow:
        return OracleOutcome(mutant, "time-out (a loop that no longer ends)", time.perf_counter() - start)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    killed = plugin.failed or (None if code in (0, 5) else f"pytest exit status {code}")
    return OracleOutcome(mutant, killed, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------

_TIE = (
    "differs only where the error equals the allowed error to the last bit; the allowed errors here are sums of "
    "roundings with a factor of 2, and no error a float64 engine makes lands exactly on one"
)
_TINY = (
    "TINY is four subnormals; every rounding the model counts already carries the subnormal term ETA, so it "
    "changes no comparison a float64 engine can produce"
)
EQUIVALENT: dict[str, str] = {
    # a fragment of the mutant's description -> why no test can tell it from the original
    "(ratio): swap the pair": "the order of a tuple that is only tested for membership",
    "(blame): swap the pair": "the order of the prefixes passed to str.startswith",
    "(_check_trust): swap the pair": "the minimum over an interval's two ends, in either order",
    "(_check_trust): - -> +": "every finite edge of a domain in the op table is 0, where |x - 0| = |x + 0|",
    "(blame): <= -> <": _TIE,
    "(_isolate): <= -> <": _TIE,
    "(_check_trust): > -> >=": _TIE,
    "(_overflowing): > -> >=": "the two differ where a ball's upper end is exactly the largest float: the adjoint "
    "check, which adds the bound, flags those points first",
    "(_forward): - -> +": "abs(x - kink.at) or kink.at - e with a + instead: relu's kink, the only one in the "
    "op table, is at 0 (or abs(dl - dr) as abs(dl + dr): relu's one-sided slopes are 0 and 1)",
    "(_forward): drop the term kink.at": "relu's kink, the only one in the op table, is at 0",
    "(_forward): swap the pair": "the two one-sided slopes enter only through |dl - dr|",
    "(_forward): drop the factor i == kink.arg": "every kinked op in the table (relu) has one input",
    "(_forward): 0.0 -> -1.0": "the kink allowance for an exact input (e = 0): its box's two sides are the kink "
    "itself, so no jump is added either way",
    "(_forward): > -> >=": "as above: with e = 0 the allowance adds nothing",
    "(_forward): <= -> <": _TIE,
    "(_forward): local_errors[i] += ... -> = ...": "near relu's kink the jump of its slope (1) replaces rounding "
    "terms of a few ulps of a slope of 0 or 1: equal to the float precision of the comparison",
    "(_isolate): drop the term TINY": _TINY,
    "(_gradient_row): drop the term TINY": _TINY,
    "(_gradient_row): + -> -": "turns + TINY into - TINY in finite differences' rounding term; " + _TINY,
}

_SUMMATION = (
    "the summation rounding (uses - 1) U sum|t| of a shared node: the per-product rounding U|t| and the local "
    "derivatives' KAPPA roundings, counted for every contribution, exceeded the real summation error in every "
    "case found (it needs adversarially rounded sums)"
)

# Survivors that are not equivalent: a term or factor that no case could show necessary (or too loose), and why.
# They are listed as survivors in the report, with this reason.
KNOWN_GAPS: dict[str, str] = {
    "(_value_rows): 2 -> 1": "twice the bound against PyTorch (both sides are float64 and may err oppositely); in "
    "every case found the two differ by at most 0.2 of one bound: their roundings mostly coincide",
    "(_gradient_row): 2 -> 1": "as above for gradients (at most 0.07 of one bound measured), or the 2U of finite "
    "differences' rounding floor 2U * max|f|, below the model's value bound in every case found",
    "(_gradient_row): drop the factor ref.scales": "finite differences' rounding floor 2U * max|f| on the "
    "stencil: the model's value bound (at least half an ulp of every op) exceeded it in every case found",
    "(_gradient_row): max(...) -> model.value_bound()": "as above",
    "(_forward): drop the term abs(d[i] - kink.subgradient)": "the gap between the model's slope at its computed "
    "kink input and the subgradient an engine uses where its own computed input is exactly the kink: needs an "
    "engine that rounds the kink's input differently from the op table (another engine); no such case written",
    "(_forward): + -> -": "as above (the same term subtracted)",
    "(_forward): * -> /": "multiplying by (i == kink.arg), which is True, or dividing by it (equivalent); or the "
    "kink's value term |dl - dr| * e divided by e instead: looser near a kink, and no tightness case sits within "
    "rounding of a kink",
    "(_forward): 0.5 -> 1.0": "the second-order term's 1/2 (Taylor's), doubled: looser only where the first-order "
    "terms vanish, and no tightness case sits at such a point",
    "(_forward): drop the term ETA": "the subnormal rounding of a local derivative: no case has a local derivative "
    "in the subnormal range whose rounding reaches the comparison",
    "(U): U = (2.0 ** (-53)) * 0.5": "half the unit roundoff everywhere, which halves every bound: no case found "
    "where a correct engine's real error exceeds half of its bound (largest measured ratio 0.30, sympy value row), "
    "so SAFETY's factor 2 is not shown necessary",
    "(_sensitivity): 0.0 -> ": "where f' is exactly 0 in the wide pass, d'/f' is taken as 0 (as in floats); any "
    "other value only loosens the local error there, and no tightness case reaches a vanishing f' in balls",
    "(_backward): nb.adjoint_error += ... -> -= ...": _SUMMATION,
    "(_backward): child.contributions += ... -> -= ...": _SUMMATION,
    "(_backward): child.uses += ... -> -= ...": _SUMMATION,
    "(_backward): > -> >=": "in reach, max(|l|, 1) written with >= is the same at |l| = 1 (equivalent); in the "
    "summation term, uses >= 1 adds it for a single use too (" + _SUMMATION + ")",
    "(_backward): - -> +": "(uses + 1) instead of (uses - 1) in " + _SUMMATION,
    "(_backward): drop the term U * abs(t)": "the rounding of each product a * l: covered in every case found by the "
    "KAPPA roundings of l times |a| and by SAFETY (the products of these examples are mostly exact)",
}


def _known_gap(m: OracleMutant) -> str | None:
    return next((why for key, why in KNOWN_GAPS.items() if key in str(m)), None)


def _equivalent(m: OracleMutant) -> str | None:
    return next((why for key, why in EQUIVALENT.items() if key in str(m)), None)


def report(outcomes: list[OracleOutcome]) -> str:
    killed = [o for o in outcomes if o.killed_by]
    equivalent = [o for o in outcomes if not o.killed_by and _equivalent(o.mutant)]
    survived = [o for o in outcomes if not o.killed_by and not _equivalent(o.mutant)]
    by: dict[str, int] = {}
    for o in killed:
        key = (o.killed_by or "?").split("::")[0].split("[")[0]
        by[key] = by.get(key, 0) + 1
    non_equivalent = len(outcomes) - len(equivalent)
    return "\n".join(
        [
            "# Mutation testing of the referees and the error model",
            "",
            "Generated by `python -m benchmarks.oracle_mutation` (part of `tox -e mutation`). Each mutant is one",
            "change to oracles/compare.py, oracles/bounds.py, oracles/finite.py, oracles/autograd.py or the parent",
            "side of oracles/symbolic.py, swapped into the process; the tests that judge the oracles run against it",
            "with pytest, cheapest first, and the first failure kills it. See benchmarks/oracle_mutation.py.",
            "",
            f"- mutants: {len(outcomes)}; killed {len(killed)}; equivalent {len(equivalent)}; survived {len(survived)}",
            f"- kill rate of non-equivalent mutants: {len(killed)}/{non_equivalent}"
            + (f" = {len(killed) / non_equivalent:.1%}" if non_equivalent else ""),
            f"- time: {sum(o.seconds for o in outcomes):.0f} s",
            "",
            *outcome_sections(
                by,
                [f"{o.mutant}" + (f": {_known_gap(o.mutant)}" if _known_gap(o.mutant) else "") for o in survived],
                [f"{o.mutant}: {_equivalent(o.mutant)}" for o in equivalent],
            ),
            "## Every mutant",
            "",
            "| mutant | killed by | seconds |",
            "| --- | --- | ---: |",
            *(
                f"| {str(o.mutant).replace('|', '/')} | "
                f"{(o.killed_by or ('equivalent' if _equivalent(o.mutant) else 'SURVIVED')).replace('|', '/')} | "
                f"{o.seconds:.0f} |"
                for o in outcomes
            ),
            "",
        ]
    )


_LOG_LINE = re.compile(r"^\[\d+/\d+\] (\w+)\.py:(\d+) \((.*?)\): (.*): (.*) \((\d+) s\)$")


def _read_outcomes(path: Path) -> list[OracleOutcome]:
    """Outcomes from a run's .json, or from its log (`[i/n] mutant: verdict (s s)` per line: a run stopped early)."""
    if path.suffix == ".json":
        return [_outcome(entry) for entry in json.loads(path.read_text(encoding="utf-8"))]
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _LOG_LINE.match(line)
        if m:
            module, line_no, where, description, verdict, seconds = m.groups()
            killed = None if verdict in ("SURVIVED", "equivalent") else verdict
            mutant = OracleMutant(f"oracles.{module}", where, int(line_no), description, "")
            found.append(OracleOutcome(mutant, killed, float(seconds)))
    return found


def _outcome(entry: dict[str, Any]) -> OracleOutcome:
    fields = {k: entry[k] for k in ("module", "where", "line", "description", "source")}
    return OracleOutcome(OracleMutant(**fields), entry["killed_by"], entry["seconds"])


def _profile() -> None:
    """Property tests with 25 derandomized examples each: every mutant sees the same examples, and a survivor
    (which runs every killer) costs about a minute rather than three."""
    import os

    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "mutation",
        max_examples=25,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    os.environ["HYPOTHESIS_PROFILE"] = "mutation"


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.oracle_mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="only mutants whose description matches this regular expression")
    parser.add_argument("--limit", type=int, default=0, help="only the first N mutants (0: all)")
    parser.add_argument("--sample", type=int, default=0, help="a seeded random sample of N mutants (0: all)")
    parser.add_argument("--seed", type=int, default=14, help="seed of --sample (default 14)")
    parser.add_argument("--shard", default="1/1", help="K/N: only every N-th mutant from the K-th on (default 1/1)")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--out", default=str(Path(__file__).with_name("ORACLE_MUTATION.md")), help="report file")
    parser.add_argument(
        "--combine",
        nargs="+",
        metavar="FILE",
        help="write the report from earlier runs' outcomes (their .json files, or their logs: a line per mutant)",
    )
    args = parser.parse_args(argv)
    if args.combine:
        outcomes = [o for name in args.combine for o in _read_outcomes(Path(name))]
        outcomes.sort(key=lambda o: (list(TARGETS).index(o.mutant.module), o.mutant.line))
        Path(args.out).write_text(report(outcomes), encoding="utf-8")
        print(f"wrote {args.out}")
        return 1 if any(not o.killed_by and not _equivalent(o.mutant) for o in outcomes) else 0
    chosen = [m for m in oracle_mutants() if re.search(args.only, str(m))]
    if args.sample:
        import random

        picked = sorted(random.Random(args.seed).sample(range(len(chosen)), min(args.sample, len(chosen))))
        chosen = [chosen[i] for i in picked]
    if args.limit:
        chosen = chosen[: args.limit]
    k, n = (int(v) for v in args.shard.split("/"))
    chosen = chosen[k - 1 :: n]
    if args.list:
        print("\n".join(str(m) for m in chosen))
        print(f"{len(chosen)} mutants")
        return 0
    _profile()
    outcomes = []
    for i, m in enumerate(chosen):
        outcome = judge(m)
        outcomes.append(outcome)
        verdict = outcome.killed_by or ("equivalent" if _equivalent(m) else "SURVIVED")
        print(f"[{i + 1}/{len(chosen)}] {m}: {verdict} ({outcome.seconds:.0f} s)", file=sys.__stdout__, flush=True)
    Path(args.out).write_text(report(outcomes), encoding="utf-8")
    kept = [{**vars(o.mutant), "source": "", "killed_by": o.killed_by, "seconds": o.seconds} for o in outcomes]
    Path(args.out).with_suffix(".json").write_text(json.dumps(kept, indent=1), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.__stdout__)
    return 1 if any(not o.killed_by and not _equivalent(o.mutant) for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(run())
