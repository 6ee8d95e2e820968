"""`gradverify check-engine`: the suite pointed at someone else's micrograd-style engine.

The engine runs in a child process (`gradverify.engines.child`, driven by `gradverify.engines.remote`): it may
hang, recurse forever, print without end or kill the interpreter, and the report says so. In order:

1. load the engine and find its API (class, value and gradient attributes, backward, how leaves are made,
   whether the root's gradient must be seeded by hand); flags override what cannot be detected, and are
   checked against the class first;
2. probe every op alone, and every form with a number on either side (`gradverify.engines.probes`);
3. look for faults of the backward pass itself: shared nodes counted twice, a walk out of order, exponential
   time, nondeterminism (`gradverify.engines.walks`);
4. probe every op that passed in small contexts: an incoming gradient that is not 1, or 0, and reused inputs;
5. random expressions over everything that passed (`gradverify.engines.campaign`);
6. report: a row per op, the engine-level findings, the time per phase (`gradverify.engines.report`).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from autodiff.ops import OPS
from gradverify.engines import campaign, probes, walks
from gradverify.engines.remote import EngineSpecError, RemoteEngine
from gradverify.engines.report import Report, flag_words
from gradverify.usage import UsageError, writable, write_json
from oracles.check import Checker
from oracles.custom import declared, parse_definition

__all__ = ["EngineSpecError", "check_engine", "parse_leaf_kwargs"]


def parse_leaf_kwargs(text: str | None) -> dict[str, Any]:
    """`requires_grad=True,name='w'` -> {"requires_grad": True, "name": "w"} (Python literals only)."""
    import ast

    if not text:
        return {}
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip().isidentifier():
            raise UsageError(f"--leaf-kwargs: expected name=value pairs separated by commas, got {part!r}")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise UsageError(f"--leaf-kwargs: {value.strip()!r} is not a Python literal (True, 1.0, 'text')") from None
    return out


def _validate(args: argparse.Namespace) -> None:
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout!r}")
    if args.examples < 0:
        raise UsageError(f"--examples must be 0 or more, got {args.examples}")
    if args.json:
        writable("--json", args.json)  # before the work, not after it


def check_engine(args: argparse.Namespace, console: Any) -> int:
    _validate(args)
    definitions = []
    for text in args.op or []:
        try:
            definitions.append(parse_definition(text))
        except ValueError as e:
            raise UsageError(f"--op {text!r}: {e}") from None
    names = [d.name for d in definitions]
    if len(set(names)) != len(names):
        raise UsageError(f"--op: {', '.join(sorted({n for n in names if names.count(n) > 1}))} declared twice")
    with declared(definitions):
        return _check_engine(args, console, {d.name: len(d.params) for d in definitions})


def _check_engine(args: argparse.Namespace, console: Any, custom: dict[str, int]) -> int:
    overrides = {
        k: v
        for k, v in {
            "data_attr": args.data_attr,
            "grad_attr": args.grad_attr,
            "backward_method": args.backward_method,
            "seed_root": args.seed_root if args.seed_root != "auto" else None,
            "leaf_class": args.leaf_class,
            "leaf_kwargs": parse_leaf_kwargs(args.leaf_kwargs),
        }.items()
        if v
    }
    flags = [w for text in args.op or [] for w in ("--op", text)] + flag_words(
        [
            ("--data-attr", args.data_attr),
            ("--grad-attr", args.grad_attr),
            ("--backward-method", args.backward_method),
            ("--seed-root", args.seed_root if args.seed_root != "auto" else None),
            ("--leaf-class", args.leaf_class),
            ("--leaf-kwargs", args.leaf_kwargs),
        ]
    )
    seconds: dict[str, float] = {}
    with _phase(seconds, "load"), console.status(f"loading {args.engine} in a separate process..."):
        engine = RemoteEngine(args.engine, overrides, args.timeout, custom)
    try:
        report = Report(args.engine, engine.where, _api(engine), flags, notes=list(engine.config.get("notes", [])))
        _print_api(report, engine, console)
        if args.replay:
            return _replay(engine, args, console)
        with console.status("checking...") as status:
            _run(engine, report, args, seconds, status.update, custom)
        report.seconds = seconds
        report.render(console)
        if args.json and not write_json(args.json, report.to_json(), console):
            return 2
        return report.exit_status
    finally:
        engine.close()


@contextmanager
def _phase(seconds: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start


def _run(
    engine: RemoteEngine,
    report: Report,
    args: argparse.Namespace,
    seconds: dict[str, float],
    say: Callable[[str], None],
    custom: dict[str, int],
) -> None:
    rows = report.rows = probes.rows_for(engine, custom)
    findings = report.findings

    def checker_for(accuracy: dict[str, tuple[float, float]]) -> Checker:
        # The exact referee alone (SymEngine's derivative in arb balls): the probes' expressions are small and
        # many, and exactness is what they need; the random phase adds finite differences and PyTorch.
        return Checker(engine=engine, referees=("sympy",), accuracy=accuracy)

    if engine.config["backward"][0] == "absent":
        # Graphs but no reverse mode: no gradient to check. Every op it has is "not exercised" (exit 3).
        for row in rows.values():
            if row.kind == "correct":
                row.kind, row.detail = "not-exercised", "not checked: the engine has no backward() (see above)"
        _finish(engine, report, [])
        return
    if engine.backward_problem is not None:
        hangs = "took more than" in engine.backward_problem
        findings.append(walks.Finding("backward-hangs" if hangs else "process-dies", True, engine.backward_problem))
    unstable: list[str] = []  # results that changed between runs of the same expression
    with _phase(seconds, "ops alone"):
        say("probing each op alone...")
        accuracy = probes.probe_alone(engine, rows, checker_for, unstable)
    silent = walks.no_gradient(engine, rows)
    existing = {name for name in rows if name in OPS and rows[name].kind not in ("missing", "unsupported", "too-slow")}
    if silent is not None:
        findings.insert(0, silent)
        for row in rows.values():
            if row.kind == "wrong-gradient":
                row.kind, row.detail = "not-exercised", "not checked: no gradient reaches the inputs (see below)"
        findings += walks.deep_and_large(engine, existing, existing)
        _finish(engine, report, unstable)
        return
    checker = checker_for(accuracy)
    with _phase(seconds, "ops in context"):
        say("probing each op in context...")
        probes.self_reuse(engine, rows, checker)
        assigners = engine.grad_assigners()
        overwrites = _walk_overwrites(rows, assigners)
        if overwrites is not None:
            findings.append(overwrites)
        trust = probes.trusted(rows)
        if overwrites is not None or _all_binary_overwrite(rows):
            trust.reuse = None  # every reuse fails in the walk or in the op that reuses: no row is blamed so...
            if rows["add"].kind in ("correct", "overwrites-gradient"):  # ...but f(x) + x, whose root writes first
                probes.overwrites_beside_the_walk(engine, rows, checker, "add", assigners)
        probes.probe_in_context(engine, rows, checker, trust, nested=False, unstable=unstable)
    ok_ops = {name for name in rows if name in OPS and rows[name].kind == "correct"}
    trust = probes.trusted(rows)
    report.walk_checked = bool({"add", "mul"} & ok_ops)
    with _phase(seconds, "graph walk"):
        say("looking at how backward() walks shared nodes...")
        found, walk_ok = walks.shared_nodes(engine, checker, trust, ok_ops)
        findings += [f for f in found if not (overwrites and f.code in ("gradients-not-summed", "wrong-order"))]
        walk_ok = walk_ok and overwrites is None
        slow = walks.timing(engine, ok_ops, budget=min(args.timeout, 10.0))
        if slow is not None:
            findings.append(slow)
        running = {n for n in existing if rows[n].kind in ("correct", "overwrites-gradient", "wrong-gradient")}
        bits = walks.last_bits(engine, checker, ok_ops | ({"add", "mul"} & running))
        if bits is not None and not any(f.code.startswith("nondeterministic") for f in findings):
            findings.append(bits)
    if walk_ok:
        with _phase(seconds, "ops in context"):
            probes.probe_in_context(engine, rows, checker, trust, nested=True, unstable=unstable)
    with _phase(seconds, "deep graphs and large inputs"):
        ok_ops = {name for name in rows if name in OPS and rows[name].kind == "correct"}
        findings += walks.deep_and_large(engine, ok_ops, existing)
        twice = walks.second_backward(engine, ok_ops)
        if twice is not None:
            findings.append(twice)
        # It assumes one call is right, and a backward() to call (a pulled gradient has no "second call").
        pulled = engine.config["backward"][0] == "pull"
        stale = walks.state_between_calls(engine, ok_ops) if walk_ok and not pulled else None
        if stale is not None:
            findings.append(stale)
    if args.examples > 0 and walk_ok and not unstable and ok_ops:
        with _phase(seconds, "random expressions"):
            findings += campaign.random_expressions(engine, rows, accuracy, args.examples, args.seed, say)
    _finish(engine, report, unstable)


def _all_binary_overwrite(rows: dict[str, probes.Row]) -> bool:
    binary = [r for n, r in rows.items() if n in ("add", "sub", "mul", "div") and r.kind not in ("missing",)]
    hit = [r for r in binary if r.kind == "overwrites-gradient" and r.detail.startswith("x ")]
    return len(binary) >= 2 and len(hit) == len(binary)


def _walk_overwrites(rows: dict[str, probes.Row], assigners: set[str]) -> walks.Finding | None:
    """Every binary op counts only one use of `x op x`: that is how backward() adds gradients, not one op's
    slip (an op of its own that overwrites leaves the others right). The rows are cleared, the engine named;
    unless each of those ops' own code assigns its input's gradient (`self.grad = ...`): then they are the
    ops' faults, on their rows."""
    if not _all_binary_overwrite(rows):
        return None
    hit = [r for n, r in rows.items() if n in ("add", "sub", "mul", "div") and r.kind == "overwrites-gradient"]
    if all(r.op in assigners for r in hit):
        return None
    shown = "; ".join(r.detail for r in hit[:2])
    for r in hit:
        r.kind, r.detail, r.case = "correct", "", None
    return walks.Finding(
        "gradients-not-summed",
        True,
        f"for every binary op, x op x counts only one use of x ({shown}): backward() sets a node's gradient "
        "where it should add to it",
    )


