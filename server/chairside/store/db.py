"""PostgreSQL: the embedded server by default, any server by URL.

With no ``DATABASE_URL`` (or ``CHAIRSIDE_DATABASE_URL``), Chairside starts
a private PostgreSQL from the ``pgserver`` wheel (real PostgreSQL binaries)
with its data under ``<data dir>/pgdata``. It listens on a Unix socket
only (no TCP port), and stops when the last Chairside process using it
exits (several processes on one machine share it). With a URL, Chairside
connects to that server instead and starts nothing.

Either way, :func:`open_database` returns an asyncpg pool on a migrated
schema (:mod:`chairside.store.migrations`).  The pool speaks Python: JSON
columns are Python data, and ids (``uuid`` columns) are the 32-hex-digit
strings the rest of Chairside uses (:mod:`chairside.record.ids`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from ..config import Settings
from .migrations import migrate

log = logging.getLogger(__name__)


class DatabaseError(Exception):
    """The database cannot be reached or prepared: the message says why."""


class DatabaseBusy(DatabaseError):
    """No connection of the pool came free within the acquisition timeout."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"no PostgreSQL connection came free within {timeout_s:g} s")
        self.timeout_s = timeout_s


class Pool(asyncpg.Pool):
    """asyncpg's pool, whose every acquisition (its own ``fetch``… included)
    waits at most ``acquire_timeout_s``, then raises :class:`DatabaseBusy`:
    a stalled PostgreSQL or a pool drained by slow queries fails requests
    instead of piling them up without end."""

    acquire_timeout_s: float = 10.0

    def acquire(self, *, timeout: float | None = None) -> "_Acquisition":
        timeout = self.acquire_timeout_s if timeout is None else timeout
        return _Acquisition(super().acquire(timeout=timeout), timeout)


class _Acquisition:
    def __init__(self, context, timeout_s: float) -> None:
        self.context, self.timeout_s = context, timeout_s

    async def __aenter__(self):
        try:
            return await self.context.__aenter__()
        except asyncio.TimeoutError as exc:
            raise DatabaseBusy(self.timeout_s) from exc

    def __await__(self):  # ``await pool.acquire()``: a connection to release by hand
        return self._acquired().__await__()

    async def _acquired(self):
        try:
            return await self.context
        except asyncio.TimeoutError as exc:
            raise DatabaseBusy(self.timeout_s) from exc

    async def __aexit__(self, *exc_info):
        return await self.context.__aexit__(*exc_info)


@dataclass
class Database:
    pool: asyncpg.Pool
    url: str
    embedded: Any = None  # the pgserver handle, kept alive while we use it
    applied: list[str] = field(default_factory=list)  # migrations applied at this start

    async def close(self) -> None:
        await self.pool.close()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.cleanup)  # stops it if no other process uses it


def affected(status: str) -> int:
    """The rows a DELETE or UPDATE touched, from its status ("DELETE 3")."""
    return int(status.rsplit(" ", 1)[-1])


def database_url(settings: Settings) -> str:
    return settings.database_url or os.environ.get("DATABASE_URL", "")


def start_embedded(data_path: Path):
    """Start (or join) the embedded PostgreSQL under ``data_path/pgdata``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pgserver

    data_path.mkdir(parents=True, exist_ok=True)
    try:
        _forget_dead_users(data_path / "pgdata")
        return pgserver.get_server(data_path / "pgdata", cleanup_mode="stop")
    except Exception as exc:
        raise DatabaseError(f"cannot start the embedded PostgreSQL in {data_path / 'pgdata'}: {exc}") from exc


def _forget_dead_users(pgdata: Path) -> None:
    """pgserver counts the processes using the server in pgdata/.handle_pids.json
    and stops it when the last one leaves; a process killed with SIGKILL never
    leaves, and the server would then never be stopped.  Drop the dead ones."""
    import psutil
    from pgserver.postgres_server import PostgresServer

    users = pgdata / ".handle_pids.json"
    if not users.exists():
        return
    with PostgresServer._lock:
        pids = json.loads(users.read_text() or "[]")
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            log.warning("database: forgetting %d process(es) that used the embedded PostgreSQL and died", len(pids) - len(alive))
            users.write_text(json.dumps(alive))


async def open_database(settings: Settings, *, min_size: int = 1, max_size: int | None = None) -> Database:
    url = database_url(settings)
    embedded = None
    if not url:
        embedded = await asyncio.to_thread(start_embedded, settings.data_path)
        url = embedded.get_uri()
    try:
        pool = Pool(url, min_size=min_size, max_size=max_size or settings.db_pool_size, max_queries=50000,
                    max_inactive_connection_lifetime=300.0, command_timeout=30, init=_init_connection, loop=None,
                    connection_class=asyncpg.Connection, record_class=asyncpg.Record)
        pool.acquire_timeout_s = settings.db_acquire_timeout_s
        await pool
    except (OSError, asyncpg.PostgresError) as exc:
        if embedded is not None:
            await asyncio.to_thread(embedded.cleanup)
        raise DatabaseError(f"cannot connect to PostgreSQL at {redact_url(url)}: {exc}") from exc
    try:
        applied = await migrate(pool)
    except Exception:
        await pool.close()
        if embedded is not None:
            await asyncio.to_thread(embedded.cleanup)
        raise
    if applied:
        log.info("database: applied migrations %s", ", ".join(applied))
    log.info("database: %s", "embedded PostgreSQL" if embedded is not None else redact_url(url))
    return Database(pool=pool, url=url, embedded=embedded, applied=applied)


async def reachable(pool: asyncpg.Pool, timeout_s: float = 2.0) -> bool:
    """Whether PostgreSQL answers a trivial query within ``timeout_s``."""
    try:
        return await asyncio.wait_for(pool.fetchval("SELECT 1", timeout=timeout_s), timeout_s) == 1
    except (asyncio.TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False


async def _init_connection(conn: asyncpg.Connection) -> None:
    """JSON columns in and out as Python data; ids as 32 hex digits."""
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("uuid", encoder=_uuid_bytes, decoder=_uuid_hex, schema="pg_catalog", format="binary")


def _uuid_bytes(value: str | uuid.UUID) -> bytes:
    """An id for PostgreSQL: its hex digits (any spelling ``uuid.UUID`` reads), or a UUID."""
    return value.bytes if isinstance(value, uuid.UUID) else uuid.UUID(hex=value).bytes


def _uuid_hex(data: bytes) -> str:
    return data.hex()


def redact_url(url: str) -> str:
    """A URL without its password, for messages and logs."""
    import re

    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)
