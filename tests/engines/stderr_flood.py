"""A correct engine with the student's debug tracing left in: every _backward closure prints a line with
the op, the node's data and gradient and its inputs' values to stderr, and backward() prints the whole
topological order first. The gradients are right; a run of a few thousand expressions writes tens of
megabytes to stderr. Has + - * / with numbers either side, neg, ** number, tanh, sigmoid, exp, log, relu."""

import math
import sys


def trace(*parts):
    print("[autograd]", *parts, file=sys.stderr)


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(op={self._op!r}, data={self.data!r}, grad={self.grad!r}, prev={[c.data for c in self._prev]})"

    def _node(self, data, children, op, locals_):
        out = Value(data, children, op)

        def _backward():
            trace("backward", repr(out), "locals", locals_)
            for c, d in zip(children, locals_):
                c.grad += d * out.grad

        out._backward = _backward
        return out

    @staticmethod
    def _v(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, o):
        o = self._v(o)
        return self._node(self.data + o.data, (self, o), "+", (1.0, 1.0))

    def __mul__(self, o):
        o = self._v(o)
        return self._node(self.data * o.data, (self, o), "*", (o.data, self.data))

    def __truediv__(self, o):
        o = self._v(o)
        return self._node(self.data / o.data, (self, o), "/", (1 / o.data, -self.data / o.data**2))

    def __pow__(self, k):
        assert isinstance(k, (int, float))
        return self._node(self.data**k, (self,), f"**{k}", (k * self.data ** (k - 1),))

    __radd__ = __add__
    __rmul__ = __mul__

    def __rtruediv__(self, o):
        return self._v(o) / self

    def __neg__(self):
        return self * -1

    def __sub__(self, o):
        return self + (-self._v(o))

    def __rsub__(self, o):
        return self._v(o) + (-self)

    def tanh(self):
        t = math.tanh(self.data)
        return self._node(t, (self,), "tanh", (1 - t * t,))

    def sigmoid(self):
        s = 0.5 * (1 + math.tanh(0.5 * self.data))
        return self._node(s, (self,), "sigmoid", (s * (1 - s),))

    def exp(self):
        e = math.exp(self.data)
        return self._node(e, (self,), "exp", (e,))

    def log(self):
        return self._node(math.log(self.data), (self,), "log", (1 / self.data,))

    def relu(self):
        return self._node(max(self.data, 0.0), (self,), "relu", (float(self.data > 0),))

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
        trace("topo", topo)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
