"""A correct engine whose author did not work out tanh' and exp' by hand: their backward closures take a
central difference (tanh) and a forward difference (exp) with a small step. The derivatives are right to
about 1e-7 relative (a little less where tanh saturates): imprecise, which PyTorch at its usual tolerances
calls right, and so must gradverify (with a note saying how far off they are)."""

import math


class Value:
    def __init__(self, data, _children=()):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def tanh(self):
        out = Value(math.tanh(self.data), (self,))

        def _backward():
            h = 1e-6
            d = (math.tanh(self.data + h) - math.tanh(self.data - h)) / (2 * h)
            self.grad += d * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,))

        def _backward():
            h = 1e-8
            self.grad += (math.exp(self.data + h) - out.data) / h * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()
        stack = [(self, False)]
        while stack:
            v, done = stack.pop()
            if done:
                topo.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((c, False) for c in v._prev)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
