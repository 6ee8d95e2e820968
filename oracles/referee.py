"""What every referee returns: per variable, a gradient and the referee's own bound on its error (or the reason it
abstained). `oracles.compare` reads nothing else from a referee."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RefereeResult"]


@dataclass
class RefereeResult:
    """One referee's answer at one point. `grads[v]` is None where the referee abstained (`skipped[v]` says
    why); `errors[v]` is the referee's own bound on its error; `weights[v]`, for finite differences, is the
    sum of |stencil weights| (multiplied by the float evaluation error of f, it bounds FD's rounding error)."""

    name: str
    value: float | None = None
    grads: dict[str, float | None] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    exact: dict[str, Any] = field(default_factory=dict)  # high-precision values, where the referee has them
    weights: dict[str, float] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)  # FD: the largest |f| on the stencil
    adjoints: dict[bytes, float] = field(default_factory=dict)
    seconds: float = 0.0
    failure: str | None = None  # the referee itself could not run (reported, never counted as agreement)
