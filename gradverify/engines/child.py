"""In the child process: someone else's engine, loaded, its API found, and expressions run on it.

`python -m gradverify.engines.child` answers requests from `gradverify.engines.remote`. It knows nothing about
right and wrong: it builds an expression out of the engine's own values with the engine's own operators and
methods (`2 - x` is Python's `2 - x`, so the engine's `__rsub__` runs, or Python's own TypeError if it has
none), runs the engine's backward pass, and reports what it saw in plain data: the value, each gradient, what
type each came back as, and any exception with the place in the engine's own file where it was raised. The
parent judges. Numbers are never wrapped on the engine's behalf.

Every answer is data, never an exception: the engine may raise anything, print anything, warn, recurse
forever or kill the process (the parent notices the last, and knows from `note()` whether it happened while
building the expression or in backward()).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import inspect
import linecache
import numbers
import operator
import os
import random
import re
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from oracles.child import note, serve
from oracles.expr import Apply, Const, Expr, Var, from_json, nodes

__all__ = ["EngineSpecError"]


class EngineSpecError(Exception):
    """The engine could not be loaded, or its API not recognised: a usage error (exit status 2)."""


DATA_NAMES = ("data", "value", "val", "x", "item", "_data", "_value", "v")
GRAD_NAMES = (
    "grad",
    "gradient",
    "g",
    "_grad",
    "grad_value",
    "adjoint",
    "d",
    "derivative",
    "deriv",
    "dvalue",
    "dv",
    "partial",
    "adj",
)
BACKWARD_NAMES = (
    "backward",
    "backwards",
    "backprop",
    "backpropagate",
    "back_prop",
    "backward_pass",
    "backpass",
    "back",
    "grad_backward",
    "compute_gradients",
    "compute_grad",
)
CLASS_NAMES = ("Value", "Scalar", "Var", "Variable", "Node", "Tensor", "Number", "Scalar", "Dual")
CHILDREN_NAMES = ("_prev", "_children", "prev", "children", "_parents", "parents", "_inputs", "inputs", "_src", "src")
REQUIRES_GRAD = ("requires_grad", "requires_gradient", "needs_grad", "trainable", "is_leaf_param")
ALIASES: dict[str, tuple[str, ...]] = {
    "relu": ("relu", "ReLU", "Relu", "RELU"),
    "tanh": ("tanh", "Tanh", "TanH"),
    "sigmoid": ("sigmoid", "sigm", "Sigmoid", "logistic"),
    "exp": ("exp", "Exp"),
    "log": ("log", "ln", "Log"),
}
BINARY_OPERATORS = {"add": "__add__", "sub": "__sub__", "mul": "__mul__", "div": "__truediv__", "powv": "__pow__"}
FUNCTIONS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}


# ---------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------


class Engine:
    """The loaded engine and how to drive it (`config`, plain data that the parent can send back after a
    restart)."""

    def __init__(self, module: Any, cls: Any, where: str, roots: list[str]) -> None:
        self.module, self.cls, self.where, self.roots = module, cls, where, roots
        self.config: dict[str, Any] = {}

    # ---- the API, as configured -----------------------------------------------------------------------

    def leaf(self, x: float) -> Any:
        cls = getattr(self.module, self.config["leaf_class"]) if self.config.get("leaf_class") else self.cls
        return cls(x, **self.config.get("leaf_kwargs", {}))

    def read_data(self, v: Any) -> Any:
        d = getattr(v, self.config["data"])
        return d() if self.config.get("data_call") else d

    def read_grad(self, v: Any) -> Any:
        g = getattr(v, self.config["grad"])
        return g() if callable(g) and not _is_number(g) and not isinstance(g, self.cls) else g

    def backward(self, root: Any) -> None:
        if self.config.get("seed"):
            setattr(root, self.config["grad"], 1.0)
        kind, name = self.config["backward"]
        if kind == "method":
            method = getattr(root, name)
            method(1.0) if self.config.get("backward_arg") else method()
        elif kind == "function":
            getattr(self.module, name)(root)
        elif kind == "pull":
            pass  # nothing to run: reading a gradient computes it
        elif kind == "absent":
            raise RuntimeError("the engine has no backward()")
        else:  # the engine has no backward(): walk its nodes' own `_backward` closures in reverse topological order
            _walk(root, name, self.config["grad"])

    def apply(self, node: Apply, args: list[Any], ints: bool) -> Any:
        how = self.config["ops"].get(node.op)
        if how is None:
            raise _Missing(node.op)
        kind, name = how
        if node.params:  # x ** p with a number p
            p = node.params[0]
            return operator.pow(args[0], int(p) if ints and p == int(p) else p)
        if kind == "operator":
            return getattr(operator, name)(*args)
        # A method or function of a constant (tanh(1.0) in a random DAG): only a Value has the method.
        args = [self.leaf(a) if _is_number(a) else a for a in args]
        if kind == "function":
            return getattr(self.module, name)(*args)
        return getattr(args[0], name)(*args[1:])


class _Missing(Exception):
    pass


def _walk(root: Any, children: str, grad: str) -> None:
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in getattr(node, children, ()) or ())
    setattr(root, grad, 1.0)
    for node in reversed(order):
        step = getattr(node, "_backward", None)
        if callable(step):
            step()


def _engine_file(target: str) -> str:
    """The file to load: `target` itself, or for a folder its engine.py (or __init__.py)."""
    path = os.path.abspath(target)
    if os.path.isdir(path):
        for name in ("engine.py", "__init__.py", "value.py", "autograd.py"):
            if os.path.isfile(os.path.join(path, name)):
                return os.path.join(path, name)
        found = sorted(f for f in os.listdir(path) if f.endswith(".py"))
        raise EngineSpecError(
            f"{target} is a folder without engine.py; name the file: {', '.join(found) or 'no .py files'}"
        )
    if not os.path.isfile(path):
        raise EngineSpecError(f"no such file: {target}")
    return path


def _import_file(path: str) -> Any:
    """A file that is no package's: run as a module of its own. If it imports its own folder by name (`from
    mergrad import ...`, a folder without __init__.py), the folders above it are tried as import roots."""
    sys.path.insert(0, os.path.dirname(path))
    name = "_engine_under_test"
    mod_spec = importlib.util.spec_from_file_location(name, path)
    if mod_spec is None or mod_spec.loader is None:
        raise EngineSpecError(f"cannot import {path}")
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[name] = module
    try:
        mod_spec.loader.exec_module(module)
        return module
    except ImportError as e:
        if not isinstance(e, ModuleNotFoundError):
            # `from .consts import ...` in a folder without __init__.py (src/autograd.py): the folder imported as
            # a namespace package, the file as its module.
            folder = os.path.dirname(path)
            package, stem = os.path.basename(folder), os.path.splitext(os.path.basename(path))[0]
            if "relative import" not in str(e) or not (package.isidentifier() and stem.isidentifier()):
                raise
            del sys.modules[name]
            sys.path.insert(0, os.path.dirname(folder))
            return importlib.import_module(f"{package}.{stem}")
        folder, dotted = os.path.dirname(path), [os.path.splitext(os.path.basename(path))[0]]
        for _ in range(3):
            dotted.insert(0, os.path.basename(folder))
            folder = os.path.dirname(folder)
            if e.name and e.name.split(".")[0] == dotted[0]:
                sys.path.insert(0, folder)
                return importlib.import_module(".".join(dotted))
        raise


def _takes_no_arguments(f: Any) -> bool:
    """A method that can be called on a node with no arguments (`def grad(self)`)."""
    if not inspect.isfunction(f):
        return False
    params = list(inspect.signature(f).parameters.values())[1:]
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)


def _attribute_names(obj: Any) -> set[str]:
    """An object's own attributes: its __dict__ and the __slots__ of its classes."""
    return set(getattr(obj, "__dict__", {})) | {s for c in type(obj).__mro__ for s in getattr(c, "__slots__", ())}


def _has_file(c: Any) -> bool:
    try:
        inspect.getfile(c)
    except TypeError:  # a built-in class
        return False
    return True


def _package_of(path: str) -> tuple[str | None, str]:
    """The outermost package folder holding `path` (folders with __init__.py) and the file's dotted name."""
    folder = os.path.dirname(path)
    parts = [os.path.splitext(os.path.basename(path))[0]]
    top = None
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        top = folder
        parts.insert(0, os.path.basename(folder))
        folder = os.path.dirname(folder)
    if parts[-1] == "__init__":
        parts.pop()
    return top, ".".join(parts)


def load(spec: str) -> Engine:
    """The engine named by `spec`: a file or a module, optionally `:CLASS`."""
    target, class_name = spec, ""
    head, sep, tail = spec.rpartition(":")
    if sep and head and not os.path.exists(spec) and tail.isidentifier():
        target, class_name = head, tail
    roots: list[str] = []
    try:
        if target.endswith(".py") or os.path.sep in target or os.path.exists(target):
            path = _engine_file(target)
            package, dotted = _package_of(path)
            if package is not None:
                # A file inside a package (micrograd/engine.py with `from .utils import ...`): imported as
                # part of its package, so that its relative imports work.
                sys.path.insert(0, os.path.dirname(package))
                module = importlib.import_module(dotted)
                roots.append(package)
            else:
                module = _import_file(path)
                roots.append(os.path.dirname(path))
        else:
            sys.path.insert(0, os.getcwd())
            module = importlib.import_module(target)
            origin = getattr(module, "__file__", None)
            if origin:
                package = target.split(".")[0]
                top = sys.modules.get(package)
                top_file = getattr(top, "__file__", None) or origin
                roots.append(os.path.dirname(os.path.abspath(top_file)))
    except EngineSpecError:
        raise
    except BaseException as e:  # the file itself may raise anything on import
        hint = ""
        if isinstance(e, ModuleNotFoundError) and e.name and e.name.split(".")[0] not in sys.modules:
            # A library the engine imports is not where gradverify runs (a virtual environment of its own).
            library = e.name.split(".")[0]
            pip = f"{sys.executable} -m pip install {library}"
            hint = f"; if {library} is a library, install it where gradverify runs: {pip}"
        raise EngineSpecError(f"importing {target} failed: {type(e).__name__}: {e}{_where(e, [])}{hint}") from None
    if class_name:
        cls = getattr(module, class_name, None)
        if not inspect.isclass(cls):
            raise EngineSpecError(f"{target} has no class {class_name}")
        return Engine(module, cls, f"{target}:{class_name}", roots)

    def engine_like(c: Any) -> bool:
        return any(hasattr(c, m) for m in ("__add__", "__mul__", "tanh", "relu"))

    classes = [c for _, c in inspect.getmembers(module, inspect.isclass) if engine_like(c)]
    # Defined in the file itself, or, for a package, in one of its modules (`from ._value import Value` in
    # __init__.py); failing that, imported from a file beside it (`from engine import Value`).
    candidates = [
        c for c in classes if c.__module__ == module.__name__ or c.__module__.startswith(module.__name__ + ".")
    ]
    if not candidates:
        candidates = [c for c in classes if _in_engine(inspect.getfile(c), roots) if _has_file(c)]
    if not candidates:
        # A skeleton whose one class has no op yet: judged (nothing can be verified, exit 3), not a usage error.
        own = [c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__]
        candidates = own if len(own) == 1 else []
    if not candidates:
        raise EngineSpecError(f"{target}: no class with + or * (a Value class); name one with {target}:CLASS")

    def rank(c: Any) -> tuple[int, int, int, int, str]:
        has_backward = any(callable(getattr(c, b, None)) for b in BACKWARD_NAMES)
        subclass_of_other = any(o is not c and issubclass(c, o) for o in candidates)
        # A scalar class whose nodes add or multiply, before one that does not (an unfinished Tensor beside a
        # working Value); then the usual names in their order (Value before Tensor).
        works = _attempt(lambda: c(1.5) * c(2.0)) is not None or _attempt(lambda: c(1.5) + c(2.0)) is not None
        named = CLASS_NAMES.index(c.__name__) if c.__name__ in CLASS_NAMES else len(CLASS_NAMES)
        return (not has_backward, subclass_of_other, not works, named, c.__name__)

    candidates.sort(key=rank)
    return Engine(module, candidates[0], f"{target}:{candidates[0].__name__}", roots)


# ---------------------------------------------------------------------------------------------------------
# Detecting the API
# ---------------------------------------------------------------------------------------------------------


# Libraries whose 0-d arrays hold one number (an engine storing `np.array(2.0)` or `torch.tensor(2.0)`).
_ARRAY_LIBRARIES = frozenset({"numpy", "torch", "jax", "jaxlib", "cupy", "mlx", "tensorflow"})


def _is_number(x: Any) -> bool:
    if isinstance(x, numbers.Number):
        return True
    # A 0-d array of an array library; not the engine's own class, which may look like one (`shape = ()` and
    # `item()` on a torch-like scalar Tensor).
    library = type(x).__module__.split(".")[0]
    return library in _ARRAY_LIBRARIES and getattr(x, "shape", None) == () and hasattr(x, "item")


def _as_float(x: Any) -> float:
    if not isinstance(x, (int, float)):
        x = x.item() if hasattr(x, "item") else x
    return float(x)


def _attempt(f: Callable[[], Any]) -> Any:
    try:
        return f()
    except BaseException:  # foreign code: anything at all
        return None


def detect(engine: Engine, overrides: Mapping[str, Any], custom: Mapping[str, int]) -> dict[str, Any]:
    """Everything about the API that does not need backward(): leaf construction, the value attribute, the
    ops; then, in `detect_backward`, what does. Flags the user gave are checked against the class first."""
    module = engine.module
    config: dict[str, Any] = {"custom": dict(custom)}
    leaf_class = overrides.get("leaf_class")
    if leaf_class:
        found = getattr(module, leaf_class, None)
        if not inspect.isclass(found):
            raise EngineSpecError(f"--leaf-class {leaf_class}: {engine.where.split(':')[0]} has no class {leaf_class}")
        config["leaf_class"] = leaf_class
    config["leaf_kwargs"] = dict(overrides.get("leaf_kwargs") or {})
    engine.config = config
    try:
        probe = engine.leaf(1.5)
    except BaseException as e:
        # The class with the operators may not be the one inputs are made with (Node(data, parents) with a
        # Variable(data) subclass): a subclass that can be made from a number is.
        if not leaf_class:
            for sub in _subclasses(engine):
                config["leaf_class"] = sub
                probe = _attempt(functools.partial(engine.leaf, 1.5))
                if probe is not None:
                    config.setdefault("notes_early", []).append(f"inputs are made as {sub}(x)")
                    break
                config["leaf_class"] = None
        if not leaf_class and not config["leaf_kwargs"]:
            # Value(data, _children, _op) with no defaults: a leaf has no children and no op.
            fill = _leaf_arguments(engine.cls)
            if fill:
                config["leaf_kwargs"] = fill
                probe = _attempt(functools.partial(engine.leaf, 1.5))
                if probe is not None:
                    config.setdefault("notes_early", []).append(f"inputs are made as {_leaf_text(engine, 1.5)}")
                    return _finish_detect(engine, overrides, custom, config, probe)
                config["leaf_kwargs"] = {}
        if config.get("leaf_class"):
            return _finish_detect(engine, overrides, custom, config, probe)
        flag = "--leaf-kwargs" if config["leaf_kwargs"] else "--leaf-kwargs (e.g. requires_grad=True)"
        raise EngineSpecError(
            f"making a leaf with {_leaf_text(engine, 1.5)} failed: {type(e).__name__}: {e}{_where(e, engine.roots)}; "
            f"if the constructor needs more arguments, give them with {flag}, or name the class of inputs "
            "with --leaf-class"
        ) from None
    return _finish_detect(engine, overrides, custom, config, probe)


_CHILDREN_WORDS = {"children", "prev", "parents", "parent", "inputs", "operands", "args", "deps", "sources", "srcs"}
_OP_WORDS = {"op", "operation", "opname", "label", "name", "tag"}


def _leaf_arguments(cls: Any) -> dict[str, Any]:
    """The constructor's required arguments after the value, when each is plainly a node's children (given
    as ()) or its op or label (given as ''); {} when any other argument is required."""
    try:
        params = list(inspect.signature(cls).parameters.values())[1:]
    except (TypeError, ValueError):
        return {}
    fill: dict[str, Any] = {}
    for p in params:
        if p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            continue
        word = p.name.strip("_").lower()
        if word in _CHILDREN_WORDS:
            fill[p.name] = ()
        elif word in _OP_WORDS:
            fill[p.name] = ""
        else:
            return {}
    return fill


def _subclasses(engine: Engine) -> list[str]:
    cls, module = engine.cls, engine.module
    return [
        c.__name__
        for _, c in inspect.getmembers(module, inspect.isclass)
        if c is not cls and issubclass(c, cls) and c.__module__ == module.__name__
    ]


def _finish_detect(
    engine: Engine, overrides: Mapping[str, Any], custom: Mapping[str, int], config: dict[str, Any], probe: Any
) -> dict[str, Any]:
    cls = engine.cls
    data = overrides.get("data_attr")
    if data:
        if not hasattr(probe, data):
            raise EngineSpecError(f"--data-attr {data}: {_leaf_text(engine, 1.5)} has no attribute {data!r}")
        candidates = [data]
    else:
        candidates = [n for n in DATA_NAMES if hasattr(probe, n)]
    for name in candidates:
        for call in (False, True):
            value = _attempt(functools.partial(_read_attr, probe, name, call))
            if value is not None and _is_number(value) and _as_float(value) == 1.5:
                config["data"], config["data_call"] = name, call
                break
        if "data" in config:
            break
    if "data" not in config and not data:
        # A name of the student's own (`.n`, `.x`): the one attribute of a new leaf that holds its number.
        names = _attribute_names(probe)
        holding = [
            n
            for n in sorted(names)
            if _is_number(_attempt(functools.partial(getattr, probe, n)))
            and _as_float(getattr(probe, n)) == 1.5
            and _as_float(getattr(engine.leaf(-0.25), n, 0.0)) == -0.25
        ]
        if len(holding) == 1:
            config["data"], config["data_call"] = holding[0], False
    if "data" not in config:
        if data:
            raise EngineSpecError(f"--data-attr {data}: {_leaf_text(engine, 1.5)}.{data} does not hold 1.5")
        raise EngineSpecError(
            f"{cls.__name__}: cannot find the attribute holding the value (tried {', '.join(DATA_NAMES)}); "
            "name it with --data-attr"
        )
    config["ops"] = _ops(engine, custom)
    return config


def _read_attr(obj: Any, name: str, call: bool) -> Any:
    return getattr(obj, name)() if call else getattr(obj, name)


def _data_of(engine: Engine, v: Any) -> float:
    return _as_float(engine.read_data(v))


def _leaf_text(engine: Engine, x: float) -> str:
    name = engine.config.get("leaf_class") or engine.cls.__name__
    kwargs = "".join(f", {k}={v!r}" for k, v in engine.config.get("leaf_kwargs", {}).items())
    return f"{name}({x!r}{kwargs})"


def _ops(engine: Engine, custom: Mapping[str, int]) -> dict[str, Any]:
    """How each op is spelled: ("operator", "__add__"), ("method", "tanh") or ("function", "tanh"), or None."""
    from autodiff.ops import OPS

    cls, module = engine.cls, engine.module
    found: dict[str, Any] = {}
    for name, op in OPS.items():
        if op.method.startswith("__"):
            found[name] = ("operator", op.method) if hasattr(cls, op.method) else None
            continue
        # The spellings in any case (ReLu, reLU, TANH): the exact ones first, then any attribute that matches
        # one of them ignoring case.
        spellings = ALIASES.get(name, (op.method,))
        lower = {s.lower() for s in spellings}
        spellings = (*spellings, *sorted(a for a in dir(cls) if a.lower() in lower and a not in spellings))
        method = next((s for s in spellings if callable(getattr(cls, s, None))), None)
        in_module = (*spellings, *sorted(a for a in dir(module) if a.lower() in lower and a not in spellings))
        function = next((s for s in in_module if inspect.isfunction(getattr(module, s, None))), None)
        found[name] = ("method", method) if method else (("function", function) if function else None)
    for name in custom:
        if callable(getattr(cls, name, None)):
            found[name] = ("method", name)
        elif callable(getattr(cls, f"__{name}__", None)):  # abs(x), which Python spells x.__abs__()
            found[name] = ("method", f"__{name}__")
        elif inspect.isfunction(getattr(module, name, None)):
            found[name] = ("function", name)
        else:
            found[name] = None
    return found


def detect_backward(engine: Engine, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The backward method (or function, or none), the gradient attribute, whether the root must be seeded by
    hand, and how leaves must be made for a gradient to reach them. Runs the engine's backward()."""
    config, cls, module = engine.config, engine.cls, engine.module
    notes: list[str] = []
    name = overrides.get("backward_method")
    node = _attempt(functools.partial(_pair, engine))  # a node an op made: some engines set methods per instance
    if name:
        if callable(getattr(cls, name, None)) or callable(getattr(node, name, None)):
            config["backward"] = ("method", name)
        elif inspect.isfunction(getattr(module, name, None)):
            config["backward"] = ("function", name)
        else:
            raise EngineSpecError(
                f"--backward-method {name}: {cls.__name__} has no method {name} (nor the module a function)"
            )
    else:
        method = next((n for n in BACKWARD_NAMES if callable(getattr(cls, n, None))), None) or next(
            (n for n in BACKWARD_NAMES if n != "_backward" and callable(getattr(node, n, None))), None
        )
        function = next((n for n in BACKWARD_NAMES if inspect.isfunction(getattr(module, n, None))), None)
        if method:
            config["backward"] = ("method", method)
        elif function:
            config["backward"] = ("function", function)
            notes.append(f"reverse mode by the module's function {function}(root)")
        else:
            probe = _attempt(lambda: _pair(engine))
            children = next((c for c in CHILDREN_NAMES if probe is not None and hasattr(probe, c)), None)
            walkable = probe is not None and children is not None and callable(getattr(probe, "_backward", None))
            pulled = next((g for g in GRAD_NAMES if _takes_no_arguments(getattr(cls, g, None))), None)
            if walkable:
                config["backward"] = ("walk", children)
                notes.append(
                    f"the engine has no backward(): gradverify runs each node's _backward in reverse topological "
                    f"order (children in .{children}), with the root's gradient set to 1"
                )
            elif pulled:
                # No backward at all, and `x.grad()` a method: the gradient is pulled when it is read (each node
                # keeps its consumers and sums their gradients on demand).
                config["backward"] = ("pull", pulled)
                notes.append(f"no backward(): gradients are pulled when read, by x.{pulled}()")
            else:
                # Nothing of reverse mode at all (a skeleton, or a forward-only exercise): a report in which
                # nothing could be verified (exit 3), with the flag for an engine whose backward has a name of
                # its own.
                config["backward"] = ("absent", "")
                config["grad"] = next((n for n in GRAD_NAMES if hasattr(engine.leaf(1.5), n)), "grad")
                config["seed"], config["gradient_reaches"] = False, False
                absent = (
                    f"{cls.__name__} has no backward method ({', '.join(BACKWARD_NAMES[:3])}, ...), no backward(root) "
                    "function and no _backward on its nodes: if it has one under another name, give it with "
                    "--backward-method"
                )
                config["notes"] = [*config.pop("notes_early", []), absent]
                return config
    if config["backward"][0] == "method" and callable(getattr(cls, config["backward"][1], None)):
        method = getattr(cls, config["backward"][1])
        with contextlib.suppress(TypeError, ValueError):
            params = list(inspect.signature(method).parameters.values())[1:]
            required = [
                p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            config["backward_arg"] = bool(required)
    grad = overrides.get("grad_attr")
    probe = engine.leaf(1.5)
    if grad:
        config["grad"] = grad
    else:
        config["grad"] = next((n for n in GRAD_NAMES if hasattr(probe, n)), None)
        if config["grad"] is None or not _gradient_reaches(engine, seeded=False):
            # Created or filled only by backward(), under a name of the student's own: the attribute of the
            # input that holds d(x * x)/dx = 6 afterwards.
            found = _grad_by_value(engine)
            config["grad"] = found or config["grad"]
        if config["grad"] is None:
            raise EngineSpecError(f"{cls.__name__}: cannot find the gradient attribute; name it with --grad-attr")
    seed = overrides.get("seed_root", "auto")
    reaches = _gradient_reaches(engine, seeded=False)
    if seed == "auto":
        config["seed"] = False
        if not reaches:
            config["seed"] = True
            reaches = _gradient_reaches(engine, seeded=True)
            if not reaches:
                config["seed"] = False
    else:
        config["seed"] = seed == "yes"
        reaches = _gradient_reaches(engine, seeded=config["seed"])
    if grad and not reaches and not hasattr(probe, grad) and not hasattr(engine.leaf(3.0), grad):
        raise EngineSpecError(
            f"--grad-attr {grad}: {_leaf_text(engine, 1.5)} has no attribute {grad!r}, even after backward()"
        )
    if not reaches and not overrides.get("leaf_class") and not overrides.get("leaf_kwargs"):
        reaches = _try_leaf_variants(engine, notes)
    if not reaches and config["backward"][0] == "pull":
        # Pulled gradients that never arrive: a root that must be seeded by hand in an attribute of its own
        # (`z.grad_value = 1.0`), which gradverify cannot guess; not a defect it can name.
        raise EngineSpecError(
            f"{cls.__name__}: no backward(), and x.{config['backward'][1]}() gives no gradient on x * x; if the root "
            "must be seeded by hand, gradverify cannot check this engine (name a backward with --backward-method)"
        )
    config["gradient_reaches"] = bool(reaches)
    config["notes"] = config.pop("notes_early", []) + notes
    return config


def _grad_by_value(engine: Engine) -> str | None:
    ops = engine.config.get("ops", {})
    expected = 6.0 if ops.get("mul") else 2.0
    for seeded in (False, True):
        x = engine.leaf(3.0)
        root = _attempt(functools.partial(_square, engine, x))
        if root is None:
            continue
        names = _attribute_names(root)
        if seeded:  # the root's own gradient attribute: the one that differs from the leaf's data
            for name in names:
                value = getattr(root, name, None)
                if _is_number(value) and name != engine.config["data"] and _as_float(value) == 0.0:
                    setattr(root, name, 1.0)
        if _attempt(functools.partial(_ran, engine.backward, root)) is None:
            continue
        for name in sorted(set(getattr(x, "__dict__", {})) | names):
            value = _attempt(functools.partial(getattr, x, name))
            if (
                value is not None
                and _is_number(value)
                and _as_float(value) == expected
                and name != engine.config["data"]
            ):
                return str(name)
    return None


def _ran(f: Callable[[Any], Any], arg: Any) -> bool:
    f(arg)
    return True


def _pair(engine: Engine) -> Any:
    x = engine.leaf(2.0)
    return _square(engine, x)


def _square(engine: Engine, x: Any) -> Any:
    """x * x, or x + x, or some unary op of x: whatever the engine has, for detection."""
    ops = engine.config.get("ops", {})
    for name in ("mul", "add"):
        if ops.get(name):
            return getattr(operator, ops[name][1])(x, x)
    for name in ("tanh", "exp", "sigmoid", "relu"):
        if ops.get(name):
            return engine.apply(Apply(name, (Var("x"),)), [x], ints=False)
    raise EngineSpecError(f"{engine.cls.__name__} has none of + * - tanh exp sigmoid relu to try backward() on")


def _gradient_reaches(engine: Engine, seeded: bool) -> bool:
    """Does a gradient reach the input of x * x, x + x, tanh(x), ... (any one: an op of its own may be broken,
    and the question here is how backward() is driven, not whether every op is right)?"""
    before = engine.config.get("seed")
    engine.config["seed"] = seeded
    ops = engine.config.get("ops", {})

    def run(name: str) -> bool:
        x = engine.leaf(3.0)
        how = ops[name]
        if how[0] == "operator":
            root = getattr(operator, how[1])(x, x)
        else:
            root = engine.apply(Apply(name, (Var("x"),)), [x], ints=False)
        engine.backward(root)
        g = engine.read_grad(x)
        return g is not None and _is_number(g) and _as_float(g) != 0.0

    try:
        tried = [n for n in ("mul", "add", "tanh", "exp", "sigmoid", "relu") if ops.get(n)]
        return any(_attempt(functools.partial(run, n)) for n in tried)
    finally:
        engine.config["seed"] = before


def _try_leaf_variants(engine: Engine, notes: list[str]) -> bool:
    """Leaves that must opt in (`requires_grad=True`) or be of a subclass (`Parameter`)."""
    cls = engine.cls
    variants: list[tuple[str | None, dict[str, Any]]] = []
    with contextlib.suppress(TypeError, ValueError):
        params = inspect.signature(cls).parameters
        variants += [(None, {n: True}) for n in REQUIRES_GRAD if n in params]
        # Any other switch that is off by default (`param=False`, `track=False`) may be the opt-in.
        variants += [(None, {n: True}) for n, p in params.items() if p.default is False and n not in REQUIRES_GRAD]
    subclasses = _subclasses(engine)
    variants += [(s, {}) for s in subclasses]
    variants += [(s, kw) for s in subclasses for _, kw in variants if kw]
    for leaf_class, kwargs in variants:
        engine.config["leaf_class"], engine.config["leaf_kwargs"] = leaf_class, kwargs
        for seeded in (False, True):
            if _gradient_reaches(engine, seeded):
                engine.config["seed"] = seeded
                notes.append(f"leaves are made as {_leaf_text(engine, 1.5)} (a plain leaf gets no gradient)")
                return True
    engine.config["leaf_class"], engine.config["leaf_kwargs"] = None, {}
    return False


# ---------------------------------------------------------------------------------------------------------
# Observing: an expression built, backward run, everything read back
# ---------------------------------------------------------------------------------------------------------


def _where(e: BaseException, roots: list[str]) -> str:
    """' (at engine.py:42 in Value.tanh)': the deepest frame of the traceback in the engine's own files."""
    frames = _engine_frames(e, roots)
    if not frames:
        return ""
    filename, lineno, qualname = frames[-1]
    return f" (at {os.path.basename(filename)}:{lineno} in {qualname.replace('.<locals>.', ' > ')})"


def _engine_frames(e: BaseException, roots: list[str]) -> list[tuple[str, int, str]]:
    """(file, line, qualified name) of each frame of the traceback in the engine's own files, outermost first."""
    frames = []
    tb = e.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if _in_engine(code.co_filename, roots):
            frames.append((code.co_filename, tb.tb_lineno, getattr(code, "co_qualname", code.co_name)))
        tb = tb.tb_next
    return frames


def _in_engine(filename: str, roots: list[str]) -> bool:
    path = os.path.abspath(filename)
    return any(path.startswith(root + os.sep) for root in roots)


def _error(e: BaseException, engine: Engine, phase: str, op: str | None, method: str | None) -> dict[str, Any]:
    mine = _engine_frames(e, engine.roots)
    # Python's own "unsupported operand type(s)" (no __rsub__, or it returned NotImplemented): nothing of the
    # engine ran. Raised by arithmetic inside the op on one of the engine's Values (`self.data ** k` with k a
    # Value), it says the same: the op does not take a Value there. A refusal: an assert or a raise in the op's
    # own method, before anything else ran (micrograd's `assert isinstance(other, (int, float))`).
    # A method that does not take this call (`def sigmoid(self, x)`, a helper on plain numbers) is the same:
    # Python raises before any line of it runs. It is not this op, whatever its name.
    unsupported = isinstance(e, TypeError) and not mine and phase == "forward"
    # `x ** y` with a Value exponent in a `__pow__` written for numbers (`self.data ** k`, `math.log(k)`) fails
    # on the Value it was never meant to take: Python's TypeError names the class. Only there: anywhere else
    # such an error is a bug in an op that must take Values (`Value(self.data + other)` in __add__).
    unsupported = unsupported or (
        phase == "forward" and op == "powv" and isinstance(e, TypeError) and _names_class(str(e), engine)
    )
    refused = (
        phase == "forward"
        and isinstance(e, Exception)  # `raise Exception("only float and int are supported")` too
        and len(mine) == 1
        and method is not None
        and mine[0][2].rsplit(".", 1)[-1] == method
        and _explicit(mine[0], e)
    )
    if isinstance(e, RecursionError):
        text = "RecursionError: maximum recursion depth exceeded"
    else:
        text = f"{type(e).__name__}: {e}"[:300]
    return {
        "type": type(e).__name__,
        "text": text,
        "where": _where(e, engine.roots).strip(" ()").removeprefix("at "),
        "phase": phase,
        "op": op,
        "unsupported": unsupported,
        "refused": refused,
        "explicit": isinstance(e, Exception) and bool(mine) and _explicit(mine[-1], e),  # an assert/raise line
        "missing_method": isinstance(e, _Missing),
    }


def _explicit(frame: tuple[str, int, str], e: BaseException) -> bool:
    """The line raised on purpose (`raise NotImplementedError`, `assert isinstance(...)`), rather than failed
    doing arithmetic (`other + (-self)` with -self None). An assert's own failure is an AssertionError: an
    AttributeError on an assert line (`assert self.value.shape == other.value.shape` with a number) is the
    line failing, not refusing."""
    line = linecache.getline(frame[0], frame[1]).strip()
    if line.startswith("assert"):
        return isinstance(e, AssertionError)
    return line.startswith("raise")


def _names_class(text: str, engine: Engine) -> bool:
    names = {engine.cls.__name__} | {c.__name__ for c in type.__subclasses__(engine.cls)}
    return any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)


def _kind(x: Any, engine: Engine) -> str:
    if x is None:
        return "none"
    if _is_number(x):
        return "number"
    if isinstance(x, engine.cls) or hasattr(x, engine.config["data"]):
        return "value"
    return "other"


def observe(engine: Engine, request: Mapping[str, Any]) -> dict[str, Any]:
    """Build the expression at the point, run backward (once or twice), read value, gradients and adjoints."""
    expr = from_json(request["expr"])
    point: Mapping[str, float] = request["point"]
    ints = bool(request.get("ints"))
    wrap = [list(w) for w in request.get("wrap", ())]
    out: dict[str, Any] = {"error": None, "bad": None}
    built: dict[bytes, Any] = {}
    order = nodes(expr)
    # Leaves of the engine's own class made (and kept) between the nodes move the nodes' addresses apart by
    # irregular steps, and so their hashes and the order in which a `set` of children lists them: a walk
    # that depends on set order shows it. (Objects of another size would live in other memory pools.)
    shuffle = int(request.get("shuffle", 0))
    ballast: list[Any] = []
    rng = random.Random(shuffle)
    note("forward")
    for node in order:
        if shuffle:
            ballast += [engine.leaf(0.0) for _ in range(rng.randint(0, 3))]
        if isinstance(node, Var):
            built[node.digest] = engine.leaf(point[node.name])
        elif isinstance(node, Const):
            v = node.value
            built[node.digest] = int(v) if ints and v == int(v) else v
        else:
            assert isinstance(node, Apply)
            args = [built[a.digest] for a in node.args]
            for side in range(len(args)):
                # A form this engine gets wrong (reported on its own row): the number goes in as a leaf, be it
                # a constant or a numbers-only subexpression such as (-1.0 * -1.0 + 0.5), which Python computed.
                if _is_number(args[side]) and [node.op, side] in wrap:
                    args[side] = engine.leaf(_as_float(args[side]))
            how = engine.config["ops"].get(node.op)
            method = how[1] if how else None
            if how and how[0] == "operator":
                # The method Python will call: the reflected one when a number is on the left.
                method = how[1] if not _is_number(args[0]) else "__r" + how[1][2:]
            try:
                result = engine.apply(node, args, ints)
            except BaseException as e:  # foreign code: anything, SystemExit included
                out["error"] = _error(e, engine, "forward", node.op, method)
                out["error"]["node"] = node.digest.hex()
                return out
            kind = _kind(result, engine)
            if kind == "number" and all(_is_number(a) for a in args):
                pass  # numbers only (2.0 * 3.0 in a random DAG): plain Python arithmetic, not the engine's
            elif kind != "value":
                shown = repr(result) if kind != "number" else repr(_as_float(result))
                out["bad"] = {"node": node.digest.hex(), "op": node.op, "kind": kind, "shown": shown[:80]}
                return out
            built[node.digest] = result
    root = built[expr.digest]
    leaves = {n.name: built[n.digest] for n in order if isinstance(n, Var)}
    out["nodes"] = _inner_nodes(root, set(map(id, leaves.values())))
    try:
        out["value_kind"] = _kind(engine.read_data(root), engine)
        out["value"] = _as_float(engine.read_data(root)) if out["value_kind"] == "number" else None
    except BaseException as e:
        out["error"] = _error(e, engine, "read", None, None)
        return out
    rounds = 2 if request.get("twice") else 1
    for r in range(rounds):
        note("backward")
        start = time.perf_counter()
        try:
            engine.backward(root)
        except BaseException as e:
            out["error"] = _error(e, engine, "backward", _op_of_frame(e, engine, order), None)
            return out
        out["seconds"] = time.perf_counter() - start
        key = "grads" if r == 0 else "grads2"
        out[key], out[key + "_kinds"] = {}, {}
        for name, leaf in leaves.items():
            try:
                g = engine.read_grad(leaf)
            except BaseException as e:
                out["error"] = _error(e, engine, "read", None, None)
                return out
            kind = _kind(g, engine)
            out[key + "_kinds"][name] = kind
            if kind == "number":
                out[key][name] = _as_float(g)
            elif kind == "value":  # a Value where a number belongs: show what it holds
                out[key][name] = _attempt(functools.partial(_data_of, engine, g))
            else:
                out[key][name] = None
        if r == 0 and request.get("adjoints"):
            adjoints = {}
            for node in order:
                if isinstance(node, Apply):
                    g = _attempt(functools.partial(engine.read_grad, built[node.digest]))
                    if g is not None and _is_number(g):
                        adjoints[node.digest.hex()] = _as_float(g)
            out["adjoints"] = adjoints
    del ballast
    return out


def _inner_nodes(root: Any, leaves: set[int]) -> int | None:
    """How many nodes the engine built for this expression, not counting the inputs (None: it keeps no list of
    children under a name we know). `x - y` written as `x + (-y)` has 2."""
    children = next((c for c in CHILDREN_NAMES if hasattr(root, c)), None)
    if children is None:
        return None
    seen: set[int] = set()
    stack = [root]
    while stack and len(seen) < 10_000:
        node = stack.pop()
        if id(node) in seen or id(node) in leaves:
            continue
        kids = getattr(node, children, ()) or ()
        with contextlib.suppress(TypeError):
            kids = [k for k in kids if not _is_number(k)]
            if kids:  # a node made by an op (a constant the op made itself, Value(-1), has no children)
                seen.add(id(node))
                stack.extend(kids)
    return len(seen)


def _op_of_frame(e: BaseException, engine: Engine, order: list[Expr]) -> str | None:
    """Which op's backward raised: the method whose closure (`Value.tanh.<locals>._backward`) was running."""
    frames = _engine_frames(e, engine.roots)
    ops = {n.op for n in order if isinstance(n, Apply)}
    for _, _, qualname in reversed(frames):
        parts = qualname.lower().replace("<locals>", "").split(".")
        for op in ops:
            how = engine.config["ops"].get(op)
            if how and (how[1].lower() in parts or op in parts):
                return op
    return None


# ---------------------------------------------------------------------------------------------------------
# Timing and engine-level experiments
# ---------------------------------------------------------------------------------------------------------


def doubling(engine: Engine, op: str, levels: int) -> dict[str, Any]:
    """v = (v op c) op v, `levels` times, with c a neutral leaf (0 for +, 1 for *): every node is used twice
    by the next level, through two different nodes, so an engine that keeps a node's children in a set cannot
    fold them into one (as it does in `v + v`). The backward time and the gradient (2 ** levels)."""
    how = engine.config["ops"][op]
    apply = getattr(operator, how[1])
    x = engine.leaf(1.0)
    v = x
    note("forward")
    start = time.perf_counter()
    for _ in range(levels):
        v = apply(apply(v, engine.leaf(0.0 if op == "add" else 1.0)), v)
    forward = time.perf_counter() - start
    note("backward")
    start = time.perf_counter()
    engine.backward(v)
    seconds = time.perf_counter() - start
    g = engine.read_grad(x)
    return {"seconds": seconds, "forward": forward, "grad": _as_float(g) if _is_number(g) else None}


def chain(engine: Engine, op: str, length: int) -> dict[str, Any]:
    """A chain of `length` ops, each on the last result and a fresh leaf: does backward() survive the depth?"""
    how = engine.config["ops"][op]
    x = engine.leaf(0.5)
    v = x
    for _ in range(length):
        v = getattr(operator, how[1])(v, engine.leaf(1.0 if op in ("mul", "div") else 0.0))
    note("backward")
    try:
        engine.backward(v)
    except RecursionError:
        return {"error": f"RecursionError in backward() on a chain of {length} nodes"}
    except BaseException as e:
        return {"error": f"{type(e).__name__} in backward() on a chain of {length} nodes: {e}"[:300]}
    g = engine.read_grad(x)
    return {"grad": _as_float(g) if _is_number(g) else None}


def two_graphs(engine: Engine) -> dict[str, Any]:
    """backward() on t + x, with t = x * y, then on a second root built on the same t: t * y. Gradients read
    after each call (the parent judges them against the semantics an engine may have)."""
    ops = engine.config["ops"]
    mul, add = getattr(operator, ops["mul"][1]), getattr(operator, ops["add"][1])
    x, y = engine.leaf(0.7), engine.leaf(0.9)
    t = mul(x, y)
    note("backward")
    engine.backward(add(t, x))
    first = [_as_float(engine.read_grad(v)) for v in (x, y)]
    engine.backward(mul(t, y))
    second = [_as_float(engine.read_grad(v)) for v in (x, y)]
    return {"first": first, "second": second}


# ---------------------------------------------------------------------------------------------------------
# The request loop
# ---------------------------------------------------------------------------------------------------------

_state: dict[str, Any] = {"warnings": {}}


def _handle(request: tuple[Any, ...]) -> Any:
    """One request, answered with plain data (never an exception)."""
    kind, *rest = request
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            answer = _answer(kind, rest)
        except EngineSpecError as e:
            answer = ("spec", str(e))
        except BaseException as e:  # foreign code: SystemExit, custom errors, anything
            engine = _state.get("engine")
            roots = engine.roots if engine is not None else []
            answer = ("error", f"{type(e).__name__}: {e}"[:300] + _where(e, roots))
    table: dict[str, list[Any]] = _state["warnings"]
    for w in caught:
        key = f"{w.category.__name__}: {w.message} ({os.path.basename(w.filename)}:{w.lineno})"
        entry = table.setdefault(key, [0])
        entry[0] += 1
    return answer


def _answer(kind: str, rest: list[Any]) -> Any:
    if kind == "load":
        spec, overrides, custom = rest
        _declare(custom)
        engine = _state["engine"] = load(spec)
        config = detect(engine, overrides, custom)
        return ("ok", {"where": engine.where, "config": config, "file": engine.roots})
    if kind == "configure":  # after a restart: the same engine, the configuration found before
        spec, config = rest
        _declare(config.get("custom", {}))
        engine = _state["engine"] = load(spec)
        engine.config = dict(config)
        return ("ok", None)
    engine = _state["engine"]
    if kind == "detect_backward":
        config = detect_backward(engine, rest[0])
        return ("ok", config)
    if kind == "observe":
        return ("ok", observe(engine, rest[0]))
    if kind == "doubling":
        return ("ok", doubling(engine, *rest))
    if kind == "chain":
        return ("ok", chain(engine, *rest))
    if kind == "two_graphs":
        return ("ok", two_graphs(engine))
    if kind == "warnings":
        return ("ok", {k: v[0] for k, v in _state["warnings"].items()})
    if kind == "grad_assigners":
        return ("ok", grad_assigners(engine))
    return ("error", f"unknown request {kind!r}")


def grad_assigners(engine: Engine) -> list[str]:
    """The ops whose own code (closures included) assigns an input's gradient, `self.grad = ...` or
    `other.grad = ...`, rather than adding to it: read from the source, to tell an op that overwrites from a
    backward() that does, which look the same from outside."""
    import ast
    import textwrap

    grad = engine.config.get("grad")
    found: list[str] = []
    for op, how in engine.config.get("ops", {}).items():
        if not how or not grad:
            continue
        kind, name = how
        where = engine.module if kind == "function" else engine.cls
        function = getattr(where, name, None)
        if function is None:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        except (TypeError, OSError, SyntaxError, IndentationError):
            continue
        top = tree.body[0] if tree.body else None
        if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        inputs = {a.arg for a in top.args.args}
        # Names bound to an input inside the op (`other = other if isinstance(...) else Value(other)`) stay inputs.
        for node in ast.walk(top):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and target.attr == grad
                        and isinstance(target.value, ast.Name)
                        and target.value.id in inputs
                    ):
                        found.append(op)
    return sorted(set(found))


def _declare(custom: Mapping[str, int]) -> None:
    """Ops declared with --op, by name and arity: here they only need to be names an expression may apply (the
    engine computes them; the parent knows their definitions)."""
    from autodiff.ops import OPS, REAL, Op

    def elsewhere(*args: Any) -> Any:
        raise NotImplementedError("a declared op is computed by the engine under test here")

    for name, arity in custom.items():
        if name not in OPS:
            OPS[name] = Op(
                name=name,
                arity=arity,
                forward=elsewhere,
                derivative=elsewhere,
                sympy=elsewhere,
                torch=elsewhere,
                method=name,
                domain=(REAL,) * arity,
            )


def warm_up() -> None:
    import autodiff.ops  # noqa: F401


if __name__ == "__main__":
    serve(_handle, warm_up)
