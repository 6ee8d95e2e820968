"""Engine-level findings: faults of the backward pass as a whole, not of any one op.

Built only from ops that passed alone, so that a fault found here belongs to the graph walk:

- a shared inner node whose gradient is counted twice (a topological sort that lists a node twice, or a
  recursion into children without a visited set): diamonds `t = x + y; t + t`, several levels deep;
- a node whose backward runs before all of its gradient has arrived (breadth-first order instead of a
  topological one): shared nodes at uneven depths, `t + tanh(t)`;
- time exponential in the number of shared levels (`v = (v + 0) + v`, repeated), measured, never waited out;
- answers that change from run to run (set-ordered walks, randomness), judged against the exact gradient;
- notes that are not wrong gradients: RecursionError on a deep chain, overflow on large inputs, a second
  backward() that does not accumulate exactly as PyTorch's does.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from autodiff.ops import OPS
from gradverify.engines.probes import Row, Trusted, _run, run_of
from gradverify.engines.remote import RemoteEngine
from oracles.check import Checker
from oracles.expr import Apply, Const, Expr, Var, nodes, op_of, parse, to_source, variables
from oracles.local import local_rule

__all__ = ["CODES", "Finding", "deep_and_large", "no_gradient", "second_backward", "shared_nodes", "timing"]

CODES = {
    "no-gradient-reaches-inputs": "no gradient reaches the inputs",
    "shared-node-visited-twice": "backward visits a shared node more than once (its gradient is counted twice)",
    "wrong-order": "backward runs a node before all of its gradient has arrived (not a topological order)",
    "gradients-not-summed": "the gradients of a node used twice are not summed",
    "exponential-time": "exponential time on shared nodes",
    "nondeterministic": "nondeterministic: the same expression gave different gradients",
    "process-dies": "the engine kills the process",
    "backward-hangs": "backward() does not return",
    "random-expressions": "wrong gradient in random expressions, though each op in them is right alone",
    "recursion-deep-graph": "RecursionError on a deep graph",
    "overflow-large-inputs": "overflow on large inputs",
    "second-backward-not-accumulating": "a second backward() does not accumulate exactly (PyTorch's semantics)",
    "nondeterministic-last-bits": "gradients differ from run to run in the last bits (a set-ordered walk)",
    "state-between-calls": "backward() keeps state between calls: a second root sharing a node gets wrong gradients",
    "random-phase-stopped": "gradverify's random phase stopped on an error of its own (please report it)",
    "stderr-flood": "the engine prints a lot",
    "warnings": "the engine warns",
}


@dataclass
class Finding:
    """One engine-level finding. `defect`: a wrong gradient (exit status 1); otherwise a note."""

    code: str
    defect: bool
    detail: str
    example: str = ""  # an expression and point, as --replay reads them

    @property
    def title(self) -> str:
        return CODES.get(self.code, self.code)


def _text(expr: Expr, point: Mapping[str, float]) -> str:
    return f"{to_source(expr)}  at " + ",".join(f"{k}={v!r}" for k, v in point.items())


def no_gradient(engine: RemoteEngine, rows: Mapping[str, Row]) -> Finding | None:
    """Every op ran and gave the right value, yet not one input ever received a gradient."""
    if engine.backward_problem is not None:
        return None
    ran = [r for r in rows.values() if r.kind in ("correct", "wrong-gradient")]
    if not ran:
        return None
    reached = engine.config.get("gradient_reaches", False) or any(
        r.kind == "correct" and r.passed and any(g for _, o in r.passed for g in o.grads.values()) for r in ran
    )
    if reached:
        return None
    return Finding(
        "no-gradient-reaches-inputs",
        True,
        f"after backward() every input's .{engine.config['grad']} is 0 or missing, for every op. If this engine "
        "needs something gradverify could not guess, say so: --leaf-kwargs requires_grad=True (leaves must opt "
        "in), --leaf-class NAME (gradients live on a subclass such as Parameter), --seed-root yes (the root's "
        "gradient must be set to 1 by hand), --backward-method NAME, --grad-attr NAME.",
    )


# ---------------------------------------------------------------------------------------------------------
# Shared nodes
# ---------------------------------------------------------------------------------------------------------


def _diamonds(trust: Trusted, ops: set[str]) -> list[tuple[str, dict[str, float], str]]:
    """(source, point, shape), built from ops that passed alone and in context. Every path from x to the root
    carries a positive factor (+, * of positive values, and tanh, exp, sigmoid, which increase), so the
    direction of an error tells counting twice (too large) from losing a contribution (too small). Shapes:
    "same" (a node used twice by one op), "levels" (such nodes stacked), "uneven" (a node used at two depths,
    which only a topological order handles)."""
    out: list[tuple[str, dict[str, float], str]] = []
    join = next((o for o in ("add", "mul") if o in ops), None)
    if join is None:
        return out
    sym = {"add": "+", "mul": "*"}[join]
    point = {"x": 0.7, "y": 0.9} if join == "add" else {"x": 1.1, "y": 1.05}
    out += [
        (f"t = x {sym} y; t {sym} t", point, "same"),
        (f"a = x {sym} y; b = a {sym} a; c = b {sym} b; c {sym} c", point, "levels"),
        (f"t = x {sym} y; u = t {sym} x; u {sym} t", point, "uneven"),
        (f"t = x {sym} y; u = t {sym} x; t {sym} u", point, "uneven"),
    ]
    for h in trust.unary[:2]:
        out.append((f"t = x {sym} y; t {sym} {h}(t)", point, "uneven"))
        out.append((f"t = x {sym} y; {h}(t) {sym} t", point, "uneven"))
        out.append((f"t = x {sym} y; t {sym} {h}({h}(t))", point, "uneven"))
    if len(trust.unary) >= 2:
        g, h = trust.unary[:2]
        out.append((f"t = {g}(x); {g}(t) {sym} {h}(t)", {"x": 0.6}, "uneven"))
    return out


def shared_nodes(
    engine: RemoteEngine, checker: Checker, trust: Trusted, ops: set[str], repeats: int = 3
) -> tuple[list[Finding], bool]:
    """Diamonds, several runs each. Returns the findings and whether the walk can be trusted for the context
    probes that reuse an inner node."""
    findings: list[Finding] = []
    twice: list[str] = []  # too large: a shared node's backward ran more than once
    lost: list[str] = []  # too small, as if one use of a node used twice were not added
    lost_late: list[str] = []  # too small otherwise: contributions that arrived after the node had run
    odd: list[str] = []
    failing: list[tuple[Expr, dict[str, float], str, dict[str, float | None]]] = []  # repeatable wrong answers
    passing: list[tuple[Expr, dict[str, float], str, dict[str, float | None]]] = []
    nondeterministic: list[str] = []
    bits: list[str] = []
    for source, point, shape in _diamonds(trust, ops):
        expr = parse(source)
        runs = [engine.observe(expr, point, shuffle=11 * i) for i in range(repeats)]
        if not all(r.numbers_ok() for r in runs):
            continue  # a crash here is an op's, and the probes report it
        verdicts = [checker.judge(expr, point, _run(r)) for r in runs]
        grads = [r.grads for r in runs]
        if any(g != grads[0] for g in grads):
            shown = f"{_text(expr, point)}: " + " vs ".join(str(g) for g in _distinct(grads)[:2])
            (bits if all(v.ok for v in verdicts) else nondeterministic).append(shown)
        if all(g == grads[0] for g in grads):
            (passing if verdicts[0].ok else failing).append((expr, point, "", grads[0]))
        for run, verdict in zip(runs, verdicts, strict=True):
            if verdict.ok:
                continue
            exact = {r.quantity: r.reference for r in verdict.rows if r.referee == "sympy" and r.quantity != "value"}
            line = f"{_text(expr, point)}: " + ", ".join(
                f"d/d{k} gives {run.grads.get(k)!r}, exactly {v!r}" for k, v in exact.items()
            )
            ratios = [abs(run.grads[k] or 0.0) / abs(v) for k, v in exact.items() if v]
            if ratios and all(q > 1 + 1e-9 for q in ratios):
                # Visiting a shared node twice, in an otherwise topological order, counts whole paths twice: a
                # whole multiple. A fraction means a node also ran before all of its gradient had arrived.
                twice.append(line)
                if any(abs(q - round(q)) > 1e-6 for q in ratios):
                    odd.append(line)
            elif ratios and all(q < 1 - 1e-9 for q in ratios):
                # A node used twice by one op keeps one use and loses the other (half of it, on these
                # shapes), where a walk out of order loses everything that arrives late.
                halves = shape in ("same", "levels") and all(0.0 < q < 1 - 1e-9 for q in ratios)
                (lost if halves else lost_late).append(line)
            else:
                odd.append(line)
            if failing and failing[-1][0] is expr and not failing[-1][2]:
                failing[-1] = (expr, point, line, failing[-1][3])
            break
    model = _matching_model(failing, passing)
    if model is not None:  # the engine walks exactly as a known wrong walk does: name what that walk does wrong
        codes, how = WALKS[model]
        line = failing[0][2]
        for code in codes:
            findings.append(Finding(code, True, f"{line} (backward() behaves like {how})", _example(line)))
    elif twice:
        findings.append(Finding("shared-node-visited-twice", True, twice[0], _example(twice[0])))
    if model is not None:
        pass
    elif lost:
        findings.append(Finding("gradients-not-summed", True, lost[0], _example(lost[0])))
    if model is None and (lost_late or odd):
        line = (lost_late or odd)[0]
        findings.append(Finding("wrong-order", True, line, _example(line)))
    if nondeterministic:
        findings.append(Finding("nondeterministic", True, nondeterministic[0], _example(nondeterministic[0])))
    elif bits:
        findings.append(Finding("nondeterministic-last-bits", False, bits[0]))
    return findings, not any(f.defect for f in findings)


# Wrong walks seen in students' engines, simulated on an expression: what each gets wrong, and how to say it.
WALKS: dict[str, tuple[tuple[str, ...], str]] = {
    "post-order with repeats": (
        ("shared-node-visited-twice",),
        "a topological sort without a visited set: a node reached along two paths is listed, and run, twice",
    ),
    "recursive": (
        ("shared-node-visited-twice", "wrong-order"),
        "a recursion that runs a node's backward and then its children's, once per path, with whatever gradient "
        "has arrived so far",
    ),
    "breadth-first": (("wrong-order",), "a breadth-first walk from the root, which is not a topological order"),
    "pre-order": (("wrong-order",), "a depth-first walk in pre-order, which is not a topological order"),
}


def _simulate(expr: Expr, point: Mapping[str, float], walk: str) -> dict[str, float]:
    """The gradients an engine with right local derivatives gets from walking `expr` the way `walk` does."""
    order = nodes(expr)
    value: dict[bytes, float] = {}
    local: dict[bytes, list[float]] = {}
    for n in order:
        if isinstance(n, Var):
            value[n.digest] = point[n.name]
        elif isinstance(n, Const):
            value[n.digest] = n.value
        else:
            assert isinstance(n, Apply)
            xs = [value[a.digest] for a in n.args]
            value[n.digest] = op_of(n).forward(*xs)
            local[n.digest] = local_rule(n.op, n.params).first(xs)
    grad: dict[bytes, float] = {n.digest: 0.0 for n in order}
    grad[expr.digest] = 1.0

    def run(n: Expr) -> None:
        if isinstance(n, Apply):
            for a, d in zip(n.args, local[n.digest], strict=True):
                grad[a.digest] += d * grad[n.digest]

    def children(n: Expr) -> tuple[Expr, ...]:
        return n.args if isinstance(n, Apply) else ()

    if walk == "recursive":
        stack = [expr]
        while stack:  # run(n), then each child's whole recursion, in order
            n = stack.pop()
            run(n)
            stack.extend(reversed(children(n)))
        return {n.name: grad[n.digest] for n in order if isinstance(n, Var)}
    sequence: list[Expr] = []
    if walk == "post-order with repeats":
        todo: list[tuple[Expr, bool]] = [(expr, False)]
        while todo:
            n, done = todo.pop()
            if done:
                sequence.append(n)
            else:
                todo.append((n, True))
                todo.extend((c, False) for c in reversed(children(n)))
        sequence.reverse()
    elif walk == "breadth-first":
        seen, queue = {expr.digest}, [expr]
        for n in queue:
            sequence.append(n)
            for c in children(n):
                if c.digest not in seen:
                    seen.add(c.digest)
                    queue.append(c)
    else:  # pre-order, each node once
        seen_pre: set[bytes] = set()
        todo_pre = [expr]
        while todo_pre:
            n = todo_pre.pop()
            if n.digest in seen_pre:
                continue
            seen_pre.add(n.digest)
            sequence.append(n)
            todo_pre.extend(reversed(children(n)))
    for n in sequence:
        run(n)
    return {n.name: grad[n.digest] for n in order if isinstance(n, Var)}


def _matching_model(
    failing: list[tuple[Expr, dict[str, float], str, dict[str, float | None]]],
    passing: list[tuple[Expr, dict[str, float], str, dict[str, float | None]]],
) -> str | None:
    """The known wrong walk that gives exactly the engine's answers on every diamond, wrong and right."""
    if not failing:
        return None

    def same(a: float | None, b: float) -> bool:
        return a is not None and abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12

    for walk in WALKS:
        if all(
            all(same(grads.get(k), v) for k, v in _simulate(expr, point, walk).items())
            for expr, point, _, grads in failing + passing
        ):
            return walk
    return None


