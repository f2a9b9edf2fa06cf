"""The web client (``client_web/``): static files, served with headers that
keep the pages to themselves — a strict Content-Security-Policy (nothing
from another origin, no inline script or style), no referrer, no framing,
HSTS over HTTPS — and the local certificate authority's certificate
(``/ca.pem``) for the practice's PCs to trust."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import error_response
from .services import services
from .tls import local_ca, tls_directory

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
# Over HTTPS only: the browser keeps to HTTPS for this host for a year.
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """Adds the headers above to every HTTP response of the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        added = [*HEADERS, HSTS] if scope.get("scheme") == "https" else HEADERS

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in added if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, sending)


def web_routes() -> list[BaseRoute]:
    """The local CA's certificate, and the client's pages at / when the
    client is there (a checkout)."""
    pages = [Mount("/", app=StaticFiles(directory=WEB_DIR, html=True), name="web")] if WEB_DIR.is_dir() else []
    return [Route("/ca.pem", certificate_authority, methods=["GET", "HEAD"]), *pages]


async def certificate_authority(request: Request) -> Response:
    """
    summary: The certificate of the server's local certificate authority (PEM), for the practice's PCs to trust; 404 when the server does not use one.
    security: []
    responses:
      200: {description: 'The CA certificate', content: {application/x-pem-file: {}}}
      404: {description: 'The server uses the practice''s certificate, or plain HTTP'}
    """
    settings = services(request).settings
    if not local_ca(settings):
        return error_response(404, "not_found", "this server uses no local certificate authority")
    return Response((tls_directory(settings) / "ca.pem").read_bytes(), media_type="application/x-pem-file",
                    headers={"Content-Disposition": 'attachment; filename="chairside-ca.pem"', "Cache-Control": "no-cache"})
