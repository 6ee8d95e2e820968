"""Refereeing a training run: every parameter gradient against the PyTorch twin of the same model with the
same weights, and each optimizer step against `torch.optim` started from the same state.

`oracles.trace` turns the loss's graph into an expression, the PyTorch referee differentiates it in float64, and
the error model judges the difference. The first disagreement raises `CheckFailed`, which carries the Verdict.
Any engine with micrograd's attributes works, so students can referee their own training loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autodiff.optim import SGD, AdamW, Optimizer

if TYPE_CHECKING:
    from oracles.compare import Verdict

__all__ = ["CheckFailed", "StepReferee", "check_steps"]


class CheckFailed(Exception):
    """A gradient or an optimizer step disagreed with PyTorch; `verdict` is set for a gradient."""

    def __init__(self, message: str, verdict: Verdict | None = None) -> None:
        super().__init__(message)
        self.verdict = verdict


def check_steps(total: int, count: int = 3) -> set[int]:
    """`count` steps spread over a run of `total` (0-based): the first, the last and some between."""
    if total <= 0:
        return set()
    return {round(k * (total - 1) / max(count - 1, 1)) for k in range(count)}


class StepReferee:
    """Checks the gradients and the optimizer step of a training run at chosen steps (0-based)."""

    def __init__(self, steps: set[int]) -> None:
        from oracles.check import Checker

        self.steps = steps
        self.checked: list[int] = []
        self._twin = Checker(referees=("torch",))

    def due(self, step: int) -> bool:
        return step in self.steps

    def gradients(self, step: int, loss: Any, params: Sequence[Any]) -> None:
        """Every parameter's `grad` (after `loss.backward()`) against PyTorch on the same graph and weights.

        The model's own gradients are judged, as they are: `oracles.trace` turns the loss's graph into an
        expression, the PyTorch referee differentiates it, and the error model bounds the difference. Any
        engine with micrograd's attributes works, so students can referee their own training loops."""
        from oracles.engines import EngineAdapter, EngineRun
        from oracles.expr import Apply, nodes, variables
        from oracles.trace import trace_values

        expr, point, values = trace_values(loss, params)
        used = set(variables(expr))
        run = EngineRun(
            value=float(loss.data),
            grads={f"p{i}": float(p.grad) for i, p in enumerate(params) if f"p{i}" in used},
            # Inner adjoints let blame find the node; a node of the expression that stands for several
            # equal subgraphs of the model has no single adjoint, and is left out.
            adjoints={
                n.digest: float(values[n.digest][0].grad)
                for n in nodes(expr)
                if isinstance(n, Apply) and len(values[n.digest]) == 1
            },
        )
        engine = EngineAdapter(
            name=type(loss).__module__.split(".")[0] or "engine",
            make=type(loss),
            data=lambda v: v.data,
            grad=lambda v: v.grad,
            backward=lambda v: v.backward(),
        )
        verdict = self._twin.judge(expr, point, run, engine)
        if not verdict.ok:
            raise CheckFailed(f"step {step}: the model's gradients disagree with its PyTorch twin", verdict)
        for i, p in enumerate(params):
            if f"p{i}" not in used and p.grad != 0.0:
                raise CheckFailed(f"step {step}: parameter {i} does not reach the loss, yet its grad is {p.grad!r}")
        self.checked.append(step)

    def optimizer_step(self, step: int, optimizer: Optimizer) -> None:
        """Run `optimizer.step()` and the same step of `torch.optim` from the same state; compare parameters."""
        from oracles.bounds import U

        params = optimizer.params
        before = [p.data for p in params]
        grads = [p.grad for p in params]
        twin, tensors = _torch_twin(optimizer, before, grads)
        optimizer.step()
        twin.step()
        for i, (p, t, g) in enumerate(zip(params, tensors, grads, strict=True)):
            theirs = float(t.detach())
            # One step is a handful of float operations per parameter: a few ulps of |p| and of the update.
            allowed = 16 * U * (abs(p.data) + abs(theirs) + abs(g) + 1.0)
            if not abs(p.data - theirs) <= allowed:
                raise CheckFailed(
                    f"step {step}: {type(optimizer).__name__} moved parameter {i} from {before[i]!r} to "
                    f"{p.data!r}, torch.optim.{type(twin).__name__} to {theirs!r} (grad {g!r}, allowed "
                    f"difference {allowed:.1e})"
                )


def _torch_twin(optimizer: Optimizer, data: list[float], grads: list[float]) -> tuple[Any, list[Any]]:
    """torch.optim's optimizer with `optimizer`'s settings and state, on tensors holding `data` and `grads`."""
    import torch

    tensors = [torch.tensor(d, dtype=torch.float64, requires_grad=True) for d in data]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.tensor(g, dtype=torch.float64)
    twin: Any
    if isinstance(optimizer, AdamW):
        twin = torch.optim.AdamW(
            tensors,
            lr=optimizer.lr,
            betas=optimizer.betas,
            eps=optimizer.eps,
            weight_decay=optimizer.weight_decay,
            foreach=False,
        )
        if optimizer.t:
            for t, m, v in zip(tensors, optimizer.m, optimizer.v, strict=True):
                twin.state[t] = {
                    "step": torch.tensor(float(optimizer.t)),
                    "exp_avg": torch.tensor(m, dtype=torch.float64),
                    "exp_avg_sq": torch.tensor(v, dtype=torch.float64),
                }
    elif isinstance(optimizer, SGD):
        twin = torch.optim.SGD(
            tensors,
            lr=optimizer.lr,
            momentum=optimizer.momentum,
            dampening=optimizer.dampening,
            weight_decay=optimizer.weight_decay,
            nesterov=optimizer.nesterov,
            foreach=False,
        )
        for t, buf in zip(tensors, optimizer.buffers, strict=True):
            if buf is not None:
                twin.state[t] = {"momentum_buffer": torch.tensor(buf, dtype=torch.float64)}
    else:
        raise TypeError(f"no torch.optim twin for {type(optimizer).__name__}")
    return twin, tensors