def _example(line: str) -> str:
    return line.split(": d/d")[0].split(": {")[0]


def _distinct(grads: list[dict[str, float | None]]) -> list[dict[str, float | None]]:
    out: list[dict[str, float | None]] = []
    for g in grads:
        if g not in out:
            out.append(g)
    return out


# ---------------------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------------------


def _shape(op: str) -> str:
    return "v = (v + 0) + v" if op == "add" else "v = (v * 1) * v"


def timing(engine: RemoteEngine, ops: set[str], budget: float) -> Finding | None:
    """Backward time of `v = (v + 0) + v` repeated L times, as L grows: a linear walk barely notices, one that
    recurses into both children without remembering visits doubles its time with every level."""
    op = next((o for o in ("add", "mul") if o in ops), None)
    if op is None:
        return None
    times: list[tuple[int, float | None]] = []
    forward: list[float] = []  # building the graph, at each size
    building = False  # a time-out came while the graph was being built
    wrong: list[str] = []
    for levels in (8, 12, 16, 20, 24):
        status, payload = engine.ask("doubling", op, levels, seconds=budget)
        if status != "ok":
            times.append((levels, None))
            building = "while building" in str(payload)
            break
        times.append((levels, payload["seconds"]))
        forward.append(payload.get("forward", 0.0))
        if payload["grad"] != 2.0**levels:
            wrong.append(f"{levels} levels: gradient {payload['grad']!r}, exactly {2.0**levels:g}")
        if payload["seconds"] > budget / 8:
            break
    shown = ", ".join(f"{n} levels {_secs(s)}" for n, s in times)
    measured = [(n, s) for n, s in times if s is not None]
    timed_out = times[-1][1] is None
    growth = [
        (b[1] / a[1]) ** (1 / (b[0] - a[0]))
        for a, b in itertools.pairwise(measured)
        if a[1] > 1e-4  # below 0.1 ms a timer measures noise
    ]
    exponential = (growth and growth[-1] > 1.5 and measured[-1][1] > 0.05) or (
        timed_out and measured and measured[-1][1] > 0.01
    )
    levels_run = [n for n, _ in times][: len(forward)]
    forward_growth = [
        (b / a) ** (1 / (m - n))
        for (n, a), (m, b) in itertools.pairwise(zip(levels_run, forward, strict=True))
        if a > 1e-4
    ]
    if building or (forward_growth and forward_growth[-1] > 1.5 and forward[-1] > 0.05):
        shown_forward = ", ".join(f"{n} levels {_secs(s)}" for (n, _), s in zip(times, forward, strict=False))
        return Finding(
            "exponential-time",
            True,
            f"{_shape(op)} repeated: building the graph took {shown_forward}"
            + (", then more than the time limit" if building else "")
            + "; each level multiplies the time of the forward pass itself (something per node grows with the "
            "graph, such as a label or a copy of the children)",
        )
    if exponential:
        return Finding(
            "exponential-time",
            True,
            f"{_shape(op)} repeated: backward() took {shown}; each level multiplies the "
            "time (a walk that recurses into every child without remembering which nodes it has visited)",
        )
    return None


