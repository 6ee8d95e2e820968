"""The engines measured side by side: ours, micrograd 0.1.0 (from PyPI) and PyTorch on 0-d float64 tensors.

Each peer is adapted to the same small interface (`leaf`, `data`, `grad`, `backward`), so that a workload is
written once. micrograd 0.1.0 has only `+ * ** relu`; tanh, exp and log are added to it in its own closure
style (as in the micrograd lecture), and its recursive topological sort gets a higher recursion limit.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["PEERS", "Peer", "available_peers"]


@dataclass(frozen=True)
class Peer:
    name: str
    leaf: Callable[[float], Any]
    data: Callable[[Any], float]
    grad: Callable[[Any], float]
    backward: Callable[[Any], None]
    tanh: Callable[[Any], Any]
    note: str = ""


def _ours() -> Peer:
    from autodiff import Value

    def backward(v: Any) -> None:
        v.backward()

    return Peer("ours", Value, lambda v: v.data, lambda v: v.grad, backward, lambda v: v.tanh())


def _micrograd() -> Peer:
    from micrograd.engine import Value

    if not hasattr(Value, "tanh"):

        def tanh(self: Any) -> Any:
            t = math.tanh(self.data)
            out = Value(t, (self,), "tanh")

            def _backward() -> None:
                self.grad += (1 - t**2) * out.grad

            out._backward = _backward
            return out

        def exp(self: Any) -> Any:
            e = math.exp(self.data)
            out = Value(e, (self,), "exp")

            def _backward() -> None:
                self.grad += out.data * out.grad

            out._backward = _backward
            return out

        def log(self: Any) -> Any:
            x = self.data
            out = Value(math.log(x), (self,), "log")

            def _backward() -> None:
                self.grad += (1 / x) * out.grad

            out._backward = _backward
            return out

        Value.tanh, Value.exp, Value.log = tanh, exp, log

    def backward(v: Any) -> None:
        # micrograd's topological sort recurses once per level of depth.
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 10_000_000))
        try:
            v.backward()
        finally:
            sys.setrecursionlimit(old)

    return Peer(
        "micrograd",
        Value,
        lambda v: v.data,
        lambda v: v.grad,
        backward,
        lambda v: v.tanh(),
        note="micrograd 0.1.0 with tanh/exp/log added in its closure style",
    )


def _torch() -> Peer:
    import torch

    torch.set_num_threads(1)

    def leaf(x: float) -> Any:
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    def grad(v: Any) -> float:
        return 0.0 if v.grad is None else float(v.grad)

    def backward(v: Any) -> None:
        v.backward()

    return Peer("torch", leaf, lambda v: float(v.detach()), grad, backward, torch.tanh, note="0-d float64, 1 thread")


PEERS: dict[str, Callable[[], Peer]] = {"ours": _ours, "micrograd": _micrograd, "torch": _torch}


def available_peers(names: list[str] | None = None) -> list[Peer]:
    """The peers that can be imported here, in the order asked for; a missing one is reported and skipped."""
    peers = []
    for name in names or list(PEERS):
        try:
            peers.append(PEERS[name]())
        except ImportError as e:
            print(f"skipping {name}: {e}", file=sys.stderr)
    return peers
