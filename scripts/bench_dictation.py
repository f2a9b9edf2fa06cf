#!/usr/bin/env python3
"""Command and document latency through a real server process.

- command latency: the `final` of an utterance that is a command → its
  `command` event;
- document latency: the `final` of "valide" / "valide et imprime" /
  "imprime" → `document.ready` (the PDF rendered and stored, its URL sent).

Both measured on the client (receipt times of the two events), in two runs:
*spoken*: the synthetic dental recordings (tests' shared audio, a
prescription from "nouvelle ordonnance" to "imprime") streamed at real-time
pace, so that rendering competes with live recognition as in the practice;
*typed*: the same flow as `text` messages, many times, for the spread.
Also the fetch of each PDF over HTTP.  Run with the project's venv:

    .venv/bin/python scripts/bench_dictation.py --json docs/bench_dictation.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
import websockets  # noqa: E402

from chairside.client import load_audio, to_pcm  # noqa: E402
from conftest import create_practice, start_server, stop_server  # noqa: E402
from factories import CONTEXT  # noqa: E402

AUDIO = ROOT.parent / "shared" / "audio" / "dental"
# dental_01..09: nouvelle ordonnance, 4 prescription lines, efface ça,
# remplace l'amoxicilline par la clindamycine, valide l'ordonnance, imprime
SPOKEN = [f"dental_{i:02d}.wav" for i in range(1, 10)]
TYPED = [
    "Nouvelle ordonnance.",
    "Amoxicilline un gramme, un comprimé matin et soir pendant sept jours.",
    "Paracétamol un gramme, un comprimé toutes les six heures si douleur.",
    "Efface ça.",
    "Remplace l'amoxicilline par la clindamycine.",
    "Valide et imprime.",
    "Oui.",  # the readback's answer (issue 13)
]


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 4)


async def session(practice, steps: list, realtime_audio: bool = True) -> list[tuple[float, dict]]:
    """Run one session; every event with its receipt time."""
    received: list[tuple[float, dict]] = []
    async with websockets.connect(practice.server.ws, max_size=None) as ws:
        await ws.send(json.dumps({"type": "start", "language": "fr", "token": practice.tokens["dentist"], "room": practice.rooms[0],
                                  "patient": practice.patient["id"], "lab": CONTEXT["lab"]}))

        async def receive() -> None:
            async for message in ws:
                received.append((time.perf_counter(), json.loads(message)))

        receiver = asyncio.create_task(receive())
        for step in steps:
            if isinstance(step, Path):
                pcm = to_pcm(load_audio(step)) + bytes(32000)  # the recording, then 1 s of silence
                t0 = time.perf_counter()
                for offset in range(0, len(pcm), 640):  # 20 ms frames
                    await ws.send(pcm[offset : offset + 640])
                    await asyncio.sleep(max(0.0, t0 + (offset + 640) / 32000 - time.perf_counter()))
            else:
                await ws.send(json.dumps({"type": "text", "text": step}))
                await asyncio.sleep(0.3)  # the assistant types one line at a time
        await asyncio.sleep(1.0)
        await ws.send(json.dumps({"type": "stop"}))
        await receiver
    return received


def latencies(received: list[tuple[float, dict]]) -> tuple[list[float], list[float], list[dict]]:
    finals = {e["utterance"]: t for t, e in received if e["type"] == "final" and e.get("end_of_utterance", True)}
    commands = [t - finals[e["utterance"]] for t, e in received if e["type"] == "command" and e["utterance"] in finals]
    documents = [(t - finals[e["utterance"]], e) for t, e in received
                 if e["type"] == "document.ready" and e["utterance"] in finals]
    return commands, [d for d, _ in documents], [e for _, e in documents]


def fetch_times(practice, documents: list[dict]) -> list[float]:
    times = []
    with httpx.Client(base_url=practice.server.http, headers=practice.headers(), timeout=10) as client:
        for doc in documents:
            started = time.perf_counter()
            response = client.get(doc["url"])
            response.raise_for_status()
            times.append(time.perf_counter() - started)
    return times


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50_s": pct(values, 0.5), "p95_s": pct(values, 0.95), "max_s": pct(values, 1.0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spoken-rounds", type=int, default=2, help="times the spoken prescription is dictated")
    parser.add_argument("--typed-rounds", type=int, default=40, help="times the typed prescription is dictated")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()

    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="bench-dictation-"))
    server = start_server(tmp, requests_per_s=1000)  # typed commands one after another, as fast as answered: no rate limit
    practice = create_practice(server)
    try:
        spoken = [AUDIO / name for name in SPOKEN] * args.spoken_rounds
        received = asyncio.run(session(practice, spoken))
        s_commands, s_documents, s_docs = latencies(received)
        heard = [e["command"] for _, e in received if e["type"] == "command"]
        finals = [e["text"] for _, e in received if e["type"] == "final" and e["text"]]
        typed_commands: list[float] = []
        typed_documents: list[float] = []
        docs: list[dict] = []
        for _ in range(args.typed_rounds):
            c, d, e = latencies(asyncio.run(session(practice, TYPED)))
            typed_commands += c
            typed_documents += d
            docs += e
        fetch = fetch_times(practice, s_docs + docs)
        render_ms = [e["render_ms"] / 1000 for e in s_docs + docs if e["render_ms"]]
    finally:
        stop_server(server)
    report = {
        "spoken": {"finals": finals, "commands_heard": heard, "command": summary(s_commands), "document": summary(s_documents)},
        "typed": {"command": summary(typed_commands), "document": summary(typed_documents)},
        "render_s": summary(render_ms),
        "pdf_fetch_s": summary(fetch),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
