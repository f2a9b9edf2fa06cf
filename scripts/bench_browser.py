#!/usr/bin/env python3
"""Mouth-to-screen latency through the browser: WebRTC vs WebSocket.

Starts a server, logs a dentist and an assistant in (Debian's Chromium,
headless, Playwright); the dentist's fake microphone plays a real recording
on the Dictée page, the assistant's Écran page watches the room.  The Écran
page's text is read every 25 ms.  For each word of the finals (word timings
from `GET /v1/sessions/{id}/utterances`, audio time from the session's first
sample), mouth-to-screen = the first time the word is shown on the Écran
page (matched to the final's words by sequence alignment, partials included)
− the time its end was spoken.  The time audio 0 was spoken is taken as the
moment the Dictée page shows it is recording (the `ready` event): audio
flows from then on, so figures may be early by the connection's set-up,
tens of milliseconds.  Run with the project's venv:

    .venv/bin/python scripts/bench_browser.py --json docs/bench_browser.json
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from chairside.text import word_key  # noqa: E402
from conftest import PASSWORD, create_practice, recordings, start_server, stop_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def log_in(browser, practice, role: str):
    page = browser.new_context(locale="fr-FR").new_page()
    page.goto(practice.server.http + "/")
    page.fill("#email", practice.emails[role])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"(dictee|ecran)\.html"))
    return page


def run(practice, recording, transport: str, room: str) -> dict:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={recording.path}%noloop"])
        screen = log_in(browser, practice, "assistant")
        screen.goto(practice.server.http + f"/ecran.html#room={room}")
        screen.wait_for_selector("#connection:text('connecté')")
        dentist = log_in(browser, practice, "dentist")
        if transport == "websocket":
            dentist.add_init_script("delete window.RTCPeerConnection;")
            dentist.reload()
        dentist.select_option("#room", room)
        dentist.click("#start")
        dentist.wait_for_selector("#recording.on", timeout=20_000)
        audio_zero = time.time()
        shown: list[tuple[float, list[str]]] = []
        deadline = audio_zero + recording.duration_s + 4
        while time.time() < deadline:
            text = screen.inner_text("#transcript")
            now = time.time()
            if not shown or text != shown[-1][2]:
                shown.append((now, [word_key(w) for w in text.split() if word_key(w)], text))
            time.sleep(0.025)
        used = dentist.inner_text("#transport")
        dentist.click("#stop")
        dentist.wait_for_selector("#start:not(.hidden)", timeout=30_000)
        browser.close()
    sessions = httpx.get(practice.server.http + f"/v1/sessions?room={room}&limit=1", headers=practice.headers()).json()
    utterances = httpx.get(practice.server.http + f"/v1/sessions/{sessions[0]['id']}/utterances", headers=practice.headers()).json()
    words = [(word_key(w["word"]), w["start"], w["end"]) for u in utterances for w in u["words"] if word_key(w["word"])]
    keys = [k for k, _, _ in words]
    first_seen: dict[int, float] = {}
    for at, tokens, _ in shown:
        for block in difflib.SequenceMatcher(a=keys, b=tokens, autojunk=False).get_matching_blocks():
            for i in range(block.a, block.a + block.size):
                if at >= audio_zero + words[i][1]:  # not before it is said: an alignment of a common word elsewhere
                    first_seen.setdefault(i, at)
    latencies = [first_seen[i] - (audio_zero + end) for i, (_, _, end) in enumerate(words) if i in first_seen]
    return {"transport": used, "words": len(words), "shown": len(latencies),
            "p50_s": round(statistics.median(latencies), 3), "p95_s": round(pct(latencies, 0.95), 3),
            "min_s": round(min(latencies), 3), "max_s": round(max(latencies), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", default="dental_s1.wav,fr_fleurs_001.wav")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    corpus = recordings()
    server = start_server(Path(tempfile.mkdtemp(prefix="chairside-bench-browser-")))
    report = {"date": time.strftime("%Y-%m-%d"), "runs": []}
    try:
        practice = create_practice(server)
        for name in args.recordings.split(","):
            for transport in ("webrtc", "websocket"):
                result = {"recording": name, **run(practice, corpus[name], transport, practice.rooms[0])}
                report["runs"].append(result)
                print(json.dumps(result))
    finally:
        stop_server(server)
    for transport in ("WebRTC", "WebSocket"):
        runs = [r for r in report["runs"] if r["transport"] == transport]
        print(f"{transport}: p50 {statistics.median(r['p50_s'] for r in runs):.3f} s, p95 (worst run) {max(r['p95_s'] for r in runs):.3f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
