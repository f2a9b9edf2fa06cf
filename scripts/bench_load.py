#!/usr/bin/env python3
"""Load as a practice makes it, plus an attacker: a real server process, N
dentists dictating at once with a realistic duty cycle, and G garbage
clients hammering /v1/stream meanwhile.

Each dentist's session streams French recordings at real-time pace, one
after another, with silence after each, for ``--seconds`` from its first
words; the speech is about a third of the time.  ``--speech fleurs`` (the
default) streams the read sentences of ``tests/data`` (FLEURS and others,
3-20 s each, said without a break), each followed by twice its length of
silence; ``--speech dictation`` streams the dental dictations of
``tests/data/pauses`` as a dentist says them (pauses inside lines, 1.6 s
between lines), each followed by the silence that makes the speech the VAD
hears a third of the time.  Each begins at its own recording, and the
dentists' starts are spread evenly over one duty cycle (``--spread``), as
in a practice where they do not all begin talking in the same second;
``--together`` makes every dentist speak at the same moments (the worst
case: all utterances end together).  Each garbage client connects, sends
malformed messages and a start with a forged token, is thrown out, and
starts again.

Reported (client side, receipt times): VAD speech_end → final p50/p95 (the
final that ends each utterance), partial lag p50/p95 (a partial's receipt
time minus the wall time at which its ``audio_end`` was sent), finals lost
(utterances whose speech_end came and whose final never did; a final
with no words, for an "euh" alone, is counted as a final and as empty),
sessions refused, garbage connections served, the share of the time the
VAD heard speech, the server's CPU (s per s of wall time) and this
process's own (its clients share the machine), the server's peak memory,
the slowest finals (with their utterance's length and number in its
session), and how the finals after a short pause were decoded
(``final_contexts``: decoded with the phrase before; once finals came
late, with a shorter one, or without it while another final was decoding
or waiting), and the word error rate
of the finals of each recording sent whole (fillers left out of the
reference, numbers normalized, as ``bench_pauses.py`` scores them).  Run with the project's venv:

    .venv/bin/python scripts/bench_load.py --sessions 8 --garbage 50 --seconds 90
    .venv/bin/python scripts/bench_load.py --sessions 4 --together --seconds 60
    .venv/bin/python scripts/bench_load.py --sessions 8 --garbage 50 --seconds 120 --speech dictation
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

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import websockets  # noqa: E402

from chairside.client import load_audio, to_pcm  # noqa: E402
from bench_pauses import manifest, score  # noqa: E402  (score: word errors, fillers left out of the reference)
from bench_stream import cpu_s, histogram_quantile, scrape_counter, scrape_histogram  # noqa: E402
from conftest import create_practice, recordings, start_server, stop_server  # noqa: E402

CHUNK_S = 0.1
RATE = 16000
GARBAGE = [b"", bytes(641), "{", "[]", '{"type": "nope"}', '{"type": "text"}', '{"type": "accept", "index": -1}', '{"type": "stop"}']


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def dentist(url: str, token: str, speech: list[tuple[np.ndarray, int, str]], seconds: float, offset: float, report: dict) -> None:
    """One session: a recording, then its silence, again and again."""
    sent_at: dict[float, float] = {}  # stream time → wall time it was sent
    ends: dict[int, float] = {}
    finals: dict[int, float] = {}
    spoken: dict[int, float] = {}  # utterance → its length (s), speech_start to speech_end
    lags: list[float] = []
    empty: set[int] = set()  # utterances whose final has no words
    texts: list[tuple[float, str]] = []  # (end in the stream, text) of each final
    spans: list[tuple[float, float, str]] = []  # (first s, last s, transcript) of each recording sent whole
    stream_t = 0.0  # audio sent (s)
    try:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "start", "token": token, "sample_rate": RATE, "language": "fr"}))
            ready = json.loads(await ws.recv())
            if ready["type"] != "ready":
                report["refused"] += 1
                return

            async def receive() -> None:
                async for message in ws:
                    event, now = json.loads(message), time.perf_counter()
                    if event["type"] == "vad" and event["event"] == "speech_start":
                        spoken[event["utterance"]] = -event["t"]
                    elif event["type"] == "vad" and event["event"] == "speech_end":
                        ends[event["utterance"]] = now
                        spoken[event["utterance"]] = round(spoken.get(event["utterance"], 0.0) + event["t"], 2)
                    elif event["type"] == "final" and event.get("end_of_utterance", True):
                        finals.setdefault(event["utterance"], now)  # an empty one too: a breath, an "euh" alone
                        if not event["text"]:
                            empty.add(event["utterance"])
                    elif event["type"] == "partial":
                        sent = sent_at.get(round(event["audio_end"], 1))
                        if sent is not None:
                            lags.append(now - sent)
                    if event["type"] == "final" and event["text"]:  # a window's cut too: all that was recognized
                        texts.append((event["end"], event["text"]))  # its start may be in the silence before (preroll)

            receiver = asyncio.create_task(receive())
            chunk = int(RATE * CHUNK_S)
            started = time.perf_counter()
            await asyncio.sleep(offset)
            i = 0
            while time.perf_counter() - started < offset + seconds:
                audio, silence, transcript = speech[i % len(speech)]
                i += 1
                first = stream_t
                padded = np.concatenate([audio, np.zeros(silence, dtype=np.float32)])
                for k in range(0, len(padded), chunk):
                    await ws.send(to_pcm(padded[k:k + chunk]))
                    stream_t += CHUNK_S
                    sent_at[round(stream_t, 1)] = time.perf_counter()
                    await asyncio.sleep(max(0.0, started + offset + stream_t - time.perf_counter()))
                spans.append((first, stream_t, transcript))
            await ws.send(json.dumps({"type": "stop"}))
            await asyncio.wait_for(receiver, 60)
    except (websockets.ConnectionClosed, asyncio.TimeoutError) as exc:
        report["errors"].append(type(exc).__name__)
    report["speaking_s"] += sum(v for u, v in spoken.items() if u in ends)
    report["session_s"] += stream_t
    report["final_after_end"] += [finals[u] - t for u, t in ends.items() if u in finals]
    report["slowest"] += [(round(finals[u] - t, 3), spoken.get(u), u) for u, t in ends.items() if u in finals]
    report["finals_lost"] += sum(u not in finals for u in ends)
    report["finals_empty"] += len(empty & ends.keys())
    report["utterances"] += len(ends)
    report["partial_lag"] += lags
    # what was recognized of each recording sent whole, for the word error rate under load
    report["scored"] += [(transcript, " ".join(text for t, text in texts if a <= t < b)) for a, b, transcript in spans]


async def garbage(url: str, seconds: float, report: dict) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        try:
            async with websockets.connect(url, max_size=None) as ws:
                for message in GARBAGE:
                    await ws.send(message)
                await ws.send(json.dumps({"type": "start", "token": "forged"}))
                async for _ in ws:
                    pass
        except (websockets.ConnectionClosed, OSError):
            pass
        report["garbage_connections"] += 1
        await asyncio.sleep(0.5)  # 50 clients: about 100 hostile connections a second


def read_speech() -> list[tuple[np.ndarray, int, str]]:
    """The French read sentences of tests/data, each followed by twice its
    length of silence: (audio, silence in samples, transcript)."""
    said = [(load_audio(r.path), r.transcript) for name, r in recordings().items()
            if r.language == "fr" and not name.startswith(("noise", "silence", "dental"))]
    return [(a, 2 * a.size, transcript) for a, transcript in said]


def dictation_speech() -> list[tuple[np.ndarray, int, str]]:
    """The paused dental dictations of tests/data/pauses, as said (not their
    twins), each followed by enough silence that the speech in it, as Silero
    VAD hears it with the server's settings, is a third of the time."""
    from chairside.asr.listener import vad_options
    from chairside.audio.vad import Endpointer, SileroVad
    from chairside.config import Settings

    options = vad_options(Settings.from_env())
    folder = ROOT / "tests" / "data" / "pauses"
    transcripts = {row["file"]: row["transcript"] for row in manifest(folder)}
    out = []
    for path in sorted(folder.glob("pauses_p[0-9][0-9].ogg")):
        audio = load_audio(path)
        endpointer = Endpointer(SileroVad.shared().stream(), options)
        events = endpointer.feed(np.concatenate([audio, np.zeros(RATE, np.float32)])) + endpointer.finish(audio.size + RATE)
        starts = [e.sample for e in events if e.kind == "speech_start"]
        ends = [e.sample for e in events if e.kind != "speech_start"]
        voiced = sum(b - a for a, b in zip(starts, ends))
        out.append((audio, max(RATE, 3 * voiced - audio.size), transcripts[path.name]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--garbage", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--together", action="store_true", help="every dentist speaks at the same moments")
    parser.add_argument("--spread", type=float, help="seconds over which the dentists' first words are spread "
                        "(default: one duty cycle, the mean recording with its silence)")
    parser.add_argument("--busy-final-wait-s", type=float, default=0.5, help="the server's setting (its default; 0: never busy)")
    parser.add_argument("--busy-final-delay-s", type=float, default=1.0, help="the server's setting (its default; 0: never busy)")
    parser.add_argument("--asr-context-late-s", type=float, default=0.6,
                        help="the server's setting (its default): finals later than this shrink the context (0: never)")
    parser.add_argument("--speech", choices=("fleurs", "dictation"), default="fleurs",
                        help="read sentences said without a break, or dental dictations with their pauses")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()

    speech = read_speech() if args.speech == "fleurs" else dictation_speech()
    server = start_server(Path(tempfile.mkdtemp(prefix="bench-load-")), max_sessions_per_user=str(args.sessions),
                          busy_final_wait_s=str(args.busy_final_wait_s), busy_final_delay_s=str(args.busy_final_delay_s),
                          asr_context_late_s=str(args.asr_context_late_s))
    report = {"sessions": args.sessions, "garbage": args.garbage, "seconds": args.seconds, "together": args.together,
              "busy_final_wait_s": args.busy_final_wait_s, "busy_final_delay_s": args.busy_final_delay_s,
              "asr_context_late_s": args.asr_context_late_s,
              "speech": args.speech, "recordings": len(speech), "speaking_s": 0.0, "session_s": 0.0, "refused": 0, "errors": [],
              "utterances": 0, "finals_lost": 0, "finals_empty": 0, "final_after_end": [], "slowest": [], "partial_lag": [],
              "scored": [], "garbage_connections": 0}
    try:
        token = create_practice(server).tokens["dentist"]
        proc, me = psutil.Process(server.process.pid), psutil.Process()
        cpu0, mine0, wall0 = proc.cpu_times(), me.cpu_times(), time.perf_counter()
        peak = [proc.memory_info().rss]

        async def run() -> None:
            async def sample() -> None:
                while True:
                    peak[0] = max(peak[0], proc.memory_info().rss)
                    await asyncio.sleep(1)

            sampler = asyncio.create_task(sample())
            # Each dentist begins at a different point of the duty cycle (or all at once)
            cycle = statistics.fmean(a.size + silence for a, silence, _ in speech) / RATE if args.spread is None else args.spread
            step = 0.0 if args.together else cycle / max(1, args.sessions)
            await asyncio.gather(*(dentist(server.ws, token, speech[i:] + speech[:i], args.seconds, i * step, report)
                                   for i in range(args.sessions)),
                                 *(garbage(server.ws, args.seconds, report) for _ in range(args.garbage)))
            sampler.cancel()

        asyncio.run(run())
        cpu1, mine1, wall = proc.cpu_times(), me.cpu_times(), time.perf_counter() - wall0
        # where a final's time goes, as the server's /metrics saw it: waiting for a decoder, then decoding
        for what, metric in (("final_decode_wait", "chairside_decode_wait_seconds"), ("final_decode", "chairside_decode_seconds")):
            buckets, total, count = scrape_histogram(server, metric, kind="final")
            report[f"{what}_mean_s"] = round(total / count, 3) if count else None
            report[f"{what}_p95_s"] = round(histogram_quantile(0.95, buckets) or 0, 3)
            report[f"{what}_count"] = count
        # final decodes after a short pause: with the phrase before (whole), a shorter one (short) or none (busy)
        report["final_contexts"] = scrape_counter(server, "chairside_final_contexts", "context")
    finally:
        stop_server(server)
    ends, lags = report.pop("final_after_end"), report.pop("partial_lag")
    scores = [score(transcript, said) for transcript, said in report.pop("scored")]
    reference_words = sum(s["reference_words"] for s in scores)
    report["recordings_scored"] = len(scores)
    report["wer"] = round(sum(s["errors"] for s in scores) / reference_words, 4) if reference_words else None
    # the share of each session's time the VAD heard speech in (about a third by design)
    speaking, session = report.pop("speaking_s"), report.pop("session_s")
    report["speaking_share"] = round(speaking / session, 3) if session else None
    report["slowest"] = sorted(report["slowest"], reverse=True)[:8]  # (VAD speech_end → final s, utterance s, its number in the session)
    report.update({
        "final_after_vad_p50_s": pct(ends, 0.5), "final_after_vad_p95_s": pct(ends, 0.95), "final_after_vad_max_s": pct(ends, 1.0),
        "partial_lag_p50_s": pct(lags, 0.5), "partial_lag_p95_s": pct(lags, 0.95),
        "server_cpu_s_per_s": round(cpu_s(cpu0, cpu1) / wall, 3),
        # the benchmark's own clients share the two cores with the server
        "clients_cpu_s_per_s": round(cpu_s(mine0, mine1) / wall, 3),
        "server_peak_rss_mb": round(peak[0] / 2**20, 1), "finals": len(ends),
        "final_after_vad_mean_s": round(statistics.fmean(ends), 3) if ends else None,
    })
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
