#!/usr/bin/env python3
"""Make dictations with natural pauses, and their twins without, from a TSV.

A test-data tool, not part of the product.  It runs in the offline French
voice's own virtual environment (``../shared/tools/tts/README.md``; add
``av`` to it for the Ogg Opus output), never in the project's:

    /tmp/tts-venv/bin/python scripts/synth_pauses.py tests/data/pauses/source.tsv tests/data/pauses

``source.tsv`` columns: ``id``, ``text``, ``expect`` (the draft the dictation
must give, JSON), ``speed`` (0.8–1.2).  In ``text``, `` // `` separates the
lines of the dictation (1.6 s of silence between them; ``//2.0`` for
another length) and ``[p0.8]`` is a pause of 0.8 s inside a line, where a
dentist stops while working.  Each piece between pauses is spoken on its
own.  The twin ``<id>n`` has the same words with no pause inside a line:
each line is spoken in one breath.  Both are written as 16 kHz mono Ogg
Opus (32 kbit/s) with ``manifest.tsv`` (file, language, duration_s,
transcript, expect, twin_of, license, reference_quality).
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import av
import numpy as np

TTS = Path(__file__).resolve().parents[2] / "shared" / "tools" / "tts"
sys.path.insert(0, str(TTS))

from kokoro_fr_tts import FrenchTTS, resample  # noqa: E402

RATE = 16000
LINE_GAP_S = 1.6
LICENSE = "synthesized: Kokoro-82M (Apache-2.0), voice ff_siwis (Apache-2.0); audio CC0"
_LINE = re.compile(r"\s*//([0-9.]*)\s*")
_PAUSE = re.compile(r"\[p([0-9.]+)\]")


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def lines_of(text: str) -> list[tuple[float, str]]:
    """(silence before, line) pairs: the first line after 0.4 s."""
    parts = _LINE.split(text)
    out = [(0.4, parts[0])]
    for gap, line in zip(parts[1::2], parts[2::2]):
        out.append((float(gap) if gap else LINE_GAP_S, line))
    return out


def said(text: str) -> str:
    return " ".join(_PAUSE.sub(" ", _LINE.sub(" ", text)).split())


def speak(tts: FrenchTTS, text: str, speed: float) -> np.ndarray:
    audio, rate = tts.synth(text, speed=speed)
    return resample(audio, rate, RATE)


def dictation(tts: FrenchTTS, text: str, speed: float, *, paused: bool) -> np.ndarray:
    chunks: list[np.ndarray] = []
    for gap, line in lines_of(text):
        chunks.append(silence(gap))
        if not paused:
            chunks.append(speak(tts, said(line), speed))
            continue
        pieces = _PAUSE.split(line)
        for i, piece in enumerate(pieces):
            if i % 2:
                chunks.append(silence(float(piece)))
            elif piece.strip():
                chunks.append(speak(tts, piece.strip(), speed))
    chunks.append(silence(1.5))
    return np.clip(np.concatenate(chunks), -1.0, 1.0)


def write_opus(path: Path, audio: np.ndarray) -> None:
    with av.open(str(path), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=RATE, layout="mono")
        stream.bit_rate = 32000
        frame = av.AudioFrame.from_ndarray((audio * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main() -> int:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    tts = FrenchTTS(TTS / "voices" / "ff_siwis.bin")
    rows = []
    with open(source, newline="") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            speed = float(r.get("speed") or 1.0)
            for suffix, paused in (("", True), ("n", False)):
                name = f"pauses_{r['id']}{suffix}.ogg"
                audio = dictation(tts, r["text"], speed, paused=paused)
                write_opus(out / name, audio)
                rows.append({"file": name, "language": "fr", "duration_s": f"{audio.size / RATE:.2f}", "transcript": said(r["text"]),
                             "expect": r["expect"], "twin_of": "" if paused else f"pauses_{r['id']}.ogg", "license": LICENSE,
                             "reference_quality": "synthetic"})
                print(name, rows[-1]["duration_s"], file=sys.stderr)
    with open(out / "manifest.tsv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
