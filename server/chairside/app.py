"""The Starlette application: routes and lifespan (engine, VAD, sessions)."""

from __future__ import annotations

import contextlib
import logging
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from . import __version__
from .config import Settings
from .documents.http import document_routes
from .documents.store import DocumentService, DocumentStore
from .runtime import load_engine
from .store.db import open_database
from .store.journal import Journal
from .transport.websocket import stream_endpoint

log = logging.getLogger(__name__)


async def health(request: Request) -> JSONResponse:
    state = request.app.state
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "model": state.model_name,
            "sessions_active": len(state.sessions),
            "asr_queue": state.engine.queued,
            "asr_decodes": state.engine.decodes,
            "asr_busy_s": round(state.engine.busy_s, 3),
        }
    )


async def _first_start(pool) -> None:
    """On an empty store, a demo practice, and how to log in (printed once)."""
    from .store.accounts import clinic_count, create_demo_clinic

    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('chairside-first-start'))")  # replicas starting together
        if await clinic_count(conn):
            return
        email, password = await create_demo_clinic(conn)
    print(f"\nEmpty store: created a demo practice. Log in as {email} with the password {password} "
          "(shown once; create your own practice with `chairside admin create-clinic`).\n", flush=True)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine, vad, model_name = load_engine(settings)  # ModelError stops start-up with its message
        database = await open_database(settings)  # DatabaseError / MigrationError stop start-up with their message
        app.state.database = database
        app.state.documents = DocumentService(DocumentStore(database.pool), settings.timezone)
        app.state.journal = Journal(database.pool)
        await _first_start(database.pool)
        await engine.start()
        app.state.engine, app.state.vad, app.state.model_name = engine, vad, model_name
        await app.state.documents.warm_up()  # fonts and templates: the first document is not slower
        log.info("chairside %s ready on %s:%d", __version__, settings.host, settings.port)
        try:
            yield
        finally:
            await engine.close()
            app.state.documents.close()
            await database.close()

    app = Starlette(
        routes=[
            Route("/v1/health", health),
            WebSocketRoute("/v1/stream", stream_endpoint),
            *document_routes(),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sessions = set()
    return app
