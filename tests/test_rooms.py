"""Live screens on a room (``/v1/rooms/{room}/events``), with real speech
and real server processes: snapshot, then every event once and in order;
many screens; a stuck screen that slows nobody; two replicas on one
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest
import websockets
from conftest import FIX_DURATION, Practice, create_practice, start_server, stop_server
from factories import CONTEXT
from test_store import fresh_database

from chairside.client import load_audio, to_pcm


def room_url(server, room: str) -> str:
    return f"ws://127.0.0.1:{server.port}/v1/rooms/{room}/events"


class Screen:
    """A screen watching a room: what it received, and when."""

    def __init__(self, server, room: str, token: str, last_seq: int | None = None, **connect) -> None:
        self.address, self.token, self.last_seq, self.connect = room_url(server, room), token, last_seq, connect
        self.events: list[dict] = []
        self.times: list[float] = []
        self.ws = None

    async def open(self) -> dict:
        self.ws = await websockets.connect(self.address, **self.connect)
        hello = {"type": "hello", "token": self.token, **({"last_seq": self.last_seq} if self.last_seq is not None else {})}
        await self.ws.send(json.dumps(hello))
        return await self.next()

    async def next(self, timeout: float = 30) -> dict:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.events.append(event)
        self.times.append(time.perf_counter())
        return event

    async def until(self, predicate, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.events[-1] if self.events else {}):
            await self.next(max(0.1, deadline - time.monotonic()))

    async def close(self) -> None:
        await self.ws.close()

    def live(self, session_id: str) -> list[dict]:
        return [e for e in self.events if e.get("session_id") == session_id]


async def dictate(practice: Practice, room: str, steps: list, received: list | None = None, times: list | None = None) -> list[dict]:
    """The dentist's session in a room: typed lines and ("audio", path) at
    real-time pace; every event the dentist got (and when, in ``times``)."""
    received = [] if received is None else received
    async with websockets.connect(practice.server.ws) as ws:
        await ws.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "room": room,
                                  "patient": practice.patient["id"], "lab": CONTEXT["lab"]}))

        async def receive() -> None:
            async for message in ws:
                received.append(json.loads(message))
                if times is not None:
                    times.append(time.perf_counter())

        receiver = asyncio.create_task(receive())
        for step in steps:
            if isinstance(step, tuple):
                pcm = to_pcm(load_audio(step[1])) + bytes(32000)
                t0 = time.perf_counter()
                for offset in range(0, len(pcm), 640):
                    await ws.send(pcm[offset : offset + 640])
                    await asyncio.sleep(max(0.0, t0 + (offset + 640) / 32000 - time.perf_counter()))
            else:
                await ws.send(json.dumps({"type": "text", "text": step}))
        await ws.send(json.dumps({"type": "stop"}))
        await receiver
    return received


def contiguous(events: list[dict]) -> list[int]:
    seqs = [e["seq"] for e in events if "seq" in e]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    return seqs


def test_screens_see_the_dictation_live_in_order(practice, corpus):
    room = practice.rooms[1]

    async def scenario():
        first, second = Screen(practice.server, room, practice.tokens["assistant"]), Screen(practice.server, room, practice.tokens["dentist"])
        snapshots = [await first.open(), await second.open()]
        dentist = await dictate(practice, room, ["Nouvelle ordonnance.", ("audio", corpus["dental_02.wav"].path), FIX_DURATION, "Valide.", "Oui."])
        for screen in (first, second):
            await screen.until(lambda e: e.get("type") == "session.ended")
        late = Screen(practice.server, room, practice.tokens["assistant"])
        late_snapshot = await late.open()
        for screen in (first, second, late):
            await screen.close()
        return snapshots, dentist, first, second, late_snapshot

    snapshots, dentist, first, second, late = asyncio.run(scenario())
    assert all(s["type"] == "snapshot" and s["room"]["name"] == "Fauteuil 2" for s in snapshots)
    session_id = dentist[0]["session_id"]
    assert first.events[1:] == second.events[1:]  # every screen gets the same events, the same numbers
    seqs = contiguous(first.events[1:])
    assert seqs[0] == snapshots[0]["seq"] + 1
    kinds = [e["type"] for e in first.live(session_id)]
    assert kinds[0] == "session.started" and kinds[-1] == "session.ended"
    assert {"partial", "final", "command", "readback", "draft.updated", "document.ready"} <= set(kinds)
    assert "vad" not in kinds and "ready" not in kinds  # the dentist's connection only
    said = [e["text"] for e in dentist if e["type"] == "final" and e["text"]]
    assert [e["text"] for e in first.live(session_id) if e["type"] == "final"] == said
    started = first.live(session_id)[0]["session"]
    assert started["practitioner"] == "Dr Claire Martin" and started["patient"]["last_name"] == "Durand"
    # a screen that connects later gets the session as it stands
    assert late["seq"] == seqs[-1]
    state = late["session"]
    assert state["id"] == session_id and state["ended_at"] is not None
    assert [t["text"] for t in state["transcript"]] == said
    assert state["drafts"][0]["status"] == "validated" and state["drafts"][0]["lines"][0]["drug"] == "amoxicilline"
    assert [d["document_id"] for d in state["documents"]] == [e["document_id"] for e in dentist if e["type"] == "document.ready"]


def test_a_screen_that_reconnects_gets_exactly_what_it_missed(practice):
    room = practice.rooms[1]

    async def scenario():
        screen = Screen(practice.server, room, practice.tokens["assistant"])
        await screen.open()
        await dictate(practice, room, ["Nouvelle ordonnance.", "Amoxicilline un gramme matin et soir pendant sept jours."])
        await screen.until(lambda e: e.get("type") == "session.ended")
        await screen.close()
        seen = screen.events[-1]["seq"]
        dentist = await dictate(practice, room, ["Nouveau certificat.", "Le patient déclare avoir reçu un coup hier soir."])
        back = Screen(practice.server, room, practice.tokens["assistant"], last_seq=seen)
        first = await back.open()
        await back.until(lambda e: e.get("type") == "session.ended")
        await back.close()
        stale = Screen(practice.server, room, practice.tokens["assistant"], last_seq=10**9)  # a number from nowhere
        fresh = await stale.open()
        await stale.close()
        return seen, first, back, dentist, fresh

    seen, first, back, dentist, fresh = asyncio.run(scenario())
    assert first == {"type": "catchup", "after": seen, "events": len(back.events) - 1}
    seqs = contiguous(back.events[1:])
    assert seqs[0] == seen + 1
    assert [e["text"] for e in back.events if e["type"] == "final"] == [e["text"] for e in dentist if e["type"] == "final"]
    assert fresh["type"] == "snapshot" and fresh["seq"] == seqs[-1]


def test_one_user_watches_at_most_max_screens_per_user(practice):
    """The caps on screens (max_screens_per_user 6 by default): a seventh
    screen of one assistant is refused with too_many_screens (4429), another
    user's screen is not, and a closed screen gives its place back."""
    room = practice.rooms[1]

    async def scenario():
        screens = [Screen(practice.server, room, practice.tokens["assistant"]) for _ in range(6)]
        opened = [await s.open() for s in screens]
        extra = Screen(practice.server, room, practice.tokens["assistant"])
        refused = await extra.open()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await extra.ws.recv()
        dentist = Screen(practice.server, room, practice.tokens["dentist"])
        other = await dentist.open()
        await screens.pop().close()
        for _ in range(50):  # the server lets go of the closed one in a moment
            again = Screen(practice.server, room, practice.tokens["assistant"])
            if (await again.open())["type"] == "snapshot":
                break
            await asyncio.sleep(0.1)
        for s in [*screens, dentist, again]:
            await s.close()
        return opened, refused, closed.value.rcvd.code, other, again.events[0]

    opened, refused, code, other, again = asyncio.run(scenario())
    assert all(o["type"] == "snapshot" for o in opened)
    assert refused["type"] == "error" and refused["code"] == "too_many_screens" and code == 4429
    assert other["type"] == "snapshot" and again["type"] == "snapshot"


