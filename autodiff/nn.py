"""Neural-network building blocks with micrograd's shapes: `Neuron`, `Layer`, `MLP(3, [4, 4, 1])`."""

from __future__ import annotations

import random
from collections.abc import Sequence

from autodiff.engine import Value

__all__ = ["ACTIVATIONS", "MLP", "Layer", "Module", "Neuron"]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
"""The nonlinearities a layer can use; "linear" means none."""


class Module:
    """Anything with parameters: `parameters()` lists them, `zero_grad()` clears their gradients."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """act(w . x + b) with `nin` weights drawn uniformly from [-1, 1] (as micrograd does) and b = 0."""

    def __init__(self, nin: int, activation: str = "relu", rng: random.Random | None = None) -> None:
        _check_size(nin, "Neuron: nin")
        if activation not in ACTIVATIONS:
            raise ValueError(f"Neuron: activation must be one of {ACTIVATIONS}, got {activation!r}")
        uniform = (rng or random).uniform
        self.w = [Value(uniform(-1.0, 1.0)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activation

    def __call__(self, x: Sequence[Value | float]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
        act = self.b
        for wi, xi in zip(self.w, x, strict=True):
            act = act + wi * xi
        if self.activation == "linear":
            return act
        return getattr(act, self.activation)()  # type: ignore[no-any-return]

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{self.activation.capitalize()}Neuron({len(self.w)})"


class Layer(Module):
    """`nout` neurons reading the same `nin` inputs."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", rng: random.Random | None = None) -> None:
        _check_size(nout, "Layer: nout")
        self.neurons = [Neuron(nin, activation, rng) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        # Numbers become constant Values once here, not once per neuron.
        inputs = [xi if isinstance(xi, Value) else Value(xi) for xi in x]
        return [n(inputs) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multilayer perceptron: `MLP(3, [4, 4, 1])` has two hidden layers of 4 and one output.

    `activation` is used by every hidden layer and `output` by the last one (linear by default, as in
    micrograd); `activations` instead gives one per layer. `rng` (a `random.Random`) makes the initial
    weights reproducible.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output: str = "linear",
        activations: Sequence[str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not nouts:
            raise ValueError("MLP: nouts must list at least one layer size")
        if activations is None:
            activations = [activation] * (len(nouts) - 1) + [output]
        elif len(activations) != len(nouts):
            raise ValueError(f"MLP: {len(nouts)} layers but {len(activations)} activations")
        sizes = [nin, *nouts]
        self.layers = [Layer(sizes[i], sizes[i + 1], activations[i], rng) for i in range(len(nouts))]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The outputs for one input; a single Value when the last layer has one neuron."""
        out = self.layers[0](x)
        for layer in self.layers[1:]:
            out = layer(out)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def _check_size(n: object, who: str) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{who} must be a positive integer, got {n!r}")
