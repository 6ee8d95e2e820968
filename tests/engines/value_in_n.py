"""A correct engine that keeps its number in `.n` (a name of the student's own, not in gradverify's list), with
a constructor that requires children and an op: gradverify must find `.n` by what it holds."""

import math


class Value:
    def __init__(self, data, children, op):
        self.n = float(data)
        self.grad = 0.0
        self.children = list(children)
        self.op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.n}, grad={self.grad}, op={self.op!r})"

    @staticmethod
    def wrap(x):
        return x if isinstance(x, Value) else Value(x, [], "const")

    def __add__(self, other):
        other = Value.wrap(other)
        out = Value(self.n + other.n, [self, other], "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __mul__(self, other):
        other = Value.wrap(other)
        out = Value(self.n * other.n, [self, other], "*")

        def _backward():
            self.grad += other.n * out.grad
            other.grad += self.n * out.grad

        out._backward = _backward
        return out

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-Value.wrap(other))

    def __rsub__(self, other):
        return Value.wrap(other) + (-self)

    def __pow__(self, k):
        if isinstance(k, Value):
            raise TypeError("powers of a Value must be numbers")
        out = Value(self.n**k, [self], f"**{k}")

        def _backward():
            self.grad += k * self.n ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        return self * Value.wrap(other) ** -1

    def relu(self):
        out = Value(self.n if self.n > 0 else 0.0, [self], "relu")

        def _backward():
            self.grad += (out.n > 0) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.n)
        out = Value(t, [self], "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.n), [self], "exp")

        def _backward():
            self.grad += out.n * out.grad

        out._backward = _backward
        return out

    def log(self):
        out = Value(math.log(self.n), [self], "log")

        def _backward():
            self.grad += out.grad / self.n

        out._backward = _backward
        return out

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.n))
        out = Value(s, [self], "sigmoid")

        def _backward():
            self.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in node.children)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
