"""Rooms: the live feed of a chair's dictation to every screen watching it,
on every replica.

**Writing.**  What a session in a room sends its dentist (partials, finals,
commands, drafts, documents, start and end) is appended to ``room_events``
with the room's next sequence number, in one transaction that also
``NOTIFY``-s the channel ``chairside_room_events`` with ``<room>:<seq>``
(ids only: a notification carries at most 8 kB, an event may not).  A
session's events are appended in order by one task (:class:`RoomPublisher`),
so the dictation never waits for the database or for a screen.

**Fan-out.**  Every replica listens on the channel (:class:`RoomHub`).  When
a room it has screens for moves on, it reads the new rows once and offers
them to each screen's bounded queue.  A screen that falls too far behind
(its queue full: a frozen tab, a slow link) is not waited for: its queue is
dropped and it gets a fresh snapshot instead.

**Snapshot and catch-up** (:func:`snapshot`, :func:`replay`): a screen
that connects gets the room's current session as it stands at sequence S
(transcript, drafts, documents), then the events after S.  A screen that
reconnects with the last sequence number it saw gets exactly the events it
missed, in order, from the table, when they are still all there; else a
snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass, field

import asyncpg

from . import events as ev
from .store import rooms as room_log
from .store.rooms import CHANNEL

log = logging.getLogger(__name__)

MAX_REPLAY = 2000  # a screen further behind than this gets a snapshot
# What a room's screens are told of a session (connection-specific events are not: vad, errors).
SHARED = (ev.Partial, ev.Final, ev.Command, ev.Hint, ev.DraftUpdated, ev.WarningEvent, ev.DocumentReady)


class RoomPublisher:
    """One session's events, appended to its room's log in order, off the
    session's own path (a slow database delays screens, not the dentist)."""

    def __init__(self, pool: asyncpg.Pool, room_id: str, session_id: str) -> None:
        self.pool = pool
        self.room_id = room_id
        self.session_id = session_id
        self._queue: asyncio.Queue[dict | None] = asyncio.Queue()
        self._opened: asyncio.Future | None = None
        self._task = asyncio.create_task(self._run(), name=f"room-{session_id[:8]}")

    def after(self, opened: asyncio.Future) -> None:
        """Write nothing before the session's own row exists."""
        self._opened = opened

    def publish(self, event: dict) -> None:
        self._queue.put_nowait({**event, "session_id": self.session_id})

    async def close(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._task), timeout=10)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while (event := await self._queue.get()) is not None:
            if self._opened is not None:
                with contextlib.suppress(Exception):  # its failure is the session's to report
                    await self._opened
            try:
                await room_log.append(self.pool, self.room_id, self.session_id, event)
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
        await room_log.append(pool, room_id, session_id, {**event.model_dump(mode="json"), "session_id": session_id})
    return len(missing)


def room_event(event: ev.ServerEvent) -> dict | None:
    """What the room's screens get of a session's event (None: nothing)."""
    if isinstance(event, ev.Final) and not event.text:
        return None  # nothing was said (the journal keeps no empty final either)
    if isinstance(event, SHARED):
        return event.model_dump(mode="json")
    if isinstance(event, ev.Closed):
        return {"type": "session.ended", "reason": event.reason, "utterances": event.utterances}
    return None


# -- snapshots ---------------------------------------------------------------------


async def snapshot(pool: asyncpg.Pool, room_id: uuid.UUID) -> dict:
    """The room's latest session as of one sequence number, read in one
    consistent (repeatable-read) transaction."""
    room, session, events = await room_log.snapshot_rows(pool, room_id.hex)
    return {"type": "snapshot", "seq": room["last_seq"], "room": {"id": room["id"], "name": room["name"]},
            "session": None if session is None else _session_state(session, events)}


def _session_state(session: asyncpg.Record, events: list[dict]) -> dict:
    transcript: list[dict] = []
    drafts: dict[str, dict] = {}
    documents: dict[tuple[str, int], dict] = {}
    for e in events:
        if e["type"] == "final" and e["text"]:
            transcript.append({k: e[k] for k in ("utterance", "text", "start", "end", "source", "end_of_utterance")})
        elif e["type"] == "draft.updated":
            drafts[e["draft"]["id"]] = e["draft"]
        elif e["type"] == "document.ready" and e["status"] == "validated":
            documents[(e["document_id"], e["version"])] = {k: v for k, v in e.items() if k not in ("type", "session_id", "print")}
    patient = None if session["patient_id"] is None else {
        "id": session["patient_id"], "code": session["code"], "last_name": session["last_name"], "first_name": session["first_name"]}
    return {"id": session["id"], "language": session["language"], "practitioner": session["practitioner"], "patient": patient,
            "started_at": session["started_at"].isoformat(), "ended_at": session["ended_at"].isoformat() if session["ended_at"] else None,
            "transcript": transcript, "drafts": [d for d in drafts.values() if d["status"] != "discarded"],
            "documents": list(documents.values())}


