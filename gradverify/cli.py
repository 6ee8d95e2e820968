"""The `gradverify` command line (`gradverify`, or `python -m gradverify`): check one expression, run a campaign,
check someone else's engine, show the classic engine bugs being caught, and run the training demos.

Exit codes: 0 when every gradient is right, 1 when a defect was found, 2 for bad input or usage, 3 when nothing
disagrees but some gradient could not be verified at the point (ill-conditioned there), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from gradverify.usage import UsageError, at_least, name_list, parse_point, writable, write_json

__all__ = ["main"]

EXAMPLES = {
    "grad": """examples:
  gradverify grad "tanh(x*y) + log(x)" --at x=0.5,y=2
  gradverify grad "t = x*y; relu(t - 1) * t" --at x=1.5,y=1 --json result.json
  gradverify grad "tanh(x) * y" --at x=0.5,y=2 --plant tanh-one-minus-t --graph blamed.svg""",
    "demo": """examples:
  gradverify demo toy                     # micrograd's four samples, MLP(3, [4, 4, 1])
  gradverify demo moons --out pictures    # writes pictures/moons.png
  gradverify demo yinyang --check         # referee gradients and AdamW steps against PyTorch""",
    "fuzz": """examples:
  gradverify fuzz                                  # 2,000 random DAGs, 3 points each, three referees
  gradverify fuzz --examples 5000 --workers 2 --seed 1 --json campaign.json
  gradverify fuzz --ops tanh,mul,add --examples 500
  gradverify fuzz --plant tanh-one-minus-t          # watch a campaign find a planted bug""",
    "bugs": """examples:
  gradverify bugs                 # list the classic engine bugs
  gradverify bugs --run           # plant each one and watch the suite catch it
  gradverify bugs --run --only tanh-one-minus-t""",
    "check-engine": """examples:
  gradverify check-engine my_micrograd.py            # a file; the Value class is found automatically
  gradverify check-engine micrograd.engine:Value     # a module and class
  gradverify check-engine engine.py:Tensor --data-attr value --backward-method backprop
  gradverify check-engine engine.py --leaf-kwargs requires_grad=True --json report.json
  gradverify check-engine engine.py --op "softplus(x)=log(1 + exp(x))" --op "silu(x)=x * sigmoid(x)"
  gradverify check-engine engine.py --replay "tanh(x) * k" --at x=0.5,k=2.5""",
}


# ---------------------------------------------------------------------------------------------------------
# grad
# ---------------------------------------------------------------------------------------------------------


def _grad(args: argparse.Namespace, console: Console) -> int:
    from gradverify.report import python_snippet, render_verdict
    from oracles.check import Checker, PointOutsideDomain
    from oracles.expr import ParseError, parse, to_json, variables

    if args.graph:
        _picture_format(args.graph)
    if args.json:
        writable("--json", args.json)
    try:
        expr = parse(args.expression)
    except ParseError as e:
        raise UsageError(f"cannot read the expression: {e}") from None
    except ValueError as e:  # e.g. a variable named like an op
        raise UsageError(f"cannot read the expression: {e}") from None
    point = parse_point(args.at or "")
    names = variables(expr)
    missing = [n for n in names if n not in point]
    if missing:
        raise UsageError(f"--at gives no value for {', '.join(missing)} (the expression uses {', '.join(names)})")
    extra = [n for n in point if n not in names]
    if extra:
        raise UsageError(f"--at names {', '.join(extra)}, which the expression does not use")
    if not names:
        raise UsageError("the expression has no variables: there is no gradient to check")
    # One expression at one point: SymPy itself is the exact referee here (campaigns use SymEngine's derivative).
    checker = Checker(symbolic_engine="sympy")
    if args.plant:
        from gradverify.bugs import BUGS, broken_engine

        if args.plant not in {b.name for b in BUGS}:
            raise UsageError(f"--plant: unknown bug {args.plant!r}; see gradverify bugs")
        checker = Checker(engine=broken_engine(args.plant), symbolic_engine="sympy")
    try:
        verdict = checker.check(expr, point)
    except PointOutsideDomain as e:
        raise UsageError(f"cannot check at this point: {e}") from None
    render_verdict(verdict, console, title=f"{expr}  at  {', '.join(f'{k}={v!r}' for k, v in point.items())}")
    if args.graph:
        _draw_graph(expr, point, checker, verdict, args.graph, console)
    if args.python:
        console.print(python_snippet(expr, point), highlight=False, markup=False)
    if args.json and not write_json(
        args.json,
        {
            "expression": str(expr),
            "expr": to_json(expr),
            "point": point,
            "ok": verdict.ok,
            "verified": verdict.verified,
            "unverified": verdict.unverified,
            "engine": {"value": verdict.engine.value, "grads": verdict.engine.grads, "error": verdict.engine.error},
            "rows": [vars(r) for r in verdict.rows],
            "blame": None
            if verdict.blame is None
            else {"node": verdict.blame.text, "op": verdict.blame.op, "explanation": verdict.blame.explanation},
        },
        console,
    ):
        return 2
    return exit_status(verdict)


