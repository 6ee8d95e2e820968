"""Every term of every allowed error is necessary (issue 14): for each one, a case where the real error of a
correct float64 engine (or of a referee) exceeds what is allowed without that term, so that dropping it fails a
correct engine. The cases were found by dropping each term in turn (benchmarks/oracle_mutation.py) and searching
for the false alarm that follows; each test names the term it pins."""

from __future__ import annotations

import pytest

from oracles.check import Checker
from oracles.expr import parse

# (the term, the referees to use, expression, point): the correct engine must be verified here.
NEEDS = [
    # Richardson's spread: log's curvature at 1e-4 makes finite differences off by 1e-6, while the float64
    # bound and the rounding of the stencil allow 1e-8 between them.
    ("FD truncation", ("fd",), "log(x)", {"x": 1e-4}),
    # The rounding of f on the stencil, amplified by the stencil's weights (~1/h).
    ("FD rounding", ("fd",), "x * x", {"x": -0.1399008809453517}),
    # The engine's own float64 error, against the exact gradient and value, and against PyTorch's float64
    # gradient and value (twice the bound: both are off).
    ("float64 bound", ("sympy",), "exp(y)", {"y": 0.5}),
    ("float64 bound", ("sympy",), "x * x", {"x": -0.1399008809453517}),
    ("float64 bound", ("torch",), "tanh(exp(z))", {"z": 1.9845239164871673}),
    ("float64 bound", ("torch",), "tanh(tanh(x))", {"x": 0.02792374969229572}),
]


@pytest.mark.parametrize(("term", "referees", "text", "point"), NEEDS, ids=[f"{c[0]}-{c[1][0]}-{c[2]}" for c in NEEDS])
def test_the_term_is_needed_here(term: str, referees: tuple[str, ...], text: str, point: dict[str, float]) -> None:
    verdict = Checker(referees=referees).check(parse(text), point)
    assert verdict.verified, verdict.summary()
    # ... and it is this term that carries the allowed error where it matters.
    rows = [r for r in verdict.rows if r.status == "ok" and term in r.terms]
    assert rows, [r.terms for r in verdict.rows]
    assert any(r.error is not None and r.error > r.allowed - r.terms[term] for r in rows), [
        (r.error, r.terms) for r in rows
    ]
