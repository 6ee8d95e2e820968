"""The engine workloads, each written once against the `Peer` interface and timed forward and backward apart."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from benchmarks.peers import Peer

__all__ = ["WORKLOADS", "mlp_step", "random_trees", "sum_of_products", "tanh_chain"]

Run = Callable[[Peer], tuple[float, float, int]]


def tanh_chain(steps: int) -> Run:
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
        if not peer.grad(x) == peer.grad(x):  # a NaN would make the run meaningless
            raise ArithmeticError("nan gradient")
        return t1 - t0, t2 - t1, 3 * steps

    return run


def sum_of_products(n: int) -> Run:
    """sum_i a_i * b_i over n pairs of leaves: a wide, shallow graph (2n nodes)."""

    def run(peer: Peer) -> tuple[float, float, int]:
        rng = random.Random(0)
        a = [peer.leaf(rng.uniform(-1, 1)) for _ in range(n)]
        b = [peer.leaf(rng.uniform(-1, 1)) for _ in range(n)]
        t0 = time.perf_counter()
        total = a[0] * b[0]
        for i in range(1, n):
            total = total + a[i] * b[i]
        t1 = time.perf_counter()
        peer.backward(total)
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, 2 * n - 1

    return run


def random_trees(count: int, size: int = 50, seed: int = 0) -> Run:
    """`count` random expression DAGs of `size` ops each (add, mul, tanh, exp of a small argument), one
    backward per tree: many small graphs, as a campaign or a training loop builds them."""
    rng = random.Random(seed)
    plans = []
    for _ in range(count):
        plan = []
        for i in range(size):
            kind = rng.choice("amtm")
            plan.append((kind, rng.randrange(i + 2), rng.randrange(i + 2)))
        plans.append(plan)
    starts = [[rng.uniform(-1, 1) for _ in range(2)] for _ in range(count)]

    def run(peer: Peer) -> tuple[float, float, int]:
        forward = backward = 0.0
        for plan, start in zip(plans, starts, strict=True):
            t0 = time.perf_counter()
            pool = [peer.leaf(v) for v in start]
            for kind, i, j in plan:
                a, b = pool[i], pool[j]
                if kind == "a":
                    pool.append(a + b)
                elif kind == "m":
                    pool.append(peer.tanh(a * b))  # tanh keeps values bounded however deep the products go
                else:
                    pool.append(peer.tanh(a))
            t1 = time.perf_counter()
            peer.backward(pool[-1])
            t2 = time.perf_counter()
            forward += t1 - t0
            backward += t2 - t1
        nodes = sum(sum(2 if kind == "m" else 1 for kind, _, _ in plan) for plan in plans)
        return forward, backward, nodes

    return run


def mlp_step(batch: int = 100, sizes: tuple[int, ...] = (16, 16, 1)) -> Run:
    """One training step of MLP(2, [16, 16, 1]) on `batch` points, as micrograd's demo does it: zero_grad,
    forward, hinge loss plus L2, backward, SGD update. Forward time includes the loss; backward includes
    zero_grad and the update. Reported per node of the graph."""
    rng = random.Random(1)
    xs = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(batch)]
    ys = [1.0 if x[0] * x[1] > 0 else -1.0 for x in xs]

    def run(peer: Peer) -> tuple[float, float, int]:
        model = peer.mlp(2, list(sizes))
        params = model.parameters()
        t0 = time.perf_counter()
        scores = [model(x) for x in xs]
        losses = [peer.relu(1.0 + -y * s) for y, s in zip(ys, scores, strict=True)]
        data_loss = peer.total(losses) * (1.0 / len(losses))
        reg = peer.total([p * p for p in params]) * 1e-4
        loss = data_loss + reg
        t1 = time.perf_counter()
        peer.zero_grad(params)
        peer.backward(loss)
        peer.sgd(params, 0.01)
        t2 = time.perf_counter()
        layer_nodes = 0
        nin = 2
        for nout in sizes:
            layer_nodes += nout * (2 * nin + 1)  # nin products, nin sums, one activation
            nin = nout
        nodes = batch * (layer_nodes + 3) + 2 * len(params) + 4
        return t1 - t0, t2 - t1, nodes

    return run


WORKLOADS: dict[str, Callable[[], Run]] = {
    "tanh chain 1e3": lambda: tanh_chain(1_000),
    "tanh chain 1e4": lambda: tanh_chain(10_000),
    "tanh chain 1e5": lambda: tanh_chain(100_000),
    "sum of 1e4 products": lambda: sum_of_products(10_000),
    "200 random 50-op trees": lambda: random_trees(200),
    "MLP(2,[16,16,1]) step, 100 points": lambda: mlp_step(),
}
"""Every workload, by the name RESULTS.md uses."""
