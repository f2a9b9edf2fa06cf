"""Ids: a UUID written as 32 lowercase hex digits (``uuid.UUID(...).hex``),
the one form Chairside speaks everywhere: in its API, its events, its
tokens, and to the database (the pool converts, ``store/db.py``).

Ids from outside (paths, query strings) are checked once, where they come
in, with :func:`is_id` or :func:`as_id`."""

from __future__ import annotations

import re
import uuid

_ID = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    """A new random id."""
    return uuid.uuid4().hex


def is_id(value: object) -> bool:
    """Whether ``value`` is an id as Chairside writes it (32 lowercase hex digits)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def as_id(value: str | None) -> str | None:
    """``value`` as an id, in any spelling of a UUID (upper case, hyphens,
    braces, ``urn:uuid:``); None when it is none."""
    try:
        return uuid.UUID(hex=value).hex
    except (ValueError, TypeError, AttributeError):
        return None
