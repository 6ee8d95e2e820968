"""Hypothesis strategies for random expressions and points, and the property tests that check every gradient
three ways."""
