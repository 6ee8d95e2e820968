"""Side-by-side timing: every peer measured in the same run, alternating, several rounds, medians quoted."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.peers import Peer

__all__ = ["Measurement", "alternate"]


@dataclass
class Measurement:
    """Per-round samples of one workload on one peer (nanoseconds per node unless said otherwise)."""

    peer: str
    workload: str
    forward: list[float] = field(default_factory=list)
    backward: list[float] = field(default_factory=list)
    failed: str = ""

    @property
    def total(self) -> list[float]:
        return [f + b for f, b in zip(self.forward, self.backward, strict=True)]

    def median(self, what: str = "total") -> float:
        samples = getattr(self, what)
        return statistics.median(samples) if samples else float("nan")

    def spread(self, what: str = "total") -> tuple[float, float]:
        samples = getattr(self, what)
        return (min(samples), max(samples)) if samples else (float("nan"), float("nan"))


Workload = Callable[[Peer], tuple[float, float, int]]
"""Runs once on a peer; returns (forward seconds, backward seconds, number of nodes)."""


def alternate(
    workloads: dict[str, Workload], peers: Sequence[Peer], rounds: int, gc_on: bool = True, progress: Any = None
) -> dict[tuple[str, str], Measurement]:
    """Run every workload on every peer, peer after peer within a round, for `rounds` rounds."""
    results = {(w, p.name): Measurement(p.name, w) for w in workloads for p in peers}
    for _ in range(rounds):
        for wname, workload in workloads.items():
            for peer in peers:
                m = results[wname, peer.name]
                if m.failed:
                    continue
                gc.collect()
                if not gc_on:
                    gc.disable()
                try:
                    fwd, bwd, nodes = workload(peer)
                except (RecursionError, MemoryError, OverflowError) as e:
                    m.failed = f"{type(e).__name__}"
                    continue
                finally:
                    gc.enable()
                m.forward.append(fwd / nodes * 1e9)
                m.backward.append(bwd / nodes * 1e9)
                if progress is not None:
                    progress()
    return results


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out
