"""The workloads, each written once against the `Peer` interface."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.peers import Peer

__all__ = ["tanh_chain"]


def tanh_chain(steps: int) -> Any:
    """y = tanh(y * w + b), `steps` times: 3 nodes a step, one long dependency chain."""

    def run(peer: Peer) -> tuple[float, float, int]:
        w, b, y = peer.leaf(0.5), peer.leaf(0.1), peer.leaf(0.3)
        x = y
        tanh = peer.tanh
        t0 = time.perf_counter()
        for _ in range(steps):
            y = tanh(y * w + b)
        t1 = time.perf_counter()
        peer.backward(y)
        t2 = time.perf_counter()
        if not peer.grad(x) == peer.grad(x):  # a NaN would mean the run is meaningless
            raise OverflowError("nan gradient")
        del y
        return t1 - t0, t2 - t1, 3 * steps

    return run
