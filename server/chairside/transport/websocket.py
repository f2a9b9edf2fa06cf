"""``/v1/stream``: the WebSocket protocol v1 (docs/protocol.md).

A text frame carries one JSON message, a binary frame raw PCM audio.  Bad
input is answered with an ``error`` event; when the session cannot go on the
error is ``fatal`` and the socket is closed with the code listed below.  The
session is always released, whatever the way the connection ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .. import events as ev
from .. import metrics
from ..audio.pcm import PcmDecoder, PcmError, Resampler
from ..auth import AuthError, bearer
from ..services import services
from ..session import Session, SessionLimit
from ..store.journal import SessionErased
from .guard import TokenGuard
from .opening import CLOSE_TAKEN_OVER, Refused, open_session

log = logging.getLogger(__name__)

# WebSocket close codes (RFC 6455) used by the server.
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008  # session too long, idle client
CLOSE_TOO_BIG = 1009  # oversized frame
CLOSE_INTERNAL = 1011  # recognition failed
CLOSE_TRY_LATER = 1013  # server busy
CLOSE_RESTART = 1012  # the server is stopping: the session can be resumed on it (or another replica)
# Application close codes (4000-4999): 4000 + the HTTP status of the refusal
# (4401 no valid token, 4403 a role that may not, 4404 not in the caller's practice).
CLOSE_GONE = 4410  # the session's patient was erased meanwhile
AUDIO_LEAD_S = 10.0  # audio a client may send ahead of real time before its pace is held against max_audio_speed
TOKEN_REFUSALS = ("token_expired", "invalid_token", "token_revoked")  # the session's token expired unrenewed, or its user was disabled: 4401


def close_code(status: int) -> int:
    """The close code of a refusal with this HTTP status."""
    return 4000 + status


class _Fatal(Exception):
    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.error = ev.Error(code=code, message=message, fatal=True)
        self.close_code = close_code


async def stream_endpoint(websocket: WebSocket) -> None:
    state = services(websocket)
    settings = state.settings
    await websocket.accept()
    connection = _Connection(websocket)  # a session slot only once its start is authenticated (opening.open_session)
    try:
        await connection.run()
    finally:
        state.sessions.discard(connection)


async def _send(websocket: WebSocket, event: ev.ServerEvent) -> None:
    if isinstance(event, ev.Error):
        metrics.error(event.code)
    await websocket.send_text(event.model_dump_json())


class _Connection:
    def __init__(self, websocket: WebSocket) -> None:
        self.ws = websocket
        self.state = services(websocket)
        self.settings = self.state.settings
        self.session: Session | None = None
        self.decoder: PcmDecoder | None = None  # the client's PCM ...
        self.resampler: Resampler | None = None  # ... to 16 kHz mono float32
        self.sender: asyncio.Task | None = None
        self.guard: TokenGuard | None = None  # the caller's token, renewed in-band, checked until the end
        self.guarding: asyncio.Task | None = None
        self.started_at = 0.0  # when the session started (the loop's clock): the audio's pace is measured from it
        self.close_code = CLOSE_NORMAL

    async def run(self) -> None:
        try:
            await self._receive_loop()
        except WebSocketDisconnect:
            log.info("stream %s: client disconnected", self._sid)
        except _Fatal as fatal:
            log.info("stream %s: closing (%s)", self._sid, fatal.error.code)
            await self._fatal(fatal)
        except SessionErased as exc:
            log.info("stream %s: closing (session_erased)", self._sid)
            await self._fatal(_Fatal("session_erased", str(exc), CLOSE_GONE))
        except Exception:
            log.exception("stream %s: unexpected failure", self._sid)
            await self._fatal(_Fatal("internal_error", "the server failed on this session", CLOSE_INTERNAL))
        finally:
            await self._release()

    @property
    def _sid(self) -> str:
        return self.session.id[:8] if self.session else "-"

    async def _receive_loop(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.start_timeout_s  # to send an authenticated start, whatever else comes
        while True:
            waiting = self.session is None
            timeout = max(0.0, deadline - loop.time()) if waiting else self.settings.idle_timeout_s
            try:
                message = await asyncio.wait_for(self.ws.receive(), timeout=timeout)
            except asyncio.TimeoutError:
                if waiting:
                    raise _Fatal("start_timeout", f"no start within {self.settings.start_timeout_s:g} s of connecting", CLOSE_POLICY) from None
                raise _Fatal("idle_timeout", f"nothing received for {self.settings.idle_timeout_s:g} s", CLOSE_POLICY) from None
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            if message.get("bytes") is not None:
                await self._on_audio(message["bytes"])
            elif message.get("text") is not None:
                if await self._on_text(message["text"]):
                    return

    async def _on_audio(self, data: bytes) -> None:
        if len(data) > self.settings.max_frame_bytes:
            raise _Fatal("frame_too_large", f"binary frame of {len(data)} bytes exceeds the limit of {self.settings.max_frame_bytes}", CLOSE_TOO_BIG)
        if self.session is None:
            await self._error("not_started", "send a 'start' message before audio; frame ignored")
            return
        assert self.decoder is not None and self.resampler is not None
        self._pace()
        try:
            self.session.feed(self.resampler.push(self.decoder.decode(data)))
        except PcmError as exc:
            await self._error("invalid_audio", f"{exc}; frame ignored")
        except SessionLimit as exc:
            raise _Fatal("session_too_long", str(exc), CLOSE_POLICY) from exc

    async def _on_text(self, text: str) -> bool:
        """Handle a JSON message; True when the session is over."""
        try:
            message = ev.parse_client_message(text)
        except ev.ProtocolError as exc:
            await self._error(exc.code, exc.message)
            return False
        if isinstance(message, ev.Start):
            if self.session is not None:
                await self._error("already_started", "this connection already has a session; 'start' ignored")
                return False
            self.session = await self._open(message)
            self.guard = TokenGuard(self.state.tokens, self.state.database.pool,
                                    self.state.tokens.verify(message.token or bearer(self.ws.headers)), self.settings.token_check_s)
            self.guarding = asyncio.create_task(self._guard(), name=f"guard-{self.session.id[:8]}")
            self.started_at = asyncio.get_running_loop().time()
            self.decoder = PcmDecoder(message.encoding, message.channels)
            self.resampler = Resampler(message.sample_rate)
            self.sender = asyncio.create_task(self._send_events(), name=f"send-{self.session.id[:8]}")
            log.info("stream %s: started (%s, %d Hz, %s, %d ch)", self._sid, message.language, message.sample_rate, message.encoding, message.channels)
            return False
        if isinstance(message, (ev.Text, ev.Preview, ev.Accept)):
            if self.session is None:
                await self._error("not_started", f"send a 'start' message before '{message.type}'; ignored")
            elif not self.session.allow_request():
                await self._error("rate_limited", f"too many messages: '{message.type}' ignored (at most {self.settings.requests_per_s:g} a second)")
            elif isinstance(message, ev.Text):
                await self.session.add_text(message.text)
            elif isinstance(message, ev.Preview):
                await self.session.preview()
            else:
                await self.session.accept(message.index)
            return False
        if isinstance(message, ev.TokenRenewal):
            if self.guard is None:
                await self._error("not_started", "send a 'start' message (with its token) first")
            else:
                try:
                    self.guard.renew(message.token)
                except AuthError as exc:
                    await self._error(exc.code, f"{exc.message}; the current token stays in use until it expires")
            return False
        # Stop
        if self.session is None:
            await self._error("not_started", "'stop' before 'start': nothing to stop")
            return False
        self._flush()
        await self.session.stop()
        return True

    def _pace(self) -> None:
        """Audio sent far faster than it is spoken (a flood, or a file pushed
        through a live session) is refused: at most ``max_audio_speed`` times
        real time, after AUDIO_LEAD_S of lead."""
        assert self.session is not None
        speed = self.settings.max_audio_speed
        elapsed = asyncio.get_running_loop().time() - self.started_at
        if speed > 0 and self.session.audio_seconds > AUDIO_LEAD_S + speed * elapsed:
            raise _Fatal("audio_too_fast", f"{self.session.audio_seconds:.1f} s of audio in {elapsed:.1f} s: at most {speed:g} × real time",
                         CLOSE_POLICY)

    def _flush(self) -> None:
        """The audio still in the resampler's filter, before a stop."""
        if self.session is not None and self.resampler is not None:
            with contextlib.suppress(SessionLimit):
                self.session.feed(self.resampler.flush())

    async def _open(self, start: ev.Start) -> Session:
        try:
            return await open_session(self.state, start, start.token or bearer(self.ws.headers), connection=self)
        except Refused as exc:
            raise _Fatal(exc.code, exc.message, CLOSE_TRY_LATER if exc.code == "server_busy" else close_code(exc.status)) from None

    async def taken_over(self) -> None:
        """Its session was resumed on another connection."""
        self.close_code = CLOSE_TAKEN_OVER
        await self.ws.close(CLOSE_TAKEN_OVER, "resumed on another connection")

    async def release(self) -> None:
        """The server is stopping: uvicorn closes the socket itself, and the
        session is released when the receive loop ends (``run``)."""

    async def finish(self) -> None:
        """SIGTERM: the utterance being spoken ends, its finals and ``closed``
        (reason ``shutdown``) are sent, then the socket closes with 1012."""
        if self.session is None:
            return
        self._flush()
        await self.session.stop(reason="shutdown")
        await self._drain()
        self.close_code = CLOSE_RESTART
        with contextlib.suppress(Exception):
            await self.ws.close(CLOSE_RESTART, "the server is restarting: resume the session")

    async def _guard(self) -> None:
        """Close the session when its token expires unrenewed or its user is disabled."""
        assert self.guard is not None and self.session is not None
        refused = await self.guard.until_refused()
        log.info("stream %s: closing (%s)", self._sid, refused.code)
        self.session.events.put_nowait(ev.Error(code=refused.code, message=refused.message, fatal=True))

    async def _error(self, code: str, message: str) -> None:
        """A non-fatal error, in order with the session's other events."""
        event = ev.Error(code=code, message=message)
        if self.session is not None:
            self.session.events.put_nowait(event)
        else:
            await _send(self.ws, event)

    async def _send_events(self) -> None:
        """Deliver the session's events in order, until the ``None`` sentinel."""
        assert self.session is not None
        while (event := await self.session.events.get()) is not None:
            await _send(self.ws, event)
            if isinstance(event, ev.Error) and event.fatal and event.code in ("internal_error", "session_erased", "client_too_slow", *TOKEN_REFUSALS):
                self.close_code = {"internal_error": CLOSE_INTERNAL, "session_erased": CLOSE_GONE,
                                   "client_too_slow": CLOSE_POLICY}.get(event.code, close_code(401))
                await self.ws.close(self.close_code)  # ends the receive loop too
                return

    async def _drain(self) -> None:
        """Deliver every queued event, then stop the sender."""
        if self.sender is not None and self.session is not None:
            self.session.events.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self.sender), timeout=10)
            self.sender.cancel()
            await asyncio.gather(self.sender, return_exceptions=True)

    async def _fatal(self, fatal: _Fatal) -> None:
        self.close_code = fatal.close_code
        with contextlib.suppress(Exception):
            if self.session is None:
                await _send(self.ws, fatal.error)
                return
            self.session.events.put_nowait(fatal.error)
            if fatal.error.code == "session_too_long":  # the audio so far still gets its finals
                self._flush()
                await self.session.stop(reason=fatal.error.code)

    async def _release(self) -> None:
        if self.guarding is not None:
            self.guarding.cancel()
        if self.session is not None:
            await self.session.close()
        await self._drain()
        if self.ws.application_state != WebSocketState.DISCONNECTED and self.ws.client_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await self.ws.close(self.close_code)
