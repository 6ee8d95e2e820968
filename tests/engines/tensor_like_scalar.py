"""A correct torch-like scalar engine: the class is `Tensor`, with `shape = ()` and `item()` like a 0-d tensor
(so it must not be mistaken for a number), children and op as optional constructor arguments, numbers
wrapped as Tensor(c, [], 'const'), an iterative topological sort; relu, tanh, sigmoid, exp, log; `x ** y`
raises TypeError on purpose; no __rtruediv__ or __rpow__."""

import math


class Tensor:
    def __init__(self, data, children=(), op=''):
        self.data = float(data)
        self.grad = 0.0
        self.children = list(children)
        self.op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Tensor({self.data}, grad={self.grad}, op={self.op!r})"

    shape = ()

    def item(self):
        return self.data

    @staticmethod
    def wrap(x):
        return x if isinstance(x, Tensor) else Tensor(x, [], "const")

    def __add__(self, other):
        other = Tensor.wrap(other)
        out = Tensor(self.data + other.data, [self, other], "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __mul__(self, other):
        other = Tensor.wrap(other)
        out = Tensor(self.data * other.data, [self, other], "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-Tensor.wrap(other))

    def __rsub__(self, other):
        return Tensor.wrap(other) + (-self)

    def __pow__(self, k):
        if isinstance(k, Tensor):
            raise TypeError("powers of a Value must be numbers")
        out = Tensor(self.data**k, [self], f"**{k}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        return self * Tensor.wrap(other) ** -1

    def relu(self):
        out = Tensor(self.data if self.data > 0 else 0.0, [self], "relu")

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Tensor(t, [self], "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Tensor(math.exp(self.data), [self], "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        out = Tensor(math.log(self.data), [self], "log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        out = Tensor(s, [self], "sigmoid")

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