def test_screens_are_capped_per_practice_and_per_server():
    from chairside.rooms.hub import RoomHub
    from chairside.rooms.hub import Screen as Watching

    hub = RoomHub(pool=None, max_queue=4, max_screens=3, per_user=2, per_practice=2)
    a, b, c, d = (Watching("r", 4, user_id=u, clinic_id=p) for u, p in (("u1", "p1"), ("u2", "p1"), ("u3", "p1"), ("u4", "p2")))
    assert hub.admit(a) is None and hub.admit(b) is None
    assert hub.admit(c) == "practice" and hub.admit(d) is None
    assert hub.admit(Watching("r", 4, user_id="u5", clinic_id="p3")) == "server"
    hub.leave(a)
    assert hub.admit(c) is None


@pytest.fixture(scope="module")
def small_queues(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("small-queues"), screen_queue="16", requests_per_s="1000")  # a flood of lines, on purpose
    yield create_practice(server)
    stop_server(server)


def test_a_stuck_screen_slows_nobody_and_gets_a_snapshot(small_queues):
    """A screen that stops reading (a frozen tab): the dictation and the other
    screen go on at full speed; when it reads again it gets a fresh snapshot,
    then live events."""
    practice = small_queues
    room = practice.rooms[0]
    lines = [f"Paracétamol un gramme, un comprimé {n} fois par jour si douleur, pendant {n} jours, à prendre au cours du repas."
             for n in range(1, 7)] * 25  # about 10 MB of events: more than any socket buffer holds (4 MB at most here)

    async def scenario():
        healthy = Screen(practice.server, room, practice.tokens["assistant"])
        # a screen whose socket reads nothing more once a few kilobytes wait
        tiny = socket.socket()
        tiny.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        tiny.connect(("127.0.0.1", practice.server.port))
        stuck = Screen(practice.server, room, practice.tokens["assistant"], max_queue=1, sock=tiny, compression=None)
        await healthy.open()
        await stuck.open()
        t0 = time.perf_counter()
        dentist = await dictate(practice, room, ["Nouvelle ordonnance.", *lines])
        dictation_s = time.perf_counter() - t0
        await healthy.until(lambda e: e.get("type") == "session.ended")
        reading, last = [], healthy.events[-1]["seq"]
        while not reading or reading[-1].get("seq") != last:  # up to the end, by event or by snapshot
            reading.append(await stuck.next())
        await healthy.close()
        await stuck.close()
        return dentist, dictation_s, healthy, reading, practice.server.load()

    dentist, dictation_s, healthy, reading, health = asyncio.run(scenario())
    assert sum(e["type"] == "final" for e in dentist) == len(lines) + 1
    assert dictation_s < 30, dictation_s  # not held back by the stuck screen (about 6 s here)
    contiguous(healthy.events[1:])
    assert sum(e["type"] == "final" for e in healthy.events) == len(lines) + 1
    resync = [e for e in reading if e["type"] == "snapshot"]
    assert resync and resync[0]["reason"] == "behind"
    after = reading[reading.index(resync[-1]) :]  # the last snapshot, then live events from the next number on
    contiguous(after)
    assert len(resync[-1]["session"]["transcript"]) + sum(e["type"] == "final" for e in after) == len(lines) + 1
    assert health["screens"] == 0  # both screens gone: the hub keeps nothing of them


