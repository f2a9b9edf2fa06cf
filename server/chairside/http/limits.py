"""Request bodies capped per route, before they are read.

Every HTTP request body is refused beyond its route's cap with **413**
``payload_too_large`` (the JSON error body of the API) and the connection
closed: at once when its ``Content-Length`` says so, nothing of it read;
as soon as a chunked body (no length given) goes over, the rest unread.
JSON API bodies are small (a login, a user, a room: a few hundred bytes);
the caps leave room and no more:

- 16 KiB: every route but those below (the setup, login, a password, a
  user, the practice, a room, a document's re-issue; GET and DELETE send none);
- 64 KiB: registering and rectifying a patient (their allergies: 30 entries
  of 100 characters at most, in any script);
- 256 KiB: a WebRTC offer (an SDP offer: a few KiB, more with many ICE
  candidates).

WebSockets are not concerned: their frames have their own limit
(``CHAIRSIDE_MAX_FRAME_BYTES``).
"""

from __future__ import annotations

import re

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..auth import error_response

KIB = 1024
DEFAULT_BODY_LIMIT = 16 * KIB
BODY_LIMITS: dict[tuple[str, str], int] = {  # (method, route path) → bytes, beyond the default
    ("POST", "/v1/patients"): 64 * KIB,
    ("PATCH", "/v1/patients/{patient_id}"): 64 * KIB,
    ("POST", "/v1/webrtc/offer"): 256 * KIB,
}


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: 413 for a body over its route's cap (see the module)."""

    def __init__(self, app: ASGIApp, limits: dict[tuple[str, str], int] | None = None,
                 default: int = DEFAULT_BODY_LIMIT) -> None:
        self.app = app
        self.default = default
        self._limits: list[tuple[str, re.Pattern, int]] = [
            (method, compile_path(path)[0], cap) for (method, path), cap in (BODY_LIMITS if limits is None else limits).items()]

    def limit(self, method: str, path: str) -> int:
        """The cap of a request's body, in bytes."""
        for m, pattern, cap in self._limits:
            if m == method and pattern.match(path):
                return cap
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cap = self.limit(scope["method"], scope["path"])
        length = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if length is not None and length.isdigit() and int(length) > cap:
            return await _refuse(cap, scope, receive, send)

        received, over, started = 0, False, False

        async def receiving() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    over = True
                    raise _TooLarge()
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if over:
                return  # the endpoint's answer to a body cut short is not sent: the 413 is
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except _TooLarge:
            pass
        if over and not started:
            await _refuse(cap, scope, receive, send)


async def _refuse(cap: int, scope: Scope, receive: Receive, send: Send) -> None:
    """413, and the connection closed (what is left of the body is not read)."""
    response = error_response(413, "payload_too_large", f"the body is larger than this route takes ({cap // KIB} KiB)",
                              {"Connection": "close"})
    await response(scope, receive, send)
