"""Bad input on /v1/stream: a clear error, the right close code, no leak,
and other sessions unaffected.  Runs against a server with small limits
(idle 2 s, 4 s of audio per session, 3 sessions, 64 KiB frames)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time

import pytest
import websockets

from chairside.client import load_audio, stream_file, to_pcm
from chairside.evaluation import wer


async def recv_json(ws, timeout: float = 10.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, kind: str, timeout: float = 20.0) -> list[dict]:
    got = []
    deadline = time.monotonic() + timeout
    while True:
        event = await recv_json(ws, max(0.1, deadline - time.monotonic()))
        got.append(event)
        if event["type"] == kind:
            return got


async def start(ws, token: str, **fields) -> dict:
    await ws.send(json.dumps({"type": "start", "token": token, **fields}))
    return await recv_json(ws)


def wait_no_sessions(server, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while server.load()["sessions_active"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.load()["sessions_active"] == 0


def run(coro):
    return asyncio.run(coro)


def test_audio_before_start_is_refused_then_start_works(strict_server):
    async def scenario():
        async with websockets.connect(strict_server.ws) as ws:
            await ws.send(bytes(640))
            error = await recv_json(ws)
            assert (error["type"], error["code"], error["fatal"]) == ("error", "not_started", False)
            assert (await start(ws, strict_server.token))["type"] == "ready"
            await ws.send(json.dumps({"type": "stop"}))
            assert (await recv_until(ws, "closed"))[-1]["utterances"] == 0

    run(scenario())


@pytest.mark.parametrize(
    "message,code",
    [
        ("{not json", "invalid_json"),
        ('{"type": "hello"}', "unknown_message"),
        ('{"type": "start", "encoding": "opus"}', "invalid_message"),
        ('{"type": "start", "sample_rate": 1000}', "invalid_message"),
        ('{"type": "stop"}', "not_started"),
    ],
)
def test_bad_messages_get_an_error_and_the_connection_goes_on(strict_server, message, code):
    async def scenario():
        async with websockets.connect(strict_server.ws) as ws:
            await ws.send(message)
            error = await recv_json(ws)
            assert error["type"] == "error" and error["code"] == code and not error["fatal"]
            assert error["message"]
            assert (await start(ws, strict_server.token))["type"] == "ready"
            await ws.send(json.dumps({"type": "stop"}))
            await recv_until(ws, "closed")

    run(scenario())


def test_second_start_and_odd_frames_are_refused_without_ending_the_session(strict_server):
    async def scenario():
        async with websockets.connect(strict_server.ws) as ws:
            await start(ws, strict_server.token)
            await ws.send(json.dumps({"type": "start"}))
            assert (await recv_json(ws))["code"] == "already_started"
            await ws.send(bytes(641))  # not whole 16-bit samples
            error = await recv_json(ws)
            assert error["code"] == "invalid_audio" and "641" in error["message"]
            await ws.send(bytes(640))
            await ws.send(json.dumps({"type": "stop"}))
            closed = (await recv_until(ws, "closed"))[-1]
            assert closed["audio_seconds"] == pytest.approx(0.02)
        assert ws.close_code == 1000

    run(scenario())


def test_oversized_frame_closes_with_1009(strict_server):
    async def scenario():
        async with websockets.connect(strict_server.ws, max_size=None) as ws:
            await start(ws, strict_server.token)
            await ws.send(bytes(65536 + 2))
            error = await recv_until(ws, "error")
            assert error[-1]["code"] == "frame_too_large" and error[-1]["fatal"]
            with pytest.raises(websockets.ConnectionClosed):
                await recv_json(ws)
        assert ws.close_code == 1009

    run(scenario())


def test_session_past_its_maximum_duration_is_flushed_and_closed(strict_server, corpus):
    audio = load_audio(corpus["fr_fleurs_000.wav"].path)  # 10 s, limit is 4 s

    async def scenario():
        async with websockets.connect(strict_server.ws) as ws:
            await start(ws, strict_server.token)
            pcm = to_pcm(audio)
            events = []
            try:
                for i in range(0, len(pcm), 6400):
                    await ws.send(pcm[i : i + 6400])
                    await asyncio.sleep(0.01)
            except websockets.ConnectionClosed:
                pass
            try:
                while True:
                    events.append(await recv_json(ws))
            except websockets.ConnectionClosed:
                pass
            return events, ws.close_code

    events, code = run(scenario())
    types = [e["type"] for e in events]
    error = next(e for e in events if e["type"] == "error")
    assert error["code"] == "session_too_long" and error["fatal"]
    assert types[-1] == "closed" and events[-1]["reason"] == "session_too_long"
    assert 4.0 <= events[-1]["audio_seconds"] < 4.5
    assert code == 1008


def test_idle_client_is_closed(strict_server):
    async def scenario():
        async with websockets.connect(strict_server.ws) as ws:
            await start(ws, strict_server.token)
            started = time.monotonic()
            error = await recv_until(ws, "error", timeout=10)
            assert error[-1]["code"] == "idle_timeout" and error[-1]["fatal"]
            assert 1.5 < time.monotonic() - started < 6
            with pytest.raises(websockets.ConnectionClosed):
                await recv_json(ws)
        assert ws.close_code == 1008

    run(scenario())


def test_sessions_over_the_limits_are_refused_after_authentication(strict_server):
    """A slot is taken by an authenticated start only: a dentist's third
    session is refused (too_many_sessions, 4429), and past the server's
    maximum of 3 another dentist's start gets server_busy (1013)."""
    first, second, third = (strict_server.new_token() for _ in range(3))

    async def refused(token: str) -> tuple[dict, int]:
        async with websockets.connect(strict_server.ws) as extra:
            error = await start(extra, token)
            with pytest.raises(websockets.ConnectionClosed):
                await recv_json(extra)
        return error, extra.close_code

    async def scenario():
        held = [await websockets.connect(strict_server.ws) for _ in range(3)]
        try:
            for ws, token in zip(held, (first, first, second)):
                assert (await start(ws, token))["type"] == "ready"
            error, code = await refused(first)
            assert (error["code"], error["fatal"], code) == ("too_many_sessions", True, 4429)
            error, code = await refused(third)
            assert (error["code"], error["fatal"], code) == ("server_busy", True, 1013)
        finally:
            for ws in held:
                await ws.close()

    run(scenario())
    wait_no_sessions(strict_server)


