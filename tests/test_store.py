"""PostgreSQL: the embedded server and Debian's, migrations, documents that
outlive the server process."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid

import asyncpg
import httpx
import pytest
import websockets
from conftest import create_practice, start_server, stop_server
from factories import CONTEXT

from chairside.config import Settings
from chairside.store.db import DatabaseBusy, DatabaseError, open_database
from chairside.store.migrations import MigrationError, migrate, migrations


@pytest.fixture(params=["embedded", "debian"])
def cluster(request) -> str:
    """The URL of a PostgreSQL cluster: the embedded one, or Debian's."""
    if request.param == "embedded":
        return request.getfixturevalue("embedded_postgres")
    return request.getfixturevalue("debian_postgres").url


async def fresh_database(cluster_url: str) -> str:
    """A new, empty database on the cluster: its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(cluster_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    if "?" in cluster_url:  # the embedded server's URL: postgresql://postgres:@/postgres?host=/socket/dir
        base, query = cluster_url.split("?", 1)
        return f"{base.rsplit('/', 1)[0]}/{name}?{query}"
    return f"{cluster_url.rsplit('/', 1)[0]}/{name}"


async def test_migrations_apply_once(cluster):
    url = await fresh_database(cluster)
    database = await open_database(Settings(database_url=url))
    try:
        assert database.applied == [f"{m.version:04d}_{m.name}" for m in migrations()]
        rows = await database.pool.fetch("SELECT version, name, sha256 FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["sha256"]) for r in rows] == [(m.version, m.sha256) for m in migrations()]
        assert await migrate(database.pool) == []  # nothing left to do
    finally:
        await database.close()


async def test_replicas_starting_together_migrate_once(cluster):
    url = await fresh_database(cluster)
    pools = [await asyncpg.create_pool(url, min_size=1, max_size=1) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(p) for p in pools))
        assert sorted(len(r) for r in results) == [0, 0, len(migrations())]
        assert await pools[0].fetchval("SELECT count(*) FROM schema_migrations") == len(migrations())
    finally:
        for p in pools:
            await p.close()


async def test_an_edited_migration_stops_the_start(cluster, tmp_path):
    url = await fresh_database(cluster)
    database = await open_database(Settings(database_url=url))
    await database.close()
    from chairside.store import migrations as package

    edited = tmp_path / "migrations"
    shutil.copytree(package.FOLDER, edited, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    first = sorted(edited.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(pool, edited)
    finally:
        await pool.close()


async def test_the_patient_safety_migration_applies_on_an_existing_database(cluster, tmp_path):
    """A database as the previous version left it (migrations 1-5, a patient
    in it) takes 0006: the patient gets "nothing recorded", the record model
    reads the row, and the database's own checks hold."""
    from chairside.record.context import Patient
    from chairside.store import migrations as package
    from chairside.store.patients import EDITABLE

    url = await fresh_database(cluster)
    before = tmp_path / "migrations"
    shutil.copytree(package.FOLDER, before, ignore=lambda _, names: [n for n in names if not n.endswith(".sql") or n >= "0006"])
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        assert await migrate(pool, before) == ["0001_documents", "0002_sessions", "0003_accounts", "0004_rooms_auth", "0005_audit"]
        clinic, patient = uuid.uuid4(), uuid.uuid4()
        await pool.execute("INSERT INTO clinics (id, name) VALUES ($1, 'Cabinet')", clinic)
        await pool.execute("INSERT INTO patients (id, clinic_id, code, last_name, first_name, sex, birth_date, weight_kg)"
                           " VALUES ($1, $2, 'P-1', 'Durand', 'Paul', 'M', '1970-01-02', 80)", patient, clinic)
        assert await migrate(pool) == [f"{m.version:04d}_{m.name}" for m in migrations() if m.version >= 6]  # 0006 and after
        row = await pool.fetchrow("SELECT * FROM patients WHERE id = $1", patient)
        read = Patient(**{k: row[k] for k in EDITABLE})
        assert (read.last_name, read.allergies, read.pregnancy_weeks, read.breastfeeding, read.anticoagulant, read.antiplatelet,
                read.renal_failure, read.hepatic_failure) == ("Durand", [], None, False, False, False, None, None)
        for refused in ("pregnancy_weeks = 10",  # sex M
                        "pregnancy_weeks = 50", "renal_failure = 'mild'", "allergies = array_fill('x'::text, ARRAY[31])"):
            with pytest.raises(asyncpg.CheckViolationError):
                await pool.execute(f"UPDATE patients SET {refused} WHERE id = $1", patient)
        await pool.execute("UPDATE patients SET allergies = $2, anticoagulant = true, hepatic_failure = 'severe' WHERE id = $1",
                           patient, ["pénicilline"])
        assert await pool.fetchval("SELECT allergies FROM patients WHERE id = $1", patient) == ["pénicilline"]
    finally:
        await pool.close()


