"""The audit trail: append-only in PostgreSQL, hash-chained, and verified,
on the embedded PostgreSQL and on Debian's."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from test_store import cluster, fresh_database  # noqa: F401 (cluster is a fixture)

from chairside.config import Settings
from chairside.store import audit
from chairside.store.db import Database, open_database

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def database(cluster) -> AsyncIterator[Database]:  # noqa: F811
    """A new, migrated database; its URL is ``database.url``."""
    db = await open_database(Settings(database_url=await fresh_database(cluster)), max_size=4)
    yield db
    await db.close()


async def record_some(pool: asyncpg.Pool, n: int) -> list[int]:
    clinic, patient = uuid.uuid4().hex, uuid.uuid4().hex
    return [await audit.record(pool, action="patient.read", clinic_id=clinic, actor_id=uuid.uuid4().hex,
                               actor_role="dentist", subject_type="patient", subject_id=patient, patient_id=patient,
                               details={"n": i}) for i in range(n)]


async def tamper(url: str, sql: str) -> None:
    """What a superuser can do: run ``sql`` with the triggers off."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_a_chain_of_events_verifies(database):
    pool = database.pool
    patient = uuid.uuid4()
    assert await record_some(pool, 3) == [1, 2, 3]
    async with pool.acquire() as conn:
        assert await audit.record(conn, action="patient.export", patient_id=str(patient), subject_type="patient",
                                  subject_id=patient.hex, details={"documents": 2, "ids": ("a", "b"), "big": 1e16,
                                                                   "ratio": 0.1, "note": "é"}) == 4
    assert await audit.record(pool, action="document.validate") == 5
    report = await audit.verify(pool)
    assert report.ok and report.events == 5, report.problems
    rows = await pool.fetch("SELECT id, patient_id, details, prev_hash, hash FROM audit_events ORDER BY id")
    assert rows[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(rows, rows[1:]))
    assert rows[3]["patient_id"] == patient.hex
    assert rows[3]["details"] == {"documents": 2, "ids": ["a", "b"], "big": 10**16, "ratio": 0.1, "note": "é"}
    assert rows[4]["details"] == {}
    head = await pool.fetchrow("SELECT last_id, last_hash FROM audit_head")
    assert (head["last_id"], head["last_hash"]) == (5, rows[4]["hash"])


async def test_an_empty_trail_verifies(database):
    report = await audit.verify(database.pool)
    assert report.ok and report.events == 0


async def test_two_replicas_recording_together_make_one_chain(database):
    replicas = [await asyncpg.create_pool(database.url, min_size=3, max_size=3) for _ in range(2)]
    try:
        ids = await asyncio.gather(*(audit.record(replicas[i % 2], action="document.read", details={"i": i})
                                     for i in range(40)))
    finally:
        for pool in replicas:
            await pool.close()
    assert sorted(ids) == list(range(1, 41))
    report = await audit.verify(database.pool)
    assert report.ok and report.events == 40, report.problems


@pytest.mark.parametrize("sql", [
    "UPDATE audit_events SET details = '{\"n\": 9}' WHERE id = 2",
    "DELETE FROM audit_events WHERE id = 3",
    "TRUNCATE audit_events",
    "UPDATE audit_head SET last_id = 2",
    "DELETE FROM audit_head",
    "TRUNCATE audit_head",
])
async def test_the_database_refuses_to_change_the_trail(database, sql):
    await record_some(database.pool, 3)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="append-only|audit head only moves"):
        await database.pool.execute(sql)
    report = await audit.verify(database.pool)
    assert report.ok and report.events == 3


async def test_an_event_that_does_not_follow_the_head_is_refused(database):
    await record_some(database.pool, 2)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="event 5 does not follow the head"):
        await database.pool.execute(
            "INSERT INTO audit_events (id, at, action, prev_hash, hash) VALUES (5, now(), 'patient.read', $1, $1)", "1" * 64)


async def test_an_altered_event_is_reported_with_its_id(database):
    await record_some(database.pool, 5)
    await tamper(database.url, "UPDATE audit_events SET details = '{\"n\": 7}' WHERE id = 3")
    report = await audit.verify(database.pool)
    assert report.problems == ["event 3 was altered"] and report.events == 5


async def test_an_altered_event_with_a_new_hash_breaks_the_chain(database):
    await record_some(database.pool, 5)
    await tamper(database.url, "UPDATE audit_events SET actor_role = 'admin', hash = repeat('a', 64) WHERE id = 3")
    report = await audit.verify(database.pool)
    assert report.problems == ["event 3 was altered", "the chain breaks between events 3 and 4"]


async def test_deleted_events_in_the_middle_are_reported(database):
    await record_some(database.pool, 6)
    await tamper(database.url, "DELETE FROM audit_events WHERE id = 2")
    await tamper(database.url, "DELETE FROM audit_events WHERE id IN (4, 5)")
    report = await audit.verify(database.pool)
    assert report.problems == ["event 2 is missing", "events 4–5 are missing"] and report.events == 3


async def test_deleted_last_events_are_reported(database):
    await record_some(database.pool, 4)
    async with database.pool.acquire() as conn, conn.transaction():  # the other way: triggers disabled on the table
        await conn.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
        await conn.execute("DELETE FROM audit_events WHERE id = 4")
        await conn.execute("ALTER TABLE audit_events ENABLE TRIGGER USER")
    report = await audit.verify(database.pool)
    assert report.problems == ["event 4 is missing (the audit head is at event 4)"]
    await tamper(database.url, "DELETE FROM audit_events")
    report = await audit.verify(database.pool)
    assert report.problems == ["events 1–4 are missing (the audit head is at event 4)"] and report.events == 0