def _secs(s: float | None) -> str:
    if s is None:
        return "more than the time limit"
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.1f} s"


# ---------------------------------------------------------------------------------------------------------
# Notes
# ---------------------------------------------------------------------------------------------------------


OVERFLOWS = frozenset({"OverflowError", "FloatingPointError", "ZeroDivisionError", "ValueError"})


def deep_and_large(engine: RemoteEngine, ops: set[str], existing: set[str]) -> list[Finding]:
    """RecursionError on a 3,000-node chain (of an op that passed), and overflow on large inputs (of every op
    the engine has)."""
    findings = []
    op = next((o for o in ("add", "mul", "sub") if o in ops), None)
    if op is not None:
        status, payload = engine.ask("chain", op, 3000)
        problem = payload.get("error") if status == "ok" else payload
        if problem:
            findings.append(Finding("recursion-deep-graph", False, str(problem)))
    large = []
    for name, x in (("tanh", 800.0), ("tanh", -800.0), ("sigmoid", -800.0), ("sigmoid", 800.0), ("exp", 700.0)):
        if name in existing:
            expr = Apply(name, (Var("x"),))
            obs = engine.observe(expr, {"x": x})
            # What floats cannot hold: an OverflowError (or its kin), or inf / NaN. Any other failure (returns
            # None, a TypeError) is the op's own, already on its row.
            error = obs.error["type"] if obs.error is not None else ""
            numbers = [obs.value, *obs.grads.values()] if obs.ok else []
            if error in OVERFLOWS or any(isinstance(v, float) and not math.isfinite(v) for v in numbers):
                large.append(f"{name}({x:g}): {obs.describe() if not obs.ok else obs.grads}")
    if large:
        findings.append(Finding("overflow-large-inputs", False, "; ".join(large)))
    return findings


