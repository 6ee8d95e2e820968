"""The engines measured side by side: ours, micrograd 0.1.0 (from PyPI) and PyTorch on 0-d float64 tensors.

Each peer is adapted to one small interface, so that a workload is written once. micrograd 0.1.0 has only
`+ * ** relu`; tanh, exp and log are added to it in its own closure style (as in the micrograd lecture), and
its recursive topological sort gets a higher recursion limit. PyTorch runs on one thread, one 0-d tensor per
scalar: the cost a user would pay using it as a scalar engine.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
    relu: Callable[[Any], Any]
    mlp: Callable[[int, list[int]], Any]
    zero_grad: Callable[[Sequence[Any]], None]
    sgd: Callable[[Sequence[Any], float], None]
    note: str = ""
    recursion_limit: int = field(default=0)

    def total(self, values: Sequence[Any]) -> Any:
        return functools.reduce(operator.add, values)


def _set_grad_zero(params: Sequence[Any]) -> None:
    for p in params:
        p.grad = 0.0


def _sgd_data(params: Sequence[Any], lr: float) -> None:
    for p in params:
        p.data -= lr * p.grad


def _ours() -> Peer:
    from autodiff import Value
    from autodiff.nn import MLP

    return Peer(
        "ours",
        Value,
        lambda v: v.data,
        lambda v: v.grad,
        Value.backward,
        Value.tanh,
        Value.relu,
        lambda nin, nouts: MLP(nin, nouts, rng=random.Random(0)),
        _set_grad_zero,
        _sgd_data,
    )


def _micrograd() -> Peer:
    from micrograd.engine import Value
    from micrograd.nn import MLP

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
        sys.setrecursionlimit(max(old, 1_000_000))
        try:
            v.backward()
        finally:
            sys.setrecursionlimit(old)

    def mlp(nin: int, nouts: list[int]) -> Any:
        random.seed(0)
        return MLP(nin, nouts)

    return Peer(
        "micrograd",
        Value,
        lambda v: v.data,
        lambda v: v.grad,
        backward,
        Value.tanh,
        Value.relu,
        mlp,
        _set_grad_zero,
        _sgd_data,
        note="micrograd 0.1.0 from PyPI, with tanh/exp/log added in its closure style; recursion limit raised to 1e6",
    )


class _TorchMLP:
    """MLP(nin, nouts) of 0-d tensors, relu hidden layers and a linear output, computed scalar by scalar in
    the same order as the other two (bias first, then each w * x)."""

    def __init__(self, torch: Any, nin: int, nouts: list[int]) -> None:
        rng = random.Random(0)
        self.torch = torch
        sizes = [nin, *nouts]
        self.layers = [
            [
                (
                    [torch.tensor(rng.uniform(-1, 1), dtype=torch.float64, requires_grad=True) for _ in range(a)],
                    torch.tensor(0.0, dtype=torch.float64, requires_grad=True),
                )
                for _ in range(b)
            ]
            for a, b in itertools.pairwise(sizes)
        ]

    def __call__(self, x: Sequence[Any]) -> Any:
        out: Sequence[Any] = x
        for k, layer in enumerate(self.layers):
            row = []
            for ws, b in layer:
                act = b
                for w, xi in zip(ws, out, strict=True):
                    act = act + w * xi
                row.append(self.torch.relu(act) if k < len(self.layers) - 1 else act)
            out = row
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for ws, b in layer for p in (*ws, b)]


def _torch() -> Peer:
    import torch

    torch.set_num_threads(1)

    def leaf(x: float) -> Any:
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    def grad(v: Any) -> float:
        return 0.0 if v.grad is None else float(v.grad)

    def backward(v: Any) -> None:
        v.backward()

    def zero_grad(params: Sequence[Any]) -> None:
        for p in params:
            p.grad = None

    def sgd(params: Sequence[Any], lr: float) -> None:
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad

    return Peer(
        "torch",
        leaf,
        lambda v: float(v.detach()),
        grad,
        backward,
        torch.tanh,
        torch.relu,
        lambda nin, nouts: _TorchMLP(torch, nin, nouts),
        zero_grad,
        sgd,
        note=f"PyTorch {torch.__version__}, 0-d float64 tensors, 1 thread",
    )


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