async def test_a_tampered_head_is_reported(database):
    await record_some(database.pool, 3)
    await tamper(database.url, "UPDATE audit_head SET last_hash = repeat('b', 64)")
    assert (await audit.verify(database.pool)).problems == ["the audit head does not match event 3"]
    await tamper(database.url, "UPDATE audit_head SET last_id = 2")
    assert (await audit.verify(database.pool)).problems == ["the audit head is at event 2, the trail goes on to event 3"]
    await tamper(database.url, "DELETE FROM audit_head")
    assert (await audit.verify(database.pool)).problems == ["the audit head is missing"]


async def test_an_event_of_a_rolled_back_transaction_leaves_no_trace(database):
    pool = database.pool
    await record_some(pool, 2)
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            assert await audit.record(conn, action="patient.erase", patient_id=uuid.uuid4().hex) == 3
            raise RuntimeError("the erasure failed")
    assert await pool.fetchval("SELECT count(*) FROM audit_events") == 2
    assert await audit.record(pool, action="patient.read") == 3
    report = await audit.verify(pool)
    assert report.ok and report.events == 3


async def test_a_chain_rewritten_from_its_end_is_caught_by_a_head_kept_outside(database):
    """Someone who can write the database removes the last events and sets
    the head to match: the chain is consistent in itself, not with the head
    recorded earlier outside the database."""
    await record_some(database.pool, 5)
    kept = await audit.verify(database.pool)
    assert kept.ok and kept.head_id == 5
    await tamper(database.url, "DELETE FROM audit_events WHERE id >= 4;"
                               " UPDATE audit_head SET (last_id, last_hash) = (3, (SELECT hash FROM audit_events WHERE id = 3))")
    assert (await audit.verify(database.pool)).ok  # nothing to see from inside
    assert (await audit.verify(database.pool, {kept.head_id: kept.head_hash})).problems == [
        "event 5, recorded outside the database, is no longer in the trail"]
    assert (await audit.verify(database.pool, {2: "f" * 64})).problems == [
        "event 2 does not have the hash recorded outside the database"]


def verify_command(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chairside.cli", "audit", "verify", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, timeout=120)


async def test_the_verify_command(database, tmp_path):
    await record_some(database.pool, 3)
    heads = tmp_path / "audit-heads.txt"  # kept on another machine, or write-once storage
    result = await asyncio.to_thread(verify_command, database.url, "--head-file", str(heads), "--record")
    assert result.returncode == 0, result.stdout + result.stderr
    head = (await audit.verify(database.pool))
    assert result.stdout.splitlines() == ["audit trail intact: 3 events", f"head: 3:{head.head_hash}"]
    assert heads.read_text() == f"3:{head.head_hash}\n"
    await record_some(database.pool, 1)
    result = await asyncio.to_thread(verify_command, database.url, "--head-file", str(heads), "--expect", f"3:{head.head_hash}")
    assert result.returncode == 0 and result.stdout.startswith("audit trail intact: 4 events, 1 recorded head(s) found")
    bad = await asyncio.to_thread(verify_command, database.url, "--expect", "3:nothex")
    assert bad.returncode == 2 and "is not a head" in bad.stderr
    await tamper(database.url, "UPDATE audit_events SET details = '{}' WHERE id = 2")
    result = await asyncio.to_thread(verify_command, database.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.strip() == "event 2 was altered"


async def test_the_application_role_of_the_readme_cannot_rewrite_the_trail(debian_postgres, tmp_path):
    """The README's SQL for an external PostgreSQL: the owner migrates once;
    Chairside then runs as a role that owns nothing — it records and reads
    the trail, serves, migrates nothing, and can neither delete events nor
    switch the triggers off."""
    import re

    readme = (ROOT / "README.md").read_text()
    sql = re.search(r"```sql\n(-- as the database's owner.*?)```", readme, re.S)[1].replace("'…'", "'app-secret'")
    owner_url = await fresh_database(debian_postgres.url)
    name = owner_url.rsplit("/", 1)[1]
    role = f"app_{uuid.uuid4().hex[:8]}"
    owner = await open_database(Settings(database_url=owner_url), max_size=2)  # the migrations, as the owner
    try:
        await owner.pool.execute(sql.replace("chairside_app", role).replace("DATABASE chairside", f'DATABASE "{name}"'))
    finally:
        await owner.close()
    app_url = owner_url.replace("postgresql://chairside@", f"postgresql://{role}:app-secret@")
    app = await open_database(Settings(database_url=app_url), max_size=2)  # starts: nothing to migrate
    try:
        assert app.applied == []
        await record_some(app.pool, 3)
        assert (await audit.verify(app.pool)).ok
        for forbidden in ("DELETE FROM audit_events WHERE id = 3", "UPDATE audit_events SET details = '{}' WHERE id = 2",
                          "TRUNCATE audit_events", "ALTER TABLE audit_events DISABLE TRIGGER USER", "DELETE FROM audit_head"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.pool.execute(forbidden)
        assert (await audit.verify(app.pool)).ok
    finally:
        await app.close()
    # and the whole server runs under it: a practice set up, a prescription signed
    from conftest import create_practice, start_server, stop_server
    from test_store import _validate_a_prescription

    server = await asyncio.to_thread(start_server, tmp_path, database_url=app_url)
    try:
        practice = await asyncio.to_thread(create_practice, server)
        ready = await _validate_a_prescription(practice)
        assert ready["kind"] == "prescription"
    finally:
        await asyncio.to_thread(stop_server, server)
