"""One class per op, done right: `Value` is the leaf, and `Add`, `Mul`, `Div`, `Neg`, `Pow`, `Tanh`, `Relu`,
`Exp` and `Log` subclass it, each with `local_grads()` returning d out / d input per input. Value.backward()
builds a topological order iteratively and pushes gradients with `+=`. Numbers on either side are wrapped.
Every value and gradient is right."""

import math


class Value:
    def __init__(self, data, inputs=()):
        self.data = data
        self.grad = 0.0
        self.inputs = inputs

    def local_grads(self):  # a leaf
        return ()

    @staticmethod
    def of(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, o):
        return Add(self, Value.of(o))

    def __radd__(self, o):
        return Add(Value.of(o), self)

    def __sub__(self, o):
        return Add(self, Neg(Value.of(o)))

    def __rsub__(self, o):
        return Add(Value.of(o), Neg(self))

    def __mul__(self, o):
        return Mul(self, Value.of(o))

    def __rmul__(self, o):
        return Mul(Value.of(o), self)

    def __truediv__(self, o):
        return Div(self, Value.of(o))

    def __rtruediv__(self, o):
        return Div(Value.of(o), self)

    def __neg__(self):
        return Neg(self)

    def __pow__(self, k):
        return Pow(self, k)

    def tanh(self):
        return Tanh(self)

    def relu(self):
        return Relu(self)

    def exp(self):
        return Exp(self)

    def log(self):
        return Log(self)

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            v, done = stack.pop()
            if done:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((i, False) for i in v.inputs)
        self.grad = 1.0
        for v in reversed(order):
            for inp, d in zip(v.inputs, v.local_grads()):
                inp.grad += d * v.grad


class Add(Value):
    def __init__(self, a, b):
        super().__init__(a.data + b.data, (a, b))

    def local_grads(self): return (1.0, 1.0)  # noqa: E704


class Mul(Value):
    def __init__(self, a, b):
        super().__init__(a.data * b.data, (a, b))

    def local_grads(self):
        a, b = self.inputs
        return (b.data, a.data)


class Div(Value):
    def __init__(self, a, b):
        super().__init__(a.data / b.data, (a, b))

    def local_grads(self):
        a, b = self.inputs
        return (1 / b.data, -a.data / (b.data * b.data))


class Neg(Value):
    def __init__(self, a):
        super().__init__(-a.data, (a,))

    def local_grads(self): return (-1.0,)  # noqa: E704


class Pow(Value):
    def __init__(self, a, k):
        super().__init__(a.data**k, (a,))
        self.k = k

    def local_grads(self):
        return (self.k * self.inputs[0].data ** (self.k - 1),)


class Tanh(Value):
    def __init__(self, a):
        super().__init__(math.tanh(a.data), (a,))

    def local_grads(self): return (1 - self.data**2,)  # noqa: E704


class Relu(Value):
    def __init__(self, a):
        super().__init__(max(a.data, 0.0), (a,))

    def local_grads(self):
        return (1.0 if self.inputs[0].data > 0 else 0.0,)


class Exp(Value):
    def __init__(self, a):
        super().__init__(math.exp(a.data), (a,))

    def local_grads(self): return (self.data,)  # noqa: E704


class Log(Value):
    def __init__(self, a):
        super().__init__(math.log(a.data), (a,))

    def local_grads(self):
        return (1 / self.inputs[0].data,)
