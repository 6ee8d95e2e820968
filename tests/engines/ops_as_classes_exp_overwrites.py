"""One class per op: `class Add(Value)`, `class Mul(Value)`, `class Exp(Value)`... each with its own
`backward_step()`; Value.backward() orders the graph and calls them. Exp's step assigns
`self.x.grad = self.data * self.grad` instead of adding, so exp is wrong whenever its input is used again
(`exp(x) + x`, `exp(x) * exp(x)`); alone it looks right. Everything else is right."""

import math


class Value:
    def __init__(self, data, inputs=()):
        self.data = data
        self.grad = 0.0
        self.inputs = inputs

    def backward_step(self):
        pass

    @staticmethod
    def lift(v):
        return v if isinstance(v, Value) else Value(v)

    def __add__(self, o):
        return Add(self, Value.lift(o))

    def __radd__(self, o):
        return Add(Value.lift(o), self)

    def __sub__(self, o):
        return Add(self, Neg(Value.lift(o)))

    def __rsub__(self, o):
        return Add(Value.lift(o), Neg(self))

    def __mul__(self, o):
        return Mul(self, Value.lift(o))

    def __rmul__(self, o):
        return Mul(Value.lift(o), self)

    def __neg__(self):
        return Neg(self)

    def __truediv__(self, o):
        return Mul(self, Recip(Value.lift(o)))

    def __rtruediv__(self, o):
        return Mul(Value.lift(o), Recip(self))

    def exp(self):
        return Exp(self)

    def tanh(self):
        return Tanh(self)

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for i in v.inputs:
                    visit(i)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v.backward_step()


class Add(Value):
    def __init__(self, a, b):
        super().__init__(a.data + b.data, (a, b))
        self.a, self.b = a, b

    def backward_step(self):
        self.a.grad += self.grad
        self.b.grad += self.grad


class Mul(Value):
    def __init__(self, a, b):
        super().__init__(a.data * b.data, (a, b))
        self.a, self.b = a, b

    def backward_step(self):
        self.a.grad += self.b.data * self.grad
        self.b.grad += self.a.data * self.grad


class Neg(Value):
    def __init__(self, x):
        super().__init__(-x.data, (x,))
        self.x = x

    def backward_step(self):
        self.x.grad -= self.grad


class Recip(Value):
    def __init__(self, x):
        super().__init__(1.0 / x.data, (x,))
        self.x = x

    def backward_step(self):
        self.x.grad -= self.grad / (self.x.data * self.x.data)


class Exp(Value):
    def __init__(self, x):
        super().__init__(math.exp(x.data), (x,))
        self.x = x

    def backward_step(self):
        self.x.grad = self.data * self.grad  # bug: = instead of +=


class Tanh(Value):
    def __init__(self, x):
        super().__init__(math.tanh(x.data), (x,))
        self.x = x

    def backward_step(self):
        self.x.grad += (1 - self.data**2) * self.grad
