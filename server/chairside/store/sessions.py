"""Dictation sessions as the API reads them: a practice's sessions, one
session, a patient's sessions.  (A session's own writes, and its utterances
and drafts, are the journal's: :mod:`.journal`.)"""

from __future__ import annotations

import asyncpg

async def sessions_of(pool: asyncpg.Pool, clinic_id: str, room_id: str | None, patient_id: str | None,
                      limit: int) -> list[asyncpg.Record]:
    """The clinic's latest sessions (in a room, of a patient): id, language,
    started_at, ended_at, end_reason, room_id, user_id, patient_id and their
    number of utterances."""
    return await pool.fetch(
        "SELECT s.id, s.language, s.started_at, s.ended_at, s.end_reason, s.room_id, s.user_id, s.patient_id,"
        " (SELECT count(*) FROM utterances u WHERE u.session_id = s.id) AS utterances FROM dictation_sessions s"
        " WHERE s.clinic_id = $1 AND ($2::uuid IS NULL OR s.room_id = $2) AND ($3::uuid IS NULL OR s.patient_id = $3)"
        " ORDER BY s.started_at DESC LIMIT $4", clinic_id, room_id, patient_id, limit)


async def session_of(pool: asyncpg.Pool, clinic_id: str, session_id: str) -> asyncpg.Record | None:
    """One of the clinic's sessions (all its columns) with its number of utterances; None if there is no such session."""
    return await pool.fetchrow(
        "SELECT s.*, (SELECT count(*) FROM utterances u WHERE u.session_id = s.id) AS utterances FROM dictation_sessions s"
        " WHERE s.id = $1 AND s.clinic_id = $2", session_id, clinic_id)


async def sessions_of_patient(pool: asyncpg.Pool, patient_id: str) -> list[asyncpg.Record]:
    """A patient's sessions, oldest first (all columns, with the room's name
    as room and the practitioner's as practitioner)."""
    return await pool.fetch(
        "SELECT s.*, r.name AS room, u.name AS practitioner FROM dictation_sessions s LEFT JOIN rooms r ON r.id = s.room_id"
        " LEFT JOIN users u ON u.id = s.user_id WHERE s.patient_id = $1 ORDER BY s.started_at", patient_id)
