"""Logs carry no patient data.

Chairside's own messages name sessions, documents and patients by id or
number only.  Two library logs would carry more, and are filtered here:
the WebSocket frame trace (at debug level, the start of every transcript
sent) and the access log's query strings (``/v1/patients?q=<a name>``).
``tests/test_patients.py`` reads a whole debug-level log for a patient's
name and words.
"""

from __future__ import annotations

import logging


class NoFrames(logging.Filter):
    """Drops the websockets library's frame trace ("> TEXT '{…}'")."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in ("< %s", "> %s")


class NoQueryStrings(logging.Filter):
    """Keeps the path of an access-log line, not its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (args[0], args[1], args[2].split("?", 1)[0] + "?…", args[3], args[4])
        return True


def quiet_libraries() -> None:
    """Library loggers that say too much (called by ``chairside serve``)."""
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every decode
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # it logs every step of every PDF
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # every command it runs, at start-up


def protect() -> None:
    """Install the filters (idempotent; called when the application starts,
    after the server configured its logging)."""
    for name, kind in (("uvicorn.error", NoFrames), ("websockets", NoFrames), ("uvicorn.access", NoQueryStrings)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
