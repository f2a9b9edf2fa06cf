"""Nothing committed is lost: kill the server with SIGKILL in the middle of a
dictation; every final and draft change any client received is in the
database, and the server starts again on it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import asyncpg
import psutil
import websockets
from conftest import start_server, stop_server
from factories import CONTEXT

from chairside.client import load_audio, to_pcm
from chairside.store.db import start_embedded


async def dictate_until_killed(server, recording, kill_after_finals: int) -> list[dict]:
    """Stream the recording at real-time pace after a typed command; SIGKILL
    the server once ``kill_after_finals`` finals have arrived.  The events
    received until the connection drops."""
    received: list[dict] = []
    async with websockets.connect(server.ws) as ws:
        await ws.send(json.dumps({"type": "start", "context": CONTEXT}))
        await ws.send(json.dumps({"type": "text", "text": "Nouvelle ordonnance."}))

        async def receive() -> None:
            try:
                async for message in ws:
                    event = json.loads(message)
                    received.append(event)
                    if sum(e["type"] == "final" for e in received) == kill_after_finals:
                        os.kill(server.process.pid, signal.SIGKILL)
            except websockets.ConnectionClosed:
                pass

        receiver = asyncio.create_task(receive())
        pcm = to_pcm(load_audio(recording)) + bytes(32000)
        t0 = time.perf_counter()
        try:
            for offset in range(0, len(pcm), 640):
                await ws.send(pcm[offset : offset + 640])
                await asyncio.sleep(max(0.0, t0 + (offset + 640) / 32000 - time.perf_counter()))
        except websockets.ConnectionClosed:
            pass
        await asyncio.wait_for(receiver, 30)
    return received


async def journal(url: str, session_id: str) -> tuple[list, list, dict]:
    conn = await asyncpg.connect(url)
    try:
        finals = await conn.fetch("SELECT utterance, source, text FROM utterances WHERE session_id = $1 ORDER BY id", session_id)
        changes = await conn.fetch(
            "SELECT utterance, document_id, version, status, change->>'op' AS op FROM draft_changes WHERE session_id = $1 ORDER BY id",
            session_id)
        session = await conn.fetchrow("SELECT * FROM dictation_sessions WHERE id = $1", session_id)
        return finals, changes, dict(session)
    finally:
        await conn.close()


def test_sigkill_mid_dictation_loses_nothing_received(tmp_path, corpus):
    server = start_server(tmp_path)
    try:
        # the typed command's final, then "Nouvelle ordonnance." and the amoxicilline line spoken
        received = asyncio.run(dictate_until_killed(server, corpus["dental_s1.wav"].path, kill_after_finals=3))
        assert server.process.wait(timeout=10) == -signal.SIGKILL
    finally:
        stop_server(server)
    session_id = received[0]["session_id"]
    finals = [e for e in received if e["type"] == "final" and e["text"]]
    changes = [e for e in received if e["type"] == "draft.updated"]
    assert len(finals) >= 3 and len(changes) >= 2, received

    embedded = start_embedded(tmp_path)  # the data directory's PostgreSQL (still running, or started again)
    try:
        stored_finals, stored_changes, session = asyncio.run(journal(embedded.get_uri(), session_id))
    finally:
        embedded.cleanup()
    assert [(f["utterance"], f["source"], f["text"]) for f in finals] == [tuple(r) for r in stored_finals][: len(finals)]
    assert [(c["utterance"], c["draft"]["id"], c["draft"]["version"], c["draft"]["status"], c["change"]["op"]) for c in changes] == [
        (r["utterance"], r["document_id"].hex, r["version"], r["status"], r["op"]) for r in stored_changes][: len(changes)]
    assert session["ended_at"] is None and json.loads(session["context"])["patient"]["last_name"] == "Durand"

    server = start_server(tmp_path)  # the server starts again on the same data
    try:
        assert server.health()["status"] == "ok"
    finally:
        stop_server(server)
    # and its clean stop stops the embedded PostgreSQL, though a user of it was killed
    time.sleep(1)
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path / "pgdata") in " ".join(p.info["cmdline"] or [])]


def test_a_stopped_session_is_closed_in_the_journal(server, tmp_path):
    async def scenario() -> str:
        async with websockets.connect(server.ws) as ws:
            await ws.send(json.dumps({"type": "start"}))
            ready = json.loads(await ws.recv())
            await ws.send(json.dumps({"type": "text", "text": "Bonjour."}))
            await ws.send(json.dumps({"type": "stop"}))
            async for _ in ws:
                pass
            return ready["session_id"]

    session_id = asyncio.run(scenario())
    embedded = start_embedded(server.data_dir)
    try:
        finals, changes, session = asyncio.run(journal(embedded.get_uri(), session_id))
    finally:
        embedded.cleanup()
    assert [tuple(r) for r in finals] == [(1, "text", "Bonjour.")] and changes == []
    assert session["end_reason"] == "stop" and session["ended_at"] is not None
