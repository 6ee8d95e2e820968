"""An activation-function zoo on top of micrograd: besides relu, tanh, sigmoid, exp and log it has softplus,
silu and abs, each a single node with a hand-written derivative, all right. To check the custom ops, declare
them: softplus(x)=log(1 + exp(x)), silu(x)=x * sigmoid(x), abs(x)=relu(x) + relu(-x)."""

import math


class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = _children

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

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return -self + other

    def _unary(self, value, derivative):
        out = Value(value, (self,))

        def _backward():
            self.grad += derivative * out.grad

        out._backward = _backward
        return out

    def relu(self):
        return self._unary(max(self.data, 0.0), 1.0 if self.data > 0 else 0.0)

    def tanh(self):
        t = math.tanh(self.data)
        return self._unary(t, 1 - t * t)

    def sigmoid(self):
        s = 0.5 * (1 + math.tanh(0.5 * self.data))
        return self._unary(s, s * (1 - s))

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, e)

    def log(self):
        return self._unary(math.log(self.data), 1 / self.data)

    def softplus(self):
        x = self.data
        value = max(x, 0.0) + math.log1p(math.exp(-abs(x)))
        return self._unary(value, 0.5 * (1 + math.tanh(0.5 * x)))

    def silu(self):
        x = self.data
        s = 0.5 * (1 + math.tanh(0.5 * x))
        return self._unary(x * s, s * (1 + x * (1 - s)))

    def abs(self):
        return self._unary(abs(self.data), 1.0 if self.data > 0 else -1.0)

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