def second_backward(engine: RemoteEngine, ops: set[str]) -> Finding | None:
    """Two backward() calls on one root: PyTorch's leaves then hold exactly twice the gradient."""
    binary = [o for o in ("mul", "add", "sub") if o in ops]
    unary = [o for o in ("tanh", "exp", "sigmoid") if o in ops]
    sources = [f"t = x {OPS[b].symbol} y; t {OPS[b].symbol} x" for b in binary]
    sources += [f"{u}({u}(x))" for u in unary]
    for source in sources:
        expr = parse(source)
        point = {k: v for k, v in {"x": 0.7, "y": -1.3}.items() if k in variables(expr)}
        obs = engine.observe(expr, point, twice=True)
        if not obs.numbers_ok():
            continue
        off = {k: (g, obs.grads2.get(k)) for k, g in obs.grads.items() if obs.grads2.get(k) != 2 * (g or 0.0)}
        if off:
            shown = ", ".join(f"d/d{k} {a!r} after one call, {b!r} after two" for k, (a, b) in off.items())
            return Finding("second-backward-not-accumulating", False, f"{_text(expr, point)}: {shown}")
        return None
    return None


def state_between_calls(engine: RemoteEngine, ops: set[str]) -> Finding | None:
    """A second backward() on a new root that shares a node (t) with an earlier one must see that node: the
    leaves then hold PyTorch's sum of both gradients, or micrograd's (which also carries t's own stale
    gradient into the second call), or the second alone (an engine that zeroes the graph first). Anything else
    means backward() kept state from the first call (a `visited=set()` default argument, shared by every call)."""
    if not {"mul", "add"} <= ops:
        return None
    status, got = engine.ask("two_graphs")
    if status != "ok" or not all(isinstance(v, float) and math.isfinite(v) for v in got["first"] + got["second"]):
        return None
    x, y = 0.7, 0.9
    t = x * y
    first = (y + 1.0, x)  # t + x
    second = (y * y, 2.0 * t)  # t * y
    stale = (y * (1.0 + y), x * (1.0 + y) + t)  # t * y with t.grad = 1 left from the first call
    pytorch = (first[0] + second[0], first[1] + second[1])  # both summed
    micrograd = (first[0] + stale[0], first[1] + stale[1])  # t's own gradient kept too
    # To 1e-6: an engine computing in float32 (numpy) is as right as one in float64 here.
    if any(
        all(math.isclose(g, e, rel_tol=1e-6, abs_tol=1e-9) for g, e in zip(got["second"], want, strict=True))
        for want in (pytorch, micrograd, second, stale)
    ):
        return None
    shown = (
        f"t = x * y; backward() of t + x, then of t * y, at x=0.7,y=0.9: d/dx {got['second'][0]!r}, "
        f"d/dy {got['second'][1]!r} after the second call; PyTorch's leaves hold {pytorch[0]!r}, {pytorch[1]!r} "
        f"(or {second[0]!r}, {second[1]!r} if grads are zeroed first)"
    )
    return Finding("state-between-calls", True, shown)