# -- two replicas --------------------------------------------------------------------


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, debian_postgres):
    """Two server processes on one PostgreSQL (Debian's, by URL)."""
    url = asyncio.run(fresh_database(debian_postgres.url))
    a = start_server(tmp_path_factory.mktemp("replica-a"), database_url=url)
    b = start_server(tmp_path_factory.mktemp("replica-b"), database_url=url)
    yield a, b
    stop_server(a)
    stop_server(b)


def test_a_screen_on_one_replica_follows_a_dictation_on_the_other(replicas, corpus):
    a, b = replicas
    practice = create_practice(a)
    room = practice.rooms[0]

    async def scenario():
        screen = Screen(b, room, practice.tokens["assistant"])  # the same token works on both replicas
        await screen.open()
        watching = asyncio.create_task(screen.until(lambda e: e.get("type") == "session.ended"))  # reading as events come
        times: list[float] = []
        dentist = await dictate(practice, room, ["Nouvelle ordonnance.", ("audio", corpus["dental_02.wav"].path), FIX_DURATION, "Valide.", "Oui."], times=times)
        await watching
        await screen.close()
        return dentist, times, screen

    dentist, times, screen = asyncio.run(scenario())
    session_id = dentist[0]["session_id"]
    live = screen.live(session_id)
    contiguous(live)
    finals = [e["text"] for e in dentist if e["type"] == "final" and e["text"]]
    assert [e["text"] for e in live if e["type"] == "final"] == finals
    assert sum(e["type"] == "partial" for e in live) == sum(e["type"] == "partial" for e in dentist)
    document = [e for e in dentist if e["type"] == "document.ready"][0]
    pdf = httpx.get(b.http + document["url"], headers=practice.headers("assistant"), timeout=10)
    assert pdf.status_code == 200 and pdf.headers["etag"] == f'"{document["sha256"]}"'
    # how long after the dentist's client the screen on the other replica got each event (docs/benchmarks.md measures it)
    received_at = {(e["type"], e.get("utterance"), json.dumps(e.get("text") or e.get("stable"))): t
                   for e, t in zip(dentist, times)}
    delays = [t - received_at[(e["type"], e.get("utterance"), json.dumps(e.get("text") or e.get("stable")))]
              for e, t in zip(screen.events, screen.times)
              if e.get("session_id") == session_id and (e["type"], e.get("utterance"), json.dumps(e.get("text") or e.get("stable"))) in received_at]
    assert len(delays) >= len(finals) and sorted(delays)[len(delays) // 2] < 1.0, delays


def test_screens_survive_the_loss_of_the_listening_connection(replicas, debian_postgres):
    """PostgreSQL drops the replicas' LISTEN connections (a restart, a
    network cut): they listen again, and a screen misses nothing."""
    a, b = replicas
    practice = create_practice(a)
    room = practice.rooms[1]

    async def terminate_listeners() -> int:
        import asyncpg

        conn = await asyncpg.connect(debian_postgres.url)
        try:
            return len(await conn.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"))
        finally:
            await conn.close()

    async def scenario():
        screen = Screen(b, room, practice.tokens["assistant"])
        await screen.open()
        assert await terminate_listeners() >= 2
        dentist = await dictate(practice, room, ["Nouvelle ordonnance.", "Amoxicilline un gramme matin et soir pendant sept jours."])
        await screen.until(lambda e: e.get("type") == "session.ended", timeout=30)
        await screen.close()
        return dentist, screen

    dentist, screen = asyncio.run(scenario())
    contiguous(screen.events[1:])
    assert [e["text"] for e in screen.events if e["type"] == "final"] == [e["text"] for e in dentist if e["type"] == "final"]
    assert "LISTEN connection was lost" in b.log()

