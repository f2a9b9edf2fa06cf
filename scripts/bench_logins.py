#!/usr/bin/env python3
"""Logins and the event loop (issue 15): what 16 concurrent logins do to
the latency of ``GET /v1/health`` — the proxy for every live stream's VAD
and partials, which run on the same event loop.

Starts a server (a temporary data directory), creates a practice with 16
users, then measures on the client:

- ``/v1/health`` alone: ``--samples`` requests one after the other;
- ``/v1/health`` during logins: ``--rounds`` rounds of 16 concurrent
  logins (16 different users, right passwords: the throttle of failed
  logins plays no part), ``/v1/health`` asked one after the other until the
  round ends; and each login's own time;
- ``GET /v1/me`` alone (a token checked, one query), for what the
  per-request revocation check costs;

and, in this process: one indexed ``SELECT`` of a user by id through an
asyncpg pool (the revocation check's query), and argon2id in threads (one
hash's time; hashes per second in one and two threads, and the event loop's
lag meanwhile: does argon2-cffi release the GIL?).

``--tree DIR`` measures another checkout's server (e.g. the code before
issue 15: ``--tree /work/main``); the in-process measures use that tree's
packages too.  Run with the project's venv:

    .venv/bin/python scripts/bench_logins.py --json docs/bench_logins_issue15.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USERS = 16


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))] * 1000, 2)  # ms


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": pct(values, 0.5), "p99_ms": pct(values, 0.99), "max_ms": pct(values, 1.0)}


async def health_alone(client, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        (await client.get("/v1/health")).raise_for_status()
        times.append(time.perf_counter() - t0)
    return times


async def during_logins(http: str, users: list[tuple[str, str]], rounds: int) -> tuple[list[float], list[float], list[float], dict]:
    """Health latencies during the rounds, each login's time, each round's wall time, the login answers' statuses."""
    import httpx

    health_times, login_times, walls, statuses = [], [], [], {}
    async with httpx.AsyncClient(base_url=http, timeout=60) as health, \
            httpx.AsyncClient(base_url=http, timeout=60, limits=httpx.Limits(max_connections=USERS)) as logins:
        async def one(email: str, password: str) -> None:
            t0 = time.perf_counter()
            answer = await logins.post("/v1/auth/login", json={"email": email, "password": password})
            login_times.append(time.perf_counter() - t0)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

        for _ in range(rounds):
            t0 = time.perf_counter()
            storm = asyncio.gather(*(one(e, p) for e, p in users))
            while not storm.done():
                t = time.perf_counter()
                (await health.get("/v1/health")).raise_for_status()
                health_times.append(time.perf_counter() - t)
                await asyncio.sleep(0.005)
            await storm
            walls.append(time.perf_counter() - t0)
            await asyncio.sleep(0.5)
    return health_times, login_times, walls, statuses


