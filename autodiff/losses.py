"""Losses on lists of Values: mean squared error and softmax cross-entropy (computed with log-sum-exp)."""

from __future__ import annotations

from collections.abc import Sequence

from autodiff.engine import Value

__all__ = ["cross_entropy", "log_softmax", "mse", "softmax"]


def mse(predictions: Sequence[Value | float], targets: Sequence[Value | float]) -> Value:
    """The mean of (prediction - target)**2."""
    if len(predictions) != len(targets) or not predictions:
        raise ValueError(f"mse: need equally many predictions and targets, got {len(predictions)} and {len(targets)}")
    total = Value(0.0)
    for p, t in zip(predictions, targets, strict=True):
        d = p - t
        total = total + d * d
    return total / len(predictions)


def log_softmax(logits: Sequence[Value]) -> list[Value]:
    """log(softmax(logits)), computed as logits - logsumexp(logits) so that no exp overflows."""
    if not logits:
        raise ValueError("log_softmax: no logits")
    # Subtracting the largest logit (a constant) first keeps exp's argument <= 0 and the numbers small; the
    # value and every gradient are unchanged in exact arithmetic.
    m = max(v.data for v in logits)
    shifted = [v - m for v in logits]
    total = Value(0.0)
    for s in shifted:
        total = total + s.exp()
    log_total = total.log()
    return [s - log_total for s in shifted]


def softmax(logits: Sequence[Value]) -> list[Value]:
    """exp(log_softmax(logits))."""
    return [v.exp() for v in log_softmax(logits)]


def cross_entropy(logits: Sequence[Sequence[Value]], targets: Sequence[int]) -> Value:
    """The mean over the batch of -log softmax(logits[i])[targets[i]], like `torch.nn.functional.cross_entropy`."""
    if len(logits) != len(targets) or not logits:
        raise ValueError(f"cross_entropy: need equally many rows and targets, got {len(logits)} and {len(targets)}")
    total = Value(0.0)
    for row, t in zip(logits, targets, strict=True):
        if not (isinstance(t, int) and 0 <= t < len(row)):
            raise ValueError(f"cross_entropy: target {t!r} is not a class index in [0, {len(row)})")
        total = total - log_softmax(row)[t]
    return total / len(logits)
