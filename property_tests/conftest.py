"""Hypothesis profiles, chosen with HYPOTHESIS_PROFILE: `dev` (default: quick), `ci` (derandomized, no
deadline, enough examples to matter) and `thorough` (thousands of examples; `tox -e fuzz`)."""

from __future__ import annotations

import pytest

from oracles.check import Checker
from property_tests.profiles import load_profile

load_profile()


@pytest.fixture(scope="session")
def checker() -> Checker:
    """The engine under three referees; one per test process, so the symbolic cache is shared."""
    return Checker()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List how each planted bug was caught (tests report it with `record_property("caught", ...)`) and how many
    expressions SymEngine was compared with SymPy on (`record_property("symengine", ...)`)."""
    sections = {
        "caught": "planted bugs: how the suite caught each",
        "symengine": "SymEngine against SymPy at 50 digits: expressions compared",
    }
    for key, title in sections.items():
        lines = [
            value
            for report in terminalreporter.stats.get("passed", [])
            for k, value in getattr(report, "user_properties", [])
            if k == key
        ]
        if lines:
            terminalreporter.section(title)
            for line in sorted(lines):
                terminalreporter.write_line(line)
