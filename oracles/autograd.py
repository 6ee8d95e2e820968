"""The PyTorch referee: the same DAG built from 0-d float64 tensors; `torch.autograd.grad` gives the gradient of
every variable and the adjoint of every inner node (which blame, in `oracles.compare`, follows to the node whose
local derivative is wrong)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from autodiff.ops import OPS
from oracles.expr import Apply, Const, Expr, Var, nodes, variables
from oracles.referee import RefereeResult

__all__ = ["Autograd"]


class Autograd:
    """The same DAG on 0-d float64 tensors; `torch.autograd.grad` for the variables and every inner node."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def __call__(self, expr: Expr, point: Mapping[str, float]) -> RefereeResult:
        torch = self.torch
        start = time.perf_counter()
        result = RefereeResult(self.name)
        built: dict[bytes, Any] = {}
        inner: list[Apply] = []
        names = variables(expr)
        leaves: list[Any] = []
        leaf_names: list[str] = []
        try:
            for node in nodes(expr):
                if isinstance(node, Var):
                    t = torch.tensor(float(point[node.name]), dtype=torch.float64, requires_grad=True)
                    leaves.append(t)
                    leaf_names.append(node.name)
                elif isinstance(node, Const):
                    t = torch.tensor(node.value, dtype=torch.float64)
                else:
                    assert isinstance(node, Apply)
                    t = OPS[node.op].torch(torch, *(built[a.digest] for a in node.args), *node.params)
                    if t.requires_grad:
                        inner.append(node)
                built[node.digest] = t
            root = built[expr.digest]
            wanted = leaves + [built[n.digest] for n in inner]
            grads = torch.autograd.grad(root, wanted, allow_unused=True)
        except Exception as e:  # a broken torch spelling in the op table: report it
            result.failure = f"PyTorch referee failed: {type(e).__name__}: {e}"
            result.skipped = {n: result.failure for n in names}
            return result
        result.value = float(root.detach())
        by_name = dict(zip(leaf_names, grads[: len(leaves)], strict=True))
        for n in names:
            g = by_name[n]
            result.grads[n] = 0.0 if g is None else float(g)
            result.errors[n] = 0.0  # float64 rounding: accounted for by the error model in compare
        for node, g in zip(inner, grads[len(leaves) :], strict=True):
            result.adjoints[node.digest] = 0.0 if g is None else float(g)
        result.seconds = time.perf_counter() - start
        return result
