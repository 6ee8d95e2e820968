"""A PyTorch-minded engine: leaves opt in with `Value(x, requires_grad=True)` (default False); a result
requires grad if any input does, and backward() only visits and fills nodes that require grad, so a plain
`Value(2.0)` constant never gets a .grad. Correct when used as intended (inputs created with
requires_grad=True). Has + - * / ** (number exponent), neg, relu, tanh, sigmoid, exp and log, with numbers on
both sides."""

import math


class Value:
    def __init__(self, data, requires_grad=False, _parents=(), _locals=()):
        self.data = float(data)
        self.requires_grad = requires_grad or any(p.requires_grad for p in _parents)
        self.grad = 0.0
        self._parents = _parents
        self._locals = _locals

    @staticmethod
    def _v(x):
        return x if isinstance(x, Value) else Value(x)

    def _op(self, data, parents, locals_):
        return Value(data, _parents=parents, _locals=locals_)

    def __add__(self, o):
        o = self._v(o)
        return self._op(self.data + o.data, (self, o), (1.0, 1.0))

    def __radd__(self, o):
        return self._v(o) + self

    def __sub__(self, o):
        o = self._v(o)
        return self._op(self.data - o.data, (self, o), (1.0, -1.0))

    def __rsub__(self, o):
        return self._v(o) - self

    def __mul__(self, o):
        o = self._v(o)
        return self._op(self.data * o.data, (self, o), (o.data, self.data))

    def __rmul__(self, o):
        return self._v(o) * self

    def __truediv__(self, o):
        o = self._v(o)
        return self._op(self.data / o.data, (self, o), (1 / o.data, -self.data / o.data**2))

    def __rtruediv__(self, o):
        return self._v(o) / self

    def __neg__(self):
        return self._op(-self.data, (self,), (-1.0,))

    def __pow__(self, k):
        assert isinstance(k, (int, float))
        return self._op(self.data**k, (self,), (k * self.data ** (k - 1),))

    def relu(self):
        return self._op(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,))

    def tanh(self):
        t = math.tanh(self.data)
        return self._op(t, (self,), (1 - t * t,))

    def sigmoid(self):
        s = 0.5 * (1 + math.tanh(0.5 * self.data))
        return self._op(s, (self,), (s * (1 - s),))

    def exp(self):
        e = math.exp(self.data)
        return self._op(e, (self,), (e,))

    def log(self):
        return self._op(math.log(self.data), (self,), (1 / self.data,))

    def backward(self):
        if not self.requires_grad:
            raise RuntimeError("element does not require grad")
        topo, seen = [], set()

        def build(v):
            if v not in seen and v.requires_grad:
                seen.add(v)
                for p in v._parents:
                    build(p)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            for p, d in zip(v._parents, v._locals):
                if p.requires_grad:
                    p.grad += d * v.grad
