"""Writing a session's events to its room's log, in order, off the session's
own path; and, when a session is resumed, what the log lacks."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from .. import events as ev
from ..store import rooms as room_log

log = logging.getLogger(__name__)


class RoomPublisher:
    """One session's feed to its room: a subscriber of the session's events
    that appends those the room's screens get (:func:`chairside.events.shared`)
    to the room's log, in order, from a task of its own (a slow database
    delays screens, not the dentist)."""

    def __init__(self, pool: asyncpg.Pool, room_id: str, session_id: str) -> None:
        self.pool = pool
        self.room_id = room_id
        self.session_id = session_id
        self._queue: asyncio.Queue[ev.RoomEntry | None] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    def offer(self, event: ev.SessionEvent) -> None:
        """One of the session's events (those the room does not get are dropped)."""
        if (shared := ev.shared(event)) is not None:
            if self._task is None:
                self._task = asyncio.create_task(self._run(), name=f"room-{self.session_id[:8]}")
            self._queue.put_nowait(ev.RoomEntry(session_id=self.session_id, event=shared))

    async def close(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._task), timeout=10)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while (entry := await self._queue.get()) is not None:
            try:
                await room_log.append(self.pool, self.room_id, self.session_id, entry.stored())
            except Exception:  # the dictation goes on; screens resynchronise from the journal
                log.exception("room %s: an event of session %s could not be written", self.room_id[:8], self.session_id[:8])


async def recover(pool: asyncpg.Pool, room_id: str, session_id: str) -> int:
    """Append to the room what a session committed but its room never got
    (the server died between the journal and the room's log): the journal's
    finals and draft changes past those the room has, in the order they were
    written.  Run when the session is resumed; the number appended."""
    finals, changes = await room_log.unsent(pool, room_id, session_id)
    missing = [(r["created_at"], ev.Final(utterance=r["utterance"], text=r["text"], words=r["words"], start=r["start_s"], end=r["end_s"],
                                          language=r["language"], end_of_utterance=r["end_of_utterance"], source=r["source"]))
               for r in finals]
    missing += [(r["created_at"], ev.DraftUpdated(utterance=r["utterance"], draft=r["draft"], change=r["change"])) for r in changes]
    for _, event in sorted(missing, key=lambda m: m[0]):
        await room_log.append(pool, room_id, session_id, ev.RoomEntry(session_id=session_id, event=event).stored())
    return len(missing)
