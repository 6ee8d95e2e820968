"""`gradverify fuzz`: a Hypothesis campaign of random expression DAGs, each checked three ways.

A campaign runs in one or more worker processes (each its own Hypothesis run with its own seed and share of
the examples), reports progress to the parent, and ends with statistics per op. On a defect Hypothesis
shrinks the counterexample; the shrunk expression, its point and the verdict come back to the parent.
Failing examples are saved in Hypothesis's example database (a directory) and replayed first next time.

Each worker is a process of its own, so one that dies loses only its own share. Ctrl-C stops every worker at
its next example: each returns what it has checked so far, and the campaign ends `interrupted` with that
partial result (workers and helper processes ignore the signal themselves, so nothing prints a traceback).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CampaignResult", "Defect", "OpStats", "run_campaign"]

REFEREES = ("sympy", "fd", "torch")
POINTS = 3  # points per DAG: compiling a structure for the referees costs more than one more point
INFORMATIVE = 1e-6  # a gradient component is informative if nonzero and verified to this fraction of its size


def informative(verdict: Any) -> tuple[int, int, int]:
    """(components checked, informative ones, exactly zero ones) in a Verdict, judged by the exact referee: a
    component is informative when its exact value is nonzero and the allowed error is at most INFORMATIVE of
    it. A wrong derivative multiplied by zero is still zero: the other components can catch little."""
    checked = good = zero = 0
    for r in verdict.rows:
        if r.referee != "sympy" or r.quantity == "value":
            continue
        checked += 1
        if r.status == "skipped" or r.reference is None or r.allowed is None:
            continue
        if r.reference == 0.0:
            zero += 1
        elif r.allowed <= INFORMATIVE * abs(r.reference):
            good += 1
    return checked, good, zero


@dataclass
class OpStats:
    """How often an op appeared in checked expressions, and the largest error/allowed per referee there."""

    examples: int = 0
    worst: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REFEREES, 0.0))

    def merge(self, other: OpStats) -> None:
        self.examples += other.examples
        for r, v in other.worst.items():
            self.worst[r] = max(self.worst.get(r, 0.0), v)


@dataclass
class Defect:
    """A shrunk counterexample: the expression (JSON form), the point, and what the check said."""

    expr: dict[str, Any]
    point: dict[str, float]
    summary: str
    blamed_op: str | None
    found_after: int


@dataclass
class CampaignResult:
    examples: int = 0  # DAGs
    checks: int = 0  # DAG-point pairs
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # summed over workers; "generation" is the rest
    components: int = 0  # gradient components checked by the exact referee
    informative: int = 0  # ... nonzero and verified to INFORMATIVE of their size
    zero: int = 0  # ... exactly zero
    ops: dict[str, OpStats] = field(default_factory=dict)
    worst: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REFEREES, 0.0))
    symbolic_modes: dict[str, int] = field(default_factory=lambda: {"symengine": 0, "sympy": 0, "chain": 0})
    fd_skipped: int = 0
    ill_conditioned: int = 0
    referee_failures: int = 0  # checks where a referee could not run (never counted as agreement)
    unverified: int = 0  # points where no referee could verify some variable's gradient (not agreement)
    defects: list[Defect] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # a worker that crashed (not a defect of the engine)
    interrupted: bool = False  # stopped by Ctrl-C: the numbers cover the examples checked until then

    def merge(self, other: CampaignResult) -> None:
        self.examples += other.examples
        self.checks += other.checks
        self.components += other.components
        self.informative += other.informative
        self.zero += other.zero
        for stage, t in other.stage_seconds.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + t
        for name, stats in other.ops.items():
            self.ops.setdefault(name, OpStats()).merge(stats)
        for r, v in other.worst.items():
            self.worst[r] = max(self.worst.get(r, 0.0), v)
        for m, n in other.symbolic_modes.items():
            self.symbolic_modes[m] = self.symbolic_modes.get(m, 0) + n
        self.fd_skipped += other.fd_skipped
        self.ill_conditioned += other.ill_conditioned
        self.referee_failures += other.referee_failures
        self.unverified += other.unverified
        self.defects.extend(other.defects)
        self.errors.extend(other.errors)
        self.interrupted = self.interrupted or other.interrupted


@dataclass(frozen=True)
class Job:
    """One worker's share of a campaign."""

    examples: int
    seed: int | None
    ops: tuple[str, ...] | None
    database: str | None
    max_ops: int = 40
    bug: str | None = None  # plant this bug from gradverify.bugs in the engine first (for teaching)
    points: int = POINTS


