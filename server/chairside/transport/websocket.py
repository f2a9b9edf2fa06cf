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
import uuid

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .. import events as ev
from ..audio.pcm import PcmError
from ..auth import DICTATE, AuthError, bearer
from ..documents.context import DocumentContext
from ..documents.store import Owner
from ..rooms import RoomPublisher, recover
from ..session import Session, SessionLimit
from ..store import patients
from ..store.journal import SessionErased

log = logging.getLogger(__name__)

# WebSocket close codes (RFC 6455) used by the server.
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008  # session too long, idle client
CLOSE_TOO_BIG = 1009  # oversized frame
CLOSE_INTERNAL = 1011  # recognition failed
CLOSE_TRY_LATER = 1013  # server busy
# Application close codes (4000-4999): the HTTP status they stand for, plus 4000.
CLOSE_UNAUTHENTICATED = 4401  # no token, an invalid or expired one
CLOSE_FORBIDDEN = 4403  # a role that may not do this
CLOSE_NOT_FOUND = 4404  # no such room, patient or session in the caller's practice
CLOSE_TAKEN_OVER = 4409  # the session was resumed on another connection
CLOSE_GONE = 4410  # the session's patient was erased meanwhile


def auth_close_code(exc: AuthError) -> int:
    return CLOSE_FORBIDDEN if exc.status == 403 else CLOSE_UNAUTHENTICATED


class _Fatal(Exception):
    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.error = ev.Error(code=code, message=message, fatal=True)
        self.close_code = close_code


async def stream_endpoint(websocket: WebSocket) -> None:
    state = websocket.app.state
    settings = state.settings
    await websocket.accept()
    if len(state.sessions) >= settings.max_sessions:
        await _send(websocket, ev.Error(code="server_busy", message=f"the server already runs {settings.max_sessions} sessions; retry later", fatal=True))
        await websocket.close(CLOSE_TRY_LATER)
        return
    connection = _Connection(websocket)
    state.sessions.add(connection)
    try:
        await connection.run()
    finally:
        state.sessions.discard(connection)


async def _send(websocket: WebSocket, event: ev.ServerEvent) -> None:
    await websocket.send_text(event.model_dump_json())


class _Connection:
    def __init__(self, websocket: WebSocket) -> None:
        self.ws = websocket
        self.state = websocket.app.state
        self.settings = self.state.settings
        self.session: Session | None = None
        self.sender: asyncio.Task | None = None
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
        while True:
            try:
                message = await asyncio.wait_for(self.ws.receive(), timeout=self.settings.idle_timeout_s)
            except asyncio.TimeoutError:
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
        try:
            self.session.feed_pcm(data)
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
            self.sender = asyncio.create_task(self._send_events(), name=f"send-{self.session.id[:8]}")
            log.info("stream %s: started (%s, %d Hz, %s, %d ch)", self._sid, message.language, message.sample_rate, message.encoding, message.channels)
            return False
        if isinstance(message, ev.Text):
            if self.session is None:
                await self._error("not_started", "send a 'start' message before text; text ignored")
            else:
                await self.session.add_text(message.text)
            return False
        if isinstance(message, ev.Preview):
            if self.session is None:
                await self._error("not_started", "send a 'start' message before 'preview'")
            else:
                await self.session.preview()
            return False
        # Stop
        if self.session is None:
            await self._error("not_started", "'stop' before 'start': nothing to stop")
            return False
        await self.session.stop()
        return True

    async def _open(self, start: ev.Start) -> Session:
        """The session a ``start`` asks for, once the caller may have it:
        a dentist, in a room and for a patient of their own practice."""
        try:
            who = self.state.tokens.verify(start.token or bearer(self.ws.headers))
        except AuthError as exc:
            raise _Fatal(exc.code, exc.message, auth_close_code(exc)) from None
        if who.role not in DICTATE:
            raise _Fatal("forbidden", "only a dentist dictates; assistants watch rooms (/v1/rooms/{room}/events)", CLOSE_FORBIDDEN)
        pool = self.state.database.pool
        resumed = None
        if start.resume:
            resumed = await self.state.journal.resumable(start.resume, who.user_id)
            if resumed is None:
                raise _Fatal("not_found", "no interrupted session of yours with this id (a stopped session cannot be resumed)", CLOSE_NOT_FOUND)
            await self._take_over(resumed.session_id)
        room = resumed.room_id if resumed else start.room
        patient = resumed.patient_id if resumed else start.patient
        if room and not await pool.fetchval("SELECT 1 FROM rooms WHERE id = $1 AND clinic_id = $2",
                                            uuid.UUID(hex=room), uuid.UUID(hex=who.clinic_id)):
            raise _Fatal("not_found", "no such room in your practice", CLOSE_NOT_FOUND)
        if patient and not resumed and await patients.get(pool, who.clinic_id, patient) is None:
            raise _Fatal("not_found", "no such patient in your practice", CLOSE_NOT_FOUND)
        if resumed:
            context = DocumentContext.model_validate(resumed.context)
        else:
            context = await patients.document_context(pool, who.user_id, patient, start.lab)
        session_id = resumed.session_id if resumed else uuid.uuid4().hex
        publisher = None
        if room:
            if resumed:
                await recover(pool, room, session_id)
            publisher = RoomPublisher(pool, room, session_id)
            publisher.publish({"type": "session.started", "session": {
                "id": session_id, "language": start.language, "practitioner": context.practitioner.name,
                "patient": patient and {"id": patient, "code": context.patient.code, "last_name": context.patient.last_name,
                                        "first_name": context.patient.first_name},
                "resumed": resumed is not None}})
        return Session(engine=self.state.engine, vad=self.state.vad, settings=self.settings, start=start, model_name=self.state.model_name,
                       documents=self.state.documents, journal=self.state.journal, context=context,
                       owner=Owner(who.clinic_id, who.user_id, room, patient), publisher=publisher, resumed=resumed, session_id=session_id)

    async def _take_over(self, session_id: str) -> None:
        """A session resumed while its old connection is still open here
        (the network cut before the server noticed): the old one is closed."""
        for other in list(self.state.sessions):
            if other is not self and other.session is not None and other.session.id == session_id:
                await other.session.close()  # its journal entry ends before this connection reopens it
                other.close_code = CLOSE_TAKEN_OVER
                with contextlib.suppress(Exception):
                    await other.ws.close(CLOSE_TAKEN_OVER, "resumed on another connection")

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
            if isinstance(event, ev.Error) and event.fatal and event.code in ("internal_error", "session_erased"):
                self.close_code = CLOSE_INTERNAL if event.code == "internal_error" else CLOSE_GONE
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
                await self.session.stop(reason=fatal.error.code)

    async def _release(self) -> None:
        if self.session is not None:
            await self.session.close()
        await self._drain()
        if self.ws.application_state != WebSocketState.DISCONNECTED and self.ws.client_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await self.ws.close(self.close_code)