async def replay(pool: asyncpg.Pool, room_id: uuid.UUID, after: int) -> list[dict] | None:
    """The events after ``after``, in order, if every one of them is still
    there and there are not too many; else None (send a snapshot)."""
    last = await room_log.last_seq(pool, room_id.hex)
    if after > last or last - after > MAX_REPLAY:
        return None
    rows = await room_log.events_between(pool, room_id.hex, after, last)
    if len(rows) != last - after:  # erased meanwhile (a patient's erasure): the screen starts afresh
        return None
    return [_wire(r["seq"], r["event"]) for r in rows]


def _wire(seq: int, event: dict) -> dict:
    return {**event, "seq": seq}


# -- fan-out -------------------------------------------------------------------------


@dataclass(eq=False)
class Screen:
    """One watching connection: a bounded queue of events to send."""

    room_id: uuid.UUID
    max_queue: int
    last_seq: int = 0  # the last sequence number this screen has (sent or in its snapshot)
    queue: asyncio.Queue = field(init=False)
    behind: bool = False  # its queue overflowed: it needs a snapshot, not the next events

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.max_queue)

    def offer(self, event: dict) -> None:
        if self.behind:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.behind = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)  # wakes the sender: send a snapshot


class RoomHub:
    """This replica's screens, fed from ``room_events`` when PostgreSQL
    notifies that a room moved on (whichever replica wrote it)."""

    def __init__(self, pool: asyncpg.Pool, max_queue: int) -> None:
        self.pool = pool
        self.max_queue = max_queue
        self.screens: dict[uuid.UUID, set[Screen]] = {}
        self._seen: dict[uuid.UUID, int] = {}  # the last seq read for each watched room
        self._pumps: dict[uuid.UUID, asyncio.Task] = {}
        self._again: set[uuid.UUID] = set()
        self._conn: asyncpg.Connection | None = None
        self._reconnect: asyncio.Task | None = None
        self._closing = False

    async def start(self) -> None:
        self._conn = await self.pool.acquire()  # held: LISTEN lives on one connection
        self._conn.add_termination_listener(self._lost)
        await self._conn.add_listener(CHANNEL, self._notified)

    async def close(self) -> None:
        self._closing = True
        for task in [*self._pumps.values(), *([self._reconnect] if self._reconnect else [])]:
            task.cancel()
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.remove_listener(CHANNEL, self._notified)
            await self.pool.release(self._conn)

    async def watch(self, screen: Screen) -> None:
        """Start offering a room's new events to a screen (before its snapshot
        is read: what the snapshot already holds is skipped by sequence)."""
        room = screen.room_id
        if room not in self.screens:
            seen = await room_log.last_seq(self.pool, room.hex) or 0
            if room not in self.screens:  # no other screen of the room got here during the query
                self.screens[room] = set()
                self._seen[room] = seen
        self.screens[room].add(screen)

    def leave(self, screen: Screen) -> None:
        screens = self.screens.get(screen.room_id)
        if screens is not None:
            screens.discard(screen)
            if not screens:
                del self.screens[screen.room_id]
                self._seen.pop(screen.room_id, None)

    def _notified(self, conn, pid, channel, payload: str) -> None:
        room_hex, _, seq = payload.partition(":")
        with contextlib.suppress(ValueError):
            room = uuid.UUID(hex=room_hex)
            if room in self.screens and int(seq) > self._seen.get(room, 0):
                self._pump(room)

    def _pump(self, room: uuid.UUID) -> None:
        if room in self._pumps:
            self._again.add(room)  # read again when the running read ends
        else:
            self._pumps[room] = asyncio.create_task(self._read(room), name=f"hub-{room.hex[:8]}")

    async def _read(self, room: uuid.UUID) -> None:
        try:
            while True:
                self._again.discard(room)
                if room not in self.screens:
                    return
                rows = await room_log.events_after(self.pool, room.hex, self._seen[room], 500)
                for row in rows:
                    event = _wire(row["seq"], row["event"])
                    for screen in list(self.screens.get(room, ())):
                        screen.offer(event)
                if rows and room in self._seen:
                    self._seen[room] = rows[-1]["seq"]
                if len(rows) < 500 and room not in self._again:
                    return
        except Exception:
            log.exception("room %s: reading new events failed", room.hex[:8])
        finally:
            self._pumps.pop(room, None)

    def _lost(self, conn) -> None:
        if not self._closing:
            log.warning("room events: the LISTEN connection was lost; reconnecting")
            self._reconnect = asyncio.get_running_loop().create_task(self._relisten())

    async def _relisten(self) -> None:
        delay = 0.5
        while not self._closing:
            try:
                with contextlib.suppress(Exception):
                    await self.pool.release(self._conn)
                await self.start()
                for room in list(self.screens):  # what was written meanwhile
                    self._pump(room)
                return
            except Exception as exc:
                log.warning("room events: reconnecting failed (%s); retrying in %.1f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)


def dumps(event: dict) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
