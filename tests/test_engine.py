"""The engine's contracts, one example each: exact sums over shared nodes, deep graphs, PyTorch's
accumulation semantics, no reference cycles, and clear errors for bad input. Random expressions are the
property tests' job (property_tests/)."""

from __future__ import annotations

import gc
import math
import os
import subprocess
import sys
import tracemalloc

import pytest

import autodiff
from autodiff import DomainError, Value


def test_tests_run_against_the_installed_package() -> None:
    if not os.environ.get("GRADVERIFY_EXPECT_INSTALLED"):
        pytest.skip("only meaningful under tox, which installs the package")
    assert "site-packages" in autodiff.__file__, autodiff.__file__


def test_micrograd_readme_example() -> None:
    # Expected numbers from micrograd's README (karpathy/micrograd), not from this engine.
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


# ---- shared subexpressions --------------------------------------------------------------------------------


def test_square_by_self_multiplication_counts_both_uses() -> None:
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0


def test_doubling_twice_counts_every_path() -> None:
    a = Value(1.5)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0


def test_diamond_sums_both_branches() -> None:
    x = Value(0.5)
    y = x.tanh()
    z = y * y.exp()  # y reaches z by two paths
    z.backward()
    t = math.tanh(0.5)
    expected = (math.exp(t) + t * math.exp(t)) * (1 - t * t)
    assert x.grad == pytest.approx(expected, rel=1e-15, abs=0.0)


def test_parents_keep_operand_order() -> None:
    x, y = Value(1.0), Value(2.0)
    assert (x - y)._prev == (x, y)
    assert (2 - y)._prev[1] is y
    assert (x * x)._prev == (x, x)
    assert x._prev == ()


# ---- depth ----------------------------------------------------------------------------------------------


def test_million_node_chain_has_no_recursion_error() -> None:
    x = Value(0.0)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0
    assert y.data == 1_000_000.0
    del y  # freeing a deep chain must not overflow the C stack either


def test_deep_tanh_chain_gradient() -> None:
    w = Value(0.9)
    y = Value(0.3)
    x = y
    for _ in range(5_000):
        y = (y * w).tanh()
    y.backward()
    # The chain contracts to 0; its derivative with respect to the start is the product of the local factors.
    value, dx = 0.3, 1.0
    for _ in range(5_000):
        value = math.tanh(value * 0.9)
        dx *= 0.9 * (1 - value * value)
    assert y.data == value
    assert x.grad == pytest.approx(dx, rel=1e-12, abs=0.0)


# ---- accumulation semantics (PyTorch's) -------------------------------------------------------------------


def _reused_graph() -> tuple[Value, Value, Value]:
    x, y = Value(0.7), Value(-1.3)
    h = x * y + x.tanh()
    out = h * h + (h * x).sigmoid() - y.exp() / x
    return out, x, y


def test_second_backward_gives_exactly_twice_the_leaf_gradients() -> None:
    out, x, y = _reused_graph()
    out.backward()
    gx, gy = x.grad, y.grad
    out.backward()
    assert (x.grad, y.grad) == (2 * gx, 2 * gy)  # exact, not approximate


def test_inner_adjoints_start_fresh_on_each_backward() -> None:
    x = Value(2.0)
    h = x * x
    out = h * 3.0
    out.backward()
    out.backward()
    assert h.grad == 3.0  # not 6: inner nodes are not accumulated across calls
    assert x.grad == 24.0