class _Stopped(KeyboardInterrupt):
    """Raised inside a worker's test at the next example after Ctrl-C (a KeyboardInterrupt, which Hypothesis
    lets through at once instead of taking it for a failure to shrink)."""


_progress: Any = None  # in a worker process: the queue for progress ticks, and the stop event
_stop: Any = None


def _init_worker(progress: Any, stop: Any) -> None:
    global _progress, _stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent tells workers to stop through `stop`
    _progress, _stop = progress, stop


def _work_in_worker(job: Job) -> CampaignResult:
    return _work(job, _progress, _stop)


def _work(job: Job, progress: Any, stop: Any = None) -> CampaignResult:
    """Run one Hypothesis campaign in this process; tick `progress` (a queue) once per example until `stop`
    (an event) is set."""
    from hypothesis import HealthCheck, Verbosity, given, seed, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    from oracles.check import Checker
    from oracles.expr import Apply, nodes, to_json
    from oracles.strategies import Checked, checked_dags

    if job.bug is not None:
        from gradverify.bugs import broken_engine

        checker = Checker(engine=broken_engine(job.bug))
    else:
        checker = Checker()
    result = CampaignResult()
    last_failure: list[Any] = []
    generated = [0]

    def check(case: Checked) -> None:
        if stop is not None and stop.is_set():
            raise _Stopped
        generated[0] += 1
        verdicts = []
        for point in case.points:
            verdict = checker.check(case.expr, point)
            if not verdict.ok:
                last_failure[:] = [case, point, verdict, generated[0]]
                raise AssertionError(verdict.summary())
            verdicts.append(verdict)
        if last_failure or result.examples >= job.examples:
            return  # shrinking a failure, or replaying saved examples beyond the share: not new examples
        worst = dict.fromkeys(REFEREES, 0.0)
        for verdict in verdicts:
            result.checks += 1
            for stage, t in verdict.seconds.items():
                result.stage_seconds[stage] = result.stage_seconds.get(stage, 0.0) + t
            checked, good, zero = informative(verdict)
            result.components += checked
            result.informative += good
            result.zero += zero
            for r in REFEREES:
                worst[r] = max(worst[r], verdict.worst_ratio(r))
            result.fd_skipped += any(r.referee == "fd" and r.status == "skipped" for r in verdict.rows)
            result.ill_conditioned += bool(verdict.ill_conditioned)
            result.referee_failures += bool(verdict.referee_failures)
            result.unverified += bool(verdict.unverified)
        result.examples += 1
        progress.put(1)
        for r, v in worst.items():
            result.worst[r] = max(result.worst[r], v)
        for name in {n.op for n in nodes(case.expr) if isinstance(n, Apply)}:
            stats = result.ops.setdefault(name, OpStats())
            stats.examples += 1
            for r, v in worst.items():
                stats.worst[r] = max(stats.worst[r], v)

    database = DirectoryBasedExampleDatabase(job.database) if job.database else None
    test = settings(
        max_examples=job.examples,
        deadline=None,
        database=database,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        verbosity=Verbosity.quiet,
    )(given(checked_dags(ops=job.ops, max_ops=job.max_ops, points=job.points))(check))
    if job.seed is not None:
        test = seed(job.seed)(test)
    try:
        test()
    except KeyboardInterrupt:  # _Stopped, or a second Ctrl-C
        result.interrupted = True
    except AssertionError:
        if last_failure:
            case, point, verdict, after = last_failure
            result.defects.append(
                Defect(
                    to_json(case.expr),
                    point,
                    verdict.summary() + _sympy_recheck(case.expr, point, checker.engine),
                    verdict.blame.op if verdict.blame else None,
                    after,
                )
            )
    except Exception as e:  # a broken strategy or referee: report it, do not call it a defect
        result.errors.append(f"{type(e).__name__}: {e}")
    symbolic = checker.referees[0]
    result.symbolic_modes = dict(getattr(symbolic, "modes", {}))
    return result


