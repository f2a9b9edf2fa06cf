"""The SQL of backups and restores (chairside/backup.py): whether a store
is empty, and what a restore is checked for."""

from __future__ import annotations

import contextlib
import hashlib
from typing import AsyncIterator

import asyncpg

from . import audit

ADVISORY_LOCK = 0x43_68_42_61_6B  # "ChBak": one replica backs up at a time


@contextlib.asynccontextmanager
async def alone(pool: asyncpg.Pool) -> AsyncIterator[bool]:
    """Whether this replica holds the backup lock (held while in the block;
    False: another replica is backing up)."""
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_LOCK):
            yield False
            return
        try:
            yield True
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK)


async def is_empty(conn: asyncpg.Connection) -> bool:
    """No table at all in the public schema (a restore never merges)."""
    return not await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")


async def check_restored(pool: asyncpg.Pool) -> dict:
    """Every document version's PDF against its sha256, the audit chain, and
    the accounts and token key: what a restored store must have."""
    checked, damaged = 0, []
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in conn.cursor("SELECT document_id, version, sha256, pdf FROM document_versions ORDER BY document_id, version"):
            checked += 1
            if hashlib.sha256(row["pdf"]).hexdigest() != row["sha256"]:
                damaged.append(f"{row['document_id']} v{row['version']}")
        users = await conn.fetchval("SELECT count(*) FROM users WHERE disabled_at IS NULL")
        clinics = await conn.fetchval("SELECT count(*) FROM clinics")
        keys = await conn.fetchval("SELECT count(*) FROM server_keys")
    trail = await audit.verify(pool)
    return {"documents_checked": checked, "documents_damaged": damaged, "audit_events": trail.events,
            "audit_problems": trail.problems, "clinics": clinics, "active_users": users, "token_keys": keys}
