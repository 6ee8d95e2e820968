"""A central backward over stored local derivatives (each node keeps `(parent, d node / d parent)` pairs),
in which the walk assigns `parent.grad = local * node.grad` instead of adding. Every op's local derivative
is right and the topological order is right, but wherever a node feeds two consumers (`x * x`, `t + t`,
`tanh(x) + x`) only the last contribution survives."""

import math


class Value:
    def __init__(self, data, edges=()):
        self.data = float(data)
        self.grad = 0.0
        self.edges = edges  # ((parent, local derivative), ...)

    @staticmethod
    def _v(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, o):
        o = self._v(o)
        return Value(self.data + o.data, ((self, 1.0), (o, 1.0)))

    def __radd__(self, o):
        return self + o

    def __sub__(self, o):
        o = self._v(o)
        return Value(self.data - o.data, ((self, 1.0), (o, -1.0)))

    def __rsub__(self, o):
        return self._v(o) - self

    def __mul__(self, o):
        o = self._v(o)
        return Value(self.data * o.data, ((self, o.data), (o, self.data)))

    def __rmul__(self, o):
        return self * o

    def __truediv__(self, o):
        o = self._v(o)
        return Value(self.data / o.data, ((self, 1 / o.data), (o, -self.data / o.data**2)))

    def __rtruediv__(self, o):
        return self._v(o) / self

    def __neg__(self):
        return Value(-self.data, ((self, -1.0),))

    def __pow__(self, k):
        return Value(self.data**k, ((self, k * self.data ** (k - 1)),))

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, ((self, 1 - t * t),))

    def exp(self):
        e = math.exp(self.data)
        return Value(e, ((self, e),))

    def log(self):
        return Value(math.log(self.data), ((self, 1 / self.data),))

    def relu(self):
        return Value(max(self.data, 0.0), ((self, float(self.data > 0)),))

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for p, _ in v.edges:
                    build(p)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            for p, local in v.edges:
                p.grad = local * v.grad  # bug: should be +=
