"""A numpy-backed engine (data stored as np.float64, np.exp / np.log / np.tanh) with two unrelated bugs:
log's backward uses `1 / out.data` (one over log x) instead of `1 / x`, and for Value ** Value the exponent's
gradient forgets the log factor (`out.data * out.grad` instead of `out.data * log(x) * out.grad`). Number
powers, the arithmetic with numbers on either side, tanh, exp and relu are right."""

import numpy as np


class Value:
    def __init__(self, data, _children=()):
        self.data = np.float64(data)
        self.grad = np.float64(0.0)
        self._backward = lambda: None
        self._prev = _children

    @staticmethod
    def _v(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other):
        other = self._v(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._v(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other):
        if isinstance(other, Value):
            out = Value(self.data**other.data, (self, other))

            def _backward():
                self.grad += other.data * self.data ** (other.data - 1) * out.grad
                other.grad += out.data * out.grad  # bug: missing * np.log(self.data)

            out._backward = _backward
            return out
        out = Value(self.data**other, (self,))

        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, other):
        return self._v(other) ** self

    __radd__ = __add__
    __rmul__ = __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-self._v(other))

    def __rsub__(self, other):
        return self._v(other) + (-self)

    def __truediv__(self, other):
        return self * self._v(other) ** -1

    def __rtruediv__(self, other):
        return self._v(other) * self**-1

    def tanh(self):
        out = Value(np.tanh(self.data), (self,))

        def _backward():
            self.grad += (1 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(np.exp(self.data), (self,))

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        out = Value(np.log(self.data), (self,))

        def _backward():
            self.grad += out.grad / out.data  # bug: should be / self.data

        out._backward = _backward
        return out

    def relu(self):
        out = Value(np.maximum(self.data, 0.0), (self,))

        def _backward():
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)

        build(self)
        self.grad = np.float64(1.0)
        for v in reversed(topo):
            v._backward()
