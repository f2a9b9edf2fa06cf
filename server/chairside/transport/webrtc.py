"""``POST /v1/webrtc/offer``: the dentist's audio over WebRTC (aiortc).

The client sends an SDP offer with one audio track (Opus) and a data channel
named ``events``, and the fields of a ``start`` message; the answer comes
back in the response.  The track's frames are decoded by aiortc, resampled
to 16 kHz mono with PyAV, and fed to exactly the session pipeline that
``/v1/stream`` feeds.  The session's events go back on the data channel as
the same JSON; the client sends ``text``, ``preview`` and ``stop`` on it.

ICE: host candidates only unless ``CHAIRSIDE_WEBRTC_ICE_SERVERS`` names
STUN/TURN servers (aiortc would otherwise ask a public STUN server: nothing
leaves the practice's network by default).  A peer that vanishes (its
connection fails, or stays disconnected for ``CHAIRSIDE_WEBRTC_GRACE_S``) is
released: tracks, tasks, session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import events as ev
from .. import metrics
from ..audio import SAMPLE_RATE
from ..audio.pcm import Resampler
from ..auth import DICTATE, PRIVATE, AuthError, Principal, authorized, bearer, error_response
from ..services import Services, services
from ..session import Session, SessionLimit
from .guard import TokenGuard
from .opening import Refused, open_session

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 20.0  # from the answer to a connected peer


def ice_servers(spec: str) -> list[RTCIceServer]:
    """``CHAIRSIDE_WEBRTC_ICE_SERVERS``: a JSON list of {"urls", "username",
    "credential"}; empty for none."""
    if not spec.strip():
        return []
    try:
        return [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in json.loads(spec)]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"CHAIRSIDE_WEBRTC_ICE_SERVERS is not a JSON list of {{\"urls\": …}} objects: {spec!r}") from exc


@authorized(*DICTATE)
async def webrtc_offer(request: Request, who: Principal) -> Response:
    """
    summary: Start a dictation over WebRTC. The body is an SDP offer (one audio track, a data channel named "events") and the fields of a start message; the answer is returned. Events then come on the data channel, as on /v1/stream.
    tags: [dictation]
    requestBody:
      required: true
      content:
        application/json:
          schema: {type: object, required: [sdp, type], properties: {sdp: {type: string}, type: {type: string, enum: [offer]}, start: {type: object, description: 'the fields of a start message (docs/protocol.md) but type and token'}}}
    responses:
      200: {description: 'The SDP answer and the session id'}
      400: {description: 'Not an SDP offer, or a bad start field'}
      401: {description: 'No valid token'}
      403: {description: 'Not a dentist'}
      404: {description: 'A room, patient or session of another practice'}
      500: {description: 'The session could not be opened (the database failed)'}
      503: {description: 'The server runs its maximum of sessions'}
    """
    state = services(request)
    try:
        sdp, start = _offer(await request.body())
    except (ValueError, ValidationError) as exc:
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        return error_response(400, "invalid_request", message if not isinstance(exc, json.JSONDecodeError) else "the body is not JSON")
    if not all(f"\nm={kind} " in "\n" + sdp for kind in ("audio", "application")):
        return error_response(400, "invalid_offer", "the offer needs an audio track and a data channel named \"events\"")
    peer = Peer(state)  # its slot is taken once the start is authenticated, while the session opens (open_session)
    try:
        session = await open_session(state, start, bearer(request.headers), connection=peer)
    except Refused as exc:
        await peer.release()
        return error_response(exc.status, exc.code, exc.message)
    except Exception:
        log.exception("webrtc: opening a session failed")
        await peer.release()
        return error_response(500, "internal_error", "the server failed to open the session")
    peer.guard = TokenGuard(state.tokens, state.database.pool, who, state.settings.token_check_s)
    try:
        answer = await peer.connect(session, RTCSessionDescription(sdp=sdp, type="offer"))
    except Exception as exc:  # aiortc's parsing of a malformed SDP raises many kinds
        log.info("webrtc %s: offer refused (%s)", session.id[:8], type(exc).__name__)
        await peer.release()
        return error_response(400, "invalid_offer", f"the SDP offer could not be used ({type(exc).__name__})")
    return JSONResponse({"type": answer.type, "sdp": answer.sdp, "session_id": session.id}, headers=PRIVATE)


def _offer(body: bytes) -> tuple[str, ev.Start]:
    """The SDP of an offer and the ``start`` it asks for (ValueError,
    ValidationError when the body is not one)."""
    data = json.loads(body)
    if not isinstance(data, dict) or data.get("type") != "offer" or not isinstance(data.get("sdp"), str):
        raise ValueError("send {\"type\": \"offer\", \"sdp\": …, \"start\": {…}}")
    fields = data.get("start") or {}
    if not isinstance(fields, dict) or "token" in fields or "type" in fields:
        raise ValueError("start holds the fields of a start message, not its type nor the token (send it in the Authorization header)")
    return data["sdp"], ev.Start.model_validate({**fields, "type": "start", "encoding": "pcm_f32le", "sample_rate": SAMPLE_RATE, "channels": 1})


class Peer:
    """One WebRTC dictation: the peer connection, its session and tasks."""

    def __init__(self, state: Services) -> None:
        self.state = state
        self.session: Session | None = None
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers(state.settings.webrtc_ice_servers)))
        self.channel = None
        self.resampler = Resampler()  # Opus frames (48 kHz, stereo or mono) → 16 kHz mono float32
        self._tasks: set[asyncio.Task] = set()
        self.guard: TokenGuard | None = None  # the dentist's token, renewed on the channel, checked until the end
        self._released = False
        self._grace: asyncio.TimerHandle | None = None

    async def connect(self, session: Session, offer: RTCSessionDescription) -> RTCSessionDescription:
        self.session = session
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_channel)
        self.pc.on("connectionstatechange", self._on_state)
        await self.pc.setRemoteDescription(offer)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._spawn(self._send_events(), "events")
        self._spawn(self._until_connected(), "connect")
        if self.guard is not None:
            self._spawn(self._guarded(), "guard")
        log.info("webrtc %s: started (%s)", session.id[:8], session.language)
        return self.pc.localDescription

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.create_task(coro, name=f"webrtc-{name}-{self.session.id[:8]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_track(self, track) -> None:
        if track.kind == "audio":
            self._spawn(self._receive_audio(track), "audio")

    def _on_channel(self, channel) -> None:
        if channel.label != "events":
            return
        self.channel = channel
        channel.on("message", self._on_message)

    def _on_state(self) -> None:
        state = self.pc.connectionState
        if state in ("failed", "closed"):
            self._spawn(self.release(), "release")
        elif state == "disconnected" and self._grace is None:  # may come back (ICE restart, a brief cut)
            self._grace = asyncio.get_running_loop().call_later(self.state.settings.webrtc_grace_s, self._gone_for_good)
        elif state == "connected" and self._grace is not None:
            self._grace.cancel()
            self._grace = None

    async def _until_connected(self) -> None:
        """A peer that never connects (no route, a bad candidate) is released."""
        await asyncio.sleep(CONNECT_TIMEOUT_S)
        if self.pc.connectionState != "connected":
            log.info("webrtc %s: never connected", self.session.id[:8])
            self._spawn(self.release(), "release")

    def _gone_for_good(self) -> None:
        self._grace = None
        if self.pc.connectionState != "connected":
            self._spawn(self.release(), "release")

    async def _receive_audio(self, track) -> None:
        idle_s = self.state.settings.idle_timeout_s
        try:
            while True:
                try:  # a muted track still brings silent frames: no frame at all is a peer gone quiet
                    frame = await asyncio.wait_for(track.recv(), timeout=idle_s)
                except asyncio.TimeoutError:
                    log.info("webrtc %s: no audio for %g s; releasing", self.session.id[:8], idle_s)
                    self._send(ev.Error(code="idle_timeout", message=f"no audio received for {idle_s:g} s", fatal=True))
                    return
                self.session.feed(self.resampler.push_frame(frame))
        except MediaStreamError:
            pass  # the track ended
        except SessionLimit as exc:
            self._send(ev.Error(code="session_too_long", message=str(exc), fatal=True))
            await self.session.stop(reason="session_too_long")

    def _on_message(self, message) -> None:
        if not isinstance(message, str):
            self._send(ev.Error(code="invalid_message", message="the events channel carries JSON text; audio goes in the track"))
            return
        try:
            parsed = ev.parse_client_message(message)
        except ev.ProtocolError as exc:
            self._send(ev.Error(code=exc.code, message=exc.message))
            return
        if isinstance(parsed, ev.Start):
            self._send(ev.Error(code="already_started", message="the offer started this session; 'start' ignored"))
        elif isinstance(parsed, (ev.Text, ev.Preview, ev.Accept)) and not self.session.allow_request():
            self._send(ev.Error(code="rate_limited", message=f"too many messages: '{parsed.type}' ignored"))
        elif isinstance(parsed, ev.Text):
            self._spawn(self.session.add_text(parsed.text), "text")
        elif isinstance(parsed, ev.Preview):
            self._spawn(self.session.preview(), "preview")
        elif isinstance(parsed, ev.Accept):
            self._spawn(self.session.accept(parsed.index), "accept")
        elif isinstance(parsed, ev.TokenRenewal):
            try:
                if self.guard is not None:
                    self.guard.renew(parsed.token)
            except AuthError as exc:
                self._send(ev.Error(code=exc.code, message=f"{exc.message}; the current token stays in use until it expires"))
        else:
            self._spawn(self._stop(), "stop")

    async def _stop(self) -> None:
        with contextlib.suppress(SessionLimit):
            self.session.feed(self.resampler.flush())
        await self.session.stop()  # its events, `closed` last, go out on the channel

    async def _guarded(self) -> None:
        """Release the peer when its token expires unrenewed or its user is disabled."""
        assert self.guard is not None
        refused = await self.guard.until_refused()
        log.info("webrtc %s: closing (%s)", self.session.id[:8], refused.code)
        self._send(ev.Error(code=refused.code, message=refused.message, fatal=True))  # sent, then the peer is released

    def _send(self, event: ev.ServerEvent) -> None:
        self.session.events.put_nowait(event)

    async def _send_events(self) -> None:
        """The session's events on the data channel, in order (held until it opens)."""
        while (event := await self.session.events.get()) is not None:
            while self.channel is None or self.channel.readyState != "open":
                if self.channel is not None and self.channel.readyState == "closed":
                    return
                await asyncio.sleep(0.02)
            if isinstance(event, ev.Error):
                metrics.error(event.code)
            self.channel.send(event.model_dump_json())
            if isinstance(event, ev.Closed) or (isinstance(event, ev.Error) and event.fatal):
                await asyncio.sleep(0.2)  # let the last message leave before the connection closes
                self._spawn(self.release(), "release")
                return

    async def taken_over(self) -> None:
        """Its session was resumed on another connection."""
        await self.release()

    async def finish(self) -> None:
        """SIGTERM: the utterance being spoken ends, its finals and ``closed``
        (reason ``shutdown``) go out on the channel, then the peer is released."""
        if self.session is None or self._released:
            return
        with contextlib.suppress(SessionLimit):  # fed only if the session is not stopping already
            self.session.feed(self.resampler.flush())
        await self.session.stop(reason="shutdown")
        for _ in range(50):  # the sender releases the peer once `closed` has left
            if self._released:
                return
            await asyncio.sleep(0.05)
        await self.release()

    async def release(self) -> None:
        """Close everything, once: the session (abandoned if not stopped), the
        peer connection, the tasks."""
        if self._released:
            return
        self._released = True
        self.state.sessions.discard(self)
        if self._grace is not None:
            self._grace.cancel()
        current = asyncio.current_task()
        if self.session is not None:
            await self.session.close()
        with contextlib.suppress(Exception):
            await self.pc.close()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        log.info("webrtc %s: released", self.session.id[:8] if self.session else "-")