async def test_a_validated_version_cannot_be_updated_in_the_database(cluster):
    url = await fresh_database(cluster)
    database = await open_database(Settings(database_url=url))
    try:
        doc_id = uuid.uuid4()
        await database.pool.execute("INSERT INTO documents (id, kind) VALUES ($1, 'prescription')", doc_id)
        await database.pool.execute(
            "INSERT INTO document_versions (document_id, version, number, issued_at, draft, context, pdf, sha256, render_ms)"
            " VALUES ($1, 1, 'ORD-1', now(), $2, $3, $4, $5, 1)", doc_id, {"lines": []}, {}, b"%PDF-", "0" * 64)
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="cannot change"):
            await database.pool.execute("UPDATE document_versions SET pdf = $1 WHERE document_id = $2", b"forged", doc_id)
    finally:
        await database.close()


async def test_an_unreachable_database_is_a_clear_error():
    with pytest.raises(DatabaseError, match=r"cannot connect to PostgreSQL at postgresql://chairside:\*\*\*@127\.0\.0\.1:1/x"):
        await open_database(Settings(database_url="postgresql://chairside:secret@127.0.0.1:1/x"))


async def test_a_drained_pool_fails_fast_instead_of_waiting_forever(embedded_postgres):
    """Every acquisition has a timeout (db_acquire_timeout_s): with the only
    connection held, a query fails with DatabaseBusy (503 database_busy for a
    request) instead of waiting; once the connection is back, queries go on."""
    database = await open_database(Settings(database_url=embedded_postgres, db_pool_size=1, db_acquire_timeout_s=0.3))
    try:
        async with database.pool.acquire() as held:
            loop = asyncio.get_running_loop()
            began = loop.time()
            with pytest.raises(DatabaseBusy, match="within 0.3 s"):
                await database.pool.fetchval("SELECT 1")
            assert 0.25 < loop.time() - began < 2.0
            assert await held.fetchval("SELECT 2") == 2
        assert await database.pool.fetchval("SELECT 3") == 3
    finally:
        await database.close()


# -- documents outlive the server process ---------------------------------------------


async def _validate_a_prescription(practice) -> dict:
    async with websockets.connect(practice.server.ws) as ws:
        await ws.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "patient": practice.patient["id"],
                                  "lab": CONTEXT["lab"]}))
        for text in ("Nouvelle ordonnance.", "Amoxicilline un gramme matin et soir pendant sept jours.", "Valide.", "Oui."):
            await ws.send(json.dumps({"type": "text", "text": text}))
        await ws.send(json.dumps({"type": "stop"}))
        events = [json.loads(m) async for m in ws]
    ready = [e for e in events if e["type"] == "document.ready"]
    assert len(ready) == 1, events
    return ready[0]


