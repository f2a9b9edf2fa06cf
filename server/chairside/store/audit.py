"""The audit trail: a tamper-evident, append-only, hash-chained record of who
read, exported, validated or erased what.

An event holds ids and counts only (the clinic, the user and their role, the
subject, the patient, a small ``details`` object): never a patient's name
nor dictated or transcribed text, because the trail is kept after a patient
is erased and must not keep them alive.

Event ``n`` stores ``hash = sha256(prev_hash + canonical JSON of its
fields)`` where ``prev_hash`` is the hash of event ``n - 1`` (64 zeros for
event 1), and ``audit_head`` holds the last id and hash.  The database
refuses UPDATE, DELETE and TRUNCATE (migration 0005); :func:`verify` finds
what was done anyway with the triggers disabled: an altered event, a missing
one, a head that does not match the last event.  It cannot tell a chain
rewritten end to end, head included, from the real one: for that, keep the
head hash somewhere else from time to time.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import asyncpg

LOCK_KEY = 0x41554454  # "AUDT": serializes appends across processes (migrations use 0x43484149)
GENESIS = "0" * 64
PAGE = 1000  # rows fetched at a time by verify


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode()).hexdigest()


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _hex(value: Any) -> str | None:
    """A UUID as Chairside writes ids (32 hex digits), whatever form it came in."""
    if value is None:
        return None
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(hex=value).hex


async def record(conn: asyncpg.Connection | asyncpg.Pool, *, action: str, clinic_id: str | None = None,
                 actor_id: str | None = None, actor_role: str | None = None, subject_type: str | None = None,
                 subject_id: str | None = None, patient_id: str | None = None, details: dict | None = None) -> int:
    """Append an event; its id.

    On a connection already in a transaction the event is part of it: it
    commits or rolls back with the action it records.  Appends are
    serialized until that transaction ends, so record late in it.
    """
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as acquired:
            return await record(acquired, action=action, clinic_id=clinic_id, actor_id=actor_id, actor_role=actor_role,
                                subject_type=subject_type, subject_id=subject_id, patient_id=patient_id, details=details)
    fields = {"action": action, "clinic_id": _hex(clinic_id), "actor_id": _hex(actor_id), "actor_role": actor_role,
              "subject_type": subject_type, "subject_id": subject_id, "patient_id": _hex(patient_id)}
    if conn.is_in_transaction():
        return await _append(conn, fields, details or {})
    async with conn.transaction():
        return await _append(conn, fields, details or {})


async def _append(conn: asyncpg.Connection, fields: dict[str, Any], details: dict) -> int:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
    # details go through jsonb and back before they are hashed, so the hash is
    # of exactly what verify will read (jsonb turns 1e16 into 10000000000000000)
    head = await conn.fetchrow("SELECT last_id, last_hash, $1::text::jsonb::text AS details FROM audit_head",
                               canonical_json(details))
    event_id, prev_hash = head["last_id"] + 1, head["last_hash"]
    at = datetime.now(timezone.utc)
    fields = {**fields, "id": event_id, "at": _iso(at), "details": json.loads(head["details"])}
    await conn.execute(
        "INSERT INTO audit_events (id, at, clinic_id, actor_id, actor_role, action, subject_type, subject_id, patient_id,"
        " details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11, $12)",
        event_id, at, fields["clinic_id"], fields["actor_id"], fields["actor_role"], fields["action"],
        fields["subject_type"], fields["subject_id"], fields["patient_id"], canonical_json(fields["details"]),
        prev_hash, event_hash(prev_hash, fields))
    return event_id


@dataclass
class AuditReport:
    events: int
    problems: list[str] = field(default_factory=list)
    head_id: int = 0  # the last event walked, and its hash: a value to keep outside the database
    head_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        return not self.problems


def _missing(first: int, last: int) -> str:
    return f"event {first} is missing" if first == last else f"events {first}–{last} are missing"


async def verify(pool: asyncpg.Pool, expected: dict[int, str] | None = None) -> AuditReport:
    """Walk the whole chain, a page at a time, in one snapshot (events
    appended meanwhile are not seen, and do not look like a broken head).

    ``expected``: heads recorded earlier outside the database (event id →
    its hash). A chain rewritten whole by someone who can write the
    database (events removed from the end, the head table set to match)
    is consistent in itself; it is not with a head kept elsewhere."""
    expected = dict(expected or {})
    report = AuditReport(events=0)
    last_id, last_hash = 0, GENESIS
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        head = await conn.fetchrow("SELECT last_id, last_hash FROM audit_head")
        async for row in conn.cursor(
            "SELECT id, at, clinic_id, actor_id, actor_role, action, subject_type, subject_id, patient_id,"
            " details::text AS details, prev_hash, hash FROM audit_events ORDER BY id", prefetch=PAGE,
        ):
            report.events += 1
            event_id = row["id"]
            if event_id != last_id + 1:
                report.problems.append(_missing(last_id + 1, event_id - 1))
            elif row["prev_hash"] != last_hash:
                report.problems.append(f"the chain breaks between events {last_id} and {event_id}")
            fields = {"id": event_id, "at": _iso(row["at"]), "clinic_id": row["clinic_id"],
                      "actor_id": row["actor_id"], "actor_role": row["actor_role"], "action": row["action"],
                      "subject_type": row["subject_type"], "subject_id": row["subject_id"],
                      "patient_id": row["patient_id"], "details": json.loads(row["details"])}
            if event_hash(row["prev_hash"], fields) != row["hash"]:
                report.problems.append(f"event {event_id} was altered")
            if event_id in expected and expected.pop(event_id) != row["hash"]:
                report.problems.append(f"event {event_id} does not have the hash recorded outside the database")
            last_id, last_hash = event_id, row["hash"]
    if head is None:
        report.problems.append("the audit head is missing")
    elif head["last_id"] > last_id:
        report.problems.append(f"{_missing(last_id + 1, head['last_id'])} (the audit head is at event {head['last_id']})")
    elif head["last_id"] < last_id:
        report.problems.append(f"the audit head is at event {head['last_id']}, the trail goes on to event {last_id}")
    elif head["last_hash"] != last_hash:
        report.problems.append(f"the audit head does not match event {last_id}")
    for event_id in sorted(expected):  # recorded once, gone now
        report.problems.append(f"event {event_id}, recorded outside the database, is no longer in the trail")
    report.head_id, report.head_hash = last_id, last_hash
    return report
