"""An engine with Value ** Value and number powers on both sides, but __rpow__ was written as
`return self ** other`, so `2 ** x` computes x ** 2 (wrong value and gradient). x ** y, x ** 3 and the rest
(+ - * / with numbers either side, exp, log, sigmoid) are right. Data are stored as given; backward() seeds the
root and walks a recursive topological order."""

import math


class Value:
    def __init__(self, data, _op=None, _args=()):
        self.data = data
        self.grad = 0.0
        self._op = _op
        self._args = _args
        self._grad_fn = None

    def _make(self, data, args, grad_fn):
        out = Value(data, _args=args)
        out._grad_fn = grad_fn
        return out

    @staticmethod
    def lift(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other):
        other = Value.lift(other)

        def grad_fn(g):
            self.grad += g
            other.grad += g

        return self._make(self.data + other.data, (self, other), grad_fn)

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-Value.lift(other))

    def __rsub__(self, other):
        return Value.lift(other) + (-self)

    def __mul__(self, other):
        other = Value.lift(other)

        def grad_fn(g):
            self.grad += other.data * g
            other.grad += self.data * g

        return self._make(self.data * other.data, (self, other), grad_fn)

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1

    def __truediv__(self, other):
        return self * Value.lift(other) ** -1

    def __rtruediv__(self, other):
        return Value.lift(other) * self**-1

    def __pow__(self, other):
        if isinstance(other, Value):
            return (other * self.log()).exp()
        p = other

        def grad_fn(g):
            self.grad += p * self.data ** (p - 1) * g

        return self._make(self.data**p, (self,), grad_fn)

    def __rpow__(self, other):
        return self**other  # bug: should be Value(other) ** self

    def exp(self):
        e = math.exp(self.data)

        def grad_fn(g):
            self.grad += e * g

        return self._make(e, (self,), grad_fn)

    def log(self):
        def grad_fn(g):
            self.grad += g / self.data

        return self._make(math.log(self.data), (self,), grad_fn)

    def sigmoid(self):
        return 1 / (1 + (-self).exp())

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for a in v._args:
                    visit(a)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            if v._grad_fn is not None:
                v._grad_fn(v.grad)
