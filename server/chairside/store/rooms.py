"""Rooms (a practice's chairs) and each room's event log.

The log is ``room_events``: what a session in the room sent its dentist,
numbered by the room's sequence (``rooms.last_seq``).  :func:`append`
writes one event with the room's next number and ``NOTIFY``-s
:data:`CHANNEL` with ``<room>:<seq>`` in the same transaction; the rest
reads the log back (after a sequence number, for a snapshot, for the
recovery of what a session committed but its room never got).  What the
events mean is :mod:`chairside.rooms`' business.
"""

from __future__ import annotations

import asyncpg

from ..record.ids import new_id
from .errors import AccountError

CHANNEL = "chairside_room_events"


# -- rooms of a practice -----------------------------------------------------------


async def create_room(pool: asyncpg.Pool, clinic_id: str, name: str) -> str:
    room_id = new_id()
    try:
        await pool.execute("INSERT INTO rooms (id, clinic_id, name) VALUES ($1, $2, $3)", room_id, clinic_id, name)
    except asyncpg.UniqueViolationError as exc:
        raise AccountError(f"name: the clinic has a room named {name!r} already") from exc
    return room_id


async def rename_room(pool: asyncpg.Pool, clinic_id: str, room_id: str, name: str) -> bool:
    """Rename a room of this clinic; False if there is no such room."""
    try:
        done = await pool.fetchval("UPDATE rooms SET name = $3 WHERE id = $1 AND clinic_id = $2 RETURNING id", room_id, clinic_id, name)
    except asyncpg.UniqueViolationError as exc:
        raise AccountError(f"name: the clinic has a room named {name!r} already") from exc
    return done is not None


async def rooms_of(pool: asyncpg.Pool, clinic_id: str) -> list[asyncpg.Record]:
    """A clinic's rooms by name (id, name, last_seq), with whether a session is live in each (live)."""
    return await pool.fetch(
        "SELECT r.id, r.name, r.last_seq, EXISTS (SELECT 1 FROM dictation_sessions s WHERE s.room_id = r.id AND s.ended_at IS NULL) AS live"
        " FROM rooms r WHERE r.clinic_id = $1 ORDER BY r.name", clinic_id)


async def in_clinic(pool: asyncpg.Pool, room_id: str, clinic_id: str) -> bool:
    """Whether the room is one of this clinic's."""
    return bool(await pool.fetchval("SELECT 1 FROM rooms WHERE id = $1 AND clinic_id = $2", room_id, clinic_id))


# -- the event log -------------------------------------------------------------------


async def append(pool: asyncpg.Pool, room_id: str, session_id: str, event: dict) -> int:
    """Write one event of a room; its sequence number."""
    async with pool.acquire() as conn, conn.transaction():
        seq = await conn.fetchval("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", room_id)
        await conn.execute("INSERT INTO room_events (room_id, seq, session_id, type, event) VALUES ($1, $2, $3, $4, $5)",
                           room_id, seq, session_id, event["type"], event)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{room_id}:{seq}")
    return seq


async def last_seq(pool: asyncpg.Pool, room_id: str) -> int | None:
    """The room's last sequence number (None: no such room)."""
    return await pool.fetchval("SELECT last_seq FROM rooms WHERE id = $1", room_id)


async def events_between(pool: asyncpg.Pool, room_id: str, after: int, last: int) -> list[asyncpg.Record]:
    """The events (seq, event) numbered after ``after`` up to ``last``, in order (fewer if some were erased)."""
    return await pool.fetch("SELECT seq, event FROM room_events WHERE room_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
                            room_id, after, last)


async def events_after(pool: asyncpg.Pool, room_id: str, after: int, limit: int) -> list[asyncpg.Record]:
    """At most ``limit`` events (seq, event, age: seconds since written, by
    the database's clock) numbered after ``after``, in order."""
    return await pool.fetch("SELECT seq, event, EXTRACT(EPOCH FROM clock_timestamp() - created_at)::float8 AS age"
                            " FROM room_events WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", room_id, after, limit)


async def snapshot_rows(pool: asyncpg.Pool, room_id: str) -> tuple[asyncpg.Record, asyncpg.Record | None, list[dict]]:
    """The room (id, name, last_seq), its latest session (with its
    practitioner's name and its patient: id, code, names) and that session's
    events but partials up to the room's last_seq, read in one consistent
    (repeatable-read) transaction."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        room = await conn.fetchrow("SELECT id, name, last_seq FROM rooms WHERE id = $1", room_id)
        session = await conn.fetchrow(
            "SELECT s.id, s.language, s.started_at, s.ended_at, s.end_reason, u.name AS practitioner,"
            " p.id AS patient_id, p.code, p.last_name, p.first_name FROM dictation_sessions s"
            " JOIN users u ON u.id = s.user_id LEFT JOIN patients p ON p.id = s.patient_id"
            " WHERE s.room_id = $1 ORDER BY s.started_at DESC LIMIT 1", room_id)
        rows = [] if session is None else await conn.fetch(
            "SELECT seq, event FROM room_events WHERE room_id = $1 AND session_id = $2 AND type <> 'partial' AND seq <= $3"
            " ORDER BY seq", room_id, session["id"], room["last_seq"])
    return room, session, [r["event"] for r in rows]


async def unsent(pool: asyncpg.Pool, room_id: str, session_id: str) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """What a session committed to its journal past what its room's log
    has: its utterances and its draft changes (all columns), each in the
    order they were written."""
    counts = await pool.fetchrow(
        "SELECT count(*) FILTER (WHERE type = 'final') AS finals, count(*) FILTER (WHERE type = 'draft.updated') AS changes"
        " FROM room_events WHERE room_id = $1 AND session_id = $2", room_id, session_id)
    finals = await pool.fetch("SELECT * FROM utterances WHERE session_id = $1 ORDER BY id OFFSET $2", session_id, counts["finals"])
    changes = await pool.fetch("SELECT * FROM draft_changes WHERE session_id = $1 ORDER BY id OFFSET $2", session_id, counts["changes"])
    return finals, changes
