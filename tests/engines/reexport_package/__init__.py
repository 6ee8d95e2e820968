"""A package whose engine lives in a private module; gradverify is pointed at the folder."""

from reexport_package._value import Value

__all__ = ["Value"]