async def me_alone(http: str, token: str, samples: int) -> list[float]:
    import httpx

    async with httpx.AsyncClient(base_url=http, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(20):
            await client.get("/v1/me")
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            (await client.get("/v1/me")).raise_for_status()
            times.append(time.perf_counter() - t0)
    return times


async def indexed_select(data_dir: Path, samples: int) -> list[float]:
    """One user by id through an asyncpg pool, as the revocation check reads it."""
    import asyncpg

    from chairside.store.db import start_embedded

    pg = start_embedded(data_dir)
    pool = await asyncpg.create_pool(pg.get_uri(), min_size=1, max_size=4)
    try:
        user, clinic = await pool.fetchrow("SELECT id, clinic_id FROM users LIMIT 1")
        query = "SELECT disabled_at IS NULL AS active FROM users WHERE id = $1 AND clinic_id = $2"
        for _ in range(100):
            await pool.fetchrow(query, user, clinic)
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            await pool.fetchrow(query, user, clinic)
            times.append(time.perf_counter() - t0)
        return times
    finally:
        await pool.close()
        pg.cleanup()


def argon2_threads() -> dict:
    """argon2id checks in threads: one check's wall and CPU time and the
    native threads it runs on (libargon2 computes its 4 lanes in threads of
    its own); checks per second in 1 and 2 Python threads; the lag of an
    event loop (asyncio.sleep(1 ms) ticks) alone and while 1 and 2 threads
    hash.  If the C code held the GIL, the loop's ticks would wait for whole
    checks (~170 ms) while a thread hashes."""
    import resource

    from argon2 import PasswordHasher

    hasher = PasswordHasher()
    stored = hasher.hash("a password of the benchmark")
    check = lambda: hasher.verify(stored, "a password of the benchmark")  # noqa: E731
    check()

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    seen, watching = [0], [True]

    def watch() -> None:
        while watching[0]:
            seen[0] = max(seen[0], len(os.listdir("/proc/self/task")))
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    t0, c0 = time.perf_counter(), cpu()
    for _ in range(5):
        check()
    one, one_cpu = (time.perf_counter() - t0) / 5, (cpu() - c0) / 5
    watching[0] = False
    watcher.join()

    def rate(threads: int, seconds: float = 4.0) -> float:
        done, stop = [0], time.perf_counter() + seconds

        def work() -> None:
            while time.perf_counter() < stop:
                check()
                done[0] += 1

        workers = [threading.Thread(target=work) for _ in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return done[0] / (time.perf_counter() - start)

    async def ticks(seconds: float) -> list[float]:
        lags, end = [], time.perf_counter() + seconds
        while time.perf_counter() < end:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - t - 0.001)
        return lags

    def lag_while(threads: int) -> dict:
        stop = [False]

        def hashing() -> None:
            while not stop[0]:
                check()

        workers = [threading.Thread(target=hashing) for _ in range(threads)]
        for w in workers:
            w.start()
        lags = asyncio.run(ticks(3.0))
        stop[0] = True
        for w in workers:
            w.join()
        return summary(lags)

    return {"one_check_ms": round(one * 1000, 1), "one_check_cpu_ms": round(one_cpu * 1000, 1),
            "threads_of_the_process_during_a_check": seen[0] - 1,  # the watcher excluded
            "checks_per_s_1_thread": round(rate(1), 2), "checks_per_s_2_threads": round(rate(2), 2),
            "loop_lag_idle": summary(asyncio.run(ticks(2.0))), "loop_lag_1_hashing_thread": lag_while(1),
            "loop_lag_2_hashing_threads": lag_while(2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose server is measured (default: this one)")
    parser.add_argument("--samples", type=int, default=400, help="health requests alone (and /v1/me, SELECTs ×5)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of 16 concurrent logins")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()
    tree = args.tree.resolve()
    sys.path[:0] = [str(tree / "server"), str(tree / "tests")]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(tree / "server"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    import httpx

    from conftest import PASSWORD, create_practice, login, start_server, stop_server

    tmp = Path(tempfile.mkdtemp(prefix="bench-logins-"))
    server = start_server(tmp)
    try:
        practice = create_practice(server)
        admin = {"Authorization": f"Bearer {practice.tokens['admin']}"}
        users = []
        for i in range(USERS):
            email = f"bench.{i}@cabinet-republique.fr"
            created = httpx.post(server.http + "/v1/users", headers=admin, timeout=30, json={
                "email": email, "name": f"Utilisateur {i}", "role": "assistant", "password": PASSWORD, "temporary_password": False})
            created.raise_for_status()
            users.append((email, PASSWORD))

        async def measure() -> dict:
            async with httpx.AsyncClient(base_url=server.http, timeout=30) as client:
                await health_alone(client, 50)  # warm
                alone = await health_alone(client, args.samples)
            during, login_times, walls, statuses = await during_logins(server.http, users, args.rounds)
            me = await me_alone(server.http, login(server.http, users[0][0], PASSWORD), args.samples)
            return {"health_alone": summary(alone), "health_during_16_logins": summary(during),
                    "login": summary(login_times), "round_of_16_logins_s": round(statistics.median(walls), 2),
                    "login_statuses": statuses, "me_alone": summary(me)}

        report = asyncio.run(measure())
        report["indexed_select"] = summary(asyncio.run(indexed_select(tmp, args.samples * 5)))
    finally:
        stop_server(server)
    report["argon2"] = argon2_threads()
    report["tree"] = str(tree)
    report["ratio_health_p50_during_over_alone"] = round(report["health_during_16_logins"]["p50_ms"] / report["health_alone"]["p50_ms"], 2)
    report["ratio_health_p99_during_over_alone"] = round(report["health_during_16_logins"]["p99_ms"] / report["health_alone"]["p99_ms"], 2)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