def _finish(engine: RemoteEngine, report: Report, unstable: list[str]) -> None:
    if unstable and not any(f.code == "nondeterministic" for f in report.findings):
        report.findings.append(walks.Finding("nondeterministic", True, unstable[0], unstable[0].split(": ")[0]))
    if any(f.code == "nondeterministic" for f in report.findings):
        _clear_walk_failures(engine, report)
    # An op that ends the interpreter (os._exit, sys.exit, a crash in native code) is that op's crash, and the
    # engine's too: nothing else can run in a process that is gone.
    dying = [
        r
        for r in report.rows.values()
        if r.kind == "crash" and ("the process ended" in r.detail or "SystemExit" in r.detail)
    ]
    if dying and not any(f.code == "process-dies" for f in report.findings):
        names = ", ".join(r.name for r in dying)
        report.findings.append(walks.Finding("process-dies", True, f"{names}: {dying[0].detail}"))
    report.warnings = engine.warnings()
    if report.warnings:
        total = sum(report.warnings.values())
        top = sorted(report.warnings.items(), key=lambda kv: -kv[1])[:3]
        shown = "; ".join(f"{k} ({v:,} times)" for k, v in top)
        report.findings.append(walks.Finding("warnings", False, f"{total:,} warnings while checking: {shown}"))
    output = engine.child.output
    if output is not None and output.total:
        first = output.text().strip().splitlines()[:2]
        size = _size(output.total)
        code = "stderr-flood" if output.total > 100_000 else "output"
        report.findings.append(
            walks.Finding(
                code,
                False,
                f"the engine printed {size} while being checked (kept apart from this report; first: "
                + " | ".join(line[:80] for line in first)
                + ")",
            )
        )
        report.output = (output.total, output.text()[:2000])


