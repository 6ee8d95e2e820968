"""A functional-style engine: Var objects hold `.data`, `.grad` and a `backward_fn`, and reverse mode is a
module-level function `backward(root)` (not a method), iterative, with a visited set. Everything is right:
+ - * / with numbers either side, neg, ** number, tanh, relu, exp, log."""

import math


class Var:
    def __init__(self, data, inputs=(), backward_fn=None):
        self.data = float(data)
        self.grad = 0.0
        self.inputs = inputs
        self.backward_fn = backward_fn


def lift(x):
    return x if isinstance(x, Var) else Var(x)


def _binary(a, b, value, da, db):
    a, b = lift(a), lift(b)
    out = Var(value(a.data, b.data), (a, b))

    def fn():
        a.grad += da(a.data, b.data) * out.grad
        b.grad += db(a.data, b.data) * out.grad

    out.backward_fn = fn
    return out


def _unary(a, value, d):
    out = Var(value(a.data), (a,))

    def fn():
        a.grad += d(a.data, out.data) * out.grad

    out.backward_fn = fn
    return out


Var.__add__ = lambda a, b: _binary(a, b, lambda x, y: x + y, lambda x, y: 1.0, lambda x, y: 1.0)
Var.__radd__ = lambda a, b: _binary(b, a, lambda x, y: x + y, lambda x, y: 1.0, lambda x, y: 1.0)
Var.__sub__ = lambda a, b: _binary(a, b, lambda x, y: x - y, lambda x, y: 1.0, lambda x, y: -1.0)
Var.__rsub__ = lambda a, b: _binary(b, a, lambda x, y: x - y, lambda x, y: 1.0, lambda x, y: -1.0)
Var.__mul__ = lambda a, b: _binary(a, b, lambda x, y: x * y, lambda x, y: y, lambda x, y: x)
Var.__rmul__ = lambda a, b: _binary(b, a, lambda x, y: x * y, lambda x, y: y, lambda x, y: x)
Var.__truediv__ = lambda a, b: _binary(a, b, lambda x, y: x / y, lambda x, y: 1 / y, lambda x, y: -x / y**2)
Var.__rtruediv__ = lambda a, b: _binary(b, a, lambda x, y: x / y, lambda x, y: 1 / y, lambda x, y: -x / y**2)
Var.__neg__ = lambda a: _unary(a, lambda x: -x, lambda x, o: -1.0)
Var.__pow__ = lambda a, k: _unary(a, lambda x: x**k, lambda x, o: k * x ** (k - 1))
Var.tanh = lambda a: _unary(a, math.tanh, lambda x, o: 1 - o * o)
Var.relu = lambda a: _unary(a, lambda x: max(x, 0.0), lambda x, o: float(x > 0))
Var.exp = lambda a: _unary(a, math.exp, lambda x, o: o)
Var.log = lambda a: _unary(a, math.log, lambda x, o: 1 / x)


def backward(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
        elif v not in seen:
            seen.add(v)
            stack.append((v, True))
            stack.extend((i, False) for i in v.inputs)
    root.grad = 1.0
    for v in reversed(order):
        if v.backward_fn:
            v.backward_fn()
