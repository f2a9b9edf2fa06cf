"""Keeping only what is needed (issue 16): the retention job's SQL.

- **Partials** live in a room's log only as long as a reconnecting screen
  may need them to catch up exactly (``partial_retention_s``); the live feed
  shows every partial, the transcript keeps the finals (``utterances``).
- **A room's log** (``room_events``) is a feed, not a record: its events
  older than ``room_event_retention_days`` go (the transcripts and documents
  stay in their own tables).
- **Sessions with no patient** (a test, a dictation never attached to
  anyone) older than ``unattached_session_retention_days`` go with their
  transcript, draft changes, previews and room events; a document validated
  in one is kept, no longer linked to it.

One replica at a time runs it (a transaction-level advisory lock); each
purge that removed something is written to the audit trail with its counts.
"""

from __future__ import annotations

import asyncpg

from . import audit
from .db import affected

LOCK = 0x43_68_52_65_74  # pg advisory lock key: "ChRet"
SESSIONS_PER_RUN = 1000


async def purge(pool: asyncpg.Pool, *, partial_retention_s: float, room_event_retention_days: int,
                unattached_session_retention_days: int) -> dict[str, int] | None:
    """Delete what is past its retention (a 0 setting keeps forever); the
    counts, or None when another replica is purging."""
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK):
            return None
        counts = {"partials": 0, "room_events": 0, "sessions": 0, "utterances": 0, "draft_changes": 0, "previews": 0}
        if partial_retention_s > 0:
            counts["partials"] = affected(await conn.execute(
                "DELETE FROM room_events WHERE type = 'partial' AND created_at < now() - make_interval(secs => $1)",
                float(partial_retention_s)))
        if room_event_retention_days > 0:
            counts["room_events"] = affected(await conn.execute(
                "DELETE FROM room_events WHERE created_at < now() - make_interval(days => $1)", room_event_retention_days))
        if unattached_session_retention_days > 0:
            sessions = [r["id"] for r in await conn.fetch(
                "SELECT id FROM dictation_sessions WHERE patient_id IS NULL"
                " AND coalesce(ended_at, started_at) < now() - make_interval(days => $1) LIMIT $2",
                unattached_session_retention_days, SESSIONS_PER_RUN)]
            if sessions:
                counts["room_events"] += affected(await conn.execute(
                    "DELETE FROM room_events WHERE session_id = ANY($1::uuid[])", sessions))
                counts["utterances"] = affected(await conn.execute(
                    "DELETE FROM utterances WHERE session_id = ANY($1::uuid[])", sessions))
                counts["draft_changes"] = affected(await conn.execute(
                    "DELETE FROM draft_changes WHERE session_id = ANY($1::uuid[])", sessions))
                counts["previews"] = affected(await conn.execute(
                    "DELETE FROM document_previews WHERE session_id = ANY($1::uuid[])", sessions))
                await conn.execute("UPDATE documents SET session_id = NULL WHERE session_id = ANY($1::uuid[])", sessions)
                counts["sessions"] = affected(await conn.execute(
                    "DELETE FROM dictation_sessions WHERE id = ANY($1::uuid[])", sessions))
        if any(counts.values()):
            await audit.record(conn, action="retention.purge", details={
                **counts, "partial_retention_s": partial_retention_s, "room_event_retention_days": room_event_retention_days,
                "unattached_session_retention_days": unattached_session_retention_days})
        return counts
