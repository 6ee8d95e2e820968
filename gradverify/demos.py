"""The classic exercises, run on this engine and refereed: `gradverify demo linreg|toy|moons|yinyang`.

Each demo trains a model from `autodiff` on a dataset from `autodiff.datasets` and reports whether it met
its target. With `check=True`, at chosen steps `oracles.training.StepReferee` checks every parameter gradient
against the PyTorch twin of the same model with the same weights, and the optimizer's step against
`torch.optim` started from the same state. The first disagreement stops the run with a `CheckFailed` that
carries the Verdict.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodiff import Value, datasets
from autodiff.losses import cross_entropy, mse
from autodiff.nn import MLP
from autodiff.optim import SGD, AdamW, Optimizer
from oracles.training import CheckFailed, StepReferee, check_steps

__all__ = ["DEMOS", "CheckFailed", "Demo", "DemoResult", "StepReferee", "run_demo"]


@dataclass
class DemoResult:
    """What a demo reached, against its target."""

    name: str
    target: str
    passed: bool
    metrics: dict[str, float]
    pictures: list[Path] = field(default_factory=list)
    checked_steps: list[int] = field(default_factory=list)


class _Step:
    """One training step, refereed when due: backward, check the gradients, step, check the step."""

    def __init__(self, referee: StepReferee | None) -> None:
        self.referee = referee

    def __call__(self, step: int, loss: Value, model: Any, optimizer: Optimizer) -> None:
        optimizer.zero_grad()
        loss.backward()
        if self.referee is not None and self.referee.due(step):
            self.referee.gradients(step, loss, model.parameters())
            self.referee.optimizer_step(step, optimizer)
        else:
            optimizer.step()


@contextmanager
def _progress(total: int, what: str, show: bool) -> Iterator[Callable[[str], None]]:
    """A rich progress bar of `total` steps; the callable advances it by one and shows a status text."""
    if not show:
        yield lambda status: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        transient=False,
    ) as bar:
        task = bar.add_task(what, total=total, status="")
        yield lambda status: bar.update(task, advance=1, status=status)


# ---------------------------------------------------------------------------------------------------------
# The demos
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    """A demo's name, what it shows, its default number of steps (epochs for linreg) and how to run it."""

    name: str
    about: str
    steps: int
    run: Callable[..., DemoResult]


def _linreg(
    steps: int, seed: int, out: Path, referee: StepReferee | None, show: bool, say: Callable[[str], None]
) -> DemoResult:
    xs, ys = datasets.linear(100, seed=seed, noise=0.1)
    w, b = Value(0.0, label="w"), Value(0.0, label="b")
    optimizer = SGD([w, b], lr=0.05)
    step = _Step(referee)
    k = 0
    loss_sum = math.nan
    for epoch in range(steps):
        optimizer.lr = 0.05 / (1.0 + 0.5 * epoch)  # a decaying rate settles the per-sample noise
        loss_sum = 0.0
        order = list(range(len(xs)))
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
        for i in order:
            d = w * xs[i] + b - ys[i]
            loss = d * d
            step(k, loss, _Params([w, b]), optimizer)
            loss_sum += loss.data
            k += 1
        say(f"epoch {epoch + 1:3d}  loss {loss_sum / len(xs):.5f}  w {w.data:.4f}  b {b.data:.4f}")
    passed = abs(w.data - 4.0) <= 0.05 and abs(b.data - 3.0) <= 0.05
    return DemoResult(
        "linreg",
        "w within 0.05 of 4 and b within 0.05 of 3",
        passed,
        {"w": w.data, "b": b.data, "loss": loss_sum / len(xs)},
    )


class _Params:
    """A parameter list with a `parameters()` method, for models that are not Modules."""

    def __init__(self, params: list[Value]) -> None:
        self._params = params

    def parameters(self) -> list[Value]:
        return self._params


