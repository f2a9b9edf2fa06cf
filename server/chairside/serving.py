"""uvicorn's server, with a shutdown that lets open dictations finish.

On SIGTERM (or Ctrl-C) uvicorn stops listening, then closes every
connection.  :class:`GracefulServer` first lets each open session finish
what was said — the utterance being spoken ends, its finals are journaled
and sent, then ``closed`` with reason ``shutdown`` — within
``CHAIRSIDE_SHUTDOWN_GRACE_S``; the WebSocket closes with 1012 and the
client resumes the session on the restarted server (or another replica).

With HTTPS (:mod:`chairside.tls`) it also runs a plain-HTTP port that only
redirects to the HTTPS one (a practice's PC typing the machine's name gets
there), and, with the local CA, issues the server's certificate again
before it expires, loaded into the running server for new connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import h11
import uvicorn
from starlette.applications import Starlette

from . import tls

log = logging.getLogger(__name__)

RENEW_CHECK_S = 24 * 3600


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: Starlette, grace_s: float, *, settings=None,
                 https: tls.TlsFiles | None = None) -> None:
        super().__init__(config)
        self.app, self.grace_s = app, grace_s
        self.settings, self.https = settings, https
        self._redirect: asyncio.Server | None = None
        self._renewal: asyncio.Task | None = None
        app.state.server = self  # the database watchdog stops it when the embedded PostgreSQL is gone

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.https is None or self.should_exit:
            return
        port = self.settings.http_redirect_port
        if port and not tls.is_loopback(self.settings.host):
            try:
                self._redirect = await asyncio.start_server(self._redirect_one, self.settings.host or None, port)
                log.info("http://%s:%d redirects to HTTPS", self.settings.host, port)
            except OSError as exc:  # taken: HTTPS still serves; the PCs type https:// themselves
                log.error("the plain-HTTP port %d cannot be opened (%s): no redirect to HTTPS (CHAIRSIDE_HTTP_REDIRECT_PORT)", port, exc)
        if self.https.ca is not None:
            self._renewal = asyncio.create_task(self._renew(), name="tls-renewal")

    async def _redirect_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One plain-HTTP request: the local CA's certificate at /ca.pem (a PC
        that does not trust it yet cannot fetch it over HTTPS without a
        warning); anything else 308 to the same path on the HTTPS port."""
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=8192)
        try:
            event = h11.NEED_DATA
            async with asyncio.timeout(5):
                while event is h11.NEED_DATA:
                    connection.receive_data(await reader.read(4096))
                    event = connection.next_event()
            location, body = None, b""
            if isinstance(event, h11.Request):
                host = dict(event.headers).get(b"host", b"").decode("ascii", "replace")
                target = event.target.decode("ascii", "replace")
                if target == "/ca.pem" and self.https.ca is not None:  # public: what a new PC must trust before HTTPS works
                    body = self.https.ca.read_bytes()
                location = redirect_location(host, target, self.settings.port)
            if body:
                response = h11.Response(status_code=200, headers=[
                    ("content-type", "application/x-pem-file"), ("content-length", str(len(body))), ("connection", "close"),
                    ("content-disposition", 'attachment; filename="chairside-ca.pem"'), ("cache-control", "no-cache")])
            elif location is not None:
                response = h11.Response(status_code=308, reason=b"Permanent Redirect", headers=[
                    ("location", location), ("content-length", "0"), ("connection", "close"), ("cache-control", "no-store")])
            else:
                response = h11.Response(status_code=400, headers=[("content-length", "0"), ("connection", "close")])
            writer.write(connection.send(response) + (connection.send(h11.Data(data=body)) if body and event.method != b"HEAD" else b"")
                         + connection.send(h11.EndOfMessage()))
            await writer.drain()
        except (TimeoutError, h11.ProtocolError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _renew(self) -> None:
        """Once a day: the local CA issues the server's certificate again when
        it nears its end (or names changed); new connections get it."""
        while True:
            await asyncio.sleep(RENEW_CHECK_S)
            try:  # the machine's names and addresses as they are today (a new address from DHCP)
                names = tls.machine_names(self.settings.host, self.settings.tls_names)
                files, issued = await asyncio.to_thread(tls.local_certificates, self.https.cert.parent, *names)
                if issued:
                    self.config.ssl.load_cert_chain(str(files.cert), str(files.key))
            except Exception:
                log.exception("tls: the server certificate could not be renewed (the next try in a day)")

    async def shutdown(self, sockets=None) -> None:
        for listening in self.servers:  # no new connection meanwhile
            listening.close()
        if self._redirect is not None:
            self._redirect.close()
        if self._renewal is not None:
            self._renewal.cancel()
        svc = getattr(self.app.state, "services", None)
        if svc is not None:
            await svc.sessions.finish_all(self.grace_s)
        await super().shutdown(sockets)


def redirect_location(host_header: str, target: str, https_port: int) -> str | None:
    """Where a plain-HTTP request goes: the same host (its port replaced by
    the HTTPS one) and path; None for a Host that is not a plain name or
    address (a forged header is not echoed)."""
    host = host_header.strip()
    if host.startswith("["):  # [v6]:port
        host = host[: host.find("]") + 1] if "]" in host else ""
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if not host or any(c not in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:" for c in host):
        return None
    path = target if target.startswith("/") else "/"
    return f"https://{host}:{https_port}{path}"
