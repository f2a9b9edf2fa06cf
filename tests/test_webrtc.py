"""WebRTC input (``POST /v1/webrtc/offer``) with a real aiortc peer playing a
real recording at real-time pace (Opus over SRTP, host candidates only), into
the same session pipeline as the WebSocket: events on the data channel, the
room's screens, refusals, vanished peers, several peers at once."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from conftest import bearer

from chairside.evaluation import wer


class WebRtcDictation:
    """A dentist's browser, as aiortc: one audio track from a file, a data
    channel named "events".  Use it with ``async with``: however the test
    ends, the player stops and the connection closes (a peer left open
    kept aiortc's tasks, and the test, alive until pytest's timeout)."""

    def __init__(self, server, token: str, recording, start: dict | None = None) -> None:
        self.server, self.token, self.recording, self.start = server, token, recording, start or {}
        self.events: list[dict] = []
        self.closed = asyncio.Event()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = self.pc.createDataChannel("events")
        self.channel.on("message", self._on_message)
        self.opened = asyncio.Event()
        self.channel.on("open", self.opened.set)
        self.player = MediaPlayer(str(recording))
        self.ended = asyncio.Event()

    async def __aenter__(self) -> WebRtcDictation:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the player and close the connection, within seconds."""
        if self.player.audio is not None:
            self.player.audio.stop()
        await asyncio.wait_for(self.pc.close(), 10)

    def _on_message(self, message: str) -> None:
        event = json.loads(message)
        self.events.append(event)
        if event["type"] == "closed" or (event["type"] == "error" and event["fatal"]):
            self.closed.set()

    def _state(self) -> str:
        return (f"connection {self.pc.connectionState}, ICE {self.pc.iceConnectionState}, "
                f"data channel {self.channel.readyState}, {len(self.events)} events")

    async def _until(self, event: asyncio.Event, what: str, timeout: float) -> None:
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"{what} not within {timeout} s: {self._state()}") from None

    async def offer(self) -> httpx.Response:
        track = self.player.audio
        track.on("ended", self.ended.set)
        self.pc.addTrack(track)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(self.server.http + "/v1/webrtc/offer", headers=bearer(self.token),
                                         json={"type": "offer", "sdp": self.pc.localDescription.sdp, "start": self.start})
        if response.status_code == 200:
            answer = response.json()
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
        return response

    async def wait_open(self, timeout: float = 30) -> None:
        await self._until(self.opened, "the data channel's opening", timeout)

    async def send(self, message: dict) -> None:
        await self.wait_open()
        self.channel.send(json.dumps(message))

    async def finish(self, timeout: float = 60) -> list[dict]:
        """Wait for the recording to end, then stop and wait for `closed`."""
        await self._until(self.ended, "the recording's end", timeout)
        await asyncio.sleep(0.5)
        await self.send({"type": "stop"})
        await self._until(self.closed, "`closed` after stop", timeout)
        await self.close()
        return self.events


def finals(events: list[dict]) -> str:
    return " ".join(e["text"] for e in events if e["type"] == "final" and e["text"])


def wait_no_sessions(server, timeout: float = 15) -> float:
    started = time.monotonic()
    while server.load()["sessions_active"] and time.monotonic() - started < timeout:
        time.sleep(0.1)
    assert server.load()["sessions_active"] == 0
    return time.monotonic() - started