def exit_status(verdict: Any) -> int:
    """0 verified, 1 a referee disagrees (or the engine failed), 3 nothing disagrees but not all verified."""
    if not verdict.ok:
        return 1
    return 3 if verdict.unverified else 0


def _picture_format(path: str) -> str:
    from autodiff.draw import FORMATS

    fmt = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if fmt not in FORMATS:
        raise UsageError(f"--graph: the file name must end in one of .{', .'.join(FORMATS)}, got {path!r}")
    return fmt


def _draw_graph(expr: Any, point: dict[str, float], checker: Any, verdict: Any, path: str, console: Console) -> None:
    """Draw the engine's graph of `expr` (values and gradients after backward), the blamed node in red."""
    from autodiff.draw import GraphvizUnavailable, render, to_text
    from oracles.expr import Var, nodes

    engine = checker.engine
    try:
        built = engine.build(expr, point)
        root = built[expr.digest]
        engine.backward(root)
    except Exception as e:  # the engine under test may raise anything
        console.print(f"no graph drawn: the engine failed to build it ({type(e).__name__}: {e})", highlight=False)
        return
    for node in nodes(expr):
        if isinstance(node, Var):
            with contextlib.suppress(AttributeError, TypeError):  # an engine without labels draws unlabelled
                built[node.digest].label = node.name
    highlight = []
    if verdict.blame is not None and not isinstance(built.get(verdict.blame.node.digest), (float, type(None))):
        highlight.append(built[verdict.blame.node.digest])
    try:
        render(root, path, highlight=highlight)
    except OSError as e:
        raise UsageError(f"--graph: cannot write {path}: {e}") from None
    except GraphvizUnavailable as e:
        Console(stderr=True, soft_wrap=True).print(f"[bold yellow]no picture written:[/] {e}", highlight=False)
        console.print("The graph as text instead:", highlight=False)
        console.print(to_text(root, highlight), highlight=False, markup=False)
        return
    blamed = f", the blamed node ({verdict.blame.text}) in red" if highlight else ""
    console.print(f"graph drawn to {path}{blamed}", highlight=False, soft_wrap=True)  # a path must stay whole


# ---------------------------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------------------------


def _demo(args: argparse.Namespace, console: Console) -> int:
    from gradverify.demos import DEMOS, CheckFailed, run_demo
    from gradverify.report import render_verdict

    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    if args.check_count < 1:
        raise UsageError(f"--check-count must be at least 1, got {args.check_count}")
    demo = DEMOS[args.name]
    console.print(f"[bold]{demo.name}[/]: {demo.about}", highlight=False)
    try:
        result = run_demo(
            args.name,
            steps=args.steps,
            seed=args.seed,
            out=args.out,
            check=args.check,
            check_count=args.check_count,
            show_progress=console.is_terminal,
            say=lambda text: console.print(text, highlight=False, markup=False),
        )
    except OSError as e:  # --out not writable
        raise UsageError(f"cannot write the demo's picture: {e}") from None
    except CheckFailed as e:
        console.print(f"[bold red]check failed:[/] {e}", highlight=False)
        if e.verdict is not None:
            render_verdict(e.verdict, console, title=f"{args.name}: loss gradient against PyTorch")
        return 1
    for picture in result.pictures:
        console.print(f"picture: {picture}", highlight=False, soft_wrap=True)
    if result.checked_steps:
        console.print(
            f"checked against PyTorch at steps {', '.join(map(str, result.checked_steps))}: gradients and "
            "optimizer steps agree",
            highlight=False,
        )
    mark = "[bold green]target met[/]" if result.passed else "[bold red]target missed[/]"
    console.print(f"{mark}: {result.target}", highlight=False)
    return 0 if result.passed else 1


