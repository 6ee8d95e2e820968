"""Mutation testing of `autodiff`: how many small, systematic changes to the engine does the suite kill?

A mutant is one change to the source of either the op table's forward and derivative code (autodiff/ops.py)
or the reverse pass (`backward`, `_count_parents`, `_propagate` in autodiff/engine.py): an arithmetic
operator swapped (+ -, * /), a constant changed (1.0 to 0.0 or 2.0), a sign dropped, a comparison flipped,
`+=` made `=`, a factor dropped, a pair of operands swapped. Each mutant is loaded as a copy of the engine (the
real one is never touched) and the suite's properties run against it, cheapest first: the deep chain, each
kink's subgradient, each op alone at points in its domain, two backward() calls, and random DAGs checked
three ways, with the example budgets of the `ci` profile. This is what mutmut does, specialised to the two
files where gradients are made, so that a mutant costs seconds instead of a full test run.

Run: `tox -e mutation` (or `python -m benchmarks.mutation`); writes benchmarks/MUTATION.md.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample

from gradverify.bugs import adapter_for, engine_copy, source_of
from gradverify.hunt import first_failure
from oracles.check import Checker
from oracles.engines import EngineAdapter
from oracles.expr import Apply, Var
from oracles.properties import (
    deep_chain_works,
    leaf_backward_works,
    three_ways,
    twice_is_exactly_double,
)

__all__ = ["Mutant", "mutants", "outcome_sections", "run"]

ENGINE_FUNCTIONS = ("backward", "_count_parents", "_propagate")
OPS_FUNCTIONS = ("_sigmoid", "_relu", "_pow_derivative", "_powv_derivative", "_pow_domain")
OPS_FIELDS = ("forward", "derivative")


@dataclass
class Mutant:
    file: str  # "ops" or "engine"
    where: str  # function or op name
    line: int
    description: str
    source: str  # the whole mutated file

    def __str__(self) -> str:
        return f"{self.file}.py:{self.line} ({self.where}): {self.description}"


class _Mutator(ast.NodeTransformer):
    """Applies the k-th possible mutation among the nodes it is allowed to touch."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.count = 0
        self.done: tuple[int, str] | None = None
        self.active = False

    def _hit(self, node: ast.AST, description: str) -> bool:
        if not self.active:
            return False
        hit = self.count == self.target
        self.count += 1
        if hit:
            self.done = (getattr(node, "lineno", 0), description)
            self.hit_where = getattr(self, "where", "")
        return hit

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        swaps = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult}
        new = swaps.get(type(node.op))
        if new and self._hit(node, f"{_symbol(node.op)} -> {_symbol(new())}"):
            return ast.copy_location(ast.BinOp(node.left, new(), node.right), node)
        if isinstance(node.op, ast.Mult) and self._hit(node, f"drop the factor {ast.unparse(node.right)}"):
            return node.left
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Add) and self._hit(node, f"{ast.unparse(node.target)} += ... -> = ..."):
            return ast.copy_location(ast.Assign([node.target], node.value), node)
        if isinstance(node.op, ast.Add) and self._hit(node, f"{ast.unparse(node.target)} += ... -> -= ..."):
            return ast.copy_location(ast.AugAssign(node.target, ast.Sub(), node.value), node)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, float) and not isinstance(node.value, bool):
            for replacement in ({0.0: 1.0, 1.0: 0.0}.get(node.value, 0.0), node.value * 2 if node.value else -1.0):
                if self._hit(node, f"{node.value!r} -> {replacement!r}"):
                    return ast.copy_location(ast.Constant(replacement), node)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.USub) and self._hit(node, f"drop the minus of -{ast.unparse(node.operand)}"):
            return node.operand
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        flips = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt}
        if len(node.ops) == 1 and type(node.ops[0]) in flips:
            new = flips[type(node.ops[0])]()
            if self._hit(node, f"{_symbol(node.ops[0])} -> {_symbol(new)}"):
                return ast.copy_location(ast.Compare(node.left, [new], node.comparators), node)
        return node

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        self.generic_visit(node)
        if len(node.elts) == 2 and isinstance(node.ctx, ast.Load) and self._hit(node, "swap the pair"):
            return ast.copy_location(ast.Tuple([node.elts[1], node.elts[0]], ast.Load()), node)
        return node


class _Scoped(_Mutator):
    """Only inside the named functions, and (for the op table) inside `forward=`/`derivative=` arguments."""

    def __init__(self, target: int, functions: tuple[str, ...], fields: tuple[str, ...]) -> None:
        super().__init__(target)
        self.functions, self.fields = functions, fields
        self.where = ""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if node.name in self.functions:
            outer, self.active, self.where = self.active, True, node.name
            node.body = [self.visit(stmt) for stmt in node.body]  # the body only: not the annotations
            self.active = outer
            return node
        return self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id == "Op":
            name = next((k.value for k in node.keywords if k.arg == "name"), None)
            for keyword in node.keywords:
                if keyword.arg in self.fields:
                    outer, self.active = self.active, True
                    self.where = getattr(name, "value", "?")
                    keyword.value = self.visit(keyword.value)
                    self.active = outer
            return node
        return self.generic_visit(node)