def test_webrtc_dictation_into_a_room(practice, corpus):
    rec = corpus["dental_02.wav"]
    room = practice.rooms[0]

    async def scenario():
        screen = await websockets.connect(f"ws://127.0.0.1:{practice.server.port}/v1/rooms/{room}/events")
        await screen.send(json.dumps({"type": "hello", "token": practice.tokens["assistant"]}))
        await screen.recv()
        async with WebRtcDictation(practice.server, practice.tokens["dentist"], rec.path,
                                   {"room": room, "patient": practice.patient["id"], "language": "fr"}) as dentist:
            response = await dentist.offer()
            assert response.status_code == 200, response.text
            await dentist.send({"type": "text", "text": "Nouvelle ordonnance."})
            events = await dentist.finish()
        shown = []
        while not shown or shown[-1]["type"] != "session.ended":
            shown.append(json.loads(await asyncio.wait_for(screen.recv(), 20)))
        await screen.close()
        return response.json(), events, shown

    answer, events, shown = asyncio.run(scenario())
    assert events[0]["type"] == "ready" and events[0]["session_id"] == answer["session_id"] and events[0]["room"] == room
    kinds = [e["type"] for e in events]
    assert "partial" in kinds and "vad" in kinds and kinds[-1] == "closed"
    assert [e["command"] for e in events if e["type"] == "command"] == ["new_prescription"]
    spoken = " ".join(e["text"] for e in events if e["type"] == "final" and e["source"] == "speech")
    assert wer([rec.transcript], [spoken], "fr") < 0.5, spoken  # Opus at 48 kHz, resampled: as good as PCM (same bound as the WebSocket tests)
    lines = [e for e in events if e["type"] == "draft.updated"][-1]["draft"]["lines"]
    assert lines and lines[0]["drug"] == "amoxicilline"
    assert finals(shown) == finals(events)  # the room's screens see it like any dictation


def test_webrtc_offers_are_refused_with_the_reason(practice, corpus):
    rec = corpus["dental_06.wav"].path

    async def offer(token, start=None, sdp=None):
        async with WebRtcDictation(practice.server, token, rec, start) as peer:
            if sdp is not None:
                async with httpx.AsyncClient() as client:
                    return await client.post(practice.server.http + "/v1/webrtc/offer", headers=bearer(token),
                                             json={"type": "offer", "sdp": sdp, "start": start or {}})
            return await peer.offer()

    assert asyncio.run(offer("not a token")).status_code == 401
    assert asyncio.run(offer(practice.tokens["assistant"])).json()["error"]["code"] == "forbidden"
    assert asyncio.run(offer(practice.tokens["dentist"], {"room": "f" * 32})).status_code == 404
    bad = asyncio.run(offer(practice.tokens["dentist"], {"language": "de"}))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"
    garbage = asyncio.run(offer(practice.tokens["dentist"], sdp="v=0\r\nthis is not sdp\r\n"))
    assert garbage.status_code == 400 and garbage.json()["error"]["code"] == "invalid_offer"
    wait_no_sessions(practice.server)


def test_a_vanished_peer_is_released(practice, corpus):
    """The browser tab is closed mid-dictation: no stop, the connection just
    goes. The server releases the session within seconds."""
    async def scenario():
        async with WebRtcDictation(practice.server, practice.tokens["dentist"], corpus["fr_fleurs_001.wav"].path) as peer:
            assert (await peer.offer()).status_code == 200
            await peer.wait_open()
            await asyncio.sleep(2.0)
            assert practice.server.load()["sessions_active"] == 1
        # closed without a stop, as a tab that goes

    asyncio.run(scenario())
    assert wait_no_sessions(practice.server) < 10


def test_several_peers_at_once(practice, corpus):
    names = ["dental_06.wav", "fr_picovoice-cheetah_test_fr.wav", "dental_02.wav"]

    async def scenario():
        peers = [WebRtcDictation(practice.server, practice.tokens["dentist"], corpus[n].path) for n in names]
        try:
            for peer in peers:
                assert (await peer.offer()).status_code == 200
            return await asyncio.gather(*(peer.finish() for peer in peers))
        finally:
            await asyncio.gather(*(peer.close() for peer in peers))

    results = asyncio.run(scenario())
    for name, events in zip(names, results):
        assert events[-1]["type"] == "closed" and wer([corpus[name].transcript], [finals(events)], "fr") < 0.5, (name, finals(events))
    assert len({events[0]["session_id"] for events in results}) == len(names)
    wait_no_sessions(practice.server)


@pytest.mark.parametrize("body", [b"{", b'{"type": "answer", "sdp": "x"}', b'{"type": "offer", "sdp": "x", "start": {"token": "t"}}'])
def test_malformed_offer_bodies_are_400(practice, body):
    response = httpx.post(practice.server.http + "/v1/webrtc/offer", headers=practice.headers(), content=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
