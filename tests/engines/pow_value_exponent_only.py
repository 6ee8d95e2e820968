"""An engine written for `Value ** Value` first: __pow__ reads `other.data` without wrapping numbers, so
x ** 2 raises AttributeError: 'int' object has no attribute 'data' in the forward pass (x ** y with a Value
exponent is right, and so is 2 ** x through __rpow__, which wraps its number). Division is
`self * other ** -1`, and -1 is a number too, so x / y and 2 / x crash the same way; x / 2 works, because
there `2 ** -1` is plain Python arithmetic."""

import math


class Value:
    def __init__(self, data, children=()):
        self.data = data
        self.grad = 0
        self.children = children
        self.grad_fn = None

    @staticmethod
    def wrap(v):
        return v if isinstance(v, Value) else Value(v)

    def __add__(self, other):
        other = Value.wrap(other)
        out = Value(self.data + other.data, (self, other))

        def grad_fn():
            self.grad += out.grad
            other.grad += out.grad

        out.grad_fn = grad_fn
        return out

    def __radd__(self, other):
        return Value.wrap(other) + self

    def __mul__(self, other):
        other = Value.wrap(other)
        out = Value(self.data * other.data, (self, other))

        def grad_fn():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out.grad_fn = grad_fn
        return out

    def __rmul__(self, other):
        return Value.wrap(other) * self

    def __pow__(self, other):
        out = Value(self.data**other.data, (self, other))  # other may be a plain number: AttributeError

        def grad_fn():
            self.grad += other.data * self.data ** (other.data - 1) * out.grad
            other.grad += out.data * math.log(self.data) * out.grad

        out.grad_fn = grad_fn
        return out

    def __rpow__(self, other):
        return Value.wrap(other) ** self

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return Value.wrap(other) + (-self)

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return Value.wrap(other) * self**-1

    def exp(self):
        out = Value(math.exp(self.data), (self,))

        def grad_fn():
            self.grad += out.data * out.grad

        out.grad_fn = grad_fn
        return out

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if id(v) in seen:
                return
            seen.add(id(v))
            for c in v.children:
                build(c)
            topo.append(v)

        build(self)
        self.grad = 1
        for v in reversed(topo):
            if v.grad_fn:
                v.grad_fn()
