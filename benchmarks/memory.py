"""Memory: bytes per node a live graph keeps (tracemalloc), bytes left after the graph is dropped with the cycle
collector off (reference cycles), and the deepest chain each engine survives."""

from __future__ import annotations

import gc
import time
import tracemalloc
from dataclasses import dataclass

from benchmarks.peers import Peer

__all__ = ["MemoryResult", "deepest_chain", "graph_memory"]


@dataclass
class MemoryResult:
    peer: str
    bytes_per_node: float  # kept while the graph is alive (after forward and backward)
    bytes_per_node_forward: float  # kept after forward only
    left_after_drop: int  # bytes still held once the graph is dropped, cycle collector off
    cyclic_objects: int  # what gc.collect() then finds unreachable


def graph_memory(peer: Peer, steps: int = 20_000) -> MemoryResult:
    """A tanh chain of `steps` steps (3 nodes each), measured with tracemalloc."""
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        w, b, x = peer.leaf(0.5), peer.leaf(0.1), peer.leaf(0.3)
        start = tracemalloc.get_traced_memory()[0]
        y = x
        for _ in range(steps):
            y = peer.tanh(y * w + b)
        after_forward = tracemalloc.get_traced_memory()[0]
        peer.backward(y)
        after_backward = tracemalloc.get_traced_memory()[0]
        del y
        left = tracemalloc.get_traced_memory()[0] - start
        tracemalloc.stop()
        cyclic = gc.collect()
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        gc.enable()
    nodes = 3 * steps
    return MemoryResult(
        peer.name, (after_backward - start) / nodes, (after_forward - start) / nodes, max(left, 0), cyclic
    )


def deepest_chain(peer: Peer, sizes: tuple[int, ...], budget_seconds: float = 60.0) -> tuple[int, str]:
    """The largest number of steps of a tanh chain whose backward works, trying `sizes` in order, and how the
    next size failed (or "" if all did). A size predicted to exceed the time budget is not tried."""
    survived, why = 0, ""
    per_node = None
    for steps in sizes:
        if per_node is not None and per_node * 3 * steps > budget_seconds:
            why = f"{steps:.0e} steps not tried (over the {budget_seconds:.0f} s budget)"
            break
        gc.collect()
        try:
            t0 = time.perf_counter()
            w, b, x = peer.leaf(0.5), peer.leaf(0.1), peer.leaf(0.3)
            y = x
            for _ in range(steps):
                y = peer.tanh(y * w + b)
            peer.backward(y)
            per_node = (time.perf_counter() - t0) / (3 * steps)
            del y
            survived = steps
        except RecursionError:
            why = f"RecursionError at {steps:.0e} steps"
            break
        except MemoryError:
            why = f"MemoryError at {steps:.0e} steps"
            break
    return survived, why