def _symbol(op: ast.AST) -> str:
    return {
        ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
        ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=",
    }.get(type(op), type(op).__name__)  # fmt: skip


def _generate(file: str, source: str, functions: tuple[str, ...], fields: tuple[str, ...]) -> Iterator[Mutant]:
    k = 0
    while True:
        mutator = _Scoped(k, functions, fields)
        tree = mutator.visit(ast.parse(source))
        if mutator.done is None:
            return
        line, description = mutator.done
        yield Mutant(file, mutator.hit_where, line, description, ast.unparse(ast.fix_missing_locations(tree)))
        k += 1


def mutants() -> list[Mutant]:
    """Every mutant of the op table's forward/derivative code and of the reverse pass."""
    ops = list(_generate("ops", source_of("autodiff.ops"), OPS_FUNCTIONS, OPS_FIELDS))
    engine = list(_generate("engine", source_of("autodiff.engine"), ENGINE_FUNCTIONS, ()))
    return ops + engine


def _build(mutant: Mutant) -> EngineAdapter:
    if mutant.file == "engine":
        return adapter_for(engine_copy(f"mutant{mutant.line}", mutant.source), str(mutant))
    module = types.ModuleType("autodiff_ops_mutant")
    sys.modules[module.__name__] = module  # dataclasses look their module up while the class is made
    try:
        exec(compile(mutant.source, "<mutated autodiff.ops>", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return adapter_for(engine_copy("mutant", source_of("autodiff.engine"), module.OPS), str(mutant))


# ---------------------------------------------------------------------------------------------------------
# The suite, as properties of an engine
# ---------------------------------------------------------------------------------------------------------


def _kinks(engine: EngineAdapter) -> str | None:
    from autodiff import OPS

    for op in OPS.values():
        for kink in op.kinks:
            xs = [0.5] * op.arity
            xs[kink.arg] = kink.at
            got = engine.local_derivatives(op.name, (), xs)
            if isinstance(got, str) or got[kink.arg] != kink.subgradient:
                return f"{op.name}'({kink.at}) = {got}, declared {kink.subgradient}"
    return None


def _ops_alone(engine: EngineAdapter, checker: Checker, budget: int) -> tuple[int, str] | None:
    """Each op alone at points in its domain (property_tests/test_ops.py): examples until one fails."""
    from autodiff import OPS
    from oracles.strategies import op_points

    count = 0
    for op in OPS.values():
        for values in zip(*(p.examples for p in op.params), strict=True) if op.params else [()]:
            names = [f"a{i}" for i in range(op.arity)]
            expr = Apply(op.name, tuple(Var(n) for n in names), values)
            seen = 0

            def check(xs: list[float], expr: Apply = expr, names: list[str] = names) -> bool:
                nonlocal count, seen
                count += 1
                seen += 1
                return not checker.check(expr, dict(zip(names, xs, strict=True))).ok

            try:
                find(
                    op_points(op, values),
                    check,
                    settings=settings(
                        max_examples=budget, database=None, derandomize=True, phases=[Phase.generate], deadline=None,
                        suppress_health_check=list(HealthCheck),
                    ),
                )  # fmt: skip
                return seen, f"{op.name}{list(values) if values else ''} alone"
            except NoSuchExample:
                continue
    return None


@dataclass
class Outcome:
    mutant: Mutant
    killed_by: str | None
    examples: int | None
    seconds: float


def judge(mutant: Mutant, budget: int = 100, op_budget: int = 25) -> Outcome:
    """Run the properties against the mutant, cheapest first; the first that fails kills it."""
    start = time.perf_counter()

    def done(by: str | None, examples: int | None) -> Outcome:
        return Outcome(mutant, by, examples, time.perf_counter() - start)

    try:
        engine = _build(mutant)
    except Exception as e:  # the mutant does not even import: killed by any test at all
        return done(f"import: {type(e).__name__}", 0)
    if deep_chain_works(engine) is not None:
        return done("deep chain", 1)
    if leaf_backward_works(engine) is not None:
        return done("backward on a leaf", 1)
    if _kinks(engine) is not None:
        return done("kink subgradient", 1)
    checker = Checker(engine=engine)
    found = _ops_alone(engine, checker, op_budget)
    if found:
        return done(f"ops alone ({found[1]})", found[0])
    found2 = first_failure(lambda case: twice_is_exactly_double(engine, case) is None, budget)
    if found2:
        return done("double backward", found2[0])
    found2 = first_failure(lambda case: three_ways(checker, case).ok, budget)
    if found2:
        return done("random DAGs three ways", found2[0])
    return done(None, None)


# ---------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------

EQUIVALENT = {
    # a fragment of the mutant's description -> why no test can tell it from the original
    "(_sigmoid): 0.0 -> 1.0": "both branches compute the sigmoid to within its declared 3 ulps; the branch only "
    "matters for overflow, which starts past |x| = 709",
    "(_sigmoid): 0.0 -> -1.0": "as above: the other branch is as accurate near 0",
    "(_sigmoid): >= -> >": "at x = 0 both branches give exactly 0.5",
    "(_relu): > -> >=": "relu(0) is 0 either way (x is 0.0; only -0.0 would come back as -0.0, equal to 0.0)",
    "(add): swap the pair": "(1.0, 1.0) swapped is (1.0, 1.0)",
}


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=100, help="examples per random-DAG property (default 100)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N mutants (0: all)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("MUTATION.md")), help="report file")
    args = parser.parse_args(argv)
    from rich.progress import Progress

    all_mutants = mutants()
    if args.limit:
        all_mutants = all_mutants[: args.limit]
    outcomes: list[Outcome] = []
    with Progress() as progress:
        task = progress.add_task("mutants", total=len(all_mutants))
        for m in all_mutants:
            outcomes.append(judge(m, args.budget))
            progress.advance(task)
    Path(args.out).write_text(report(outcomes), encoding="utf-8")
    print(f"wrote {args.out}")
    survivors = [o for o in outcomes if o.killed_by is None and not _equivalent(o.mutant)]
    return 1 if survivors else 0


def _equivalent(m: Mutant) -> str | None:
    return next((why for key, why in EQUIVALENT.items() if key in str(m)), None)


def _row(o: Outcome) -> str:
    examples = "" if o.examples is None else str(o.examples)
    verdict = o.killed_by or ("equivalent" if _equivalent(o.mutant) else "SURVIVED")
    return f"| {str(o.mutant).replace('|', '/')} | {verdict} | {examples} |"


def outcome_sections(by: dict[str, int], survivors: list[str], equivalents: list[str]) -> list[str]:
    """The part every mutation report shares: kills per killer, the survivors, the equivalent mutants and why."""
    return [
        "| killed by | mutants |",
        "| --- | ---: |",
        *(f"| {k} | {v} |" for k, v in sorted(by.items(), key=lambda kv: -kv[1])),
        "",
        "## Survivors",
        "",
        *(f"- {s}" for s in survivors),
        *(["none"] if not survivors else []),
        "",
        "## Equivalent mutants (no test can tell them from the original)",
        "",
        *(f"- {e}" for e in equivalents),
        *(["none"] if not equivalents else []),
        "",
    ]


def report(outcomes: list[Outcome]) -> str:
    killed = [o for o in outcomes if o.killed_by]
    equivalent = [o for o in outcomes if not o.killed_by and _equivalent(o.mutant)]
    survived = [o for o in outcomes if not o.killed_by and not _equivalent(o.mutant)]
    counted = [o.examples for o in killed if o.examples is not None]
    by: dict[str, int] = {}
    for o in killed:
        key = o.killed_by.split(" (")[0] if o.killed_by else "?"
        by[key] = by.get(key, 0) + 1
    non_equivalent = len(outcomes) - len(equivalent)
    lines = [
        "# Mutation testing of autodiff",
        "",
        "Generated by `tox -e mutation` (`python -m benchmarks.mutation`). Each mutant is one change to the op table's",
        "forward/derivative code (autodiff/ops.py) or the reverse pass (autodiff/engine.py); the suite's properties",
        "run against it with the `ci` example budgets, cheapest first. See benchmarks/mutation.py.",
        "",
        f"- mutants: {len(outcomes)}; killed {len(killed)}; equivalent {len(equivalent)}; survived {len(survived)}",
        f"- kill rate of non-equivalent mutants: {len(killed)}/{non_equivalent}"
        + (f" = {len(killed) / non_equivalent:.1%}" if non_equivalent else ""),
        f"- median examples to kill: {statistics.median(counted) if counted else '-'}"
        f" (mean {statistics.mean(counted):.1f}, max {max(counted)})"
        if counted
        else "",
        f"- time: {sum(o.seconds for o in outcomes):.0f} s",
        "",
        *outcome_sections(
            by, [str(o.mutant) for o in survived], [f"{o.mutant}: {_equivalent(o.mutant)}" for o in equivalent]
        ),
        "## Every mutant",
        "",
        "| mutant | killed by | examples |",
        "| --- | --- | ---: |",
        *(_row(o) for o in outcomes),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(run())
