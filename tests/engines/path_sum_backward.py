"""Backpropagation written as "push the gradient down every path": each node stores its inputs with the
local derivatives, and backward() recursively hands `upstream * local` to each input, which adds it to its
.grad and pushes further. The chain rule summed over paths is exactly right, but a graph with shared nodes
has exponentially many paths: `x = x + x` repeated 25 times makes 2**25 pushes for one backward(). The
recursion also follows the graph's depth."""

import math


class Value:
    def __init__(self, data, inputs=()):
        self.data = float(data)
        self.grad = 0.0
        self.inputs = inputs  # (input, d self / d input) pairs

    @staticmethod
    def _c(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other):
        other = self._c(other)
        return Value(self.data + other.data, ((self, 1.0), (other, 1.0)))

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        other = self._c(other)
        return Value(self.data - other.data, ((self, 1.0), (other, -1.0)))

    def __rsub__(self, other):
        return self._c(other) - self

    def __mul__(self, other):
        other = self._c(other)
        return Value(self.data * other.data, ((self, other.data), (other, self.data)))

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        other = self._c(other)
        return Value(self.data / other.data, ((self, 1.0 / other.data), (other, -self.data / other.data**2)))

    def __rtruediv__(self, other):
        return self._c(other) / self

    def __neg__(self):
        return Value(-self.data, ((self, -1.0),))

    def __pow__(self, p):
        assert not isinstance(p, Value)
        return Value(self.data**p, ((self, p * self.data ** (p - 1)),))

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, ((self, 1.0 - t * t),))

    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.data)) if self.data >= 0 else 1.0 - 1.0 / (1.0 + math.exp(self.data))
        return Value(s, ((self, s * (1.0 - s)),))

    def exp(self):
        e = math.exp(self.data)
        return Value(e, ((self, e),))

    def log(self):
        return Value(math.log(self.data), ((self, 1.0 / self.data),))

    def _push(self, upstream):
        self.grad += upstream
        for inp, local in self.inputs:
            inp._push(upstream * local)

    def backward(self):
        self._push(1.0)
