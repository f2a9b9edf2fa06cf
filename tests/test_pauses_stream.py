"""Dictations with natural pauses, end to end: the recordings of
tests/data/pauses streamed through /v1/stream of a real server (real model,
real PostgreSQL), three sessions at a time, at twice real-time pace (the
fastest the default server takes; the VAD, the line silence and the
finals run on audio time, so the drafts are those of real-time speech:
scripts/bench_pauses.py streams all of them, and their twins, in real
time).  Each paused
dictation must give the draft its manifest expects — the same draft its
unpaused twin gives — with lines made across the pauses and no word made of
an "euh"."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest
import websockets
from conftest import Practice
from factories import CONTEXT
from pauses import draft_problems

from chairside.client import load_audio, to_pcm

PAUSES = Path(__file__).parent / "data" / "pauses"
CHUNK = 3200  # 0.1 s of 16 kHz 16-bit audio

# Ten of the 32, every document kind, with "euh" before and inside lines and
# pauses from 0.4 to 1.5 s: those whose words Whisper base hears right from
# this one synthetic voice, paused or not (lab orders rarely: "teinte A deux"
# becomes "tante à deux").  The benchmark streams all 32 and their twins
# (docs/benchmarks.md).
STREAMED = ["pauses_p02.ogg", "pauses_p03.ogg", "pauses_p07.ogg", "pauses_p14.ogg", "pauses_p20.ogg",
            "pauses_p23.ogg", "pauses_p25.ogg", "pauses_p28.ogg", "pauses_p29.ogg", "pauses_p31.ogg"]


def manifest() -> dict[str, dict]:
    with (PAUSES / "manifest.tsv").open(newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f, delimiter="\t")}


PACE = 2.0  # audio seconds sent per second


async def stream(practice: Practice, path: Path, silence_s: float = 1.0) -> list[dict]:
    """One session: start, the recording at PACE, silence, stop; all events."""
    events: list[dict] = []
    pcm = to_pcm(load_audio(path))
    async with websockets.connect(practice.server.ws, max_size=None) as ws:
        await ws.send(json.dumps({"type": "start", "language": "fr", "token": practice.tokens["dentist"],
                                  "room": practice.rooms[1], "patient": practice.patient["id"], "lab": CONTEXT["lab"]}))

        async def receive() -> None:
            async for message in ws:
                events.append(json.loads(message))

        receiver = asyncio.create_task(receive())
        for i in range(0, len(pcm), CHUNK):
            await ws.send(pcm[i : i + CHUNK])
            await asyncio.sleep(0.1 / PACE)
        for _ in range(int(silence_s * 10)):
            await ws.send(bytes(CHUNK))
            await asyncio.sleep(0.1 / PACE)
        await ws.send(json.dumps({"type": "stop"}))
        await receiver
    return events


async def stream_all(practice: Practice, paths: list[Path]) -> list[list[dict]]:
    gate = asyncio.Semaphore(3)  # about 0.5 CPU s per audio s each: the 2-core machine keeps real time

    async def one(path: Path) -> list[dict]:
        async with gate:
            return await stream(practice, path)

    longest_first = sorted(paths, key=lambda p: -p.stat().st_size)  # the three lanes end together
    done = dict(zip(longest_first, await asyncio.gather(*(one(p) for p in longest_first))))
    return [done[p] for p in paths]


@pytest.fixture(scope="module")
def streamed(practice) -> dict[str, list[dict]]:
    results = asyncio.run(stream_all(practice, [PAUSES / name for name in STREAMED]))
    return dict(zip(STREAMED, results))


@pytest.mark.parametrize("name", STREAMED)
def test_a_paused_dictation_gives_its_draft(streamed, name):
    row = manifest()[name]
    events = streamed[name]
    assert events[-1]["type"] == "closed", events[-3:]
    drafts = [e["draft"] for e in events if e["type"] == "draft.updated"]
    finals = [e["text"] for e in events if e["type"] == "final" and e["text"]]
    assert drafts, finals
    assert draft_problems(drafts[-1], json.loads(row["expect"])) == [], finals
    # the pauses split the speech into more finals than lines, and the lines grew across them
    ops = [e["change"]["op"] for e in events if e["type"] == "draft.updated"]
    assert "extend_line" in ops, ops
    assert len(finals) > len(drafts[-1]["lines"]) + 1, finals


def test_no_word_is_made_of_a_hesitation(streamed):
    """Several of them say "euh" before or inside a line: no line holds a
    filler, and outside certificates none holds "ITT" (the prompt's word a
    lone "euh" used to become)."""
    for name, events in streamed.items():
        draft = [e["draft"] for e in events if e["type"] == "draft.updated"][-1]
        banned = {"euh", "heu", "hum"} | ({"itt", "it"} if draft["kind"] != "medical_certificate" else set())
        for line in draft["lines"]:
            said = set(line["text"].lower().replace(",", " ").replace(".", " ").split())
            assert not banned & said, (name, line["text"])


def test_a_long_silence_closes_the_line(practice):
    """After the last words, `line_silence_s` (4 s) of silence closes the
    open line: a `close_line` that belongs to no utterance."""
    events = asyncio.run(stream(practice, PAUSES / "pauses_p03.ogg", silence_s=6.0))
    closes = [e for e in events if e["type"] == "draft.updated" and e["change"]["op"] == "close_line"]
    assert len(closes) == 1 and closes[0]["utterance"] is None
    assert closes[0]["draft"]["open_line"] is None and len(closes[0]["draft"]["lines"]) == 1
    finals = [e for e in events if e["type"] == "final"]
    assert events.index(closes[0]) > events.index(finals[-1])  # after the last words, not before
