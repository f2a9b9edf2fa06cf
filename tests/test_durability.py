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
from conftest import FIX_DURATION, create_practice, start_server, stop_server
from factories import CONTEXT

from chairside.client import load_audio, to_pcm
from chairside.store.db import start_embedded


async def recv_json(ws, timeout: float = 15.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


class ScreenLog:
    """An assistant's screen on the room: every event it received."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    @property
    def last_seq(self) -> int:
        return max(e["seq"] for e in self.events if "seq" in e)

    async def watch(self, url: str, token: str, last_seq: int | None = None, until=None) -> None:
        try:
            async with websockets.connect(url) as ws:
                await ws.send(json.dumps({"type": "hello", "token": token, **({"last_seq": last_seq} if last_seq is not None else {})}))
                async for message in ws:
                    self.events.append(json.loads(message))
                    if until is not None and until(self.events[-1]):
                        return
        except websockets.ConnectionClosed:
            pass


async def dictate_until_killed(practice, recording, kill_after_finals: int, screen: ScreenLog) -> list[dict]:
    """With a screen watching the room, stream the recording at real-time
    pace after a typed command; SIGKILL the server once
    ``kill_after_finals`` finals have arrived.  The events received until the
    connection drops."""
    server = practice.server
    received: list[dict] = []
    watching = asyncio.create_task(screen.watch(rooms_url(server, practice.rooms[0]), practice.tokens["assistant"]))
    while not screen.events:
        await asyncio.sleep(0.05)
    async with websockets.connect(server.ws) as ws:
        await ws.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "room": practice.rooms[0],
                                  "patient": practice.patient["id"], "lab": CONTEXT["lab"]}))
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
    await asyncio.wait_for(watching, 30)
    return received


def rooms_url(server, room: str) -> str:
    return f"ws://127.0.0.1:{server.port}/v1/rooms/{room}/events"


async def resume(practice, session_id: str) -> list[dict]:
    """The dentist reconnects to the interrupted session, adds a line (the
    kill may have come before the spoken one was committed), validates, stops."""
    async with websockets.connect(practice.server.ws) as ws:
        await ws.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "resume": session_id}))
        await ws.send(json.dumps({"type": "text", "text": "Paracétamol un gramme, un comprimé si douleur pendant trois jours."}))
        await ws.send(json.dumps({"type": "text", "text": FIX_DURATION}))
        await ws.send(json.dumps({"type": "text", "text": "Valide."}))
        await ws.send(json.dumps({"type": "text", "text": "Oui."}))
        await ws.send(json.dumps({"type": "stop"}))
        return [json.loads(m) async for m in ws]


async def journal(url: str, session_id: str) -> tuple[list, list, dict]:
    conn = await asyncpg.connect(url)
    try:
        finals = await conn.fetch("SELECT utterance, source, text FROM utterances WHERE session_id = $1 ORDER BY id", session_id)
        changes = await conn.fetch(
            "SELECT utterance, document_id, version, status, change->>'op' AS op, draft FROM draft_changes WHERE session_id = $1 ORDER BY id",
            session_id)
        session = await conn.fetchrow("SELECT * FROM dictation_sessions WHERE id = $1", session_id)
        return finals, changes, dict(session)
    finally:
        await conn.close()


def test_sigkill_mid_dictation_loses_nothing_received(tmp_path, corpus):
    """Kill the server mid-dictation; every final and draft change the dentist
    or the room's screen received is in the database; after a restart the
    dentist resumes the session where it was, and the screen, reconnecting
    with its last sequence number, gets exactly what it missed."""
    server = start_server(tmp_path)
    screen = ScreenLog()
    try:
        practice = create_practice(server)
        # the typed command's final, then "Nouvelle ordonnance." and the amoxicilline line spoken
        received = asyncio.run(dictate_until_killed(practice, corpus["dental_s1.wav"].path, 3, screen))
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
    seen_on_screen = [e for e in screen.events if e["type"] == "final"]
    assert [e["text"] for e in seen_on_screen] == [f["text"] for f in finals][: len(seen_on_screen)]

    server = start_server(tmp_path)  # the server starts again on the same data
    try:
        practice.server = server
        resumed = asyncio.run(resume(practice, session_id))
        ready, draft = resumed[0], resumed[1]
        assert ready["type"] == "ready" and ready["resumed"] and ready["session_id"] == session_id
        assert ready["utterances"] == max(r["utterance"] for r in stored_finals)
        assert draft["type"] == "draft.updated" and draft["change"] == {"op": "resume"}
        # the draft as last committed: what the dentist had, or more if the kill came between commit and send
        had = changes[-1]["draft"]
        assert draft["draft"]["id"] == had["id"] and draft["draft"]["lines"][: len(had["lines"])] == had["lines"]
        assert draft["draft"]["lines"] == json.loads(stored_changes[-1]["draft"])["lines"]
        documents = [e for e in resumed if e["type"] == "document.ready"]
        assert len(documents) == 1 and documents[0]["status"] == "validated", resumed
        first = [e for e in resumed if e["type"] == "final"][0]
        assert first["utterance"] == ready["utterances"] + 1  # numbering goes on

        before = screen.last_seq
        later = ScreenLog()
        asyncio.run(later.watch(rooms_url(server, practice.rooms[0]), practice.tokens["assistant"], last_seq=before,
                                until=lambda e: e["type"] == "session.ended"))
        assert later.events[0] == {"type": "catchup", "after": before, "events": later.events[0]["events"]}
        seqs = [e["seq"] for e in later.events[1:]]
        assert seqs == list(range(before + 1, before + 1 + len(seqs)))  # no gap, no duplicate
        caught_up = [e["text"] for e in screen.events + later.events if e["type"] == "final"]
        assert caught_up[: len(finals)] == [f["text"] for f in finals]  # everything the dentist had, the screen has
        assert any(e["type"] == "document.ready" for e in later.events)
    finally:
        stop_server(server)
    # and its clean stop stops the embedded PostgreSQL, though a user of it was killed
    time.sleep(1)
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path / "pgdata") in " ".join(p.info["cmdline"] or [])]


def test_a_stopped_session_is_closed_in_the_journal(server, tmp_path):
    async def scenario() -> str:
        async with websockets.connect(server.ws) as ws:
            await ws.send(json.dumps({"type": "start", "token": server.token}))
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


def test_resuming_a_session_still_open_takes_it_over(practice):
    """The dentist's network dropped and the server has not noticed yet: the
    client resumes on a new connection, and the old one is closed with 4409."""
    async def scenario():
        old = await websockets.connect(practice.server.ws)
        await old.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "patient": practice.patient["id"]}))
        ready = json.loads(await old.recv())
        await old.send(json.dumps({"type": "text", "text": "Nouvelle ordonnance."}))
        while json.loads(await old.recv())["type"] != "draft.updated":
            pass
        async with websockets.connect(practice.server.ws) as new:
            await new.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "resume": ready["session_id"]}))
            resumed, draft = json.loads(await new.recv()), json.loads(await new.recv())
            await new.send(json.dumps({"type": "stop"}))
            async for _ in new:
                pass
        try:
            while True:
                await old.recv()
        except websockets.ConnectionClosed:
            pass
        return ready, resumed, draft, old.close_code

    ready, resumed, draft, old_close = asyncio.run(scenario())
    assert resumed["resumed"] and resumed["session_id"] == ready["session_id"] and resumed["utterances"] == 1
    assert draft["change"] == {"op": "resume"} and draft["draft"]["kind"] == "prescription"
    assert old_close == 4409


def test_sigterm_mid_utterance_keeps_the_utterance(tmp_path, corpus):
    """SIGTERM while the dentist speaks: the utterance being spoken is
    finished — its final is sent and journaled — then `closed` with reason
    `shutdown` and close code 1012; the server exits cleanly, and the
    session resumes on the restarted server with its utterances."""
    server = start_server(tmp_path)
    token = server.token
    pcm = to_pcm(load_audio(corpus["dental_s1.wav"].path))
    chunk = 3200  # 100 ms of 16-bit mono at 16 kHz

    async def dictate_until_terminated() -> tuple[list[dict], int]:
        events: list[dict] = []
        async with websockets.connect(server.ws) as ws:
            await ws.send(json.dumps({"type": "start", "token": token, "sample_rate": 16000}))
            events.append(json.loads(await ws.recv()))
            speaking: int | None = None

            async def send() -> None:
                for i in range(0, len(pcm), chunk):
                    await ws.send(pcm[i:i + chunk])
                    await asyncio.sleep(0.1)

            sender = asyncio.create_task(send())
            try:
                async for message in ws:
                    event = json.loads(message)
                    events.append(event)
                    if speaking is None and event["type"] == "partial" and event["utterance"] >= 2 and event["unstable"]:
                        speaking = event["utterance"]  # mid-utterance: the server is told to stop
                        server.process.send_signal(signal.SIGTERM)
            except websockets.ConnectionClosed:
                pass
            finally:
                sender.cancel()
            return events, ws.close_code

    try:
        events, code = asyncio.run(dictate_until_terminated())
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM), server.log()[-2000:]  # uvicorn re-raises the signal once done
    finally:
        stop_server(server)
    assert "shutdown: finishing 1 session(s)" in server.log() and "not finished" not in server.log()
    session_id = events[0]["session_id"]
    speaking = next(e["utterance"] for e in events if e["type"] == "partial" and e["utterance"] >= 2 and e["unstable"])
    finals = [e for e in events if e["type"] == "final" and e["end_of_utterance"]]
    assert speaking in [f["utterance"] for f in finals], events  # the utterance being spoken was finished
    assert events[-1]["type"] == "closed" and events[-1]["reason"] == "shutdown" and code == 1012, (events[-3:], code)

    server = start_server(tmp_path)  # the server starts again on the same data
    try:
        async def resume() -> dict:
            async with websockets.connect(server.ws) as ws:
                await ws.send(json.dumps({"type": "start", "token": token, "resume": session_id}))
                ready = json.loads(await ws.recv())
                await ws.send(json.dumps({"type": "stop"}))
                return ready

        ready = asyncio.run(resume())
        assert ready["type"] == "ready" and ready["resumed"] and ready["utterances"] == max(f["utterance"] for f in finals)
    finally:
        stop_server(server)


def test_the_embedded_postgresql_dying_stops_the_server(tmp_path):
    """Kill the embedded PostgreSQL: /v1/health says 503, and the server
    stops with exit code 3 instead of serving errors forever."""
    import httpx

    server = start_server(tmp_path, database_check_s="0.5")
    try:
        pgdata = str(tmp_path / "pgdata")
        postmasters = [p for p in psutil.process_iter(["cmdline"]) if "-D" in (p.info["cmdline"] or []) and pgdata in p.info["cmdline"]]
        assert postmasters
        for p in postmasters:
            p.kill()
        health = httpx.get(server.http + "/v1/health", timeout=10)
        assert health.status_code == 503 and health.json() == {"status": "unavailable", "reason": "database unreachable"}
        assert server.process.wait(timeout=30) == 3
        assert "the embedded PostgreSQL is gone" in server.log()
    finally:
        stop_server(server)
