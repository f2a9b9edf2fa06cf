"""This replica's screens, fed from the room's log when PostgreSQL notifies
that a room moved on (whichever replica wrote it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field

import asyncpg

from .. import events as ev
from .. import metrics
from ..store import rooms as room_log
from ..store.rooms import CHANNEL

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Screen:
    """One watching connection: a bounded queue of events to send."""

    room_id: str
    max_queue: int
    user_id: str = ""  # who watches: the caps per user and per practice (RoomHub.admit)
    clinic_id: str = ""
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

    def __init__(self, pool: asyncpg.Pool, max_queue: int, max_screens: int = 0, per_user: int = 0, per_practice: int = 0) -> None:
        self.pool = pool
        self.max_queue = max_queue
        self.max_screens, self.per_user, self.per_practice = max_screens, per_user, per_practice
        self.admitted: set[Screen] = set()  # every screen of this replica, from admit to leave
        self.screens: dict[str, set[Screen]] = {}
        self._seen: dict[str, int] = {}  # the last seq read for each watched room
        self._pumps: dict[str, asyncio.Task] = {}
        self._again: set[str] = set()
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

    def admit(self, screen: Screen) -> str | None:
        """Take a place for an authenticated screen (no await: two screens
        cannot both take the last place); why not, when refused: ``user``,
        ``practice`` (their caps) or ``server`` (full).  :meth:`leave` gives it back."""
        if self.per_user and sum(s.user_id == screen.user_id for s in self.admitted) >= self.per_user:
            return "user"
        if self.per_practice and sum(s.clinic_id == screen.clinic_id for s in self.admitted) >= self.per_practice:
            return "practice"
        if self.max_screens and len(self.admitted) >= self.max_screens:
            return "server"
        self.admitted.add(screen)
        return None

    async def watch(self, screen: Screen) -> None:
        """Start offering a room's new events to a screen (before its snapshot
        is read: what the snapshot already holds is skipped by sequence)."""
        room = screen.room_id
        if room not in self.screens:
            seen = await room_log.last_seq(self.pool, room) or 0
            if room not in self.screens:  # no other screen of the room got here during the query
                self.screens[room] = set()
                self._seen[room] = seen
        self.screens[room].add(screen)

    def leave(self, screen: Screen) -> None:
        self.admitted.discard(screen)
        screens = self.screens.get(screen.room_id)
        if screens is not None:
            screens.discard(screen)
            if not screens:
                del self.screens[screen.room_id]
                self._seen.pop(screen.room_id, None)

    def _notified(self, conn, pid, channel, payload: str) -> None:
        room, _, seq = payload.partition(":")  # "<room>:<seq>" (store.rooms.append)
        with contextlib.suppress(ValueError):
            if room in self.screens and int(seq) > self._seen.get(room, 0):
                self._pump(room)

    def _pump(self, room: str) -> None:
        if room in self._pumps:
            self._again.add(room)  # read again when the running read ends
        else:
            self._pumps[room] = asyncio.create_task(self._read(room), name=f"hub-{room[:8]}")

    async def _read(self, room: str) -> None:
        try:
            while True:
                self._again.discard(room)
                if room not in self.screens:
                    return
                rows = await room_log.events_after(self.pool, room, self._seen[room], 500)
                for row in rows:
                    event = ev.in_room(row["seq"], row["event"])
                    for screen in list(self.screens.get(room, ())):
                        screen.offer(event)
                    metrics.ROOM_FANOUT_LAG.observe(max(0.0, row["age"]))
                if rows and room in self._seen:
                    self._seen[room] = rows[-1]["seq"]
                if len(rows) < 500 and room not in self._again:
                    return
        except Exception:
            log.exception("room %s: reading new events failed", room[:8])
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


def dumps(message: dict) -> str:
    """A screen's message as sent (compact JSON, UTF-8 text)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