def _toy(
    steps: int, seed: int, out: Path, referee: StepReferee | None, show: bool, say: Callable[[str], None]
) -> DemoResult:
    xs, ys = datasets.toy()
    model = MLP(3, [4, 4, 1], activation="tanh", output="tanh", rng=random.Random(seed))
    optimizer = SGD(model.parameters(), lr=0.1)
    step = _Step(referee)
    with _progress(steps, "toy", show) as advance:
        for k in range(steps):
            predictions = [_scalar(model(x)) for x in xs]
            loss = mse(predictions, ys)
            step(k, loss, model, optimizer)
            advance(f"loss {loss.data:.5f}")
    predictions = [_scalar(model(x)) for x in xs]
    final = mse(predictions, ys).data
    say("predictions: " + ", ".join(f"{p.data:+.3f}" for p in predictions) + f"  (targets {ys})")
    say(f"loss {final:.6f}")
    return DemoResult("toy", "MSE below 0.01", final < 0.01, {"loss": final})


def _scalar(out: Value | list[Value]) -> Value:
    assert isinstance(out, Value), "the model has more than one output"
    return out


def _vector(out: Value | list[Value]) -> list[Value]:
    assert isinstance(out, list), "the model has one output"
    return out


def _hinge(model: MLP, xs: Sequence[Sequence[float]], ys: Sequence[int], alpha: float) -> tuple[Value, float]:
    """micrograd's max-margin loss: mean(relu(1 - y * score)) + alpha * sum(p**2); and the accuracy."""
    scores = [_scalar(model(x)) for x in xs]
    losses = [(1 - y * s).relu() for s, y in zip(scores, ys, strict=True)]
    data_loss = sum(losses, Value(0.0)) / len(losses)
    reg = sum((p * p for p in model.parameters()), Value(0.0)) * alpha
    correct = sum((s.data > 0) == (y > 0) for s, y in zip(scores, ys, strict=True))
    return data_loss + reg, correct / len(ys)


