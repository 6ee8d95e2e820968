"""A class-based engine with stored local derivatives for most ops. log() is the odd one out: its backward
closure computes `(1 / self) * out.grad`, and with no __rtruediv__ on the class that raises
TypeError: unsupported operand type(s) for /: 'int' and 'Value' inside backward(); log's forward value is
right. Everything else (+ - * / with numbers either side, neg, ** number, tanh, sigmoid, exp, relu) is right."""

import math


class Value:
    def __init__(self, data, parents=(), local_grads=()):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        self.local_grads = local_grads
        self._extra_backward = None

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
        out = Value(math.log(self.data), (self,), (0.0,))

        def extra():
            self.grad += ((1 / self) * out.grad).data  # TypeError: no __rtruediv__

        out._extra_backward = extra
        return out

    def backward(self):
        topo, seen, stack = [], set(), [(self, False)]
        while stack:
            v, expanded = stack.pop()
            if expanded:
                topo.append(v)
            elif v not in seen:
                seen.add(v)
                stack.append((v, True))
                stack.extend((p, False) for p in v.parents)
        self.grad = 1.0
        for v in reversed(topo):
            for p, d in zip(v.parents, v.local_grads):
                p.grad += d * v.grad
            if v._extra_backward:
                v._extra_backward()
