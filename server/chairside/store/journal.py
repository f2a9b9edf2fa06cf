"""The session journal: what a session commits, written before it is sent.

A final utterance and every draft change are inserted (and committed) before
the event that announces them is queued for any client, so whatever a
client received survives a crash of the server (`tests/test_durability.py`
kills it with SIGKILL mid-dictation).  Partials are not committed text and
are not kept.
"""

from __future__ import annotations

import uuid

import asyncpg


class Journal:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def open_session(self, session_id: str, language: str, context: dict) -> None:
        await self.pool.execute("INSERT INTO dictation_sessions (id, language, context) VALUES ($1, $2, $3)",
                                uuid.UUID(hex=session_id), language, context)

    async def close_session(self, session_id: str, reason: str) -> None:
        await self.pool.execute("UPDATE dictation_sessions SET ended_at = now(), end_reason = $2 WHERE id = $1",
                                uuid.UUID(hex=session_id), reason)

    async def final(self, session_id: str, *, utterance: int, source: str, text: str, words: list[dict],
                    start: float, end: float, language: str, end_of_utterance: bool) -> None:
        await self.pool.execute(
            "INSERT INTO utterances (session_id, utterance, source, text, words, start_s, end_s, language, end_of_utterance)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            uuid.UUID(hex=session_id), utterance, source, text, words, start, end, language, end_of_utterance)

    async def draft_change(self, session_id: str, utterance: int | None, draft: dict, change: dict) -> None:
        await self.pool.execute(
            "INSERT INTO draft_changes (session_id, utterance, document_id, kind, version, status, change, draft)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            uuid.UUID(hex=session_id), utterance, uuid.UUID(hex=draft["id"]), draft["kind"], draft["version"],
            draft["status"], change, draft)
