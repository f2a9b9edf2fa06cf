"""The Starlette application: routes and lifespan (engine, VAD, sessions)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from . import __version__, backup, metrics
from .auth import PRIVATE, AuthError, Tokens, bearer, error_response, refusal
from .config import Settings
from .documents.service import DocumentService
from .http import api_routes
from .http.common import database_busy, server_busy
from .http.limits import BodyLimit
from .logs import protect as protect_logs
from .openapi import openapi
from .rooms.hub import RoomHub
from .registry import SessionRegistry
from .runtime import load_engine
from .services import Services, services
from .store.db import DatabaseBusy, open_database, reachable
from .store.documents import DocumentStore
from .store import backups, passwords, retention
from .store.journal import Journal
from .throttle import LoginThrottle
from .tls import is_loopback
from .transport.screens import room_events_endpoint
from .transport.webrtc import ice_servers, webrtc_offer
from .transport.websocket import stream_endpoint
from .web import SecurityHeaders, web_routes

log = logging.getLogger(__name__)


async def health(request: Request) -> JSONResponse:
    """
    summary: 'Liveness: {"status": "ok"} (no token needed, nothing else said), or 503 when PostgreSQL does not answer. With an admin''s token, this server''s load too.'
    tags: [meta]
    security: []
    responses:
      200: {description: 'The server is up (with an admin''s token: version, model, sessions, screens, recognizer queue and busy time)'}
      503: {description: PostgreSQL does not answer}
    """
    svc = services(request)
    if not await reachable(svc.database.pool):
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, status_code=503, headers=PRIVATE)
    body: dict = {"status": "ok"}
    try:
        admin = svc.tokens.verify(bearer(request.headers)).role == "admin"
    except AuthError:
        admin = False
    if admin:  # the load says how busy the practice is: not for anyone on the network
        body.update({
            "version": __version__,
            "model": svc.model_name,
            "sessions_active": len(svc.sessions),
            "screens": len(svc.rooms.admitted),
            "asr_queue": svc.engine.queued,
            "asr_decodes": svc.engine.decodes,
            "asr_busy_s": round(svc.engine.busy_s, 3),
        })
    return JSONResponse(body, headers=PRIVATE)


async def prometheus(request: Request) -> Response:
    """
    summary: The server's metrics in Prometheus's text format (sessions, screens, decode queue and waits, final and partial latency, documents, errors by code, the PostgreSQL pool, room fan-out lag); from this machine (loopback), or with an admin's token.
    tags: [meta]
    security: []
    responses:
      200: {description: 'Prometheus text exposition format', content: {text/plain: {}}}
      401: {description: 'Not from loopback, and no valid token'}
      403: {description: 'Not from loopback, and not an admin'}
    """
    client = request.client.host if request.client else ""
    if not is_loopback(client):
        try:
            who = services(request).tokens.verify(bearer(request.headers))
        except AuthError as exc:
            return refusal(exc)
        if who.role != "admin":
            return error_response(403, "forbidden", "the metrics are for an administrator (or from the server's own machine)")
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST, headers=PRIVATE)


async def _retention(pool, settings: Settings) -> None:
    """The retention job (store/retention.py), every ``retention_check_s``."""
    while True:
        await asyncio.sleep(settings.retention_check_s)
        try:
            counts = await retention.purge(
                pool, partial_retention_s=settings.partial_retention_s, room_event_retention_days=settings.room_event_retention_days,
                unattached_session_retention_days=settings.unattached_session_retention_days)
        except Exception:
            log.exception("retention: the purge failed (it runs again in %g s)", settings.retention_check_s)
            continue
        if counts and any(counts.values()):
            log.info("retention: deleted %s", ", ".join(f"{n} {what}" for what, n in counts.items() if n))


async def _backups(pool, url: str, settings: Settings) -> None:
    """Scheduled backups (backup.py) every ``backup_every_h``, by one replica
    at a time (a session advisory lock held while pg_dump runs)."""
    wait_s = min(3600.0, settings.backup_every_h * 3600)
    while True:
        await asyncio.sleep(wait_s)
        wait_s = settings.backup_every_h * 3600
        try:
            async with backups.alone(pool) as mine:
                if not mine:
                    continue  # another replica is at it
                done = await asyncio.to_thread(backup.scheduled, settings, url)
            log.info("backup: %s written (%.1f MB, sha256 %s)", done.path, done.size / 1e6, done.sha256)
        except Exception:
            log.exception("backup: the scheduled backup failed (the next one in %g h)", settings.backup_every_h)


async def _watch_database(app: Starlette, database, every_s: float) -> None:
    """PostgreSQL not answering is logged (and /v1/health says 503); the
    embedded one not answering three checks in a row is dead: the server
    stops with exit code 3 rather than serve errors forever (a supervisor
    restarts it, and the embedded PostgreSQL with it)."""
    failures = 0
    while True:
        await asyncio.sleep(every_s)
        if await reachable(database.pool):
            if failures:
                log.warning("database: PostgreSQL answers again")
            failures = 0
            continue
        failures += 1
        log.error("database: PostgreSQL does not answer (%d time(s) in a row)", failures)
        if database.embedded is not None and failures >= 3:
            log.critical("database: the embedded PostgreSQL is gone; stopping the server (exit code 3)")
            app.state.exit_code = 3
            server = getattr(app.state, "server", None)
            if server is not None:
                server.should_exit = True
            else:
                os.kill(os.getpid(), signal.SIGTERM)
            return


async def _first_start(pool, settings: Settings, tokens: Tokens) -> None:
    """On an empty store, where to set up the first practice (printed: the
    log is where a person installing Chairside looks)."""
    from .store.accounts import clinic_count

    if await clinic_count(pool):
        return
    from .tls import uses_https

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    scheme = "https" if uses_https(settings) else "http"
    print(f"\nEmpty store: set up your practice in a browser on this machine at {scheme}://{host}:{settings.port}/setup.html"
          f" (from another machine, with the setup code {tokens.setup_code()}). To try Chairside with a demo practice"
          " instead: `chairside admin create-demo`.\n", flush=True)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        protect_logs()  # no patient data in the logs, whatever the level
        ice_servers(settings.webrtc_ice_servers)  # a malformed value stops the start-up, with what is wrong
        passwords.configure(settings.password_workers)  # argon2 in worker threads, off the event loop
        engine, vad, model_name = load_engine(settings)  # ModelError stops start-up with its message
        database = await open_database(settings)  # DatabaseError / MigrationError stop start-up with their message
        documents = DocumentService(DocumentStore(database.pool), settings.timezone)
        rooms = RoomHub(database.pool, settings.screen_queue, settings.max_screens, settings.max_screens_per_user,
                        settings.max_screens_per_practice)
        tokens = await Tokens.load(database.pool, settings.token_ttl_s, settings.session_max_s)
        app.state.services = svc = Services(
            settings=settings, database=database, engine=engine, vad=vad, model_name=model_name, documents=documents,
            journal=Journal(database.pool), tokens=tokens, rooms=rooms,
            sessions=SessionRegistry(settings.max_sessions, settings.max_sessions_per_user, settings.max_sessions_per_practice),
            logins=LoginThrottle(database.pool, settings, tokens.pseudonym))
        await rooms.start()
        watchdog = asyncio.create_task(_watch_database(app, database, settings.database_check_s), name="database-watchdog")
        await _first_start(database.pool, settings, svc.tokens)
        await engine.start()
        await documents.warm_up()  # fonts and templates: the first document is not slower
        live = metrics.Live(svc)  # last: nothing below can fail before the try that undoes them
        metrics.REGISTRY.register(live)
        purging = asyncio.create_task(_retention(database.pool, settings), name="retention")
        backing_up = asyncio.create_task(_backups(database.pool, database.url, settings), name="backups") if settings.backup_dir else None
        log.info("chairside %s ready on %s:%d", __version__, settings.host, settings.port)
        try:
            yield
        finally:
            metrics.REGISTRY.unregister(live)
            watchdog.cancel()
            purging.cancel()
            if backing_up is not None:
                backing_up.cancel()
            await svc.sessions.release_all()
            await engine.close()
            await rooms.close()
            documents.close()
            await database.close()

    app = Starlette(
        routes=[
            Route("/v1/health", health),
            Route("/metrics", prometheus),
            Route("/openapi.json", openapi),
            WebSocketRoute("/v1/stream", stream_endpoint),
            Route("/v1/webrtc/offer", webrtc_offer, methods=["POST"]),
            WebSocketRoute("/v1/rooms/{room}/events", room_events_endpoint),
            *api_routes(),  # the REST API, the documents' routes last
            *web_routes(),  # last: the pages at /
        ],
        middleware=[Middleware(SecurityHeaders), Middleware(BodyLimit)],  # bodies capped per route before they are read
        exception_handlers={passwords.PasswordsBusy: server_busy, DatabaseBusy: database_busy},
        lifespan=lifespan,
    )
    return app
