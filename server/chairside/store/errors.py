"""What the store says of bad input: one error whose message says what is wrong."""

from __future__ import annotations


class AccountError(ValueError):
    """Bad input for an account, room or patient operation: the message says what."""


def first_error(exc: ValueError) -> str:
    """The first thing a (pydantic) validation error found, in words."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        e = errors()[0]
        return f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
    return str(exc)
