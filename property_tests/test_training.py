"""Training pieces against PyTorch: a random MLP with a loss, every parameter gradient checked against its
PyTorch twin with the same weights; and optimizer steps against `torch.optim`."""

from __future__ import annotations

import random

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff import Value
from autodiff.losses import cross_entropy, mse
from autodiff.nn import ACTIVATIONS, MLP
from autodiff.optim import SGD, AdamW
from oracles.bounds import U
from oracles.check import Checker
from oracles.expr import variables
from oracles.trace import trace
from property_tests.profiles import scaled

TWIN = Checker(referees=("torch",))  # the PyTorch twin: the same graph on float64 tensors


@settings(max_examples=scaled(30))
@given(
    nin=st.integers(1, 3),
    hidden=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    nout=st.integers(1, 3),
    activations=st.lists(st.sampled_from(ACTIVATIONS), min_size=3, max_size=3),
    loss=st.sampled_from(["mse", "cross_entropy"]),
    samples=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_mlp_gradients_match_a_pytorch_twin(
    nin: int, hidden: list[int], nout: int, activations: list[str], loss: str, samples: int, seed: int
) -> None:
    rng = random.Random(seed)
    sizes = [*hidden, nout]
    model = MLP(nin, sizes, activations=activations[: len(sizes)], rng=rng)
    xs = [[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(samples)]
    outputs = [model(x) for x in xs]
    rows = [out if isinstance(out, list) else [out] for out in outputs]
    if loss == "mse":
        value = mse([v for row in rows for v in row], [rng.uniform(-1, 1) for row in rows for _ in row])
    else:
        value = cross_entropy(rows, [rng.randrange(len(row)) for row in rows])
    params = model.parameters()
    expr, point = trace(value, params)
    verdict = TWIN.check(expr, point)
    assert verdict.ok, verdict.summary()
    # And the engine's gradients on the model itself are those of the traced graph.
    model.zero_grad()
    value.backward()
    for i, p in enumerate(params):
        if f"p{i}" in variables(expr):
            assert p.grad == verdict.engine.grads[f"p{i}"]


def _torch_params(values: list[float]) -> list[torch.Tensor]:
    return [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]


def _steps(
    ours_opt: object,
    theirs_opt: torch.optim.Optimizer,
    ours: list[Value],
    theirs: list[torch.Tensor],
    grads: list[list[float]],
) -> None:
    for step, gs in enumerate(grads, start=1):
        for p, t, g in zip(ours, theirs, gs, strict=True):
            p.grad = g
            t.grad = torch.tensor(g, dtype=torch.float64)
        ours_opt.step()  # type: ignore[attr-defined]
        theirs_opt.step()
        for i, (p, t) in enumerate(zip(ours, theirs, strict=True)):
            # A step is a handful of float operations per parameter: a few ulps of |p| and of the update each.
            scale = abs(p.data) + abs(float(t.detach())) + max(abs(g) for g in gs) * 1.0 + 1.0
            allowed = 16 * U * step * scale
            assert abs(p.data - float(t.detach())) <= allowed, f"step {step}, parameter {i}: {p.data!r} vs {float(t)!r}"


_floats = st.floats(-3, 3, allow_nan=False, allow_subnormal=False)


@given(
    params=st.lists(_floats, min_size=1, max_size=4),
    grads=st.data(),
    lr=st.sampled_from([0.1, 0.01, 0.5]),
    momentum=st.sampled_from([0.0, 0.9]),
    weight_decay=st.sampled_from([0.0, 0.01]),
    nesterov=st.booleans(),
)
def test_sgd_matches_torch(
    params: list[float], grads: st.DataObject, lr: float, momentum: float, weight_decay: float, nesterov: bool
) -> None:
    nesterov = nesterov and momentum > 0
    gs = grads.draw(st.lists(st.lists(_floats, min_size=len(params), max_size=len(params)), min_size=1, max_size=5))
    ours = [Value(v) for v in params]
    theirs = _torch_params(params)
    opt = SGD(ours, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    ref = torch.optim.SGD(theirs, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    _steps(opt, ref, ours, theirs, gs)


@given(
    params=st.lists(_floats, min_size=1, max_size=4),
    grads=st.data(),
    lr=st.sampled_from([1e-3, 0.01, 0.1]),
    betas=st.sampled_from([(0.9, 0.999), (0.8, 0.99), (0.0, 0.5)]),
    eps=st.sampled_from([1e-8, 1e-6]),
    weight_decay=st.sampled_from([0.0, 1e-2, 0.1]),
)
def test_adamw_matches_torch(
    params: list[float], grads: st.DataObject, lr: float, betas: tuple[float, float], eps: float, weight_decay: float
) -> None:
    gs = grads.draw(st.lists(st.lists(_floats, min_size=len(params), max_size=len(params)), min_size=1, max_size=6))
    ours = [Value(v) for v in params]
    theirs = _torch_params(params)
    opt = AdamW(ours, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    ref = torch.optim.AdamW(theirs, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=False)
    _steps(opt, ref, ours, theirs, gs)


def test_adamw_defaults_are_torchs() -> None:
    ours = AdamW([Value(1.0)])
    theirs = torch.optim.AdamW([torch.tensor(1.0, requires_grad=True)]).defaults
    assert (ours.lr, ours.betas, ours.eps, ours.weight_decay) == (
        theirs["lr"],
        theirs["betas"],
        theirs["eps"],
        theirs["weight_decay"],
    )