# ---------------------------------------------------------------------------------------------------------
# fuzz
# ---------------------------------------------------------------------------------------------------------


def _fuzz(args: argparse.Namespace, console: Console) -> int:
    from autodiff import OPS
    from gradverify.fuzz import default_database, private_hypothesis_home, run_campaign

    at_least("--examples", args.examples)
    at_least("--workers", args.workers)
    at_least("--max-ops", args.max_ops)
    at_least("--points", args.points)
    ops = name_list("--ops", args.ops, OPS) if args.ops is not None else None
    if args.plant:
        from gradverify.bugs import BUGS

        if args.plant not in {b.name for b in BUGS}:
            raise UsageError(f"--plant: unknown bug {args.plant!r}; see gradverify bugs")
    if args.json:
        writable("--json", args.json)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = args.workers
    if workers > cpus:
        _note(f"--workers {workers}: this machine gives this process {cpus} CPU(s); using {cpus}")
        workers = cpus
    database = None if args.no_database or args.seed is not None else (args.database or default_database())
    with private_hypothesis_home():
        result = _with_progress(
            console,
            args.examples,
            "checking random expressions three ways",
            lambda tick: run_campaign(
                args.examples,
                workers,
                args.seed,
                ops,
                database,
                on_progress=tick,
                max_ops=args.max_ops,
                bug=args.plant,
                points=args.points,
            ),
        )
    return _report_campaign(result, args, console, engine=None)