@pytest.mark.parametrize("where", ["embedded", "debian"])
def test_documents_outlive_a_restart(tmp_path, request, where):
    """A validated document is still there, byte for byte, after the server
    process restarts: on the embedded PostgreSQL of the data directory, and
    on a PostgreSQL given by URL."""
    env = {}
    if where == "debian":
        env["database_url"] = asyncio.run(fresh_database(request.getfixturevalue("debian_postgres").url))
    server = start_server(tmp_path, **env)
    try:
        practice = create_practice(server)
        doc = asyncio.run(_validate_a_prescription(practice))
    finally:
        stop_server(server)
    if where == "embedded":
        assert (tmp_path / "pgdata" / "PG_VERSION").exists()
    server = start_server(tmp_path, **env)
    try:
        pdf = httpx.get(server.http + doc["url"], headers=practice.headers(), timeout=10)
        assert pdf.status_code == 200 and pdf.headers["etag"] == f'"{doc["sha256"]}"'
        fhir = httpx.get(server.http + doc["fhir_url"], headers=practice.headers(), timeout=10)
        assert fhir.status_code == 200 and fhir.json()["resourceType"] == "Bundle"
    finally:
        stop_server(server)


# -- retention ----------------------------------------------------------------------


async def test_retention_keeps_what_is_needed_and_purges_the_rest(embedded_postgres):
    """Old partials leave the room's log (finals stay), old room events go,
    a patient-less session goes with its transcript (a document validated in
    it stays, unlinked), a patient's session stays; the purge is audited."""
    from chairside.record.versions import Owner
    from chairside.store import accounts, audit, retention
    from chairside.store import rooms as room_log
    from chairside.store.journal import Journal

    database = await open_database(Settings(database_url=await fresh_database(embedded_postgres)))
    pool = database.pool
    try:
        clinic = await accounts.create_clinic(pool, "Cabinet", street="1 rue", postcode="75001", city="Paris", phone="01 00 00 00 00")
        room = await room_log.create_room(pool, clinic, "Fauteuil 1")
        patient = (await pool.fetchrow("INSERT INTO patients (id, clinic_id, code, last_name, first_name) VALUES"
                                       " (gen_random_uuid(), $1, 'P-1', 'Durand', 'Jeanne') RETURNING id", clinic))["id"]
        journal = Journal(pool)
        alone, kept = uuid.uuid4().hex, uuid.uuid4().hex
        for session, who in ((alone, None), (kept, patient)):
            await journal.open_session(session, "fr", {}, Owner(clinic_id=clinic, room_id=room, patient_id=who))
            await journal.final(session, utterance=1, source="speech", text="Bonjour.", words=[], start=0, end=1,
                                language="fr", end_of_utterance=True)
            for event in ({"type": "partial", "utterance": 1}, {"type": "final", "utterance": 1}):
                await room_log.append(pool, room, session, event)
            await journal.close_session(session, "stop")
        await pool.execute("INSERT INTO documents (id, kind, clinic_id, session_id) VALUES (gen_random_uuid(), 'prescription', $1, $2)",
                           clinic, alone)
        settings = dict(partial_retention_s=600, room_event_retention_days=30, unattached_session_retention_days=30)
        assert await retention.purge(pool, **settings) == {k: 0 for k in ("partials", "room_events", "sessions", "utterances", "draft_changes", "previews")}
        # twenty minutes later: the partials go, the finals stay
        await pool.execute("UPDATE room_events SET created_at = now() - interval '20 minutes'")
        assert (await retention.purge(pool, **settings))["partials"] == 2
        assert await pool.fetchval("SELECT count(*) FROM room_events WHERE type = 'final'") == 2
        # forty days later: the room's log goes, and the session with no patient
        await pool.execute("UPDATE room_events SET created_at = now() - interval '40 days'")
        await pool.execute("UPDATE dictation_sessions SET ended_at = now() - interval '40 days'")
        counts = await retention.purge(pool, **settings)
        assert (counts["room_events"], counts["sessions"], counts["utterances"]) == (2, 1, 1)
        assert [r["id"] for r in await pool.fetch("SELECT id FROM dictation_sessions")] == [kept]
        assert await pool.fetchval("SELECT count(*) FROM utterances WHERE session_id = $1", kept) == 1
        assert await pool.fetchval("SELECT count(*) FROM documents WHERE session_id IS NULL") == 1  # kept, unlinked
        purges = await pool.fetch("SELECT details FROM audit_events WHERE action = 'retention.purge' ORDER BY id")
        assert [p["details"]["sessions"] for p in purges] == [0, 1]
        assert (await audit.verify(pool)).ok
    finally:
        await database.close()
