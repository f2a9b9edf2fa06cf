#!/usr/bin/env python3
"""Cross-replica latency: a dentist dictates into replica A, screens watch
the room on replica B (and, for comparison, on A).

Starts one PostgreSQL (the embedded one, in a temporary directory, or
--database-url) and two server processes on it, creates a practice, opens
--screens screens on each replica, and streams real French recordings at
real-time pace into A with typed commands between them.  For every event
the dentist's client receives that a room shows (partials, finals,
commands, drafts, documents), the delay is: time the screen received it −
time the dentist's client received it (one process, one clock).  Run with
the project's venv:

    .venv/bin/python scripts/bench_replicas.py --json docs/bench_replicas.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "tests"))

import websockets  # noqa: E402

from chairside.client import load_audio, to_pcm  # noqa: E402
from chairside.store.db import start_embedded  # noqa: E402
from conftest import create_practice, recordings, start_server, stop_server  # noqa: E402
from factories import CONTEXT  # noqa: E402

FILES = ["dental_s1.wav", "dental_02.wav", "fr_fleurs_000.wav", "fr_fleurs_002.wav", "dental_06.wav", "fr_fleurs_005.wav"]


def key(event: dict) -> str:
    return json.dumps({k: v for k, v in event.items() if k not in ("seq", "session_id")}, sort_keys=True, ensure_ascii=False)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def watch(url: str, token: str, arrived: dict, done: asyncio.Event) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        await ws.recv()  # the snapshot
        done.set()
        async for message in ws:
            event = json.loads(message)
            arrived.setdefault(key(event), time.perf_counter())
            if event["type"] == "session.ended":
                return


async def run(practice, replica_b, screens: int, files: list) -> dict:
    room = practice.rooms[0]
    urls = {"B": f"ws://127.0.0.1:{replica_b.port}/v1/rooms/{room}/events",
            "A": f"ws://127.0.0.1:{practice.server.port}/v1/rooms/{room}/events"}
    arrivals = {name: [dict() for _ in range(screens)] for name in urls}
    ready = [asyncio.Event() for _ in range(2 * screens)]
    watchers = [asyncio.create_task(watch(urls[name], practice.tokens["assistant"], arrivals[name][i], ready[j * screens + i]))
                for j, name in enumerate(urls) for i in range(screens)]
    for event in ready:
        await event.wait()
    sent: dict[str, float] = {}
    async with websockets.connect(practice.server.ws, max_size=None) as ws:
        await ws.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "room": room,
                                  "patient": practice.patient["id"], "lab": CONTEXT["lab"]}))

        async def receive() -> None:
            async for message in ws:
                sent.setdefault(key(json.loads(message)), time.perf_counter())

        receiver = asyncio.create_task(receive())
        await ws.send(json.dumps({"type": "text", "text": "Nouveau compte rendu."}))
        for rec in files:
            pcm = to_pcm(load_audio(rec.path)) + bytes(32000)
            t0 = time.perf_counter()
            for offset in range(0, len(pcm), 640):
                await ws.send(pcm[offset : offset + 640])
                await asyncio.sleep(max(0.0, t0 + (offset + 640) / 32000 - time.perf_counter()))
        await ws.send(json.dumps({"type": "text", "text": "Valide."}))
        await ws.send(json.dumps({"type": "text", "text": "Oui."}))  # the readback's answer (issue 13)
        await ws.send(json.dumps({"type": "stop"}))
        await receiver
    await asyncio.wait_for(asyncio.gather(*watchers), 60)
    report = {}
    for name in urls:
        delays: dict[str, list[float]] = {}
        missing = 0
        for arrived in arrivals[name]:
            for k, t in sent.items():
                kind = json.loads(k)["type"]
                if kind in ("ready", "vad", "closed") or (kind == "final" and not json.loads(k)["text"]):
                    continue
                if k not in arrived:
                    missing += 1
                    continue
                delays.setdefault(kind, []).append((arrived[k] - t) * 1000)
        everything = [d for values in delays.values() for d in values]
        report[name] = {"events": len(everything), "missing": missing,
                        "p50_ms": round(statistics.median(everything), 1), "p95_ms": round(pct(everything, 0.95), 1),
                        "max_ms": round(max(everything), 1),
                        "by_type": {kind: {"n": len(v), "p50_ms": round(statistics.median(v), 1), "p95_ms": round(pct(v, 0.95), 1)}
                                    for kind, v in sorted(delays.items())}}
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=3, help="screens per replica")
    parser.add_argument("--database-url", help="a PostgreSQL to use (default: an embedded one in a temporary directory)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    corpus = recordings()
    files = [corpus[f] for f in FILES]
    tmp = Path(tempfile.mkdtemp(prefix="chairside-bench-replicas-"))
    pg = None if args.database_url else start_embedded(tmp / "db")
    url = args.database_url or pg.get_uri()
    for name in ("a", "b"):
        (tmp / name).mkdir()
    a = start_server(tmp / "a", database_url=url, requests_per_s=1000)  # lines typed as fast as possible: no rate limit
    b = start_server(tmp / "b", database_url=url, requests_per_s=1000)
    try:
        practice = create_practice(a)
        report = asyncio.run(run(practice, b, args.screens, files))
    finally:
        stop_server(a)
        stop_server(b)
        if pg is not None:
            pg.cleanup()
    report = {"screens_per_replica": args.screens, "audio_s": round(sum(f.duration_s for f in files), 1),
              "date": time.strftime("%Y-%m-%d"), "replicas": report}
    print(f"{'screens on':<12}{'events':>8}{'missing':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, r in report["replicas"].items():
        where = "B (other)" if name == "B" else "A (same)"
        print(f"{where:<12}{r['events']:>8}{r['missing']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['max_ms']:>9}")
        for kind, v in r["by_type"].items():
            print(f"  {kind:<14}{v['n']:>6}{'':>9}{v['p50_ms']:>9}{v['p95_ms']:>9}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
