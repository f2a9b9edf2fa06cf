"""Failed logins, counted per key (an account, a source address) in
PostgreSQL, so that every replica sees the same counts (the policy — how
many failures are free, how long the waits are — is
:mod:`chairside.throttle`'s).  Keys are pseudonyms (keyed hashes), never an
e-mail or an address in clear.  Times are the database's (``now()``): the
replicas' clocks need not agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Count:
    key: str
    failures: int  # within the current streak, this one included
    at: datetime  # of this failure (the database's clock)


async def wait_s(pool: asyncpg.Pool, keys: list[str]) -> float:
    """Seconds before an attempt with these keys may be checked (0: now)."""
    return await pool.fetchval(
        "SELECT coalesce(max(extract(epoch FROM retry_at - now())), 0)::float8 FROM login_failures"
        " WHERE key = ANY($1::text[]) AND retry_at > now()", keys)


async def count_failure(pool: asyncpg.Pool, keys: list[str], window_s: float) -> list[Count]:
    """One more failure for each key: a count whose ``forget_at`` has passed
    starts again at 1; the count is kept at least ``window_s`` from now."""
    rows = await pool.fetch(
        "INSERT INTO login_failures AS f (key, failures, last_at, retry_at, forget_at)"
        " SELECT k, 1, now(), now(), now() + make_interval(secs => $2) FROM unnest($1::text[]) AS k"
        " ON CONFLICT (key) DO UPDATE SET"
        "  failures = CASE WHEN f.forget_at <= now() THEN 1 ELSE f.failures + 1 END,"
        "  last_at = now(), forget_at = greatest(f.forget_at, now() + make_interval(secs => $2))"
        " RETURNING key, failures, last_at", keys, float(window_s))
    return [Count(r["key"], r["failures"], r["last_at"]) for r in rows]


async def set_waits(pool: asyncpg.Pool, waits: list[tuple[Count, float, float]]) -> None:
    """For each count: no attempt before ``wait_s`` after its failure, and
    the count forgotten ``window_s`` after that wait, unless another failure
    was counted meanwhile (it sets its own).  Counts long forgotten go."""
    if waits:
        await pool.execute(
            "UPDATE login_failures AS f SET retry_at = v.at + make_interval(secs => v.wait),"
            " forget_at = v.at + make_interval(secs => v.wait + v.win)"
            " FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::float8[], $5::float8[]) AS v(key, failures, at, wait, win)"
            " WHERE f.key = v.key AND f.failures = v.failures",
            [c.key for c, _, _ in waits], [c.failures for c, _, _ in waits], [c.at for c, _, _ in waits],
            [float(w) for _, w, _ in waits], [float(win) for _, _, win in waits])
    await pool.execute("DELETE FROM login_failures WHERE forget_at < now() - interval '1 hour'")


async def forget(pool: asyncpg.Pool, key: str) -> None:
    """A success: the key's count starts again."""
    await pool.execute("DELETE FROM login_failures WHERE key = $1", key)