def test_idle_sockets_take_no_slot_and_are_closed_without_a_start(strict_server):
    """The attack of the issue: as many sockets as the server has slots,
    sending nothing or garbage — a real dentist still starts at once; the
    sockets are closed after start_timeout_s (1.5 s here)."""
    async def scenario():
        idle = [await websockets.connect(strict_server.ws) for _ in range(5)]
        await idle[0].send(json.dumps({"type": "stop"}))  # what resets an idle timer does not reset this one
        await idle[1].send(json.dumps({"type": "start", "token": "not a token"}))
        async with websockets.connect(strict_server.ws) as real:
            assert (await start(real, strict_server.token))["type"] == "ready"
            await real.send(json.dumps({"type": "stop"}))
            await recv_until(real, "closed")
        started = time.monotonic()
        codes = []
        for ws in idle:
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await recv_json(ws, timeout=5)
            codes.append(ws.close_code)
        assert codes == [1008, 4401, 1008, 1008, 1008], codes  # the bad token at once, the others at their deadline
        assert time.monotonic() - started < 3

    run(scenario())
    wait_no_sessions(strict_server)


def test_vanishing_clients_leak_nothing_and_do_not_disturb_others(server, corpus):
    rec = corpus["fr_picovoice-cheetah_test_fr.wav"]

    async def vanish(after_audio: bool) -> None:
        ws = await websockets.connect(server.ws)
        await start(ws, server.token)
        if after_audio:
            await ws.send(to_pcm(load_audio(rec.path))[:32000])
        ws.transport.abort()  # no close handshake: the client just disappears

    async def scenario():
        good = asyncio.create_task(stream_file(server.ws, rec.path, token=server.token))
        await asyncio.gather(*(vanish(i % 2 == 0) for i in range(2)), return_exceptions=True)
        return await good

    result = run(scenario())
    assert wer([rec.transcript], [result.text], "fr") <= 0.3, result.text
    wait_no_sessions(server)
    assert server.process.poll() is None
    assert "Traceback" not in server.log()


def test_a_flood_of_messages_is_rate_limited_and_the_session_goes_on(server):
    """60 typed texts at once: a burst of 30 is taken, the rest are refused
    (rate_limited, not fatal); the session then goes on as usual."""
    async def scenario():
        async with websockets.connect(server.ws) as ws:
            assert (await start(ws, server.token))["type"] == "ready"
            for i in range(60):
                await ws.send(json.dumps({"type": "text", "text": f"Ligne {i}."}))
            await asyncio.sleep(0.5)
            await ws.send(json.dumps({"type": "text", "text": "Après la rafale."}))
            await ws.send(json.dumps({"type": "stop"}))
            return await recv_until(ws, "closed", timeout=30)

    events = run(scenario())
    finals = [e["text"] for e in events if e["type"] == "final"]
    refused = [e for e in events if e["type"] == "error" and e["code"] == "rate_limited"]
    assert 30 <= len(finals) - 1 <= 36 and len(refused) == 60 - (len(finals) - 1) and not any(e["fatal"] for e in refused)
    assert finals[-1] == "Après la rafale." and events[-1]["reason"] == "stop"