def _sympy_recheck(expr: Any, point: dict[str, float], engine: Any) -> str:
    """The shrunk counterexample judged again with SymPy's own derivative as the exact referee (the campaign's
    per-example work uses SymEngine's)."""
    from oracles.check import Checker

    verdict = Checker(engine=engine, referees=("sympy",), symbolic_engine="sympy").check(expr, point)
    return f"\n  re-checked with SymPy's own derivative: {'agrees with' if verdict.ok else 'disagrees with'} the engine"


def run_campaign(
    examples: int,
    workers: int = 1,
    seed: int | None = None,
    ops: Sequence[str] | None = None,
    database: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    max_ops: int = 40,
    bug: str | None = None,
    points: int = POINTS,
) -> CampaignResult:
    """Split `examples` over `workers` processes (seeds seed, seed+1, ...), and merge what they found."""
    start = time.perf_counter()
    workers = max(1, min(workers, examples))
    shares = [examples // workers + (i < examples % workers) for i in range(workers)]
    jobs = [
        Job(n, None if seed is None else seed + i, tuple(ops) if ops else None, database, max_ops, bug, points)
        for i, n in enumerate(shares)
    ]
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    total = CampaignResult()
    with _stop_on_ctrl_c(stop):
        if workers == 1:

            class _Direct:
                def put(self, n: int) -> None:
                    if on_progress:
                        on_progress(n)

            total.merge(_work(jobs[0], _Direct(), stop))
        else:
            total.merge(_in_workers(context, jobs, stop, on_progress))
    total.interrupted = total.interrupted or stop.is_set()
    total.seconds = time.perf_counter() - start
    return total


@contextlib.contextmanager
def _stop_on_ctrl_c(stop: Any) -> Iterator[None]:
    """While the campaign runs, Ctrl-C sets `stop` (every worker ends at its next example) instead of raising
    KeyboardInterrupt wherever the program happens to be: raised inside a weakref callback or a helper's
    wait, it is swallowed and the campaign runs on. A second Ctrl-C raises at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _in_workers(context: Any, jobs: list[Job], stop: Any, on_progress: Callable[[int], None] | None) -> CampaignResult:
    """Each job in a process of its own (a pool of one each: a worker that dies breaks only its own pool)."""
    progress = context.Queue()
    total = CampaignResult()
    pools = [
        ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker, initargs=(progress, stop)) for _ in jobs
    ]
    try:
        futures: list[Future[CampaignResult]] = [p.submit(_work_in_worker, j) for p, j in zip(pools, jobs, strict=True)]
        while not all(f.done() for f in futures):
            _drain(progress, on_progress, timeout=0.2)
        for f in futures:
            try:
                total.merge(f.result())
            except Exception as e:  # a worker that died: its share is lost, the others' results are not
                lost = f"a worker process died ({type(e).__name__}: {e}); its share of the examples is lost"
                total.errors.append(lost)
        _drain(progress, on_progress, timeout=0.0)
    finally:
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
    return total


def _drain(progress: Any, on_progress: Callable[[int], None] | None, timeout: float) -> None:
    try:
        n = progress.get(timeout=timeout) if timeout else progress.get_nowait()
        while True:
            if on_progress:
                on_progress(n)
            n = progress.get_nowait()
    except (queue.Empty, EOFError, OSError):
        return


@contextlib.contextmanager
def private_hypothesis_home() -> Iterator[None]:
    """Hypothesis's own files (its cache of constants, in `.hypothesis/` of the current folder by default) go to a
    temporary folder while this is open, in this process and in the processes it starts, and are removed after:
    a campaign writes only where the README says. An explicit HYPOTHESIS_STORAGE_DIRECTORY is respected."""
    import shutil
    import tempfile

    from hypothesis.configuration import set_hypothesis_home_dir

    if os.environ.get(_HOME):
        yield
        return
    home = tempfile.mkdtemp(prefix="gradverify-hypothesis-")
    os.environ[_HOME] = home  # spawned workers inherit it; Hypothesis reads it there
    set_hypothesis_home_dir(home)
    try:
        yield
    finally:
        del os.environ[_HOME]
        set_hypothesis_home_dir(None)  # back to what the environment and the current folder say
        shutil.rmtree(home, ignore_errors=True)


_HOME = "HYPOTHESIS_STORAGE_DIRECTORY"


def default_database() -> str:
    """Where failing examples are kept unless --database says otherwise."""
    return os.path.join(".gradverify", "examples")
