"""The student's build_topo appends a node *before* visiting its children (pre-order), with a visited list,
and then walks that list from the front. Every node is visited once and chains are right, but on a diamond
a shared node can run its _backward before all its consumers have added to its gradient: in
`t = x * y; t + tanh(tanh(2 * t))`, t is listed (and run) right after the root and misses the gradient that
arrives later through the tanh chain (written the other way round, `tanh(tanh(2 * t)) + t`, it happens to be
right). The ops' local derivatives are right."""

import math


class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = list(_children)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __rmul__(self, other):
        return self * other

    def __pow__(self, n):
        out = Value(self.data**n, (self,))

        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other**-1

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(0.0, self.data), (self,))

        def _backward():
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,))

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def backward(self):
        order, visited = [], []

        def visit(v):
            if v not in visited:
                visited.append(v)
                order.append(v)  # bug: appended before its children are done
                for child in v._prev:
                    visit(child)

        visit(self)
        self.grad = 1.0
        for v in order:
            v._backward()