def _clear_walk_failures(engine: RemoteEngine, report: Report) -> None:
    """With a walk whose order changes from run to run, an expression of several engine nodes can come out wrong
    whatever its ops: a row whose counterexample needs several nodes is not blamed (a one-node failure, like
    relu(x) itself, still is)."""
    for row in report.rows.values():
        if row.defect and row.case is not None and row.kind not in ("crash", "too-slow"):
            if row.walk_independent:
                continue
            obs = engine.observe(row.case.expr, row.case.point, row.case.ints)
            if obs.nodes is not None and obs.nodes > 1:
                row.notes.append(f"found wrong in {row.case.text()}, {obs.nodes} nodes, which the walk can misorder")
                row.kind, row.detail, row.case = "correct", "", None


def _size(n: int) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _api(engine: RemoteEngine) -> dict[str, Any]:
    c = engine.config
    return {
        "data": c.get("data"),
        "grad": c.get("grad"),
        "backward": list(c.get("backward", ())),
        "seed_root": c.get("seed"),
        "leaf_class": c.get("leaf_class"),
        "leaf_kwargs": c.get("leaf_kwargs"),
        "ops": {k: list(v) if v else None for k, v in c.get("ops", {}).items()},
    }


def _print_api(report: Report, engine: RemoteEngine, console: Any) -> None:
    c = engine.config
    kind, name = c.get("backward", ("method", "backward"))
    how = {
        "method": f".{name}()",
        "function": f"{name}(root)",
        "walk": "each node's _backward",
        "pull": f"nothing: x.{name}() pulls the gradient",
        "absent": "nothing: the engine has no backward()",
    }[kind]
    console.print(
        f"[bold]{engine.where}[/]: value in .{c['data']}, gradient in .{c.get('grad')}, reverse mode by {how}"
        + (", root gradient seeded by hand" if c.get("seed") else ""),
        soft_wrap=True,  # the engine's path stays whole (and copyable)
        highlight=False,
    )
    for note in report.notes:
        console.print(f"  {note}", highlight=False, soft_wrap=True)


def _replay(engine: RemoteEngine, args: argparse.Namespace, console: Any) -> int:
    from gradverify.report import render_verdict
    from gradverify.usage import parse_point
    from oracles.check import PointOutsideDomain
    from oracles.expr import ParseError, parse

    if not args.at:
        raise UsageError("--replay needs --at")
    try:
        expr = parse(args.replay)
    except (ParseError, ValueError) as e:
        raise UsageError(f"cannot read the expression: {e}") from None
    engine.ints = bool(args.int_constants)
    point = parse_point(args.at)
    seen = engine.observe(expr, point, engine.ints)
    if seen.error is not None and (seen.error.get("unsupported") or seen.error.get("refused")):
        raise UsageError(f"the engine does not take {expr} ({seen.error['text']}): nothing to replay")
    try:
        verdict = Checker(engine=engine).check(expr, point)
    except PointOutsideDomain as e:
        raise UsageError(f"cannot check at this point: {e}") from None
    verdict.notes.insert(0, engine.where)
    render_verdict(verdict, console, title=f"{expr}")
    return 0 if verdict.ok else 1
