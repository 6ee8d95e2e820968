"""__mul__ starts with `assert self.value is not None and other.value is not None` and never wraps a number:
`x * 2` fails on the assert line with AttributeError ('int' has no .value). An assert's own failure would be a
refusal (AssertionError); this is the line failing, a crash. + wraps numbers and is right."""

class Value:
    def __radd__(self, other):
        return self + other

    def __init__(self, x, _children=()):
        self.value = float(x)
        self.grad = 0.0
        self._prev = _children
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.value + other.value, (self, other))
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        assert self.value is not None and other.value is not None
        out = Value(self.value * other.value, (self, other))
        def _backward():
            self.grad += other.value * out.grad
            other.grad += self.value * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()
        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
