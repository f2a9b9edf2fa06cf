"""The web client (``client_web/``): static files, served with headers that
keep the pages to themselves — a strict Content-Security-Policy (nothing
from another origin, no inline script or style), no referrer, no framing."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

WEB_DIR = Path(__file__).resolve().parents[2] / "client_web"

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",  # AudioWorklet modules too
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",  # the API, and WebSockets of the same host and port
    "media-src 'self' blob:",
    "frame-src 'self' blob:",  # the PDF preview
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"microphone=(self), camera=(), geolocation=()"),
]


class SecurityHeaders:
    """Adds the headers above to every HTTP response of the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in HEADERS if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, sending)


def web_routes() -> list[Mount]:
    """The client's pages at /, when the client is there (a checkout)."""
    return [Mount("/", app=StaticFiles(directory=WEB_DIR, html=True), name="web")] if WEB_DIR.is_dir() else []
