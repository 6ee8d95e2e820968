"""A student who found the visited-set version of build_topo confusing: build() returns the post-order of a
node's whole subtree with no visited check (a shared node appears once per path), and backward()
de-duplicates it with `list(dict.fromkeys(order))`, keeping each node's first occurrence. Every first
occurrence still comes after all of that node's inputs, so the order is topological and every gradient is
right, but the list before de-duplication doubles with each level of sharing: `x = x + x` repeated 25 times
builds 2**26 list entries (by repeated list concatenation) before it shrinks back to 26."""

import math


class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float))
        out = Value(self.data**other, (self,))

        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,))

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def backward(self):
        def build(v):
            order = []
            for child in v._prev:
                order = order + build(child)
            return order + [v]

        topo = list(dict.fromkeys(build(self)))
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
