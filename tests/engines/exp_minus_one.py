"""A Node-based engine (class Node, .data, .grad, closures) in which exp() was copied from an expm1 helper:
the forward computes `math.exp(x) - 1`, and the backward multiplies by that wrong `out.data`, so exp has a
wrong value and a wrong gradient. sigmoid is built on exp (1 / (1 + exp(-x))) and inherits the wrong value.
The other ops are right."""

import math


class Node:
    def __init__(self, data, prev=()):
        self.data = data
        self.grad = 0.0
        self.prev = prev
        self.back = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data + other.data, (self, other))

        def back():
            self.grad += out.grad
            other.grad += out.grad

        out.back = back
        return out

    def __radd__(self, other):
        return self + other

    def __mul__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data * other.data, (self, other))

        def back():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out.back = back
        return out

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __pow__(self, p):
        out = Node(self.data**p, (self,))

        def back():
            self.grad += p * self.data ** (p - 1) * out.grad

        out.back = back
        return out

    def __truediv__(self, other):
        return self * (other**-1 if isinstance(other, Node) else 1.0 / other)

    def __rtruediv__(self, other):
        return self**-1 * other

    def exp(self):
        out = Node(math.exp(self.data) - 1, (self,))  # bug: this is expm1

        def back():
            self.grad += out.data * out.grad

        out.back = back
        return out

    def sigmoid(self):
        return 1 / (1 + (-self).exp())

    def tanh(self):
        t = math.tanh(self.data)
        out = Node(t, (self,))

        def back():
            self.grad += (1 - t * t) * out.grad

        out.back = back
        return out

    def backward(self):
        topo, seen = [], set()

        def walk(n):
            if n not in seen:
                seen.add(n)
                for p in n.prev:
                    walk(p)
                topo.append(n)

        walk(self)
        self.grad = 1.0
        for n in topo[::-1]:
            n.back()