def last_bits(engine: RemoteEngine, checker: Checker, ops: set[str]) -> Finding | None:
    """A node used by several ops, each passing back an inexact gradient: summed in an order that changes
    from run to run (a `set` of children), the last bits change. Right either way: a note."""
    if not {"mul", "add"} <= ops:
        return None
    expr = parse("t = x * y; u = t * t + t * p; v = u * t + t * q + u * r; v * u + t * s + v * t")
    point = {"x": 0.7, "y": -1.3, "p": 0.3, "q": 1.7, "r": -2.9, "s": 0.11}
    runs = [engine.observe(expr, point, shuffle=7 * i) for i in range(48)]
    if not all(r.numbers_ok() for r in runs):
        return None
    grads = [r.grads for r in runs]
    if any(g != grads[0] for g in grads):
        distinct = _distinct(grads)
        shown = " vs ".join(map(str, distinct[:2]))
        # Only rounding if every answer is right; answers that differ by more (a walk that overwrites, in an
        # order that changes) are nondeterminism, a defect.
        value = runs[0].value
        if all(checker.judge(expr, point, run_of(value, g), blame=False).ok for g in distinct):
            return Finding("nondeterministic-last-bits", False, f"{_text(expr, point)}: {shown}")
        return Finding("nondeterministic", True, f"{_text(expr, point)}: {shown}", _text(expr, point))
    return None
