"""What a screen is sent when it (re)connects: a snapshot of the room's
latest session as of one sequence number, or exactly the events it missed."""

from __future__ import annotations

import asyncpg

from .. import events as ev
from ..record.draft import Draft
from ..store import rooms as room_log

MAX_REPLAY = 2000  # a screen further behind than this gets a snapshot


async def snapshot(pool: asyncpg.Pool, room_id: str, reason: str = "connect") -> ev.Snapshot:
    """The room's latest session as of one sequence number, read in one
    consistent (repeatable-read) transaction."""
    room, session, events = await room_log.snapshot_rows(pool, room_id)
    return ev.Snapshot(seq=room["last_seq"], room=ev.RoomRef(id=room["id"], name=room["name"]),
                       session=None if session is None else _session_state(session, events), reason=reason)


def _session_state(session: asyncpg.Record, events: list[dict]) -> ev.SessionState:
    transcript: list[ev.TranscriptLine] = []
    drafts: dict[str, Draft] = {}
    documents: dict[tuple[str, int], ev.RoomDocument] = {}
    for e in events:
        if e["type"] == "final" and e["text"]:
            transcript.append(ev.TranscriptLine(**{k: e[k] for k in ev.TranscriptLine.model_fields}))
        elif e["type"] == "draft.updated":
            drafts[e["draft"]["id"]] = Draft.model_validate(e["draft"])
        elif e["type"] == "document.ready" and e["status"] == "validated":
            documents[(e["document_id"], e["version"])] = ev.RoomDocument(**{k: e[k] for k in ev.RoomDocument.model_fields})
    patient = None if session["patient_id"] is None else ev.PatientRef(
        id=session["patient_id"], code=session["code"], last_name=session["last_name"], first_name=session["first_name"])
    return ev.SessionState(
        id=session["id"], language=session["language"], practitioner=session["practitioner"], patient=patient,
        started_at=session["started_at"].isoformat(), ended_at=session["ended_at"].isoformat() if session["ended_at"] else None,
        transcript=transcript, drafts=[d for d in drafts.values() if d.status != "discarded"], documents=list(documents.values()))


async def replay(pool: asyncpg.Pool, room_id: str, after: int) -> list[dict] | None:
    """The events after ``after``, in order, as screens get them, if every
    one of them is still there and there are not too many; else None (send a
    snapshot)."""
    last = await room_log.last_seq(pool, room_id)
    if last is None or after > last or last - after > MAX_REPLAY:
        return None
    rows = await room_log.events_between(pool, room_id, after, last)
    if len(rows) != last - after:  # erased meanwhile (a patient's erasure): the screen starts afresh
        return None
    return [ev.in_room(r["seq"], r["event"]) for r in rows]
