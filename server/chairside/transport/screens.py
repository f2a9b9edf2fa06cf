"""``WS /v1/rooms/{room}/events``: an assistant's screen follows a room.

The first message is ``{"type": "hello", "token": "…", "last_seq": N}``
(``token`` may instead be in the handshake's Authorization header;
``last_seq`` only when reconnecting).  The server answers with a
``snapshot`` of the room's latest session at sequence S, or, for a
reconnecting screen whose missed events are all still kept, a ``catchup``
followed by exactly those events; then live events, each with its room
sequence number ``seq``.  A ``snapshot`` may come again at any time (the
screen fell too far behind): it replaces what the screen shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import events as ev
from .. import metrics
from ..auth import CARE_TEAM, AuthError, bearer, still_valid
from ..record.ids import as_id
from ..rooms.hub import Screen, dumps
from ..rooms.views import replay, snapshot
from ..services import services
from ..store import audit
from ..store import rooms as room_store
from .guard import TokenGuard
from .websocket import CLOSE_POLICY, CLOSE_TRY_LATER, close_code

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 10.0


async def _refuse(ws: WebSocket, code: str, message: str, close_code: int) -> None:
    metrics.error(code)
    with contextlib.suppress(Exception):
        await ws.send_text(ev.Error(code=code, message=message, fatal=True).model_dump_json())
        await ws.close(close_code)


async def room_events_endpoint(websocket: WebSocket) -> None:
    state = services(websocket)
    await websocket.accept()
    try:
        hello = ev.Hello.model_validate_json(await asyncio.wait_for(websocket.receive_text(), timeout=HELLO_TIMEOUT_S))
    except (asyncio.TimeoutError, ValidationError, WebSocketDisconnect, KeyError):
        await _refuse(websocket, "invalid_message", 'send {"type": "hello", "token": "…", "last_seq": N?} first', CLOSE_POLICY)
        return
    try:
        who = state.tokens.verify(hello.token or bearer(websocket.headers))
        await still_valid(state.database.pool, who)  # not disabled, not logged out since
        if who.role not in CARE_TEAM:
            raise AuthError(403, "forbidden", f"a {who.role} does not watch rooms")
    except AuthError as exc:
        await _refuse(websocket, exc.code, exc.message, close_code(exc.status))
        return
    pool = state.database.pool
    room = as_id(websocket.path_params["room"])
    if room is None or not await room_store.in_clinic(pool, room, who.clinic_id):
        await _refuse(websocket, "not_found", "no such room in your practice", close_code(404))
        return
    screen = Screen(room, state.settings.screen_queue, user_id=who.user_id, clinic_id=who.clinic_id)
    hub = state.rooms
    refused = hub.admit(screen)
    if refused == "user":
        await _refuse(websocket, "too_many_screens", f"you already watch {hub.per_user} screens; close one first", close_code(429))
        return
    if refused is not None:
        await _refuse(websocket, "server_busy", "the server feeds its maximum of screens"
                      + (" for your practice" if refused == "practice" else "") + "; retry later", CLOSE_TRY_LATER)
        return
    try:
        await audit.record(pool, action="room.watch", **who.actor, subject_type="room", subject_id=room)
        await hub.watch(screen)
    except BaseException:
        hub.leave(screen)
        raise
    guard = TokenGuard(state.tokens, pool, who, state.settings.token_check_s)
    receiver = asyncio.create_task(_until_gone(websocket, guard))
    sender = asyncio.create_task(_feed(websocket, screen, pool, hello.last_seq))
    guarding = asyncio.create_task(guard.until_refused())
    try:
        await asyncio.wait([receiver, sender, guarding], return_when=asyncio.FIRST_COMPLETED)
        if guarding.done():  # the token expired unrenewed, or the user was disabled
            refused = guarding.result()
            log.info("room %s: closing a screen (%s)", room[:8], refused.code)
            await _refuse(websocket, refused.code, refused.message, close_code(refused.status))
    finally:
        hub.leave(screen)
        for task in (receiver, sender, guarding):
            task.cancel()
        await asyncio.gather(receiver, sender, guarding, return_exceptions=True)
        with contextlib.suppress(Exception):
            await websocket.close()


async def _until_gone(ws: WebSocket, guard: TokenGuard) -> None:
    """Read what the screen sends until it leaves: a fresh token renews the
    connection's ({"type": "token", "token": …}); anything else is ignored."""
    with contextlib.suppress(WebSocketDisconnect):
        while (message := await ws.receive())["type"] != "websocket.disconnect":
            text = message.get("text")
            if not text or '"token"' not in text:
                continue
            try:
                renewal = ev.parse_client_message(text)
                if isinstance(renewal, ev.TokenRenewal):
                    guard.renew(renewal.token)
            except (ev.ProtocolError, AuthError) as exc:
                await ws.send_text(ev.Error(code=getattr(exc, "code", "invalid_message"), message=str(exc)).model_dump_json())


async def _feed(ws: WebSocket, screen: Screen, pool, last_seq: int | None) -> None:
    missed = await replay(pool, screen.room_id, last_seq) if last_seq is not None else None
    if missed is None:
        await _send_snapshot(ws, screen, pool)
    else:
        await ws.send_text(ev.Catchup(after=last_seq, events=len(missed)).model_dump_json())
        screen.last_seq = last_seq
        for event in missed:
            await ws.send_text(dumps(event))
            screen.last_seq = event["seq"]
    while True:
        event = await screen.queue.get()
        if event is None:  # fell behind: start afresh
            screen.behind = False
            log.info("room %s: a screen fell behind; sending a snapshot", screen.room_id[:8])
            await _send_snapshot(ws, screen, pool, reason="behind")
        elif event["seq"] > screen.last_seq:
            await ws.send_text(dumps(event))
            screen.last_seq = event["seq"]


async def _send_snapshot(ws: WebSocket, screen: Screen, pool, reason: str = "connect") -> None:
    snap = await snapshot(pool, screen.room_id, reason)
    await ws.send_text(snap.model_dump_json())
    screen.last_seq = snap.seq
