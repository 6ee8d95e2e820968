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
    examples: int = 0
    seconds: float = 0.0
    ops: dict[str, OpStats] = field(default_factory=dict)
    worst: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REFEREES, 0.0))
    symbolic_modes: dict[str, int] = field(default_factory=lambda: {"diff": 0, "chain": 0})
    fd_skipped: int = 0
    ill_conditioned: int = 0
    unverified: int = 0  # points where no referee could verify some variable's gradient (not agreement)
    defects: list[Defect] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # a worker that crashed (not a defect of the engine)
    interrupted: bool = False  # stopped by Ctrl-C: the numbers cover the examples checked until then

    def merge(self, other: CampaignResult) -> None:
        self.examples += other.examples
        for name, stats in other.ops.items():
            self.ops.setdefault(name, OpStats()).merge(stats)
        for r, v in other.worst.items():
            self.worst[r] = max(self.worst.get(r, 0.0), v)
        for m, n in other.symbolic_modes.items():
            self.symbolic_modes[m] = self.symbolic_modes.get(m, 0) + n
        self.fd_skipped += other.fd_skipped
        self.ill_conditioned += other.ill_conditioned
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
        verdict = checker.check(case.expr, case.point)
        if not verdict.ok:
            last_failure[:] = [case, verdict, generated[0]]
            raise AssertionError(verdict.summary())
        if last_failure or result.examples >= job.examples:
            return  # shrinking a failure, or replaying saved examples beyond the share: not new examples
        result.examples += 1
        progress.put(1)
        worst = {r: verdict.worst_ratio(r) for r in REFEREES}
        for r, v in worst.items():
            result.worst[r] = max(result.worst[r], v)
        for name in {n.op for n in nodes(case.expr) if isinstance(n, Apply)}:
            stats = result.ops.setdefault(name, OpStats())
            stats.examples += 1
            for r, v in worst.items():
                stats.worst[r] = max(stats.worst[r], v)
        result.fd_skipped += any(r.referee == "fd" and r.status == "skipped" for r in verdict.rows)
        result.ill_conditioned += bool(verdict.ill_conditioned)
        result.unverified += bool(verdict.unverified)

    database = DirectoryBasedExampleDatabase(job.database) if job.database else None
    test = settings(
        max_examples=job.examples,
        deadline=None,
        database=database,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        verbosity=Verbosity.quiet,
    )(given(checked_dags(ops=job.ops, max_ops=job.max_ops))(check))
    if job.seed is not None:
        test = seed(job.seed)(test)
    try:
        test()
    except KeyboardInterrupt:  # _Stopped, or a second Ctrl-C
        result.interrupted = True
    except AssertionError:
        if last_failure:
            case, verdict, after = last_failure
            result.defects.append(
                Defect(
                    to_json(case.expr),
                    case.point,
                    verdict.summary(),
                    verdict.blame.op if verdict.blame else None,
                    after,
                )
            )
    except Exception as e:  # a broken strategy or referee: report it, do not call it a defect
        result.errors.append(f"{type(e).__name__}: {e}")
    symbolic = checker.referees[0]
    result.symbolic_modes = dict(getattr(symbolic, "modes", {}))
    return result


def run_campaign(
    examples: int,
    workers: int = 1,
    seed: int | None = None,
    ops: Sequence[str] | None = None,
    database: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    max_ops: int = 40,
    bug: str | None = None,
) -> CampaignResult:
    """Split `examples` over `workers` processes (seeds seed, seed+1, ...), and merge what they found."""
    start = time.perf_counter()
    workers = max(1, min(workers, examples))
    shares = [examples // workers + (i < examples % workers) for i in range(workers)]
    jobs = [
        Job(n, None if seed is None else seed + i, tuple(ops) if ops else None, database, max_ops, bug)
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
