"""A correct engine storing data and gradients as numpy float64 (np.float64 scalars, np.tanh, np.exp,
np.log, np.maximum), written by a student who uses numpy for everything. sigmoid uses the overflow-safe
`0.5 * (1 + tanh(x / 2))`. Has + - * / with numbers either side, neg, ** number, relu, tanh, sigmoid, exp,
log."""

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

    def __pow__(self, k):
        assert isinstance(k, (int, float))
        out = Value(np.power(self.data, k), (self,))

        def _backward():
            self.grad += k * np.power(self.data, k - 1) * out.grad

        out._backward = _backward
        return out

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

    def _unary(self, value, local):
        out = Value(value, (self,))

        def _backward():
            self.grad += local * out.grad

        out._backward = _backward
        return out

    def relu(self):
        return self._unary(np.maximum(self.data, 0.0), np.float64(self.data > 0))

    def tanh(self):
        t = np.tanh(self.data)
        return self._unary(t, 1 - t * t)

    def sigmoid(self):
        s = 0.5 * (1 + np.tanh(0.5 * self.data))
        return self._unary(s, s * (1 - s))

    def exp(self):
        e = np.exp(self.data)
        return self._unary(e, e)

    def log(self):
        return self._unary(np.log(self.data), 1 / self.data)

    def backward(self):
        topo, seen, stack = [], set(), [(self, False)]
        while stack:
            v, done = stack.pop()
            if done:
                topo.append(v)
            elif v not in seen:
                seen.add(v)
                stack.append((v, True))
                stack.extend((c, False) for c in v._prev)
        self.grad = np.float64(1.0)
        for v in reversed(topo):
            v._backward()
