"""Every engine in tests/engines/: what the student wrote and what `gradverify check-engine` must report.

Rows are the op table's names (`add sub mul div neg pow powv relu tanh sigmoid exp log`, `pow` being
`x ** c` with a number exponent and `powv` `x ** y` with a Value one), the number forms as their own rows
(`x + c`, `c + x`, `x - c`, `c - x`, `x * c`, `c * x`, `x / c`, `c / x`, `c ** x`, with c an int or a float),
and the names of custom ops declared with `--op`. A row is in `missing` when the engine has no such method or
operator, when Python answers `TypeError: unsupported operand type(s)` (no `__rsub__` and the like), or when
the engine refuses it on purpose (micrograd's `assert isinstance(other, (int, float))` for `x ** y`).

Graph-walk engines (a wrong topological order, a shared node visited twice, a walk that overwrites, no
gradient at all) have right local derivatives: every op row goes wrong through the walk, so their `ops` are
empty and the fault is named in `engine`. Row-level faults inherited through another op (sub written as
`self + (-other)` on a broken neg, division as `self * other ** -1` on a broken pow) are listed on every row
they reach.

The truth here was measured, not assumed: each engine was run against PyTorch (float64) on every row alone,
under an upstream gradient of 3 and 0, with reuse (`f(x) + x`, `f(x) * f(x)`, `f(g(x)) + g(x)`), on diamonds
of equal and uneven depth and several levels, with int and float constants; plus `x = x + x` 25 times (time),
a 3,000-node chain (recursion), two backward() calls on one root (PyTorch doubles the leaves' gradients),
tanh and sigmoid at +-800 (overflow), and the same expression evaluated repeatedly (nondeterminism).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CATALOG", "Entry"]


@dataclass(frozen=True)
class Entry:
    file: str  # file name in tests/engines/
    story: str  # what the student wrote (and what is wrong)
    exit: int  # 0: every op it has is right; 1: a defect; 2: a usage error
    ops: dict[str, frozenset[str]] = field(default_factory=dict)  # defective row -> acceptable kinds
    engine: frozenset[str] = frozenset()  # engine-level defects that must be reported
    notes: frozenset[str] = frozenset()  # engine-level notes expected (not defects)
    missing: frozenset[str] = frozenset()  # rows that are missing or unsupported (not defects)
    spec: str = ""  # ":Class" to append to the path, if needed
    flags: tuple[str, ...] = ()  # extra command-line flags needed (e.g. ("--op", "softplus(x)=log(1 + exp(x))"))


# Op-level kinds, engine-level defect codes and note codes the entries use.
OP_KINDS = frozenset(
    {
        "wrong-value",
        "wrong-gradient",
        "crash",
        "returns-none",
        "returns-non-value",
        "grad-not-number",
        "overwrites-gradient",
        "ignores-upstream",
        "too-slow",
    }
)
ENGINE_DEFECTS = frozenset(
    {
        "no-gradient-reaches-inputs",
        "shared-node-visited-twice",
        "gradients-not-summed",
        "wrong-order",
        "exponential-time",
        "nondeterministic",
        "process-dies",
        "state-between-calls",
    }
)
ENGINE_NOTES = frozenset(
    {
        "recursion-deep-graph",
        "overflow-large-inputs",
        "second-backward-not-accumulating",
        "nondeterministic-last-bits",
        "stderr-flood",
        "warnings",
    }
)

CATALOG: list[Entry] = [
    Entry(
        "lecture_micrograd.py",
        (
            "The lecture's Value class: +, *, ** number, neg, sub as self + (-other), div as self * other**-1, "
            "tanh through exp(2x) (OverflowError past x ~ 355), exp, a recursive topological sort (RecursionError "
            "on deep graphs), set-ordered _prev (last-bit differences between evaluations). No __rsub__, "
            "__rtruediv__, relu, sigmoid or log. Every op it has is right."
        ),
        exit=0,
        notes=frozenset(
            {
                "nondeterministic-last-bits",
                "overflow-large-inputs",
                "recursion-deep-graph",
                "second-backward-not-accumulating",
            }
        ),
        missing=frozenset({"c ** x", "c - x", "c / x", "log", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "broken_micrograd.py",
        (
            "A micrograd clone with two classic bugs: tanh' written as 1 - t (wrong even alone), and `=` instead "
            "of `+=` in __mul__'s backward (wrong when an input is used again). neg is `self * -1` and sub `self "
            "+ (-other)`, so neg, sub, 2 - x, x * 2 and 2 * x inherit the overwrite; x + 2, x - 2 (a plain -2) "
            "and exp are right. No division, powers, relu, sigmoid or log."
        ),
        exit=1,
        ops={
            "c * x": frozenset({"overwrites-gradient", "wrong-gradient"}),
            "c - x": frozenset({"overwrites-gradient", "wrong-gradient"}),
            "mul": frozenset({"overwrites-gradient", "wrong-gradient"}),
            "neg": frozenset({"overwrites-gradient", "wrong-gradient"}),
            "sub": frozenset({"overwrites-gradient", "wrong-gradient"}),
            "tanh": frozenset({"wrong-gradient"}),
            "x * c": frozenset({"overwrites-gradient", "wrong-gradient"}),
        },
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "div", "log", "pow", "powv", "relu", "sigmoid", "x / c"}),
    ),
    Entry(
        "hanging_engine.py",
        (
            "An engine with only +, * (numbers on the right), exp and log: exp's backward never returns (too "
            "slow), and log's forward calls os._exit(3), taking the whole interpreter down. No __radd__/__rmul__, "
            "sub, neg, div, pow or tanh."
        ),
        exit=1,
        ops={
            "exp": frozenset({"too-slow"}),
            "log": frozenset({"crash"}),
        },
        engine=frozenset({"process-dies"}),
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset(
            {
                "c * x",
                "c ** x",
                "c + x",
                "c - x",
                "c / x",
                "div",
                "neg",
                "pow",
                "powv",
                "relu",
                "sigmoid",
                "sub",
                "tanh",
                "x - c",
                "x / c",
            }
        ),
    ),
    Entry(
        "renamed_engine.py",
        (
            "A correct engine with another API: class Scalar, .value, .gradient, .backprop(), and the root's "
            "gradient must be seeded by hand; stored local derivatives; it has tanh, relu, sigmoid, exp, log, "
            "Scalar ** Scalar and 2 ** x, with numbers on both sides everywhere."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating"}),
    ),
    Entry(
        "relu_forgot_return.py",
        (
            "Homework 2, karpathy style: closures capturing `out`, a `set` of children, an iterative topological "
            "sort. The student wrote relu() but forgot the final `return out`, so `x.relu()` returns None; every "
            "other op (+ - * / ** with numbers on either side, tanh, exp, log, sigmoid) is right."
        ),
        exit=1,
        ops={
            "relu": frozenset({"returns-none"}),
        },
        notes=frozenset({"nondeterministic-last-bits", "overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv"}),
    ),
    Entry(
        "tanh_none_neg_float.py",
        (
            "A student's Value with tuples of parents and a recursive topological sort. Two slips: tanh() builds "
            "the node and its closure but never returns it (None), and __neg__ returns the float `-self.data` "
            "instead of a Value. Because sub is written as `self + (-other)`, x - y gets the right value but no "
            "gradient reaches y, and 2 - x (`other + (-self)`) comes back as a plain float."
        ),
        exit=1,
        ops={
            "c - x": frozenset({"returns-non-value", "wrong-gradient"}),
            "neg": frozenset({"returns-non-value", "wrong-gradient"}),
            "sub": frozenset({"wrong-gradient"}),
            "tanh": frozenset({"returns-none"}),
        },
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "pow", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "pow_value_exponent_only.py",
        (
            "An engine written for `Value ** Value` first: __pow__ reads `other.data` without wrapping numbers, "
            "so x ** 2 raises AttributeError: 'int' object has no attribute 'data' in the forward pass (x ** y "
            "with a Value exponent is right, and so is 2 ** x through __rpow__, which wraps its number). Division "
            "is `self * other ** -1`, and -1 is a number too, so x / y and 2 / x crash the same way; x / 2 works, "
            "because there `2 ** -1` is plain Python arithmetic."
        ),
        exit=1,
        ops={
            "c / x": frozenset({"crash"}),
            "div": frozenset({"crash"}),
            "pow": frozenset({"crash"}),
        },
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"log", "relu", "sigmoid", "tanh"}),
    ),
    Entry(
        "log_backward_typeerror.py",
        (
            "A class-based engine with stored local derivatives for most ops. log() is the odd one out: its "
            "backward closure computes `(1 / self) * out.grad`, and with no __rtruediv__ on the class that raises "
            "TypeError: unsupported operand type(s) for /: 'int' and 'Value' inside backward(); log's forward "
            "value is right. Everything else (+ - * / with numbers either side, neg, ** number, tanh, sigmoid, "
            "exp, relu) is right."
        ),
        exit=1,
        ops={
            "log": frozenset({"crash"}),
        },
        notes=frozenset({"overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "powv"}),
    ),
    Entry(
        "tanh_grad_builds_values.py",
        (
            "A micrograd clone where tanh's backward was written with Value arithmetic: `self.grad += (1 - "
            "out**2) * out.grad` uses `out` (a Value), not `out.data`, so after backward() the input's .grad is a "
            "Value object, not a number (its .data happens to hold the right number). Every other op is right."
        ),
        exit=1,
        ops={
            "tanh": frozenset({"grad-not-number"}),
        },
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "powv", "sigmoid"}),
    ),
    Entry(
        "exp_minus_one.py",
        (
            "A Node-based engine (class Node, .data, .grad, closures) in which exp() was copied from an expm1 "
            "helper: the forward computes `math.exp(x) - 1`, and the backward multiplies by that wrong "
            "`out.data`, so exp has a wrong value and a wrong gradient. sigmoid is built on exp (1 / (1 + "
            "exp(-x))) and inherits the wrong value. The other ops are right."
        ),
        exit=1,
        ops={
            "exp": frozenset({"wrong-gradient", "wrong-value"}),
            "sigmoid": frozenset({"wrong-gradient", "wrong-value"}),
        },
        notes=frozenset({"overflow-large-inputs", "recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "powv", "relu"}),
    ),
    Entry(
        "rsub_is_sub.py",
        (
            "A tidy engine (class Value, .data/.grad, closures, iterative topological sort) whose author saved "
            "typing with `__rsub__ = __sub__`: `2 - x` then computes x - 2 (wrong value, and the gradient has the "
            "wrong sign). `__radd__ = __add__` and `__rmul__ = __mul__` are fine because + and * commute. "
            "Everything else is right."
        ),
        exit=1,
        ops={
            "c - x": frozenset({"wrong-gradient", "wrong-value"}),
        },
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "exp", "log", "pow", "powv", "sigmoid"}),
    ),
    Entry(
        "rpow_backwards.py",
        (
            "An engine with Value ** Value and number powers on both sides, but __rpow__ was written as `return "
            "self ** other`, so `2 ** x` computes x ** 2 (wrong value and gradient). x ** y, x ** 3 and the rest "
            "(+ - * / with numbers either side, exp, log, sigmoid) are right. Data are stored as given; "
            "backward() seeds the root and walks a recursive topological order."
        ),
        exit=1,
        ops={
            "c ** x": frozenset({"crash", "wrong-gradient", "wrong-value"}),
        },
        notes=frozenset({"overflow-large-inputs", "recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"relu", "tanh"}),
    ),
    Entry(
        "rmul_float_only.py",
        (
            "A student's __rmul__ that only handles floats: `if isinstance(other, float): return self * other` "
            "and then falls off the end, so `2 * x` returns None while `2.0 * x` works. __radd__ has the same "
            "shape but also checks int, so it is fine. The rest is a standard micrograd with tanh, exp and relu."
        ),
        exit=1,
        ops={
            "c * x": frozenset({"returns-none"}),
        },
        notes=frozenset({"nondeterministic-last-bits", "recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "div", "log", "pow", "powv", "sigmoid", "x / c"}),
    ),
    Entry(
        "no_number_wrap.py",
        (
            "An engine that assumes both operands are Values: __add__ and __sub__ read `other.data` without "
            "wrapping, so `x + 1` and `x - 0.5` raise AttributeError: 'float' object has no attribute 'data' (and "
            "so does `1 + x`, through `__radd__ = __add__`). __mul__ and __truediv__ do wrap numbers and are "
            "right, and so are the unary ops. There is no __rsub__ (2 - x is unsupported). Written with a "
            "`Tensor` class name and a `_parents` list."
        ),
        exit=1,
        ops={
            "c + x": frozenset({"crash"}),
            "x + c": frozenset({"crash"}),
            "x - c": frozenset({"crash"}),
        },
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c - x", "c / x", "exp", "log", "pow", "powv", "relu"}),
    ),
    Entry(
        "rtruediv_wrong.py",
        (
            "A Var engine whose __rtruediv__ was pasted from __truediv__ without swapping the operands: `2 / x` "
            "computes x / 2. Also has __rsub__, __rpow__, tanh, sigmoid, exp and log, all right. Gradients live "
            "in `.grad`, values in `.val`, and backward() is a method; the graph is walked with an explicit "
            "stack."
        ),
        exit=1,
        ops={
            "c / x": frozenset({"wrong-gradient", "wrong-value"}),
        },
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"powv", "relu"}),
    ),
    Entry(
        "int_only_bugs.py",
        (
            "Two bugs that only show with int constants. __sub__ wraps numbers with `if isinstance(other, "
            "float)`, so `x - 0.5` works but `x - 2` raises AttributeError: 'int' object has no attribute 'data'. "
            'And __pow__ has a "fast path" for int exponents by repeated multiplication, `for _ in range(n - 1): '
            "out = out * self`, which is right for x ** 1, x ** 2 and x ** 3 but returns x itself for x ** 0 and "
            "x ** -1 (float exponents such as 2.0 or -1.5 take the general path and are right). Division is `self "
            "* other ** -1`, so x / y and 2 / x are wrong too, while x / 2 (plain `2 ** -1`) is right."
        ),
        exit=1,
        ops={
            "c / x": frozenset({"wrong-gradient", "wrong-value"}),
            "div": frozenset({"wrong-gradient", "wrong-value"}),
            "pow": frozenset({"wrong-gradient", "wrong-value"}),
            "x - c": frozenset({"crash"}),
        },
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c - x", "exp", "log", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "tanh_overwrites.py",
        (
            "The lecture engine plus relu, sigmoid and log, all right except one line: tanh's backward assigns "
            "`self.grad = (1 - t**2) * out.grad` instead of adding. Alone, or as the only use of its input, tanh "
            "looks right; `tanh(x) + x` or `tanh(x) * x` loses the other contribution to x's gradient."
        ),
        exit=1,
        ops={
            "tanh": frozenset({"overwrites-gradient", "wrong-gradient"}),
        },
        notes=frozenset({"nondeterministic-last-bits", "recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv"}),
    ),
    Entry(
        "ops_as_classes_exp_overwrites.py",
        (
            "One class per op: `class Add(Value)`, `class Mul(Value)`, `class Exp(Value)`... each with its own "
            "`backward_step()`; Value.backward() orders the graph and calls them. Exp's step assigns `self.x.grad "
            "= self.data * self.grad` instead of adding, so exp is wrong whenever its input is used again "
            "(`exp(x) + x`, `exp(x) * exp(x)`); alone it looks right. Everything else is right."
        ),
        exit=1,
        ops={
            "exp": frozenset({"overwrites-gradient", "wrong-gradient"}),
        },
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "pow", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "sub_overwrites.py",
        (
            "An engine with a real __sub__ node (not `self + (-other)`), whose backward assigns instead of "
            "adding: `self.grad = out.grad; other.grad = -out.grad`. `x - y` alone is right; `x - x` gives -1 "
            "instead of 0, and `(x - y) + x` drops a term. __rsub__ and the number forms go through the same "
            "__sub__ and inherit the bug. Everything else (add, mul, div, neg, pow, exp, tanh, relu) is right."
        ),
        exit=1,
        ops={
            "c - x": frozenset({"overwrites-gradient", "wrong-gradient"}),
            "sub": frozenset({"overwrites-gradient", "wrong-gradient"}),
            "x - c": frozenset({"overwrites-gradient", "wrong-gradient"}),
        },
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "powv", "sigmoid"}),
    ),
    Entry(
        "tanh_ignores_upstream.py",
        (
            "A student who derived d tanh/dx = 1 - tanh^2 and wrote exactly that: `self.grad += 1 - t**2`, "
            "without `* out.grad`. tanh at the root (upstream gradient 1) is right; `3 * tanh(x)`, `tanh(x) * 0` "
            "or `tanh(tanh(x))` are wrong. Everything else (micrograd's ops, sigmoid and exp) is right."
        ),
        exit=1,
        ops={
            "tanh": frozenset({"ignores-upstream", "wrong-gradient"}),
        },
        notes=frozenset(
            {
                "nondeterministic-last-bits",
                "overflow-large-inputs",
                "recursion-deep-graph",
                "second-backward-not-accumulating",
            }
        ),
        missing=frozenset({"c ** x", "log", "powv", "relu"}),
    ),
    Entry(
        "out_data_not_grad.py",
        (
            "A Scalar engine where sigmoid's backward was typed as `s * (1 - s) * out.data` instead of `* "
            "out.grad` (a one-word slip: out.data is the sigmoid value itself). The gradient is wrong even for "
            "sigmoid alone at the root (it is scaled by s), and it ignores whatever flows in from above. relu, "
            "tanh, exp, log and the arithmetic are right; values live in `.data`, gradients in `.grad`."
        ),
        exit=1,
        ops={
            "sigmoid": frozenset({"ignores-upstream", "wrong-gradient"}),
        },
        notes=frozenset({"overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "div", "pow", "powv", "x / c"}),
    ),
    Entry(
        "topo_no_visited.py",
        (
            "The lecture engine with the `visited` set left out of build_topo: a node reachable along two paths "
            "is put in the topological list twice, so its _backward runs twice and everything below it gets its "
            "gradient counted twice (`t = x * y; t + t`, `t = tanh(x); t * t`). The list also grows exponentially "
            "with repeated sharing (`x = x + x` 25 times). Each op's own local derivative is right."
        ),
        exit=1,
        engine=frozenset({"exponential-time", "shared-node-visited-twice"}),
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "recursive_backward.py",
        (
            "No topological sort at all: backward() runs this node's _backward and then recurses into each "
            "child's backward(). A node reached along two paths runs its _backward once per path, each time with "
            "whatever gradient it has accumulated so far: in `t = x * y; 2 * t + 3 * t` the first pass passes on "
            "t's partial gradient 2 and the second its full gradient 5, so x.grad is 7y instead of 5y; `t + t` "
            "gives 4y instead of 2y. The number of calls doubles with each level of sharing (`x = x + x` "
            "repeated). Each op's local derivative is right."
        ),
        exit=1,
        engine=frozenset({"exponential-time", "shared-node-visited-twice", "wrong-order"}),
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "log", "pow", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "topo_preorder.py",
        (
            "The student's build_topo appends a node *before* visiting its children (pre-order), with a visited "
            "list, and then walks that list from the front. Every node is visited once and chains are right, but "
            "on a diamond a shared node can run its _backward before all its consumers have added to its "
            "gradient: in `t = x * y; t + tanh(tanh(2 * t))`, t is listed (and run) right after the root and "
            "misses the gradient that arrives later through the tanh chain (written the other way round, "
            "`tanh(tanh(2 * t)) + t`, it happens to be right). The ops' local derivatives are right."
        ),
        exit=1,
        engine=frozenset({"wrong-order"}),
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c - x", "c / x", "log", "powv", "sigmoid"}),
    ),
    Entry(
        "bfs_order.py",
        (
            "backward() walks the graph breadth-first from the root (a deque and a `seen` set) and runs each "
            "node's _backward in BFS order. That is a valid order for trees and for diamonds whose paths have "
            "equal length, but not for uneven ones: in `t = x * y; u = tanh(tanh(2 * t)); u + t` (or `t + u`), t "
            "is reached at depth 1 and processed before the gradient arriving through the two tanh nodes. Every "
            "node runs once; local derivatives are right."
        ),
        exit=1,
        engine=frozenset({"wrong-order"}),
        notes=frozenset({"overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "exp", "log", "powv", "relu"}),
    ),
    Entry(
        "walk_overwrites.py",
        (
            "A central backward over stored local derivatives (each node keeps `(parent, d node / d parent)` "
            "pairs), in which the walk assigns `parent.grad = local * node.grad` instead of adding. Every op's "
            "local derivative is right and the topological order is right, but wherever a node feeds two "
            "consumers (`x * x`, `t + t`, `tanh(x) + x`) only the last contribution survives."
        ),
        exit=1,
        engine=frozenset({"gradients-not-summed"}),
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv", "sigmoid"}),
    ),
    Entry(
        "backward_not_called.py",
        (
            "Everything is right except one missing pair of parentheses in backward(): `node._backward` instead "
            "of `node._backward()`, so the loop only looks the closures up and never runs them. The root gets "
            'gradient 1 and no gradient reaches any input. A typical "why are all my grads zero" engine.'
        ),
        exit=1,
        engine=frozenset({"no-gradient-reaches-inputs"}),
        notes=frozenset({"recursion-deep-graph"}),
        missing=frozenset({"c ** x", "exp", "log", "powv", "sigmoid"}),
    ),
    Entry(
        "topo_mark_on_push.py",
        (
            "Stored local derivatives and an iterative, stack-based topological sort that marks nodes as seen "
            "when they are *pushed*, not when they are finished: a node whose parent was pushed earlier but not "
            "yet expanded can be finished first, so the order is not topological and a shared node passes its "
            "gradient on before it is complete (`t = x * y; t * t + t`). And a node listed twice by one consumer "
            "(`x + x`) is pushed twice before being marked, so it is finished twice: `x = x + x` repeated 25 "
            "times gives 2**49 and takes exponential time. Each op's local derivative is right (log too, here)."
        ),
        exit=1,
        engine=frozenset({"shared-node-visited-twice", "wrong-order"}),
        notes=frozenset({"overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "powv"}),
    ),
    Entry(
        "topo_dedupe_fromkeys.py",
        (
            "A student who found the visited-set version of build_topo confusing: build() returns the post-order "
            "of a node's whole subtree with no visited check (a shared node appears once per path), and "
            "backward() de-duplicates it with `list(dict.fromkeys(order))`, keeping each node's first occurrence. "
            "Every first occurrence still comes after all of that node's inputs, so the order is topological and "
            "every gradient is right, but the list before de-duplication doubles with each level of sharing: `x = "
            "x + x` repeated 25 times builds 2**26 list entries (by repeated list concatenation) before it "
            "shrinks back to 26."
        ),
        exit=1,
        engine=frozenset({"exponential-time"}),
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "topo_check_on_append.py",
        (
            "build_topo without a visited check on the way in: it recurses into every child, every time, and only "
            "checks `if v not in topo` before appending. The list gets each node once, after all its inputs, so "
            "the order is topological and every gradient is right; but the recursion follows every path through "
            "the graph, and each step scans the list: `x = x + x` repeated 25 times makes 2**26 calls, each with "
            "a linear `in` on a list."
        ),
        exit=1,
        engine=frozenset({"exponential-time"}),
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "path_sum_backward.py",
        (
            'Backpropagation written as "push the gradient down every path": each node stores its inputs with the '
            "local derivatives, and backward() recursively hands `upstream * local` to each input, which adds it "
            "to its .grad and pushes further. The chain rule summed over paths is exactly right, but a graph with "
            "shared nodes has exponentially many paths: `x = x + x` repeated 25 times makes 2**25 pushes for one "
            "backward(). The recursion also follows the graph's depth."
        ),
        exit=1,
        engine=frozenset({"exponential-time"}),
        notes=frozenset({"recursion-deep-graph"}),
        missing=frozenset({"c ** x", "powv", "relu"}),
    ),
    Entry(
        "dropout_left_in.py",
        (
            "A student engine that grew a dropout experiment inside relu(): with `Value.training = True` (the "
            "default, never switched off) relu zeroes its output with probability 0.1, using `random.random()`. "
            "Values and gradients of relu, and of anything built on it, change from run to run; every other op is "
            "deterministic and right."
        ),
        exit=1,
        ops={
            "relu": frozenset({"wrong-gradient", "wrong-value"}),
        },
        engine=frozenset({"nondeterministic"}),
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "div", "log", "pow", "powv", "sigmoid", "x / c"}),
    ),
    Entry(
        "set_order_walk.py",
        (
            "backward() collects every node reachable from the root into a set `nodes` (a correct traversal) and "
            "then runs `for node in nodes: node._backward()`, in whatever order the set iterates, which depends "
            "on the nodes' memory addresses. With one op between leaves and root any order works; with two or "
            "more in a chain the answer is right only when the set happens to list them from the root down, so "
            "the same expression can give different gradients from one evaluation to the next. Each op's local "
            "derivative is right."
        ),
        exit=1,
        engine=frozenset({"nondeterministic", "wrong-order"}),
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "exp", "log", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "set_prev_lastbits.py",
        (
            "A correct engine in the lecture's style, with `_prev = set(_children)` and a visited-set topological "
            "sort. Every gradient is right, but the order in which a shared input collects its contributions "
            "follows the sets' iteration order (memory addresses), so an input used three or more times can get "
            "sums that differ in the last bit from one evaluation to the next. Has relu, tanh, sigmoid, exp, log, "
            "and numbers on both sides."
        ),
        exit=0,
        notes=frozenset({"nondeterministic-last-bits", "recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv"}),
    ),
    Entry(
        "requires_grad_optin.py",
        (
            "A PyTorch-minded engine: leaves opt in with `Value(x, requires_grad=True)` (default False); a result "
            "requires grad if any input does, and backward() only visits and fills nodes that require grad, so a "
            "plain `Value(2.0)` constant never gets a .grad. Correct when used as intended (inputs created with "
            "requires_grad=True). Has + - * / ** (number exponent), neg, relu, tanh, sigmoid, exp and log, with "
            "numbers on both sides."
        ),
        exit=0,
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv"}),
    ),
    Entry(
        "parameter_subclass.py",
        (
            "An engine written for training only: `class Parameter(Value)` marks trainable leaves, and backward() "
            'keeps gradients on Parameters only, zeroing every other node\'s .grad at the end (to "free memory"). '
            "Plain `Value` leaves therefore always read 0 after backward(). Correct when used as intended, with "
            "inputs created as `Parameter(x)`: every op returns a Value and every Parameter gets the right "
            "gradient. Has + - * / with numbers either side, neg, ** number, relu, tanh and exp."
        ),
        exit=0,
        notes=frozenset({"recursion-deep-graph"}),
        missing=frozenset({"c ** x", "log", "powv", "sigmoid"}),
        spec=":Parameter",
    ),
    Entry(
        "no_backward_method.py",
        (
            "A minimal engine from a course handout: each Value has `_prev` (its inputs) and a `_backward` "
            "closure, but there is no backward() method: the handout asks the student to write the loop (build a "
            "topological order, set the root's grad to 1, call each node's _backward in reverse). The ops are all "
            "right, including sigmoid, log and numbers on both sides; used with that loop the gradients are "
            "right."
        ),
        exit=0,
        missing=frozenset({"c ** x", "exp", "powv", "relu", "tanh"}),
    ),
    Entry(
        "module_backward_fn.py",
        (
            "A functional-style engine: Var objects hold `.data`, `.grad` and a `backward_fn`, and reverse mode "
            "is a module-level function `backward(root)` (not a method), iterative, with a visited set. "
            "Everything is right: + - * / with numbers either side, neg, ** number, tanh, relu, exp, log."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv", "sigmoid"}),
    ),
    Entry(
        "custom_ops_correct.py",
        (
            "An activation-function zoo on top of micrograd: besides relu, tanh, sigmoid, exp and log it has "
            "softplus, silu and abs, each a single node with a hand-written derivative, all right. To check the "
            "custom ops, declare them: softplus(x)=log(1 + exp(x)), silu(x)=x * sigmoid(x), abs(x)=relu(x) + "
            "relu(-x)."
        ),
        exit=0,
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "div", "pow", "powv", "x / c"}),
        flags=(
            "--op",
            "softplus(x)=log(1 + exp(x))",
            "--op",
            "silu(x)=x * sigmoid(x)",
            "--op",
            "abs(x)=relu(x) + relu(-x)",
        ),
    ),
    Entry(
        "custom_softplus_wrong.py",
        (
            "An engine with the usual ops plus two custom activations, softplus and silu. silu is right; softplus "
            "has the right value but its derivative was written as `1 / (1 + exp(x))` (that is sigmoid(-x), a "
            "sign slip; the derivative of log(1 + e^x) is sigmoid(x)). Declare them with softplus(x)=log(1 + "
            "exp(x)) and silu(x)=x * sigmoid(x). Everything else is right."
        ),
        exit=1,
        ops={
            "softplus": frozenset({"wrong-gradient"}),
        },
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "div", "log", "pow", "powv", "relu", "x / c"}),
        flags=("--op", "softplus(x)=log(1 + exp(x))", "--op", "silu(x)=x * sigmoid(x)"),
    ),
    Entry(
        "combo_three_bugs.py",
        (
            "Three unrelated bugs in one micrograd-style file: `__rsub__ = __sub__` (so 2 - x computes x - 2), "
            "sigmoid's backward uses `x * (1 - x)` with x the *input* instead of s the output, and relu's "
            "backward assigns `self.grad = ...` instead of adding (wrong when relu's input is used again). add, "
            "mul, div, neg, pow, tanh, exp and log are right."
        ),
        exit=1,
        ops={
            "c - x": frozenset({"wrong-gradient", "wrong-value"}),
            "relu": frozenset({"overwrites-gradient", "wrong-gradient"}),
            "sigmoid": frozenset({"wrong-gradient"}),
        },
        notes=frozenset({"overflow-large-inputs", "recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv"}),
    ),
    Entry(
        "combo_numpy_two_bugs.py",
        (
            "A numpy-backed engine (data stored as np.float64, np.exp / np.log / np.tanh) with two unrelated "
            "bugs: log's backward uses `1 / out.data` (one over log x) instead of `1 / x`, and for Value ** Value "
            "the exponent's gradient forgets the log factor (`out.data * out.grad` instead of `out.data * log(x) "
            "* out.grad`). Number powers, the arithmetic with numbers on either side, tanh, exp and relu are "
            "right."
        ),
        exit=1,
        ops={
            "c ** x": frozenset({"wrong-gradient"}),
            "log": frozenset({"wrong-gradient"}),
            "powv": frozenset({"wrong-gradient"}),
        },
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"sigmoid"}),
    ),
    Entry(
        "exit_on_negative_power.py",
        (
            "A student who had not worked out negative powers yet and left a guard in __pow__'s backward: "
            '`print("negative powers not supported yet"); os._exit(1)`. The forward of x ** -1 is fine, but '
            "backward() through it ends the whole interpreter at once (no exception, no cleanup). Division is "
            "`self * other ** -1`, so x / y and 2 / x die the same way; x / 2 is right (plain `2 ** -1`), and so "
            "are positive powers and the other ops."
        ),
        exit=1,
        ops={
            "c / x": frozenset({"crash"}),
            "div": frozenset({"crash"}),
            "pow": frozenset({"crash"}),
        },
        engine=frozenset({"process-dies"}),
        notes=frozenset({"nondeterministic-last-bits", "recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "exp", "log", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "sys_exit_in_log.py",
        (
            "A debugging leftover: log's backward closure prints the gradient and calls `sys.exit()`, which "
            "raises SystemExit out of backward(). A script using this engine stops at the first backward through "
            "a log; the other ops (+ - * / with numbers either side, neg, ** number, exp, tanh, relu, sigmoid) "
            "are right, and so is log's forward value."
        ),
        exit=1,
        ops={
            "log": frozenset({"crash"}),
        },
        engine=frozenset({"process-dies"}),
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv"}),
    ),
    Entry(
        "pow_loops_forever.py",
        (
            "__pow__ computes x ** n by repeated multiplication, `while n != 0: out = out * self; n -= 1`, which "
            "is right for positive integer exponents (2, 3, and 2.0) but never terminates for negative or "
            "fractional ones (x ** -1, x ** 0.5, x ** -1.5). Division is `self * other ** -1`, so x / y and 2 / x "
            "hang as well, in the forward pass; x / 2 is right (plain `2 ** -1`). The other ops are right."
        ),
        exit=1,
        ops={
            "c / x": frozenset({"too-slow"}),
            "div": frozenset({"too-slow"}),
            "pow": frozenset({"too-slow"}),
            "powv": frozenset({"too-slow"}),
        },
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "relu", "sigmoid"}),
    ),
    Entry(
        "stderr_flood.py",
        (
            "A correct engine with the student's debug tracing left in: every _backward closure prints a line "
            "with the op, the node's data and gradient and its inputs' values to stderr, and backward() prints "
            "the whole topological order first. The gradients are right; a run of a few thousand expressions "
            "writes tens of megabytes to stderr. Has + - * / with numbers either side, neg, ** number, tanh, "
            "sigmoid, exp, log, relu."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating", "stderr-flood"}),
        missing=frozenset({"c ** x", "powv"}),
    ),
    Entry(
        "numpy_overflow_warnings.py",
        (
            'A numpy engine (np.float64 data) whose sigmoid and tanh use the "stable" two-branch formulas through '
            "np.where, which evaluates *both* branches: for large |x| one of them overflows in np.exp and numpy "
            "prints `RuntimeWarning: overflow encountered in exp`, although the selected branch and so the result "
            "is right. exp itself also warns (and returns inf, like PyTorch) past 709. All values and gradients "
            "are right."
        ),
        exit=0,
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating", "warnings"}),
        missing=frozenset({"c ** x", "log", "powv", "relu"}),
    ),
    Entry(
        "node_val_grad_method.py",
        (
            "A correct engine with an unusual API: class Node, the value in `.val`, the gradient read through a "
            "method `grad()` (stored in `_g`), and reverse mode started with `backward_pass()`. Closures capture "
            "the output node. Has + - * / with numbers either side, neg, ** number, tanh, sigmoid, exp, log."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv", "relu"}),
    ),
    Entry(
        "ops_as_classes_correct.py",
        (
            "One class per op, done right: `Value` is the leaf, and `Add`, `Mul`, `Div`, `Neg`, `Pow`, `Tanh`, "
            "`Relu`, `Exp` and `Log` subclass it, each with `local_grads()` returning d out / d input per input. "
            "Value.backward() builds a topological order iteratively and pushes gradients with `+=`. Numbers on "
            "either side are wrapped. Every value and gradient is right."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv", "sigmoid"}),
    ),
    Entry(
        "slots_var_kahn.py",
        (
            "A memory-conscious engine: `class Var` with `__slots__`, data in `.data`, gradient in `.grad`, each "
            "node's inputs and local derivatives stored in tuples, and backward() using Kahn's algorithm (count "
            "each node's consumers, release a node once all of them have passed their gradient down). No "
            "recursion, every node once, every value and gradient right. Has + - * / with numbers either side, "
            "neg, ** number, Var ** Var, 2 ** x, tanh, sigmoid, relu, exp, log."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating"}),
    ),
    Entry(
        "numpy_float64_engine.py",
        (
            "A correct engine storing data and gradients as numpy float64 (np.float64 scalars, np.tanh, np.exp, "
            "np.log, np.maximum), written by a student who uses numpy for everything. sigmoid uses the overflow- "
            "safe `0.5 * (1 + tanh(x / 2))`. Has + - * / with numbers either side, neg, ** number, relu, tanh, "
            "sigmoid, exp, log."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv"}),
    ),
    Entry(
        "seed_by_hand.py",
        (
            "A correct engine where backward() does not seed the root: the caller writes `loss.grad = 1.0; "
            "loss.backward()` (the lecture's first version). Without the seed every gradient stays 0. math.tanh, "
            "relu, exp, log; + - * / with numbers either side, ** number."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv", "sigmoid"}),
    ),
    Entry(
        "int_data_engine.py",
        (
            "A correct engine that keeps data exactly as given: `Value(3).data` is the int 3, and int arithmetic "
            "stays int until something (division, tanh, exp, a float) makes it a float; gradients start as the "
            "int 0 too. Division is true division, so nothing is truncated. Has + - * / with numbers either side, "
            "neg, ** number, relu, tanh, exp."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "powv", "sigmoid"}),
    ),
    Entry(
        "micrograd_full.py",
        (
            "Karpathy's micrograd engine.py as published (relu, `__pow__` asserting a number exponent, sub as "
            "`self + (-other)`, div as `self * other**-1`, every reflected operator, a recursive build_topo) plus "
            "the lecture's tanh via math.tanh, exp, and a student's log and sigmoid (through exp). Every op it "
            "has is right; Value ** Value is refused by the assert, and the recursive topological sort hits "
            "RecursionError on deep graphs."
        ),
        exit=0,
        notes=frozenset(
            {
                "nondeterministic-last-bits",
                "overflow-large-inputs",
                "recursion-deep-graph",
                "second-backward-not-accumulating",
            }
        ),
        missing=frozenset({"c ** x", "powv"}),
    ),
    Entry(
        "tanh_via_exp.py",
        (
            "The lecture's tanh, `(exp(2x) - 1) / (exp(2x) + 1)`, and a textbook sigmoid `1 / (1 + exp(-x))`, "
            "both as single nodes with the right derivatives: correct for ordinary inputs, but math.exp overflows "
            "(OverflowError) for tanh past x ~ 355 and for sigmoid below x ~ -709. The rest (+ - * / with numbers "
            "either side, neg, ** number, exp, relu) is right."
        ),
        exit=0,
        notes=frozenset({"overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "log", "powv"}),
    ),
    Entry(
        "zero_grad_each_backward.py",
        (
            "A correct engine whose backward() first zeroes the gradient of every node in the graph, leaves "
            'included ("so I never forget zero_grad"). One backward() gives the right gradients; a second call on '
            "the same root gives the same numbers again instead of PyTorch's accumulated (doubled) ones. Values "
            "are `.data`, gradients `.grad`, with a recursive topological sort. Has + - * / with numbers either "
            "side, neg, ** number, relu, tanh, sigmoid, exp, log."
        ),
        exit=0,
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "powv"}),
    ),
    Entry(
        "required_children_op.py",
        (
            "A correct engine whose constructor has no defaults: every node, leaves too, is Value(data, children, "
            "op), numbers wrapped as Value(c, [], 'const'). gradverify must make its inputs as Value(x, "
            "children=(), op='') by itself. An iterative topological sort; relu, tanh, sigmoid, exp, log; "
            "`x ** y` raises TypeError on purpose; no __rtruediv__ or __rpow__."
        ),
        exit=0,
        notes=frozenset({"overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "powv"}),
    ),
    Entry(
        "tensor_like_scalar.py",
        (
            "A correct torch-like scalar engine: class `Tensor` with `shape = ()` and `item()`, as a 0-d tensor "
            "has; gradverify must not take its nodes for numbers (it did, and reported 7 false problems). "
            "Iterative topological sort; relu, tanh, sigmoid, exp, log; `x ** y` raises TypeError on purpose."
        ),
        exit=0,
        notes=frozenset({"overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "powv"}),
    ),
    Entry(
        "reexport_package",
        (
            "The lecture's Value in a package's private module, re-exported by its __init__.py; the folder is "
            "given. gradverify took only classes defined in __init__.py itself and said there was no Value class."
        ),
        exit=0,
        notes=frozenset({"overflow-large-inputs", "recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c - x", "c / x", "log", "powv", "relu", "sigmoid"}),
    ),
    Entry(
        "src_relative/autograd.py",
        (
            "An engine in src/ without __init__.py that imports a module beside it relatively (`from .consts "
            "import ...`), so it cannot be run as a file of its own; log's backward overwrites its input's "
            "gradient (`=`)."
        ),
        exit=1,
        ops={"log": frozenset({"overwrites-gradient"})},
        notes=frozenset({"overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "powv"}),
    ),
    Entry(
        "pow_refuses_with_exception.py",
        (
            "A correct engine whose __pow__ refuses a Value exponent with `raise Exception(...)`: a refusal "
            "written for that case whatever the exception's class (it was a crash unless the class was "
            "TypeError, AssertionError or NotImplementedError)."
        ),
        exit=0,
        notes=frozenset({"overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "powv"}),
    ),
    Entry(
        "overwrite_everywhere_set.py",
        (
            "add, mul and tanh all overwrite (`=`) in backward, and `_prev` is a set: which user of a shared node "
            "writes last changes from run to run, and the gradients with it (-0.60 on one run, -1.90 on another, "
            "against 1.09). That is nondeterminism, a defect, not the last-bits note it was reported as. Each op's "
            "own code assigns (`self.grad = ...`), so the rows are blamed, not backward() (which looks the same from "
            "outside); tanh's overwrite shows in `tanh(x) + x` (add's, first in the walk, lands on a zero). `x + c` "
            "and `x * c` are add and mul."
        ),
        exit=1,
        ops={
            "add": frozenset({"overwrites-gradient"}),
            "mul": frozenset({"overwrites-gradient"}),
            "tanh": frozenset({"overwrites-gradient"}),
            "x + c": frozenset({"overwrites-gradient", "wrong-gradient"}),
            "x * c": frozenset({"overwrites-gradient", "wrong-gradient"}),
        },
        engine=frozenset({"nondeterministic"}),
        missing=frozenset(
            {"sub", "div", "neg", "pow", "powv", "relu", "sigmoid", "exp", "log"}
            | {"x - c", "c - x", "x / c", "c / x", "c ** x", "c + x", "c * x"}
        ),
    ),
    Entry(
        "value_in_n.py",
        (
            "A correct engine whose number is in `.n`, a name gradverify does not know: found as the one attribute "
            "of a new leaf holding its number (it was a usage error asking for --data-attr)."
        ),
        exit=0,
        notes=frozenset({"overflow-large-inputs", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c / x", "powv"}),
    ),
    Entry(
        "distinct_parents_per_path.py",
        (
            "Scalar(value, parents, op) asserts `len(parents) == len(set(parents))`: `x + x` and `x * x` are "
            "refused on purpose (were 'crash' rows, and no graph walk was judged). backward() recurses once per "
            "path with whatever gradient has arrived: `t = x + y; t + x + t` gives d/dx 5, exactly 3; and its time "
            "doubles with every shared level (`v = (v + 0) + v`; `v + v` is refused)."
        ),
        exit=1,
        engine=frozenset({"shared-node-visited-twice", "wrong-order", "exponential-time"}),
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset(
            {"sub", "div", "neg", "pow", "powv", "tanh", "sigmoid", "exp", "log"}
            | {"x + c", "c + x", "x - c", "c - x", "x * c", "c * x", "x / c", "c / x", "c ** x"}
        ),
    ),
    Entry(
        "assert_line_touches_number.py",
        (
            "__mul__ begins with an assert that reads `other.value`: with a number that line raises "
            "AttributeError, a crash of `x * c` (it passed as a refusal once any exception on an assert line "
            "counted as one, and the engine got a clean bill)."
        ),
        exit=1,
        ops={"x * c": frozenset({"crash"})},
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset(
            {"sub", "div", "neg", "pow", "powv", "relu", "tanh", "sigmoid", "exp", "log"}
            | {"x - c", "c - x", "x / c", "c / x", "c ** x", "c * x"}
        ),
    ),
    Entry(
        "value_beside_unfinished_tensor.py",
        (
            "A correct scalar Value and an unfinished numpy Tensor in one file; gradverify picked Tensor (the "
            "names were ranked alphabetically) and reported 5 false problems."
        ),
        exit=0,
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset(
            {"c ** x", "c - x", "c / x", "div", "exp", "log", "neg", "pow", "powv", "relu", "sigmoid", "sub"}
            | {"x - c", "x / c"}
        ),
    ),
    Entry(
        "visited_default_argument.py",
        (
            "The walk's `seen=set()` is a default argument, made once: every backward() after the first skips the "
            "nodes earlier calls saw. Each op is right alone on a fresh graph; `t = x * y`, backward() of `t + x` "
            "then of `t * y` leaves d/dx 1.9 where PyTorch has 2.71 (a training loop reusing an inner node)."
        ),
        exit=1,
        engine=frozenset({"state-between-calls"}),
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset(
            {"sub", "div", "neg", "pow", "powv", "relu", "tanh", "sigmoid", "exp", "log"}
            | {"x - c", "c - x", "x / c", "c / x", "c ** x"}
        ),
    ),
    Entry(
        "pulled_gradients.py",
        (
            "No backward() at all: `x.grad()` pulls the gradient from the node's consumers (each stored with its "
            "local derivative). Correct; it was a usage error asking for a --backward-method it does not have."
        ),
        exit=0,
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset(
            {"sub", "div", "neg", "pow", "powv", "relu", "sigmoid", "exp", "log"}
            | {"x - c", "c - x", "x / c", "c / x", "c ** x"}
        ),
    ),
    Entry(
        "merged_edges_per_path.py",
        (
            "backward() pushes the gradient down every path with no visited set, and a node merges a child it "
            "uses twice into one edge (x + x is one edge of weight 2). Gradients are right; time doubles with "
            "every level of `t = (t + 0) + t`, but not of `v = v + v`, which the timing used to build (a false "
            "pass)."
        ),
        exit=1,
        engine=frozenset({"exponential-time"}),
        notes=frozenset({"recursion-deep-graph"}),
        missing=frozenset({"c ** x", "c / x", "div", "exp", "log", "pow", "powv", "relu", "sigmoid", "x / c"}),
    ),
    Entry(
        "relu_spelled_ReLu.py",
        (
            "relu spelled `ReLu`, and wrong (the gradient always passes). Spellings are now matched ignoring case; "
            "it was 'missing' and the engine got a clean bill."
        ),
        exit=1,
        ops={"relu": frozenset({"wrong-gradient"})},
        notes=frozenset({"recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset(
            {"c * x", "c ** x", "c + x", "c - x", "c / x", "div", "exp", "log", "neg", "pow", "powv"}
            | {"sigmoid", "sub", "tanh", "x - c", "x / c"}
        ),
    ),
    Entry(
        "gradient_backprop_closures.py",
        (
            "A correct engine with PyTorch-ish names: gradients in `.gradient`, reverse mode via `backprop()` "
            "(which seeds the root itself), values in `.value`, and closures stored as `_grad_fn`. relu, tanh, "
            "sigmoid, exp, log, and Value ** Value and 2 ** x next to number powers; numbers on both sides."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating"}),
    ),
    Entry(
        "backward_kills.py",
        (
            "backward() ends with a debugging `os._exit(0)`: the interpreter ends whenever a gradient is computed. "
            "Loading works and every forward is right; every op that exists is a crash, and the engine kills the "
            "process (a report, exit 1, not a usage error)."
        ),
        exit=1,
        ops={
            "add": frozenset({"crash"}),
            "mul": frozenset({"crash"}),
            "tanh": frozenset({"crash"}),
            "x + c": frozenset({"crash"}),
            "c + x": frozenset({"crash"}),
            "x * c": frozenset({"crash"}),
            "c * x": frozenset({"crash"}),
        },
        engine=frozenset({"process-dies"}),
        missing=frozenset(
            {
                "c ** x",
                "c - x",
                "c / x",
                "div",
                "exp",
                "log",
                "neg",
                "pow",
                "powv",
                "relu",
                "sigmoid",
                "sub",
                "x - c",
                "x / c",
            }
        ),
    ),
    Entry(
        "backward_segfaults.py",
        (
            "backward() ends with `ctypes.string_at(0)`: a segmentation fault whenever a gradient is computed. Every "
            "op that exists is a crash (killed by SIGSEGV), and the engine kills the process."
        ),
        exit=1,
        ops={
            "add": frozenset({"crash"}),
            "mul": frozenset({"crash"}),
            "tanh": frozenset({"crash"}),
            "x + c": frozenset({"crash"}),
            "c + x": frozenset({"crash"}),
            "x * c": frozenset({"crash"}),
            "c * x": frozenset({"crash"}),
        },
        engine=frozenset({"process-dies"}),
        missing=frozenset(
            {
                "c ** x",
                "c - x",
                "c / x",
                "div",
                "exp",
                "log",
                "neg",
                "pow",
                "powv",
                "relu",
                "sigmoid",
                "sub",
                "x - c",
                "x / c",
            }
        ),
    ),
    Entry(
        "backward_hangs.py",
        (
            "backward() ends in `while True: pass`: no backward() ever returns. Every op that exists is too slow "
            "(after two ops, the rest are not tried: each try costs the whole time limit)."
        ),
        exit=1,
        ops={
            "add": frozenset({"too-slow"}),
            "mul": frozenset({"too-slow"}),
            "tanh": frozenset({"too-slow"}),
            "x + c": frozenset({"too-slow"}),
            "c + x": frozenset({"too-slow"}),
            "x * c": frozenset({"too-slow"}),
            "c * x": frozenset({"too-slow"}),
        },
        engine=frozenset({"backward-hangs"}),
        missing=frozenset(
            {
                "c ** x",
                "c - x",
                "c / x",
                "div",
                "exp",
                "log",
                "neg",
                "pow",
                "powv",
                "relu",
                "sigmoid",
                "sub",
                "x - c",
                "x / c",
            }
        ),
    ),
    Entry(
        "package_engine",
        (
            "A correct engine laid out as a package, like micrograd: the folder holds __init__.py, engine.py and "
            "functions.py, and engine.py imports its helpers relatively (`from .functions import ...`). Given the "
            "folder, check-engine loads engine.py as part of its package."
        ),
        exit=0,
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"powv", "c ** x"}),
    ),
    Entry(
        "int_powers_only.py",
        (
            "A correct engine whose ** takes whole-number exponents only (assert isinstance(n, int)), with / built "
            "on it as self * other ** -1: x ** 0.5 is refused on purpose, a limit and no defect. (A public engine of "
            "this shape crashed gradverify: the refused cases were judged as numbers.)"
        ),
        exit=0,
        ops={},
        notes=frozenset({"nondeterministic-last-bits", "recursion-deep-graph", "second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c - x", "c / x", "exp", "log", "neg", "powv", "relu", "sigmoid", "sub", "x - c"}),
    ),
    Entry(
        "mul_closure_on_backward.py",
        (
            "__mul__ stores its closure as out.backward instead of out._backward: on a product the instance "
            "attribute hides the class's backward(), and a product inside an expression passes nothing back. add is "
            "right (a public engine of this shape had add blamed for mul's bug); mul and what is built on it are wrong."
        ),
        exit=1,
        ops={
            "mul": frozenset({"wrong-gradient"}),
            "neg": frozenset({"wrong-gradient"}),
            "sub": frozenset({"wrong-gradient"}),
            "x * c": frozenset({"wrong-gradient"}),
            "c * x": frozenset({"wrong-gradient"}),
        },
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset(
            {"c ** x", "c - x", "c / x", "div", "exp", "log", "pow", "powv", "relu", "sigmoid", "tanh", "x / c"}
        ),
    ),
    Entry(
        "numerical_derivatives.py",
        (
            "A correct engine whose tanh' and exp' are finite differences: right to about 1e-7 relative. Imprecise "
            "is not wrong (PyTorch at its usual tolerances agrees); the rows are correct, with a note."
        ),
        exit=0,
        ops={},
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset(
            {"c ** x", "c - x", "c / x", "div", "log", "neg", "pow", "powv", "relu", "sigmoid", "sub", "x - c", "x / c"}
        ),
    ),
    Entry(
        "param_keyword.py",
        (
            "A correct engine whose inputs opt in with a keyword of its own, Var(x, param=True); the switch is found "
            "among the constructor's arguments that default to False."
        ),
        exit=0,
        ops={},
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset(
            {
                "c * x",
                "c ** x",
                "c + x",
                "c - x",
                "c / x",
                "div",
                "exp",
                "log",
                "neg",
                "pow",
                "powv",
                "relu",
                "sigmoid",
                "x / c",
            }
        ),
    ),
    Entry(
        "value_inside_value.py",
        (
            "tanh builds its result from Values and stores a Value as the result's .data; its backward then crashes "
            "on 1 - t**2 (no __rsub__). Everything else is right."
        ),
        exit=1,
        ops={"tanh": frozenset({"crash", "wrong-value"})},
        notes=frozenset({"second-backward-not-accumulating"}),
        missing=frozenset({"c ** x", "c - x", "c / x", "log", "powv", "relu", "sigmoid"}),
    ),
]
