"""Hypothesis profiles: `dev` (quick, the default), `ci` (derandomized, no deadline, enough examples to
matter) and `thorough` (thousands of examples). HYPOTHESIS_PROFILE picks one."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["load_profile", "scaled"]

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=2_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def load_profile() -> None:
    """Load the profile named by HYPOTHESIS_PROFILE (default "dev")."""
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def scaled(examples: int) -> int:
    """`examples` under the ci profile, scaled to the profile in use: for tests costlier than most."""
    return max(5, examples * settings.default.max_examples // 100)
