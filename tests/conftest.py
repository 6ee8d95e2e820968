"""Shared fixtures for the tests of the engine and the command line."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's output is checked for phrases, not layout: a console 200 columns wide keeps rich
    from wrapping a phrase across lines, whatever the terminal (or the length of the checkout's path)."""
    monkeypatch.setenv("COLUMNS", "200")