def _moons(
    steps: int, seed: int, out: Path, referee: StepReferee | None, show: bool, say: Callable[[str], None]
) -> DemoResult:
    data = datasets.moons(100, noise=0.1, seed=seed)
    model = MLP(2, [16, 16, 1], activation="relu", rng=random.Random(seed))
    optimizer = SGD(model.parameters(), lr=1.0)
    step = _Step(referee)
    accuracy = 0.0
    with _progress(steps, "moons", show) as advance:
        for k in range(steps):
            loss, accuracy = _hinge(model, data.xs, data.ys, alpha=1e-4)
            optimizer.lr = 1.0 - 0.9 * k / steps
            step(k, loss, model, optimizer)
            advance(f"loss {loss.data:.4f}  accuracy {accuracy:.0%}")
    loss, accuracy = _hinge(model, data.xs, data.ys, alpha=1e-4)
    say(f"loss {loss.data:.4f}  training accuracy {accuracy:.1%}")
    picture = _boundary(
        lambda x: [_scalar(model(x)).data],
        data.xs,
        [(y + 1) // 2 for y in data.ys],
        ["upper moon (-1)", "lower moon (+1)"],
        "two moons: MLP(2, [16, 16, 1]), hinge loss + L2, SGD",
        out / "moons.png",
    )
    return DemoResult(
        "moons", "100% training accuracy", accuracy == 1.0, {"loss": loss.data, "train accuracy": accuracy}, [picture]
    )


def _accuracy(model: MLP, split: datasets.Split) -> float:
    hits = 0
    for x, y in zip(split.xs, split.ys, strict=True):
        logits = [v.data for v in _vector(model(x))]
        hits += max(range(len(logits)), key=logits.__getitem__) == y
    return hits / len(split.ys)


def _yinyang(
    steps: int, seed: int, out: Path, referee: StepReferee | None, show: bool, say: Callable[[str], None]
) -> DemoResult:
    data = datasets.yinyang(1000, seed=seed)
    model = MLP(2, [8, 3], activation="tanh", rng=random.Random(seed))
    optimizer = AdamW(model.parameters(), lr=0.2, weight_decay=1e-4)
    step = _Step(referee)
    batch = 32
    rng = random.Random(seed)
    order = list(range(len(data.train.ys)))
    with _progress(steps, "yinyang", show) as advance:
        for k in range(steps):
            start = (k * batch) % len(order)
            if start < batch:
                rng.shuffle(order)
            idx = order[start : start + batch]
            optimizer.lr = 0.2 * 0.1 ** (k / steps)  # decays tenfold over the run
            logits = [_vector(model(data.train.xs[i])) for i in idx]
            loss = cross_entropy(logits, [data.train.ys[i] for i in idx])
            step(k, loss, model, optimizer)
            advance(f"loss {loss.data:.4f}")
    metrics = {
        f"{name} accuracy": _accuracy(model, split) for name, split in zip(("train", "val", "test"), data, strict=True)
    }
    say("  ".join(f"{k} {v:.1%}" for k, v in metrics.items()))
    picture = _boundary(
        lambda x: [v.data for v in _vector(model(x))],
        data.test.xs,
        data.test.ys,
        list(datasets.YINYANG_CLASSES),
        "yin-yang: MLP(2, [8, 3]), cross-entropy, AdamW (test points shown)",
        out / "yinyang.png",
    )
    return DemoResult("yinyang", "test accuracy above 90%", metrics["test accuracy"] > 0.9, metrics, [picture])


def _boundary(
    scores: Callable[[list[float]], list[float]],
    xs: Sequence[Sequence[float]],
    labels: Sequence[int],
    names: Sequence[str],
    title: str,
    path: Path,
    resolution: int = 80,
) -> Path:
    """Colour the plane by the model's decision, and draw the points on top in their true classes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    lo = [min(x[d] for x in xs) - 0.3 for d in range(2)]
    hi = [max(x[d] for x in xs) + 0.3 for d in range(2)]
    gx = [lo[0] + (hi[0] - lo[0]) * i / (resolution - 1) for i in range(resolution)]
    gy = [lo[1] + (hi[1] - lo[1]) * j / (resolution - 1) for j in range(resolution)]
    grid = []
    for y in gy:
        row = []
        for x in gx:
            s = scores([x, y])
            row.append(float(s[0] > 0) if len(s) == 1 else float(max(range(len(s)), key=s.__getitem__)))
        grid.append(row)
    colours = ["#4C72B0", "#DD8452", "#55A868"][: len(names)]
    fig, ax = plt.subplots(figsize=(7.2, 5.4))
    ax.contourf(gx, gy, grid, levels=[k - 0.5 for k in range(len(names) + 1)], cmap=ListedColormap(colours), alpha=0.35)
    for k, name in enumerate(names):
        pts = [x for x, c in zip(xs, labels, strict=True) if c == k]
        ax.scatter(
            [p[0] for p in pts],
            [p[1] for p in pts],
            s=14,
            color=colours[k],
            edgecolor="black",
            linewidth=0.4,
            label=name,
        )
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.set_aspect("equal")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


DEMOS = {
    d.name: d
    for d in (
        Demo("linreg", "fit y = 4x + 3 (Gaussian noise) with w, b and per-sample SGD", 20, _linreg),
        Demo("toy", "micrograd's four samples, MLP(3, [4, 4, 1]) with tanh, MSE, gradient descent", 100, _toy),
        Demo("moons", "two moons, MLP(2, [16, 16, 1]), hinge loss + L2, SGD with a decaying rate", 100, _moons),
        Demo("yinyang", "three-class yin-yang, MLP(2, [8, 3]), softmax cross-entropy, AdamW", 3000, _yinyang),
    )
}


def run_demo(
    name: str,
    steps: int | None = None,
    seed: int = 0,
    out: Path | str = ".",
    check: bool = False,
    check_count: int = 3,
    show_progress: bool = False,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Run demo `name` (see DEMOS). With `check`, `check_count` steps spread over the run are refereed."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}; choose from {', '.join(DEMOS)}")
    demo = DEMOS[name]
    steps = demo.steps if steps is None else steps
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    referee = None
    if check:
        total = steps * 100 if name == "linreg" else steps  # linreg counts epochs of 100 samples
        referee = StepReferee(check_steps(total, check_count))
    result = demo.run(steps, seed, Path(out), referee, show_progress, say)
    if referee is not None:
        result.checked_steps = referee.checked
    return result
