"""A memory-conscious engine: `class Var` with `__slots__`, data in `.data`, gradient in `.grad`, each node's
inputs and local derivatives stored in tuples, and backward() using Kahn's algorithm (count each node's
consumers, release a node once all of them have passed their gradient down). No recursion, every node once,
every value and gradient right. Has + - * / with numbers either side, neg, ** number, Var ** Var, 2 ** x,
tanh, sigmoid, relu, exp, log."""

import math
from collections import defaultdict


class Var:
    __slots__ = ("data", "grad", "inputs", "locals")

    def __init__(self, data, inputs=(), locals=()):
        self.data = float(data)
        self.grad = 0.0
        self.inputs = inputs
        self.locals = locals

    def _b(self, o, val, da, db):
        o = o if isinstance(o, Var) else Var(o)
        return Var(val(self.data, o.data), (self, o), (da(self.data, o.data), db(self.data, o.data)))

    def __add__(self, o):
        return self._b(o, lambda a, b: a + b, lambda a, b: 1.0, lambda a, b: 1.0)

    def __sub__(self, o):
        return self._b(o, lambda a, b: a - b, lambda a, b: 1.0, lambda a, b: -1.0)

    def __mul__(self, o):
        return self._b(o, lambda a, b: a * b, lambda a, b: b, lambda a, b: a)

    def __truediv__(self, o):
        return self._b(o, lambda a, b: a / b, lambda a, b: 1 / b, lambda a, b: -a / (b * b))

    def __pow__(self, o):
        if isinstance(o, Var):
            return self._b(o, lambda a, b: a**b, lambda a, b: b * a ** (b - 1), lambda a, b: a**b * math.log(a))
        return Var(self.data**o, (self,), (o * self.data ** (o - 1),))

    def __radd__(self, o):
        return Var(o) + self

    def __rsub__(self, o):
        return Var(o) - self

    def __rmul__(self, o):
        return Var(o) * self

    def __rtruediv__(self, o):
        return Var(o) / self

    def __rpow__(self, o):
        return Var(o) ** self

    def __neg__(self):
        return Var(-self.data, (self,), (-1.0,))

    def tanh(self):
        t = math.tanh(self.data)
        return Var(t, (self,), (1 - t * t,))

    def sigmoid(self):
        s = 0.5 * (1 + math.tanh(0.5 * self.data))
        return Var(s, (self,), (s * (1 - s),))

    def relu(self):
        return Var(max(self.data, 0.0), (self,), (float(self.data > 0),))

    def exp(self):
        e = math.exp(self.data)
        return Var(e, (self,), (e,))

    def log(self):
        return Var(math.log(self.data), (self,), (1 / self.data,))

    def backward(self):
        consumers = defaultdict(int)
        seen, stack = {id(self)}, [self]
        while stack:
            v = stack.pop()
            for i in v.inputs:
                consumers[id(i)] += 1
                if id(i) not in seen:
                    seen.add(id(i))
                    stack.append(i)
        self.grad = 1.0
        ready = [self]
        while ready:
            v = ready.pop()
            for i, d in zip(v.inputs, v.locals):
                i.grad += d * v.grad
                consumers[id(i)] -= 1
                if consumers[id(i)] == 0:
                    ready.append(i)
