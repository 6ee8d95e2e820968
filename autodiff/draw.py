"""Pictures of a computation graph: every Value as a record (label, data, grad), every op as a small node, an edge
for every input. `render(root, "graph.svg")` draws through Graphviz; `to_text(root)` needs nothing installed.

The `graphviz` package is imported inside the functions that need it, so that `import autodiff` (and this
module) stays standard-library only. Any object with micrograd's attributes (`_prev`, `op` or `_op`, `data`,
`grad`, optionally `label`) can be drawn, so copies of the engine with a planted bug draw the same way.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["FORMATS", "GraphvizUnavailable", "dot_source", "render", "to_text"]

FORMATS = ("svg", "png", "pdf")
"""The picture formats `render` writes, chosen by the file's suffix."""

HIGHLIGHT = "red"

_INSTALL = (
    "install the Python package with `pip install graphviz` and Graphviz's `dot` program with "
    "`apt-get install graphviz` (macOS: `brew install graphviz`)"
)


class GraphvizUnavailable(RuntimeError):
    """The `graphviz` package or Graphviz's `dot` program is missing; the message says what to install."""


# --------------------------------------------------------------------------------------------------------
# Walking the graph
# --------------------------------------------------------------------------------------------------------


def _inputs(v: Any) -> tuple[Any, ...]:
    return tuple(getattr(v, "_prev", ()))


def _op_text(v: Any) -> str:
    op = getattr(v, "op", None) or getattr(v, "_op", None)
    return str(op) if op else "?"


def _number(x: object) -> str:
    try:
        return f"{float(x):.4g}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return repr(x)


def _topological(root: Any) -> list[Any]:
    """Every node under `root` once, inputs before the nodes that use them (iterative: any depth works)."""
    order: list[Any] = []
    done: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        inputs = _inputs(node)
        if expanded or not inputs:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(inputs) if id(child) not in done)
    return order


# --------------------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------------------

_MAX_INDENT = 40  # levels; deeper lines say their depth instead of being pushed off the screen


def to_text(root: Any, highlight: Iterable[Any] = ()) -> str:
    """The graph as indented text, the root first and each node's inputs below it, one level deeper.

    A node used more than once is shown in full the first time, marked `#k`, and referred to as `#k` after.
    Nodes in `highlight` are marked with `<-- highlighted`.

    >>> from autodiff import Value
    >>> x = Value(0.5, label="x")
    >>> t = x * x
    >>> print(to_text(t + t))
    + data=0.5 grad=0
      * #1 data=0.25 grad=0
        x #2 data=0.5 grad=0
        x #2 (shown above)
      * #1 (shown above)
    """
    marked = {id(v) for v in highlight}
    uses: dict[int, int] = {}
    for node in _topological(root):
        for child in _inputs(node):
            uses[id(child)] = uses.get(id(child), 0) + 1
    names: dict[int, str] = {}
    lines: list[str] = []
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        inputs = _inputs(node)
        label = getattr(node, "label", "") or ""
        head = (f"{_op_text(node)} {label}".strip() if inputs else label) or "leaf"
        indent = "  " * min(depth, _MAX_INDENT) + (f"[depth {depth}] " if depth > _MAX_INDENT else "")
        key = id(node)
        if key in names:
            lines.append(f"{indent}{head} {names[key]} (shown above)")
            continue
        tag = ""
        if uses.get(key, 0) > 1:
            names[key] = tag = f"#{len(names) + 1}"
        mark = "  <-- highlighted" if key in marked else ""
        text = f"{head} {tag}".strip()
        lines.append(f"{indent}{text} data={_number(node.data)} grad={_number(node.grad)}{mark}")
        stack.extend((child, depth + 1) for child in reversed(inputs))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------
# Graphviz
# --------------------------------------------------------------------------------------------------------


def _record(text: str) -> str:
    # Braces, bars and angle brackets structure a record label; a backslash escapes them.
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError:
        raise GraphvizUnavailable(f"drawing a graph needs the `graphviz` Python package: {_INSTALL}") from None
    return graphviz


def dot_source(root: Any, highlight: Iterable[Any] = (), rankdir: str = "LR") -> Any:
    """The graph as a `graphviz.Digraph` (needs the `graphviz` package, but not `dot`).

    Each Value is a record `{ label | data ... | grad ... }`; a Value made by an op gets a small node for the
    op, with an edge from each input to it and from it to the Value. Nodes in `highlight` are drawn in red.
    """
    graphviz = _graphviz()
    marked = {id(v) for v in highlight}
    graph = graphviz.Digraph(graph_attr={"rankdir": rankdir}, node_attr={"fontname": "Helvetica"})
    ids: dict[int, str] = {}
    for i, node in enumerate(_topological(root)):
        name = ids[id(node)] = f"v{i}"
        red = {"color": HIGHLIGHT, "fontcolor": HIGHLIGHT, "penwidth": "2.5"} if id(node) in marked else {}
        label = getattr(node, "label", "") or " "
        fields = (label, f"data {_number(node.data)}", f"grad {_number(node.grad)}")
        graph.node(name, label="{ " + " | ".join(_record(s) for s in fields) + " }", shape="record", **red)
        inputs = _inputs(node)
        if inputs:
            op = f"{name}op"
            graph.node(op, label=_op_text(node), shape="ellipse", width="0.3", height="0.3", **red)
            for child in inputs:
                graph.edge(ids[id(child)], op)
            graph.edge(op, name)
    return graph


def render(root: Any, path: str | Path, highlight: Iterable[Any] = (), rankdir: str = "LR") -> Path:
    """Draw the graph of `root` to `path` (its suffix picks the format: .svg, .png or .pdf) and return the path.

    Raises GraphvizUnavailable, saying what to install, when the `graphviz` package or the `dot` program is
    missing (`to_text` needs neither), and ValueError for a suffix it cannot write.
    """
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"cannot draw to {target.name!r}: the file name must end in one of .{', .'.join(FORMATS)}")
    graph = dot_source(root, highlight, rankdir)
    if shutil.which("dot") is None:
        raise GraphvizUnavailable(f"drawing a graph needs Graphviz's `dot` program, which is not on PATH: {_INSTALL}")
    graphviz = _graphviz()
    try:
        picture = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizUnavailable(f"Graphviz's `dot` program could not be run: {_INSTALL}") from None
    except graphviz.CalledProcessError as e:
        stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else str(e.stderr)
        raise RuntimeError(f"Graphviz's `dot` failed on this graph: {stderr.strip()}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(picture)
    return target
