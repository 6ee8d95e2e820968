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
    """List how each planted bug was caught (tests report it with `record_property("caught", ...)`)."""
    lines = [
        value
        for report in terminalreporter.stats.get("passed", [])
        for key, value in getattr(report, "user_properties", [])
        if key == "caught"
    ]
    if lines:
        terminalreporter.section("planted bugs: how the suite caught each")
        for line in sorted(lines):
            terminalreporter.write_line(line)
