"""What a running server is made of, built once in the app's lifespan and
handed to every endpoint as one typed object (:func:`services`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from .config import Settings

if TYPE_CHECKING:
    import asyncpg

    from .asr.engine import AsrEngine
    from .audio.vad import SileroVad
    from .auth import Tokens
    from .registry import SessionRegistry
    from .documents.service import DocumentService
    from .rooms.hub import RoomHub
    from .store.db import Database
    from .store.journal import Journal
    from .throttle import LoginThrottle


@dataclass
class Services:
    settings: Settings
    database: "Database"
    engine: "AsrEngine"
    vad: "SileroVad"
    model_name: str
    documents: "DocumentService"
    journal: "Journal"
    tokens: "Tokens"
    rooms: "RoomHub"
    sessions: "SessionRegistry"  # the live dictations of this process (WebSocket connections and WebRTC peers)
    logins: "LoginThrottle"  # failed logins slow the next ones down (counts in the store)

    @property
    def pool(self) -> "asyncpg.Pool":
        return self.database.pool


def services(conn: HTTPConnection) -> Services:
    """The server's services, from a request or a WebSocket."""
    return conn.app.state.services