def _note(text: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[bold yellow]note:[/] {text}", highlight=False)


def _with_progress(console: Console, total: int, what: str, run: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not console.is_terminal:
        return run(_clamped(total, _progress_lines(console, total, what)))
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(what, total=total)
        return run(_clamped(total, lambda n: progress.advance(task, n)))


def _clamped(total: int, tick: Any) -> Any:
    """`tick`, never told of more than `total` in all: progress never passes 100%."""
    done = 0

    def clamped(n: int) -> None:
        nonlocal done
        n = min(n, total - done)
        if n > 0:
            done += n
            tick(n)

    return clamped


def _progress_lines(console: Console, total: int, what: str, every: float = 60.0) -> Any:
    """Progress for a log file or CI (no live bar there): a line at each tenth of the work and at least once
    a minute, so that an hour-long campaign shows it is alive."""
    import time

    start = last = time.monotonic()
    done = 0

    def tick(n: int) -> None:
        nonlocal done, last
        before, done = done, done + n
        now = time.monotonic()
        if done * 10 // total > before * 10 // total or now - last >= every or done == total:
            last = now
            console.print(f"{what}: {done}/{total} ({100 * done // total}%), {now - start:.0f} s", highlight=False)

    return tick


def _report_campaign(result: Any, args: argparse.Namespace, console: Console, engine: str | None) -> int:
    from rich.table import Table

    from gradverify.report import REFEREE_TITLES, defect_panel, replay_command
    from oracles.expr import from_json

    table = Table(
        title=f"{result.examples} expressions checked in {result.seconds:.1f} s; largest |error| / allowed per referee",
        title_justify="left",
    )
    table.add_column("op")
    table.add_column("expressions", justify="right")
    for r in ("sympy", "fd", "torch"):
        table.add_column(REFEREE_TITLES[r], justify="right")
    for name in sorted(result.ops):
        stats = result.ops[name]
        table.add_row(name, str(stats.examples), *(f"{stats.worst[r]:.3f}" for r in ("sympy", "fd", "torch")))
    table.add_row("all", str(result.examples), *(f"{result.worst[r]:.3f}" for r in ("sympy", "fd", "torch")))
    console.print(table)
    modes = result.symbolic_modes
    console.print(
        f"symbolic referee: SymEngine {modes.get('symengine', 0)}, SymPy {modes.get('sympy', 0)}, exact chain rule "
        f"{modes.get('chain', 0)}; finite differences skipped a variable in {result.fd_skipped}; "
        f"ill-conditioned points {result.ill_conditioned}; a referee could not run in {result.referee_failures}"
    )
    checks = result.checks
    if checks:
        share = result.informative / result.components if result.components else 0.0
        console.print(
            f"{checks} checks ({checks / max(result.examples, 1):.1f} points per DAG); gradient components "
            f"{result.components}: {share:.1%} informative (nonzero and verified to 1e-6 of their size), "
            f"{result.zero} exactly zero"
        )
    unverified = result.unverified / checks if checks else 0.0
    console.print(
        f"not verified (no referee could check some gradient there; not counted as agreement): "
        f"{result.unverified} of {checks} points ({unverified:.1%})"
    )
    for error, count in _counted(result.errors):
        times = f" ({count} times)" if count > 1 else ""
        console.print(f"[bold yellow]campaign error (not an engine defect){times}:[/] {error}", highlight=False)
    for defect in result.defects:
        expr = from_json(defect.expr)
        replay = replay_command(expr, defect.point, engine, plant=getattr(args, "plant", None))
        console.print(defect_panel(defect.summary, expr, defect.point, replay, defect.found_after))
    written = not args.json or write_json(
        args.json,
        {
            "examples": result.examples,
            "checks": result.checks,
            "seconds": result.seconds,
            "interrupted": result.interrupted,
            "stage_seconds": result.stage_seconds,
            "components": result.components,
            "informative": result.informative,
            "zero": result.zero,
            "worst": result.worst,
            "ops": {k: {"examples": v.examples, "worst": v.worst} for k, v in result.ops.items()},
            "symbolic_modes": result.symbolic_modes,
            "fd_skipped": result.fd_skipped,
            "ill_conditioned": result.ill_conditioned,
            "referee_failures": result.referee_failures,
            "unverified": result.unverified,
            "defects": [vars(d) for d in result.defects],
            "errors": result.errors,
        },
        console,
    )
    if result.interrupted:
        Console(stderr=True, soft_wrap=True).print(
            f"interrupted: the summary above covers the {result.examples} example(s) checked before Ctrl-C",
            highlight=False,
        )
        return 130
    if result.defects:
        return 1
    if result.errors or not written:
        return 2
    console.print("[bold green]no defect found[/]")
    return 0


def _counted(lines: list[str]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    return list(counts.items())


# ---------------------------------------------------------------------------------------------------------
# bugs
# ---------------------------------------------------------------------------------------------------------


def _bugs(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from gradverify.bugs import BUGS

    at_least("--examples", args.examples)
    wanted = name_list("--only", args.only, [b.name for b in BUGS]) if args.only is not None else None
    chosen = [b for b in BUGS if wanted is None or b.name in wanted]
    if not args.run:
        table = Table(title="classic bugs of micrograd-style engines", title_justify="left", show_lines=True)
        table.add_column("name", style="bold")
        table.add_column("bug")
        table.add_column("what the student wrote")
        for b in chosen:
            table.add_row(b.name, b.title, b.story)
        console.print(table)
        console.print("run them: gradverify bugs --run")
        return 0
    from gradverify.fuzz import private_hypothesis_home
    from gradverify.hunt import hunt

    missed = 0
    for bug in chosen:
        console.rule(f"[bold]{bug.title}[/]  ({bug.name})")
        console.print(bug.story, markup=False, highlight=False)
        with console.status("planting it and searching..."), private_hypothesis_home():
            found = hunt(bug, budget=args.examples)
        if found is None:
            missed += 1
            console.print(f"[bold red]not caught in {args.examples} examples[/]")
            continue
        console.print(found.render(), markup=False, highlight=False)
    return 1 if missed else 0


# ---------------------------------------------------------------------------------------------------------
# check-engine
# ---------------------------------------------------------------------------------------------------------


def _check_engine(args: argparse.Namespace, console: Console) -> int:
    from gradverify.engines.check import EngineSpecError, check_engine

    try:
        return check_engine(args, console)
    except EngineSpecError as e:
        raise UsageError(str(e)) from None


# ---------------------------------------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("gradverify")
    except PackageNotFoundError:  # run from a source tree that was never installed
        release = "unknown (not installed)"
    parser = argparse.ArgumentParser(
        prog="gradverify",
        description="Check gradients three ways: SymPy's exact derivative, finite differences, PyTorch float64.",
        epilog="exit status: 0 all gradients right, 1 a defect found, 2 bad input or usage, 3 could not verify "
        "here (nothing disagrees, but some gradient is ill-conditioned at the point), 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"gradverify {release}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    formatter = argparse.RawDescriptionHelpFormatter

    grad = sub.add_parser(
        "grad",
        help="check one expression at one point",
        description="Value and gradient from the engine and each referee, side by side, with errors.",
        epilog=EXAMPLES["grad"],
        formatter_class=formatter,
    )
    grad.add_argument(
        "expression",
        help="e.g. 'tanh(x*y) + log(x)' or '-x * y'; bindings first: 't = x*y; tanh(t) + t'. Ops: the op table's names",
    )
    grad.add_argument("--at", metavar="x=..,y=..", help="the point: a value for every variable, e.g. x=0.5,y=2")
    grad.add_argument("--json", metavar="FILE", help="also write the verdict as JSON to FILE, e.g. verdict.json")
    grad.add_argument(
        "--python",
        action="store_true",
        help="also print Python that rebuilds it on autodiff Values (default: off)",
    )
    grad.add_argument(
        "--plant",
        metavar="BUG",
        help="check an engine with this classic bug planted, e.g. tanh-one-minus-t (see `gradverify bugs`)",
    )
    grad.add_argument(
        "--graph",
        metavar="FILE",
        help="draw the engine's graph (value and grad per node) to FILE (.svg, .png, .pdf), the blamed node in red, "
        "e.g. blamed.svg",
    )
    grad.set_defaults(handler=_grad)

    fuzz = sub.add_parser(
        "fuzz",
        help="a campaign of random expressions, each checked three ways",
        description="Hypothesis draws random expression DAGs (20-50 nodes, shared subexpressions) and points inside "
        "every op's domain; each is checked three ways. Ends with a table per op; on a defect, the shrunk "
        "expression, the blamed node and a command that replays it.",
        epilog=EXAMPLES["fuzz"],
        formatter_class=formatter,
    )
    fuzz.add_argument("--examples", type=int, default=2000, metavar="N", help="DAGs to check (default 2000)")
    fuzz.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="random seed, e.g. 1, for a repeatable campaign (default: a new one each run; with a seed Hypothesis "
        "keeps no database)",
    )
    fuzz.add_argument("--ops", metavar="LIST", help="only these ops, comma-separated, e.g. tanh,mul,add (default: all)")
    fuzz.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes to run in parallel (default 1; at most the number of CPUs)",
    )
    fuzz.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE, e.g. campaign.json")
    fuzz.add_argument(
        "--database",
        metavar="PATH",
        help="Hypothesis example database: failures kept here and replayed first (default .gradverify/examples)",
    )
    fuzz.add_argument("--no-database", action="store_true", help="keep no failing examples (default: keep them)")
    fuzz.add_argument("--max-ops", type=int, default=40, metavar="N", help="largest expression, in ops (default 40)")
    fuzz.add_argument("--points", type=int, default=3, metavar="N", help="points to check each DAG at (default 3)")
    fuzz.add_argument(
        "--plant",
        metavar="BUG",
        help="plant a classic bug in the engine first, e.g. exp-of-out (see `gradverify bugs`): a demo",
    )
    fuzz.set_defaults(handler=_fuzz)

    bugs = sub.add_parser(
        "bugs",
        help="the classic engine bugs, and the suite catching each",
        description="A catalog of bugs seen in real micrograd clones, each planted in a copy of this engine. "
        "With --run, the suite hunts each one down and shows the shrunk counterexample.",
        epilog=EXAMPLES["bugs"],
        formatter_class=formatter,
    )
    bugs.add_argument(
        "--run", action="store_true", help="plant each bug and show the suite catching it (default: only list them)"
    )
    bugs.add_argument(
        "--only",
        metavar="NAMES",
        help="only these bugs, comma-separated, e.g. tanh-one-minus-t,div-sign (default: all)",
    )
    bugs.add_argument("--examples", type=int, default=300, metavar="N", help="examples per property (default 300)")
    bugs.set_defaults(handler=_bugs)

    from gradverify.demos import DEMOS

    demo = sub.add_parser(
        "demo",
        help="the classic training exercises on this engine, optionally refereed by PyTorch",
        description="Train on a dataset the project generates and report whether the demo met its target.\n\n"
        + "\n".join(f"  {d.name:8} {d.about}" for d in DEMOS.values())
        + "\n\nWith --check, gradients and optimizer steps at a few steps are checked against PyTorch.",
        epilog=EXAMPLES["demo"],
        formatter_class=formatter,
    )
    demo.add_argument("name", choices=list(DEMOS), help=f"which demo, e.g. {next(iter(DEMOS))}")
    demo.add_argument("--steps", type=int, metavar="N", help="training steps (epochs for linreg); default per demo")
    demo.add_argument("--seed", type=int, default=0, metavar="S", help="data and weight seed (default 0)")
    demo.add_argument("--out", default=".", metavar="DIR", help="where pictures go (default: here)")
    demo.add_argument(
        "--check", action="store_true", help="check gradients and optimizer steps against PyTorch (default: off)"
    )
    demo.add_argument(
        "--check-count", type=int, default=3, metavar="K", help="how many steps --check referees (default 3)"
    )
    demo.set_defaults(handler=_demo)

    engine = sub.add_parser(
        "check-engine",
        help="check someone else's micrograd-style engine, op by op",
        description="Loads an engine from a file or module in a separate process and adapts to its API (class\n"
        "name, data/value, grad as attribute or method, backward/backprop, inputs that must opt in). Checks every\n"
        "op alone and in small contexts, every form with a number on either side, how backward() walks shared\n"
        "nodes, and random expressions. Each op: correct, wrong value, wrong gradient, crash, returns None,\n"
        "returns a number, gradient not a number, overwrites gradient, ignores out.grad, too slow, missing or\n"
        "unsupported; and engine-level findings (the README lists them all).\n\n"
        "exit status: 0 every op it has is right, 1 a defect, 2 usage, 3 nothing could be verified",
        epilog=EXAMPLES["check-engine"],
        formatter_class=formatter,
    )
    engine.add_argument("engine", metavar="PATH_OR_MODULE[:CLASS]", help="e.g. my_engine.py or micrograd.engine:Value")
    engine.add_argument(
        "--examples", type=int, default=100, metavar="N", help="random expressions (default 100; 0 skips them)"
    )
    engine.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    engine.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS", help="for loading and for each check (default 10)"
    )
    engine.add_argument(
        "--data-attr", metavar="NAME", help="attribute holding the value, e.g. value (default: detected)"
    )
    engine.add_argument(
        "--grad-attr", metavar="NAME", help="attribute or method giving the gradient, e.g. gradient (default: detected)"
    )
    engine.add_argument(
        "--backward-method", metavar="NAME", help="method (or module function) that runs reverse mode, e.g. backprop"
    )
    engine.add_argument(
        "--seed-root",
        choices=["auto", "yes", "no"],
        default="auto",
        help="whether the root's gradient must be set to 1 by hand before backward (default auto)",
    )
    engine.add_argument(
        "--leaf-class", metavar="NAME", help="make inputs with this class, e.g. Parameter (default: the engine's class)"
    )
    engine.add_argument(
        "--leaf-kwargs", metavar="K=V,...", help="keyword arguments for making an input, e.g. requires_grad=True"
    )
    engine.add_argument(
        "--op",
        action="append",
        metavar="NAME(ARGS)=EXPR",
        help="an op the table lacks, defined in the expression language, probed and fuzzed like the others "
        "(repeatable), e.g. --op 'softplus(x)=log(1 + exp(x))'",
    )
    engine.add_argument("--replay", metavar="EXPR", help="check only this expression, e.g. 'tanh(x) * k' (needs --at)")
    engine.add_argument("--at", metavar="x=..,y=..", help="the point for --replay, e.g. x=0.5,k=2.5")
    engine.add_argument(
        "--int-constants",
        action="store_true",
        help="with --replay: pass whole-number constants as ints, e.g. x + 1 gives the engine the int 1",
    )
    engine.add_argument("--json", metavar="FILE", help="write the whole report as JSON to FILE, e.g. report.json")
    engine.set_defaults(handler=_check_engine)
    return parser


def _expression_first(argv: list[str]) -> list[str]:
    """argparse takes every argument that starts with '-' for an option, so `gradverify grad "-x * y"` would be
    refused; for `grad`, an argument starting with '-' that cannot be an option (-h, --, --name[=value]) is the
    expression. A leading space
    keeps argparse from reading it as an option (the parser ignores the space)."""
    if not argv or argv[0] != "grad":
        return argv

    def expression(a: str) -> bool:
        option = a in ("-h", "--") or re.fullmatch(r"--[A-Za-z][\w-]*(=.*)?", a, re.DOTALL) is not None
        return a.startswith("-") and not option

    return [argv[0], *(f" {a}" if expression(a) else a for a in argv[1:])]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_expression_first(list(sys.argv[1:] if argv is None else argv)))
    console = Console()
    try:
        return int(args.handler(args, console))
    except UsageError as e:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]gradverify {args.command}:[/] {e}", highlight=False)
        return 2
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
