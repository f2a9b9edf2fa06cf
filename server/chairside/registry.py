"""The live dictations of this process, whatever their transport.

One registry holds every WebSocket connection and WebRTC peer that carries
(or is about to carry) a session: it enforces ``CHAIRSIDE_MAX_SESSIONS``,
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

    async def release(self) -> None:
        """The server is stopping: let go of the session and the connection."""


class SessionRegistry:
    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self._live: set[Live] = set()

    def __len__(self) -> int:
        return len(self._live)

    @property
    def full(self) -> bool:
        return len(self._live) >= self.max_sessions

    def add(self, connection: Live) -> None:
        """Count a connection in (the transport checked :attr:`full` first)."""
        self._live.add(connection)

    def discard(self, connection: Live) -> None:
        self._live.discard(connection)

    async def take_over(self, session_id: str, keep: Live | None = None) -> None:
        """A session resumed while its old connection is still open here (the
        network cut before the server noticed): the old one is closed, its
        journal entry ended before the new connection reopens it."""
        for other in list(self._live):
            if other is not keep and other.session is not None and other.session.id == session_id:
                await other.session.close()
                with contextlib.suppress(Exception):
                    await other.taken_over()

    async def release_all(self) -> None:
        await asyncio.gather(*(c.release() for c in list(self._live)), return_exceptions=True)
