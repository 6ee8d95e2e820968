"""Optimizers with the update rules and defaults of `torch.optim.SGD` and `torch.optim.AdamW`.

State (momentum buffers, moment estimates) lives in the optimizer, keyed by parameter position.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from autodiff.engine import Value

__all__ = ["SGD", "AdamW", "Optimizer"]


class Optimizer:
    """Holds the parameters; `zero_grad()` clears their gradients, `step()` updates them."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not all(isinstance(p, Value) for p in self.params):
            raise TypeError(f"{type(self).__name__}: parameters must be Values")
        _check_nonnegative(lr, "lr", self)
        self.lr = lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and weight decay."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        for name, v in (("momentum", momentum), ("dampening", dampening), ("weight_decay", weight_decay)):
            _check_nonnegative(v, name, self)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        self.momentum, self.dampening, self.weight_decay, self.nesterov = momentum, dampening, weight_decay, nesterov
        self.buffers: list[float | None] = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                buf = self.buffers[i]
                buf = g if buf is None else self.momentum * buf + (1.0 - self.dampening) * g
                self.buffers[i] = buf
                g = g + self.momentum * buf if self.nesterov else buf
            p.data = _finite(p.data - self.lr * g, i, self)


class AdamW(Optimizer):
    """Adam with decoupled weight decay, step for step as `torch.optim.AdamW` (same defaults)."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr)
        beta1, beta2 = betas
        for name, b in (("betas[0]", beta1), ("betas[1]", beta2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"AdamW: {name} must be in [0, 1), got {b!r}")
        _check_nonnegative(eps, "eps", self)
        _check_nonnegative(weight_decay, "weight_decay", self)
        self.betas, self.eps, self.weight_decay = (beta1, beta2), eps, weight_decay
        self.t = 0
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def step(self) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        bias1 = 1.0 - beta1**self.t
        bias2_sqrt = math.sqrt(1.0 - beta2**self.t)
        step_size = self.lr / bias1
        for i, p in enumerate(self.params):
            g = p.grad
            data = p.data * (1.0 - self.lr * self.weight_decay)
            # The same operations in the same order as torch: exp_avg.lerp_(g, 1 - beta1), then
            # exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2), then addcdiv_ with the bias corrections.
            m = self.m[i]
            m = m + (1.0 - beta1) * (g - m)
            v = self.v[i] * beta2 + (1.0 - beta2) * g * g
            self.m[i], self.v[i] = m, v
            denom = math.sqrt(v) / bias2_sqrt + self.eps
            p.data = _finite(data + -step_size * (m / denom), i, self)


def _finite(x: float, i: int, who: object) -> float:
    if not math.isfinite(x):
        raise OverflowError(f"{type(who).__name__}.step: parameter {i} became {x}; is the learning rate too large?")
    return x


def _check_nonnegative(x: float, name: str, who: object) -> None:
    if not (isinstance(x, (int, float)) and math.isfinite(x) and x >= 0):
        raise ValueError(f"{type(who).__name__}: {name} must be a finite number >= 0, got {x!r}")
