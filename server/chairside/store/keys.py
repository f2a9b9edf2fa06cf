"""The server's secret keys, kept in PostgreSQL so that every replica uses
the same ones (``server_keys``)."""

from __future__ import annotations

import secrets

import asyncpg


async def access_token_key(pool: asyncpg.Pool) -> bytes:
    """The key access tokens are signed with (created by the first replica that needs it)."""
    await pool.execute("INSERT INTO server_keys (name, secret) VALUES ('access_tokens', $1) ON CONFLICT (name) DO NOTHING",
                       secrets.token_bytes(32))
    return bytes(await pool.fetchval("SELECT secret FROM server_keys WHERE name = 'access_tokens'"))