def test_a_client_that_reads_too_slowly_loses_partials_then_its_session():
    """The bounds of a session's queue of events: partials are shed first;
    past EVENTS_MAX the session ends with one fatal client_too_slow."""
    from chairside import events as ev
    from chairside import session as module

    s = module.Session.__new__(module.Session)  # only the queue and its bookkeeping are exercised
    s.id, s.events, s.partials_dropped, s._too_slow = "0" * 32, asyncio.Queue(), 0, False
    final = ev.Final(utterance=1, text="x", words=[], start=0, end=1, language="fr")
    partial = ev.Partial(utterance=1, stable="", unstable="x", audio_end=1.0)
    for _ in range(module.PARTIALS_DROPPED_FROM):
        s._to_client(final)
    s._to_client(partial)
    assert s.events.qsize() == module.PARTIALS_DROPPED_FROM and s.partials_dropped == 1
    for _ in range(module.EVENTS_MAX):
        s._to_client(final)
    assert s.events.qsize() == module.EVENTS_MAX + 1 and s._too_slow
    last = [s.events.get_nowait() for _ in range(s.events.qsize())][-1]
    assert (last.type, last.code, last.fatal) == ("error", "client_too_slow", True)


HOSTILE = [  # what 50 clients throw at /v1/stream before any start (none of it is fatal but the last)
    b"", bytes(641), os.urandom(4096), b"\xff\xfe\xfd", "{", "[]", "null", '"start"', "{}", '{"type": "nope"}',
    '{"type": 42}', '{"type": "text"}', '{"type": "text", "text": ' + json.dumps("x" * 20000) + "}",
    '{"type": "accept", "index": 99999999999999999999999}', '{"type": "accept", "index": -1}', '{"type": "preview"}',
    '{"type": "stop"}', '{"type": "token", "token": ""}', '{"type": "token", "token": "eyJhbGciOiJub25lIn0.e30."}',
    '{"type": "start", "sample_rate": 1e308, "token": 5}', "\u0000" * 100, '{"type": "text", "text": "\\ud800"}',
]


def test_hostile_clients_leave_the_server_up_and_a_real_session_intact(server, corpus):
    """10 000 malformed or hostile messages from 50 clients (binary before
    start, bad JSON, wrong types, huge numbers, lone surrogates, empty and
    odd frames, a start with a bad token last) while a dentist dictates: the
    dentist's finals are as good as alone, and the server is still up."""
    rec = corpus["fr_picovoice-cheetah_test_fr.wav"]

    async def hostile(i: int) -> int:
        sent = 0
        try:
            async with websockets.connect(server.ws, max_size=None) as ws:
                for n in range(199):
                    await ws.send(HOSTILE[(i + n) % len(HOSTILE)])
                    sent += 1
                await ws.send(json.dumps({"type": "start", "token": f"forged-{i}", "sample_rate": 7}))
                sent += 1
                with contextlib.suppress(websockets.ConnectionClosed, asyncio.TimeoutError):
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed:
            pass
        return sent

    async def scenario():
        good = asyncio.create_task(stream_file(server.ws, rec.path, token=server.token))
        sent = await asyncio.gather(*(hostile(i) for i in range(50)))
        return sum(sent), await good

    before = len(server.log())
    sent, result = run(scenario())
    assert sent == 10_000
    assert "Traceback" not in server.log()[before:] and "unexpected failure" not in server.log()[before:]
    assert wer([rec.transcript], [result.text], "fr") <= 0.3, result.text
    assert server.health() == {"status": "ok"} and server.process.poll() is None
    wait_no_sessions(server)


def test_audio_sent_far_faster_than_real_time_is_refused(tmp_path_factory):
    """A live session takes audio at most max_audio_speed (2) times faster than
    real time after 10 s of lead: 40 s of audio pushed at once is refused
    (audio_too_fast, 1008) once the lead is spent; the server goes on."""
    from conftest import start_server, stop_server

    paced = start_server(tmp_path_factory.mktemp("paced"), max_audio_speed="2")
    try:
        async def scenario():
            async with websockets.connect(paced.ws) as ws:
                assert (await start(ws, paced.token))["type"] == "ready"
                sent = 0
                try:
                    for _ in range(400):  # 40 s of silence, 100 ms a frame, as fast as the socket takes it
                        await ws.send(bytes(3200))
                        sent += 1
                    events = await recv_until(ws, "error", timeout=10)
                except websockets.ConnectionClosed:
                    events = []
                with contextlib.suppress(websockets.ConnectionClosed, asyncio.TimeoutError):
                    while True:
                        events.append(await recv_json(ws, 5))
                return events, ws.close_code

        events, code = run(scenario())
        error = next(e for e in events if e["type"] == "error")
        assert (error["code"], error["fatal"], code) == ("audio_too_fast", True, 1008), events
        assert paced.health() == {"status": "ok"}
    finally:
        stop_server(paced)
