"""The session journal: what a session commits, written before it is sent.

A final utterance and every draft change are inserted (and committed) before
the event that announces them is queued for any client, so whatever a
client received survives a crash of the server (`tests/test_durability.py`
kills it with SIGKILL mid-dictation).  Partials are not committed text and
are not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg

from ..record.context import DocumentContext
from ..record.draft import Draft

if TYPE_CHECKING:
    from ..record.versions import Owner


def confidence(words: list[dict]) -> float | None:
    """An utterance's confidence: the mean probability of its words (None
    without words: typed text)."""
    return round(sum(w["probability"] for w in words) / len(words), 4) if words else None


class SessionErased(Exception):
    """The session's rows are gone: its patient was erased meanwhile."""


@dataclass(frozen=True)
class Resumed:
    """What an interrupted session had committed: enough to go on."""

    session_id: str
    utterances: int  # the last utterance number used
    draft: Draft | None  # the draft as last announced
    patient_id: str | None
    room_id: str | None
    context: DocumentContext  # as printed on its documents


class Journal:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def open_session(self, session_id: str, language: str, context: dict, owner: "Owner") -> None:
        await self.pool.execute(
            "INSERT INTO dictation_sessions (id, language, context, clinic_id, user_id, room_id, patient_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)", session_id, language, context,
            owner.clinic_id, owner.user_id, owner.room_id, owner.patient_id)

    async def resumable(self, session_id: str, user_id: str) -> Resumed | None:
        """A session of this user that did not end with a ``stop`` (the
        server died, or the connection did), with what it had committed."""
        row = await self.pool.fetchrow(
            "SELECT * FROM dictation_sessions WHERE id = $1 AND user_id = $2 AND (end_reason IS NULL OR end_reason <> 'stop')",
            session_id, user_id)
        if row is None:
            return None
        last = await self.pool.fetchval(
            "SELECT greatest((SELECT max(utterance) FROM utterances WHERE session_id = $1),"
            " (SELECT max(utterance) FROM draft_changes WHERE session_id = $1))", row["id"])
        draft = await self.pool.fetchval("SELECT draft FROM draft_changes WHERE session_id = $1 ORDER BY id DESC LIMIT 1", row["id"])
        return Resumed(session_id, last or 0, None if draft is None else Draft.model_validate(draft), row["patient_id"],
                       row["room_id"], DocumentContext.model_validate(row["context"]))

    async def utterances(self, session_id: str) -> list[asyncpg.Record]:
        """A session's finals, in the order they were said."""
        return await self.pool.fetch("SELECT * FROM utterances WHERE session_id = $1 ORDER BY id", session_id)

    async def drafts(self, session_id: str) -> list[dict]:
        """Each of a session's drafts as it was last announced."""
        rows = await self.pool.fetch("SELECT DISTINCT ON (document_id) draft FROM draft_changes WHERE session_id = $1"
                                     " ORDER BY document_id, id DESC", session_id)
        return [r["draft"] for r in rows]

    async def reopen_session(self, session_id: str) -> None:
        await self.pool.execute("UPDATE dictation_sessions SET ended_at = NULL, end_reason = NULL WHERE id = $1", session_id)

    async def close_session(self, session_id: str, reason: str) -> None:
        await self.pool.execute("UPDATE dictation_sessions SET ended_at = now(), end_reason = $2 WHERE id = $1", session_id, reason)

    async def final(self, session_id: str, *, utterance: int, source: str, text: str, words: list[dict],
                    start: float, end: float, language: str, end_of_utterance: bool) -> None:
        await self._insert(
            "INSERT INTO utterances (session_id, utterance, source, text, words, start_s, end_s, language, end_of_utterance, confidence)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            session_id, utterance, source, text, words, start, end, language, end_of_utterance, confidence(words))

    async def draft_change(self, session_id: str, utterance: int | None, draft: Draft, change: dict) -> None:
        await self._insert(
            "INSERT INTO draft_changes (session_id, utterance, document_id, kind, version, status, change, draft)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            session_id, utterance, draft.id, draft.kind, draft.version, draft.status, change, draft.as_dict())

    async def _insert(self, query: str, *args) -> None:
        try:
            await self.pool.execute(query, *args)
        except asyncpg.ForeignKeyViolationError as exc:  # the only reference an insert here can miss is the session
            raise SessionErased("this session's patient was erased; the session cannot go on") from exc
