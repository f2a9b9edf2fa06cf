"""Failed logins slow the next ones down: per account and per source address.

An account (its e-mail, lower-cased; known or not, so that the answers do
not tell which e-mails exist) may fail ``CHAIRSIDE_LOGIN_FAILURES_PER_ACCOUNT``
times (5) within 15 minutes; then each further attempt must wait 2, 4, 8 …
seconds after the last failure (2^(n-5) for the n-th attempt), 15 minutes at
most.  Meanwhile the login answers **429** ``too_many_attempts`` with
``Retry-After`` *without checking the password*: a right one is refused
too.  A success starts the account's count again.  A source address
(``request.client.host``: behind a reverse proxy, the address it forwards
when uvicorn trusts it) has the same rule with
``CHAIRSIDE_LOGIN_FAILURES_PER_ADDRESS`` (20) failures, of any accounts, and
a success does not reset it (else one's own account would reset a spray).
A count is forgotten 15 minutes after its wait has ended with no new
failure.

The counts are in PostgreSQL (:mod:`chairside.store.logins`): replicas share
it, so the limit holds whichever replica answers, and a restart does not
reset it; it costs one indexed query per login attempt (two more on a
failure), nothing next to the argon2 check (100–200 ms of CPU).  Attempts on the same
account are taken one at a time on a replica, so a burst of concurrent
guesses cannot all pass the check before the first failure is counted (at
most one per replica can); more than ``MAX_QUEUED`` waiting for the same
account are refused at once.

Keys are keyed hashes (:meth:`chairside.auth.Tokens.pseudonym`), and so are
e-mails in the log; the address is logged as is.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass
from typing import AsyncIterator

import asyncpg

from .config import Settings
from .store import logins

WINDOW_S = 15 * 60.0  # failures count together when they follow within this (after any wait)
MAX_WAIT_S = 15 * 60.0  # the longest wait
MAX_QUEUED = 16  # attempts on one account waiting for the one being checked, on a replica (beyond: 429 at once)


def backoff_s(failures: int, free: int, cap: float = MAX_WAIT_S) -> float:
    """The wait after ``failures`` failures, ``free`` of which wait nothing:
    2 s after the last free one, then twice as long each time, ``cap`` at most."""
    if failures < free:
        return 0.0
    return min(cap, 2.0 ** (failures - free + 1))


def retry_after(wait_s: float) -> str:
    """The Retry-After header's value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))


@dataclass(frozen=True)
class Keys:
    account: str  # "account:<pseudonym>"
    address: str  # "address:<pseudonym>"
    account_tag: str  # 8 hex digits: the account as the log names it

    @property
    def both(self) -> list[str]:
        return [self.account, self.address]


class TooManyAttempts(Exception):
    def __init__(self, wait_s: float, message: str = "too many failed attempts: wait before trying again") -> None:
        super().__init__(message)
        self.wait_s, self.message = wait_s, message


class LoginThrottle:
    """The rule above for one server process (the counts are in the store)."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, pseudonym) -> None:
        self.pool = pool
        self.per_account = settings.login_failures_per_account
        self.per_address = settings.login_failures_per_address
        self._pseudonym = pseudonym
        self._queues: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    def keys(self, email: str, address: str) -> Keys:
        account = self._pseudonym("email", email.strip().lower())
        return Keys(f"account:{account}", f"address:{self._pseudonym('address', address)}", account[:8])

    @contextlib.asynccontextmanager
    async def turn(self, keys: Keys) -> AsyncIterator[None]:
        """Wait for this account's attempt before on this replica (TooManyAttempts
        when MAX_QUEUED wait already), then for the back-off: TooManyAttempts
        while the account or the address must wait."""
        lock, users = self._queues.setdefault(keys.account, (asyncio.Lock(), [0]))
        if users[0] > MAX_QUEUED:
            raise TooManyAttempts(1.0, "too many attempts at once for this account: retry in a moment")
        users[0] += 1
        try:
            async with lock:
                wait = await logins.wait_s(self.pool, keys.both)
                if wait > 0:
                    raise TooManyAttempts(wait)
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                self._queues.pop(keys.account, None)

    async def failed(self, keys: Keys) -> int:
        """Count a failure of both keys; the account's failures in a row."""
        counts = await logins.count_failure(self.pool, keys.both, WINDOW_S)
        free = {keys.account: self.per_account, keys.address: self.per_address}
        waits = [(c, backoff_s(c.failures, free[c.key]), WINDOW_S) for c in counts]
        await logins.set_waits(self.pool, waits)
        return next((c.failures for c in counts if c.key == keys.account), 0)

    async def succeeded(self, keys: Keys) -> None:
        await logins.forget(self.pool, keys.account)
