"""The live dictations of this process, whatever their transport.

One registry holds every WebSocket connection and WebRTC peer that carries
(or is about to carry) a session, admitted once its ``start`` is
authenticated (:meth:`SessionRegistry.admit`): it enforces
``CHAIRSIDE_MAX_SESSIONS`` and the caps per dentist and per practice,
finds the connection of a session resumed elsewhere (take-over) and
releases them all when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger(__name__)


class Live(Protocol):
    """A connection carrying a dictation."""

    session: "Session | None"

    async def taken_over(self) -> None:
        """Its session was resumed on another connection: close this one."""

    async def finish(self) -> None:
        """The server is stopping: end the utterance being spoken, send every
        final and ``closed`` (reason ``shutdown``), then close (resumable)."""

    async def release(self) -> None:
        """The server is stopping: let go of the session and the connection."""


class SessionRegistry:
    def __init__(self, max_sessions: int, per_user: int = 0, per_practice: int = 0) -> None:
        self.max_sessions = max_sessions
        self.per_user, self.per_practice = per_user, per_practice
        self._live: dict[Live, tuple[str, str]] = {}  # each admitted connection → its (user, practice)

    def __len__(self) -> int:
        return len(self._live)

    def admit(self, connection: Live, user_id: str, clinic_id: str, busy: bool = False) -> str | None:
        """Take a slot for the authenticated ``start`` of this dentist (no
        await: two starts cannot both take the last slot); why not, when
        refused: ``server`` (full, or ``busy``: the recognizer is behind),
        ``practice`` or ``user`` (their cap)."""
        if connection in self._live:
            return None
        owners = self._live.values()
        if self.per_user and sum(user == user_id for user, _ in owners) >= self.per_user:
            return "user"  # said first: the dentist can do something about it
        if self.per_practice and sum(clinic == clinic_id for _, clinic in owners) >= self.per_practice:
            return "practice"
        if len(self._live) >= self.max_sessions or (busy and self._live):
            return "server"
        self._live[connection] = (user_id, clinic_id)
        return None

    def discard(self, connection: Live) -> None:
        self._live.pop(connection, None)

    async def take_over(self, session_id: str, keep: Live | None = None) -> None:
        """A session resumed while its old connection is still open here (the
        network cut before the server noticed): the old one is closed, its
        journal entry ended before the new connection reopens it."""
        for other in list(self._live):
            if other is not keep and other.session is not None and other.session.id == session_id:
                await other.session.close()
                with contextlib.suppress(Exception):
                    await other.taken_over()

    async def finish_all(self, timeout_s: float) -> None:
        """The server is stopping (SIGTERM): every session finishes what was
        said, within ``timeout_s``; what is left then is abandoned (resumable)."""
        live = list(self._live)
        if not live:
            return
        log.info("shutdown: finishing %d session(s)", len(live))
        done, pending = await asyncio.wait([asyncio.create_task(c.finish()) for c in live], timeout=timeout_s)
        for task in done:
            if task.exception() is not None:
                log.warning("shutdown: a session could not finish (%s)", type(task.exception()).__name__)
        if pending:
            log.warning("shutdown: %d session(s) not finished within %g s", len(pending), timeout_s)

    async def release_all(self) -> None:
        await asyncio.gather(*(c.release() for c in list(self._live)), return_exceptions=True)