def test_backward_of_a_leaf_seeds_it() -> None:
    x = Value(5.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0


def test_zero_grad_resets_the_whole_graph() -> None:
    out, x, y = _reused_graph()
    out.backward()
    out.zero_grad()
    assert (x.grad, y.grad, out.grad) == (0.0, 0.0, 0.0)
    out.backward()
    fresh, fx, fy = _reused_graph()
    fresh.backward()
    assert (x.grad, y.grad) == (fx.grad, fy.grad)


_REPEAT_SCRIPT = """
import random
from autodiff import Value
rng = random.Random(7)
xs = [Value(rng.uniform(-1, 1)) for _ in range(8)]
nodes = list(xs)
for _ in range(300):
    a, b = rng.choice(nodes), rng.choice(nodes)
    op = rng.randrange(4)
    nodes.append([a + b, a * b, (a - b).tanh(), (a * 0.5).sigmoid()][op])
total = sum(nodes[-50:], Value(0.0))
total.backward()
print([x.grad.hex() for x in xs])
"""


def test_repeated_runs_are_bit_identical_across_processes() -> None:
    # Different processes put nodes at different addresses (and hash them differently), so this catches
    # any dependence of the result on set or dict iteration order.
    runs = [
        subprocess.run([sys.executable, "-c", _REPEAT_SCRIPT], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert runs[0].count("0x") == 8


# ---- memory -----------------------------------------------------------------------------------------------


def test_dropped_graph_is_freed_without_the_cycle_collector() -> None:
    gc.collect()
    tracemalloc.start()
    gc.disable()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            out, _, _ = _reused_graph()
            y = out
            for _ in range(2_000):
                y = (y * 0.5).tanh() + y
            y.backward()
            del out, y
        after = tracemalloc.get_traced_memory()[0]
        unreachable = gc.collect()
    finally:
        gc.enable()
        tracemalloc.stop()
    assert unreachable == 0, f"{unreachable} objects were only reclaimable by the cycle collector"
    assert after - before < 20_000, f"{after - before} bytes still held after dropping the graphs"


# ---- numerically stable forms -----------------------------------------------------------------------------


def test_stable_saturating_functions() -> None:
    assert Value(1000.0).tanh().data == 1.0
    assert Value(-1000.0).tanh().data == -1.0
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0
    x = Value(-1000.0)
    x.sigmoid().backward()
    assert x.grad == 0.0


# ---- bad input --------------------------------------------------------------------------------------------

BAD_INPUTS = [
    # (what, expected exception, words the message must contain)
    (lambda: Value("abc"), TypeError, ["Value", "'abc'", "str"]),
    (lambda: Value(None), TypeError, ["Value", "None"]),
    (lambda: Value(True), TypeError, ["Value", "True"]),
    (lambda: Value(Value(1.0)), TypeError, ["Value"]),
    (lambda: Value(float("nan")), ValueError, ["Value", "nan"]),
    (lambda: Value(float("inf")), ValueError, ["Value", "inf"]),
    (lambda: Value(10**400), ValueError, ["Value", "too large"]),
    (lambda: Value(1.0) + float("nan"), ValueError, ["add", "nan"]),
    (lambda: Value(1.0) * float("-inf"), ValueError, ["mul", "inf"]),
    (lambda: Value(0.0).log(), DomainError, ["log", "0.0", "> 0"]),
    (lambda: Value(-2.0).log(), DomainError, ["log", "-2.0", "> 0"]),
    (lambda: Value(1.0) / 0.0, DomainError, ["div", "0.0", "!= 0"]),
    (lambda: 1.0 / Value(0.0), DomainError, ["div", "0.0", "!= 0"]),
    (lambda: Value(0.0) ** -2, DomainError, ["pow", "0.0", "-2"]),
    (lambda: Value(-8.0) ** (1 / 3), DomainError, ["pow", "-8.0", "> 0"]),
    (lambda: Value(-2.0) ** Value(2.0), DomainError, ["powv", "-2.0", "> 0"]),
    (lambda: (-2.0) ** Value(2.0), DomainError, ["powv", "-2.0", "> 0"]),
    (lambda: Value(0.0) ** Value(1.0), DomainError, ["powv", "0.0", "> 0"]),
    (lambda: Value(1000.0).exp(), OverflowError, ["exp", "1000.0"]),
    (lambda: Value(1e308) * 10.0, OverflowError, ["mul", "1e+308"]),
    (lambda: Value(1e308) + 1e308, OverflowError, ["add", "1e+308"]),
    (lambda: Value(1e-300) ** -2, OverflowError, ["pow", "1e-300"]),
    (lambda: Value(10.0) ** Value(400.0), OverflowError, ["powv", "400.0"]),
    (lambda: Value(1.0) / 1e-310, OverflowError, ["div"]),
    (lambda: Value(1.0) + "a", TypeError, ["+", "Value", "str"]),
    (lambda: Value(1.0) ** "a", TypeError, ["**", "Value", "str"]),
]


@pytest.mark.parametrize(("make", "error", "words"), BAD_INPUTS)
def test_bad_input_raises_a_clear_error(make: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        make()  # type: ignore[operator]
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_domain_error_is_a_value_error() -> None:
    assert issubclass(DomainError, ValueError)


def test_overflowing_gradient_names_the_op() -> None:
    x = Value(1e-200)
    y = x.log() * 1e200  # d/dx = 1e200 / x = 1e400: overflows in backward
    with pytest.raises(OverflowError, match="gradient"):
        y.backward()


def test_gradient_overflow_inside_the_graph_names_the_node() -> None:
    x = Value(1e-10)
    h = x * 1e-300  # a subnormal number: log(h) is fine, but its derivative 1/h overflows
    z = h.log()
    with pytest.raises(OverflowError, match="gradient reaching the output of mul"):
        z.backward()


def test_power_edge_cases_follow_the_table() -> None:
    x = Value(0.0)
    (x**0).backward()  # x**0 is constant: derivative 0, not 0 * 0**-1
    assert x.grad == 0.0
    with pytest.raises(DomainError, match="must be > 0"):
        Value(0.0) ** 1.5  # a fractional power needs a positive base
    x = Value(-2.0)
    (x**3).backward()
    assert x.grad == 12.0
    x = Value(2.0)
    (3.0**x).backward()
    assert x.grad == pytest.approx(9.0 * math.log(3.0), rel=1e-15, abs=0.0)
