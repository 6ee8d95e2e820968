"""Modules, optimizers and losses on small cases worked out by hand. Their agreement with PyTorch on random
models is checked by property_tests/test_training.py."""

from __future__ import annotations

import math
import random

import pytest

from autodiff import Value
from autodiff.losses import cross_entropy, log_softmax, mse, softmax
from autodiff.nn import MLP, Layer, Neuron
from autodiff.optim import SGD, AdamW


def test_mlp_has_micrographs_shapes() -> None:
    model = MLP(3, [4, 4, 1], rng=random.Random(0))
    assert len(model.parameters()) == 41  # (3+1)*4 + (4+1)*4 + (4+1)*1, as in micrograd's demo
    out = model([2.0, 3.0, -1.0])
    assert isinstance(out, Value)
    wide = MLP(2, [3, 2])([0.5, -0.5])
    assert isinstance(wide, list)
    assert len(wide) == 2


def test_activation_per_layer() -> None:
    model = MLP(2, [3, 3, 1], activations=["tanh", "relu", "sigmoid"], rng=random.Random(1))
    assert [layer.neurons[0].activation for layer in model.layers] == ["tanh", "relu", "sigmoid"]
    out = model([0.1, 0.2])
    assert isinstance(out, Value)
    assert 0.0 < out.data < 1.0
    assert MLP(2, [3, 1], activation="tanh").layers[0].neurons[0].activation == "tanh"
    assert MLP(2, [3, 1]).layers[-1].neurons[0].activation == "linear"


def test_neuron_computes_weighted_sum_and_activation() -> None:
    n = Neuron(2, activation="tanh")
    n.w[0].data, n.w[1].data, n.b.data = 0.5, -0.25, 0.1
    out = n([2.0, 4.0])
    assert out.data == math.tanh(0.1 + 0.5 * 2.0 + -0.25 * 4.0)  # bias first, then each w*x, as micrograd
    out.backward()
    assert n.w[0].grad == pytest.approx(2.0 * (1 - out.data**2), rel=1e-15, abs=0.0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Neuron(0), "nin"),
        (lambda: Neuron(2, activation="softplus"), "activation"),
        (lambda: Layer(2, 0), "nout"),
        (lambda: MLP(2, []), "nouts"),
        (lambda: MLP(2, [3, 1], activations=["relu"]), "activations"),
        (lambda: Neuron(2)([1.0]), "expected 2 inputs"),
    ],
)
def test_bad_module_arguments(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_zero_grad_clears_parameters() -> None:
    model = MLP(2, [2, 1], rng=random.Random(2))
    out = model([1.0, 2.0])
    assert isinstance(out, Value)
    out.backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_micrograd_toy_problem_trains() -> None:
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    model = MLP(3, [4, 4, 1], activation="tanh", output="tanh", rng=random.Random(42))
    losses = []
    for _ in range(60):
        preds = [model(x) for x in xs]
        loss = mse(preds, ys)  # type: ignore[arg-type]
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.05 < losses[0]


# ---- optimizers, against their update rules written out ---------------------------------------------------


def test_sgd_plain_momentum_and_weight_decay() -> None:
    p = Value(1.0)
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    p.grad = 2.0
    opt.step()  # g = 2 + 0.5*1 = 2.5; buf = 2.5; p = 1 - 0.25
    assert p.data == pytest.approx(0.75, abs=1e-15)
    opt.step()  # g = 2 + 0.5*0.75 = 2.375; buf = 0.9*2.5 + 2.375 = 4.625; p = 0.75 - 0.4625
    assert p.data == pytest.approx(0.2875, abs=1e-15)
    opt.zero_grad()
    assert p.grad == 0.0


def test_sgd_nesterov_needs_momentum() -> None:
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([Value(1.0)], nesterov=True)


def test_adamw_first_step_is_sign_of_gradient() -> None:
    # After one step Adam's bias-corrected moments are g and g**2, so the update is lr * g / (|g| + eps);
    # AdamW first shrinks the parameter by lr * weight_decay.
    p, q = Value(2.0), Value(-1.0)
    opt = AdamW([p, q], lr=0.01, weight_decay=0.1)
    p.grad, q.grad = 3.0, -0.5
    opt.step()
    assert p.data == pytest.approx(2.0 * (1 - 0.001) - 0.01 * 3.0 / (3.0 + 1e-8), rel=1e-12, abs=0.0)
    assert q.data == pytest.approx(-1.0 * (1 - 0.001) + 0.01 * 0.5 / (0.5 + 1e-8), rel=1e-12, abs=0.0)


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: SGD([], lr=0.1), ValueError),
        (lambda: SGD([1.0], lr=0.1), TypeError),  # type: ignore[list-item]
        (lambda: SGD([Value(1.0)], lr=-1.0), ValueError),
        (lambda: AdamW([Value(1.0)], betas=(1.0, 0.9)), ValueError),
        (lambda: AdamW([Value(1.0)], eps=float("nan")), ValueError),
    ],
)
def test_bad_optimizer_arguments(make: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        make()  # type: ignore[operator]


def test_diverging_step_is_reported() -> None:
    p = Value(1.0)
    p.grad = 1e308
    with pytest.raises(OverflowError, match="learning rate"):
        SGD([p], lr=1e10).step()


# ---- losses -----------------------------------------------------------------------------------------------


def test_mse_and_its_gradient() -> None:
    a, b = Value(1.0), Value(3.0)
    loss = mse([a, b], [0.0, 1.0])
    assert loss.data == 2.5
    loss.backward()
    assert (a.grad, b.grad) == (1.0, 2.0)


def test_cross_entropy_gradient_is_softmax_minus_onehot() -> None:
    logits = [Value(1.0), Value(2.0), Value(0.5)]
    loss = cross_entropy([logits], [1])
    z = sum(math.exp(v) for v in (1.0, 2.0, 0.5))
    assert loss.data == pytest.approx(-math.log(math.exp(2.0) / z), rel=1e-15, abs=0.0)
    loss.backward()
    for i, v in enumerate(logits):
        assert v.grad == pytest.approx(math.exp(v.data) / z - (i == 1), rel=1e-14, abs=0.0)


def test_cross_entropy_is_stable_for_huge_logits() -> None:
    logits = [Value(1000.0), Value(0.0), Value(-1000.0)]
    loss = cross_entropy([logits], [0])
    assert loss.data == 0.0
    loss.backward()
    assert [v.grad for v in logits] == [0.0, 0.0, 0.0]
    probs = softmax([Value(1000.0), Value(1000.0)])
    assert [p.data for p in probs] == [0.5, 0.5]
    assert log_softmax([Value(-1000.0), Value(0.0)])[0].data == -1000.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: mse([], []), "mse"),
        (lambda: mse([Value(1.0)], [1.0, 2.0]), "mse"),
        (lambda: cross_entropy([[Value(1.0)]], [1]), "class index"),
        (lambda: cross_entropy([[Value(1.0)]], []), "cross_entropy"),
        (lambda: log_softmax([]), "no logits"),
    ],
)
def test_bad_loss_arguments(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]
