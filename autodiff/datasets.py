"""Small deterministic datasets for the classic demos: a noisy line, micrograd's four-point toy set, two moons and
the yin-yang set. Standard library only; every generator takes a seed, so a run can be repeated exactly.
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

__all__ = ["YINYANG_CLASSES", "Split", "YinYang", "linear", "moons", "toy", "yinyang", "yinyang_class"]

YINYANG_CLASSES = ("yin", "yang", "dot")
"""The yin-yang set's class names, by label."""


class Split(NamedTuple):
    """Inputs (one list of coordinates per point) and their labels."""

    xs: list[list[float]]
    ys: list[int]


class YinYang(NamedTuple):
    """The yin-yang set cut into training, validation and test points (80%, 10%, 10%)."""

    train: Split
    val: Split
    test: Split


# --------------------------------------------------------------------------------------------------------
# Regression
# --------------------------------------------------------------------------------------------------------


def linear(n: int = 100, seed: int = 0, noise: float = 0.1) -> tuple[list[float], list[float]]:
    """`n` points of y = 4x + 3 + Gaussian noise (standard deviation `noise`), x uniform in [-2, 2]."""
    _check_n(n, "linear")
    _check_seed(seed, "linear")
    _check_noise(noise, "linear")
    rng = random.Random(seed)
    xs = [rng.uniform(-2.0, 2.0) for _ in range(n)]
    ys = [4.0 * x + 3.0 + rng.gauss(0.0, noise) for x in xs]
    return xs, ys


def toy() -> tuple[list[list[float]], list[float]]:
    """micrograd's four-point example: three inputs each, targets +1 or -1."""
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    return xs, ys


# --------------------------------------------------------------------------------------------------------
# Two moons
# --------------------------------------------------------------------------------------------------------


def moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> Split:
    """Two interleaving half circles in the plane, labels -1 (upper moon) and +1 (lower moon).

    The geometry of scikit-learn's `make_moons`: the upper moon is the unit half circle above the x axis, the
    lower one the same arc flipped and shifted to (1, 0.5). Points are evenly spaced along each arc, shuffled,
    then moved by Gaussian noise of standard deviation `noise` in each coordinate.
    """
    _check_n(n, "moons")
    _check_noise(noise, "moons")
    _check_seed(seed, "moons")
    rng = random.Random(seed)
    upper, lower = n // 2, n - n // 2
    points: list[tuple[list[float], int]] = []
    for i in range(upper):
        t = math.pi * i / max(upper - 1, 1)
        points.append(([math.cos(t), math.sin(t)], -1))
    for i in range(lower):
        t = math.pi * i / max(lower - 1, 1)
        points.append(([1.0 - math.cos(t), 0.5 - math.sin(t)], 1))
    rng.shuffle(points)
    xs = [[x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)] for (x, y), _ in points]
    return Split(xs, [label for _, label in points])


# --------------------------------------------------------------------------------------------------------
# Yin-yang
# --------------------------------------------------------------------------------------------------------

# Kriener, Göltz, Petrovici (2021), "The yin-yang dataset": points drawn uniformly in a disc of radius R = 0.5
# centred at (R, R), in three classes: the yin and yang halves of the symbol and its two dots (radius 0.1).
# The class of each point is drawn first, uniformly, and points are drawn until one of that class comes up, so
# that the classes are balanced although the dots cover only 8% of the disc.
_R_BIG = 0.5
_R_SMALL = 0.1


def yinyang_class(x: float, y: float) -> int:
    """The class of a point of the disc, in the original coordinates ([0, 1]²): 0 yin, 1 yang, 2 dot."""
    d_right = math.hypot(x - 1.5 * _R_BIG, y - _R_BIG)
    d_left = math.hypot(x - 0.5 * _R_BIG, y - _R_BIG)
    if d_right < _R_SMALL or d_left < _R_SMALL:
        return 2
    is_yin = d_right <= _R_SMALL or _R_SMALL < d_left <= 0.5 * _R_BIG or (y > _R_BIG and d_right > 0.5 * _R_BIG)
    return 0 if is_yin else 1


def yinyang(n: int = 1000, seed: int = 0) -> YinYang:
    """`n` points of the yin-yang set, the first 80% for training, the next 10% for validation, the rest for test.

    Coordinates are mapped from the original [0, 1]² to [-1, 1]² (centred on the symbol), which suits a network
    whose initial hyperplanes all pass through the origin. Labels index `YINYANG_CLASSES`.
    """
    _check_n(n, "yinyang")
    _check_seed(seed, "yinyang")
    if n < 10:
        raise ValueError(f"yinyang: n must be at least 10, so that each split has a point; got {n}")
    rng = random.Random(seed)
    xs: list[list[float]] = []
    ys: list[int] = []
    for _ in range(n):
        goal = rng.randrange(3)
        while True:
            x, y = rng.uniform(0.0, 2 * _R_BIG), rng.uniform(0.0, 2 * _R_BIG)
            if math.hypot(x - _R_BIG, y - _R_BIG) > _R_BIG:
                continue
            if yinyang_class(x, y) == goal:
                break
        xs.append([2.0 * x - 1.0, 2.0 * y - 1.0])
        ys.append(goal)
    a, b = int(0.8 * n), int(0.9 * n)
    return YinYang(Split(xs[:a], ys[:a]), Split(xs[a:b], ys[a:b]), Split(xs[b:], ys[b:]))


# --------------------------------------------------------------------------------------------------------
# Checking arguments
# --------------------------------------------------------------------------------------------------------


def _check_n(n: object, who: str) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{who}: n must be a positive integer, got {n!r}")


def _check_seed(seed: object, who: str) -> None:
    # random.Random accepts strings and bytes too; an int keeps the seeds of the demos and tests comparable.
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"{who}: seed must be an integer, got {seed!r}")


def _check_noise(noise: object, who: str) -> None:
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"{who}: noise must be a finite number >= 0, got {noise!r}")
