"""Logins under abuse, load and faults (issue 15): argon2 off the event loop
in a bounded pool, failed logins throttled per account and per address,
request bodies capped before they are read, logout and revocation, the
absolute session lifetime.  Real server processes (the shared `server` and
`practice`), and the pool in process."""

from __future__ import annotations

import asyncio
import threading

import pytest

from chairside.store.passwords import PasswordsBusy, PasswordWork


async def test_the_password_pool_runs_off_the_loop_and_refuses_beyond_its_bound():
    work = PasswordWork(workers=1, max_waiting=1)
    gate = threading.Event()
    running = asyncio.ensure_future(work.run(lambda: gate.wait(5)))  # holds the one thread
    waiting = asyncio.ensure_future(work.run(lambda: "second"))  # waits for it
    await asyncio.sleep(0.05)  # the loop is free meanwhile
    assert work.pending == 2
    with pytest.raises(PasswordsBusy) as refused:
        await work.run(lambda: "third")
    assert refused.value.retry_after_s >= 1
    gate.set()
    assert await running is True and await waiting == "second"
    assert work.pending == 0 and await work.run(lambda: "again") == "again"
    work.close()
