"""Scalar helpers shared by the ops."""

import math


def stable_sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def tanh(x):
    return math.tanh(x)
