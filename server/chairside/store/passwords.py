"""argon2id off the event loop: password hashes are made and checked in a
few worker threads, with a bound on how many may wait.

One argon2id hash or check costs 100–200 ms of CPU (the library's
parameters: 64 MiB, 3 passes, 4 lanes that libargon2 computes in threads of
its own); measured on the 2-core test machine, docs/benchmarks.md "Issue
15".  Run on the event loop it stalls every live stream for that long.
argon2-cffi releases the GIL in its C code (measured: an asyncio loop's
1 ms ticks keep their pace while threads hash without a pause), so a small
thread pool takes it off the loop.  At most ``workers`` run at once; at most
``MAX_WAITING`` more wait for a thread; a call beyond that raises
:class:`PasswordsBusy` at once (the HTTP layer answers 503 ``server_busy``
with ``Retry-After``) rather than queueing work nobody will wait for.

:func:`configure` sets the number of threads (``CHAIRSIDE_PASSWORD_WORKERS``;
by default half the cores: one check already keeps both cores of a 2-core
machine busy, a second thread adds little) when the server starts; the
command line and the tests use the default.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")
MAX_WAITING = 16  # calls waiting for a worker thread, beyond those running
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class PasswordsBusy(Exception):
    """Too many password hashes waiting already: try again in ``retry_after_s``."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many password checks waiting; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def default_workers() -> int:
    """Half the cores, at least one: the other half stays with the event loop and the decoders."""
    return max(1, (os.cpu_count() or 1) // 2)


class PasswordWork:
    """A bounded pool of threads for argon2 (or any blocking call that releases the GIL)."""

    def __init__(self, workers: int, max_waiting: int = MAX_WAITING) -> None:
        self.workers = max(1, workers)
        self.max_waiting = max_waiting
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending = 0  # submitted and not finished (running + waiting)
        self._mean_s = 0.2  # a running mean of one call's duration, for Retry-After

    @property
    def pending(self) -> int:
        return self._pending

    async def run(self, call: Callable[[], T]) -> T:
        """``call()`` in a worker thread; PasswordsBusy when too many wait already.
        A call whose caller is cancelled still runs to its end (and counts until then)."""
        with self._lock:
            if self._pending >= self.workers + self.max_waiting:
                raise PasswordsBusy(max(1, math.ceil(self._pending * self._mean_s / self.workers)))
            self._pending += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="argon2")
            executor = self._executor

        def timed() -> T:
            started = time.perf_counter()
            try:
                return call()
            finally:
                elapsed = time.perf_counter() - started
                with self._lock:
                    self._pending -= 1
                    self._mean_s = 0.8 * self._mean_s + 0.2 * elapsed

        try:
            future = executor.submit(timed)
        except BaseException:
            with self._lock:
                self._pending -= 1
            raise
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=False)


_work = PasswordWork(default_workers())
_dummy: str | None = None


def configure(workers: int) -> None:
    """The number of argon2 threads (0: :func:`default_workers`), set at start-up."""
    global _work
    workers = workers or default_workers()
    if workers != _work.workers:
        old, _work = _work, PasswordWork(workers)
        old.close()


def work() -> PasswordWork:
    return _work


async def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, made in a worker thread."""
    return await _work.run(lambda: _hasher.hash(password))


async def matches(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one of ``password_hash``, checked in a worker thread."""
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await _work.run(check)


async def dummy_hash() -> str:
    """A hash to check an unknown e-mail's password against, so that it
    costs what a wrong password does (made once, with the same parameters)."""
    global _dummy
    if _dummy is None:
        _dummy = await hash_password("an unknown user's password costs the same time")
    return _dummy
