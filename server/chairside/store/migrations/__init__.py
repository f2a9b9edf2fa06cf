"""Schema migrations: versioned SQL files, applied at start-up.

Files are ``NNNN_name.sql`` in this folder, applied in order, each once, in
one transaction with the bookkeeping row (``schema_migrations``: version,
name, sha256 of the file, time). A transaction-level advisory lock makes
replicas that start together wait for each other: the first applies, the
others find nothing left to do. A migration whose file changed after it was
applied stops the start-up: history is never rewritten, a new file is.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

FOLDER = Path(__file__).parent
LOCK_KEY = 0x43484149  # "CHAI": the advisory lock of migrations


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(folder: Path = FOLDER) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        m = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", path.name)
        if not m:
            raise MigrationError(f"migration file {path.name!r} is not named NNNN_name.sql")
        found.append(Migration(int(m[1]), m[2], path.read_text()))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration versions must be 1..n without gaps, found {versions}")
    return found


async def migrate(pool: asyncpg.Pool, folder: Path = FOLDER) -> list[str]:
    """Apply what is missing; the names applied now."""
    wanted = migrations(folder)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:  # (a role that owns nothing may not CREATE)
            await conn.execute(
                "CREATE TABLE schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        done = {r["version"]: r for r in await conn.fetch("SELECT version, name, sha256 FROM schema_migrations")}
        unknown = sorted(set(done) - {m.version for m in wanted})
        if unknown:
            raise MigrationError(f"the database has migrations this version does not know ({unknown}): a newer Chairside ran on it")
        applied = []
        for m in wanted:
            if m.version in done:
                if done[m.version]["sha256"] != m.sha256:
                    raise MigrationError(f"migration {m.version:04d}_{m.name}.sql changed after it was applied; add a new migration instead")
                continue
            await conn.execute(m.sql)
            await conn.execute("INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)", m.version, m.name, m.sha256)
            applied.append(f"{m.version:04d}_{m.name}")
        return applied
