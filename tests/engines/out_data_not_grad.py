"""A Scalar engine where sigmoid's backward was typed as `s * (1 - s) * out.data` instead of `* out.grad` (a
one-word slip: out.data is the sigmoid value itself). The gradient is wrong even for sigmoid alone at the root
(it is scaled by s), and it ignores whatever flows in from above. relu, tanh, exp, log and the arithmetic are
right; values live in `.data`, gradients in `.grad`."""

import math


class Scalar:
    def __init__(self, data, _children=()):
        self.data = float(data)
        self.grad = 0.0
        self._children = _children
        self._backward = lambda: None

    def _wrap(self, other):
        return other if isinstance(other, Scalar) else Scalar(other)

    def __add__(self, other):
        other = self._wrap(other)
        out = Scalar(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._wrap(other)
        out = Scalar(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-self._wrap(other))

    def __rsub__(self, other):
        return self._wrap(other) - self

    def _unary(self, value, local):
        out = Scalar(value, (self,))

        def _backward():
            self.grad += local * out.grad

        out._backward = _backward
        return out

    def relu(self):
        return self._unary(max(self.data, 0.0), 1.0 if self.data > 0 else 0.0)

    def tanh(self):
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t)

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, e)

    def log(self):
        return self._unary(math.log(self.data), 1.0 / self.data)

    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.data))
        out = Scalar(s, (self,))

        def _backward():
            self.grad += s * (1 - s) * out.data  # bug: out.data, meant out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                topo.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((c, False) for c in node._children)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
