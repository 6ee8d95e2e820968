"""Stored local derivatives and an iterative, stack-based topological sort that marks nodes as seen when they
are *pushed*, not when they are finished: a node whose parent was pushed earlier but not yet expanded can be
finished first, so the order is not topological and a shared node passes its gradient on before it is
complete (`t = x * y; t * t + t`). And a node listed twice by one consumer (`x + x`) is pushed twice before
being marked, so it is finished twice: `x = x + x` repeated 25 times gives 2**49 and takes exponential
time. Each op's local derivative is right (log too, here)."""

import math


class Value:
    def __init__(self, data, parents=(), local_grads=()):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        self.local_grads = local_grads

    def _v(self, x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other):
        other = self._v(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0))

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        other = self._v(other)
        return Value(self.data - other.data, (self, other), (1.0, -1.0))

    def __rsub__(self, other):
        return self._v(other) - self

    def __mul__(self, other):
        other = self._v(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        other = self._v(other)
        return Value(self.data / other.data, (self, other), (1 / other.data, -self.data / other.data**2))

    def __neg__(self):
        return Value(-self.data, (self,), (-1.0,))

    def __pow__(self, n):
        return Value(self.data**n, (self,), (n * self.data ** (n - 1),))

    def relu(self):
        return Value(max(0.0, self.data), (self,), (float(self.data > 0),))

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1 - t * t,))

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        return Value(s, (self,), (s * (1 - s),))

    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), (e,))

    def log(self):
        return Value(math.log(self.data), (self,), (1 / self.data,))

    def backward(self):
        topo, seen = [], set()
        stack = [self]
        while stack:
            v = stack[-1]
            pending = [p for p in v.parents if p not in seen]
            if pending:
                seen.update(pending)
                stack.extend(pending)
            else:
                stack.pop()
                topo.append(v)
        self.grad = 1.0
        for v in reversed(topo):
            for p, d in zip(v.parents, v.local_grads):
                p.grad += d * v.grad
