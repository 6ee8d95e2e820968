"""An engine that assumes both operands are Values: __add__ and __sub__ read `other.data` without wrapping, so
`x + 1` and `x - 0.5` raise AttributeError: 'float' object has no attribute 'data' (and so does `1 + x`,
through `__radd__ = __add__`). __mul__ and __truediv__ do wrap numbers and are right, and so are the unary ops.
There is no __rsub__ (2 - x is unsupported). Written with a `Tensor` class name and a `_parents` list."""

import math


class Tensor:
    def __init__(self, data, _parents=()):
        self.data = data
        self.grad = 0.0
        self._parents = list(_parents)
        self._backward = lambda: None

    def __add__(self, other):
        out = Tensor(self.data + other.data, [self, other])

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    __radd__ = __add__

    def __sub__(self, other):
        out = Tensor(self.data - other.data, [self, other])

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data * other.data, [self, other])

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data / other.data, [self, other])

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= out.grad * self.data / (other.data * other.data)

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def tanh(self):
        out = Tensor(math.tanh(self.data), [self])

        def _backward():
            self.grad += (1 - out.data * out.data) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        s = 0.5 * (1 + math.tanh(0.5 * self.data))
        out = Tensor(s, [self])

        def _backward():
            self.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()

        def build(t):
            if t not in seen:
                seen.add(t)
                for p in t._parents:
                    build(p)
                topo.append(t)

        build(self)
        self.grad = 1.0
        for t in reversed(topo):
            t._backward()
