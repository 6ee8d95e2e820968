"""Correct gradients; backward() pushes gradient down every path (no visited set), so time is exponential
in the number of shared levels.  A child used twice by one node (v + v) is merged into one edge,
so only graphs where a node is shared by two DIFFERENT parents (t = t*k + t) blow up."""
import math
class Value:
    def __init__(self, data, edges=()):
        self.data = data
        self.grad = 0.0
        self._edges = {}
        for c, d in edges:            # merge repeated children: x + x -> one edge with d = 2
            self._edges[c] = self._edges.get(c, 0.0) + d

    def __add__(self, o):
        o = o if isinstance(o, Value) else Value(o)
        return Value(self.data + o.data, ((self, 1.0), (o, 1.0)))
    __radd__ = __add__
    def __mul__(self, o):
        o = o if isinstance(o, Value) else Value(o)
        return Value(self.data * o.data, ((self, o.data), (o, self.data)))
    __rmul__ = __mul__
    def __neg__(self): return self * -1
    def __sub__(self, o): return self + (-o)
    def __rsub__(self, o): return (-self) + o
    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, ((self, 1 - t * t),))

    def _push(self, g):
        self.grad += g
        for c, d in self._edges.items():
            c._push(g * d)

    def backward(self):
        self._push(1.0)
