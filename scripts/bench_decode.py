#!/usr/bin/env python3
"""Decode-level benchmark: what one decode of Whisper base costs here, by
CTranslate2 thread count and by how much of faster-whisper's 30 s padding the
encoder sees, with the WER of each setting (whole utterances, no streaming).

    .venv/bin/python scripts/bench_decode.py --json docs/bench_decode.json

The server's choices (1 thread per decode, 5 s of encoder padding) come from
this script's figures; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "tests"))

from faster_whisper import WhisperModel  # noqa: E402

import chairside.asr.engine as engine_module  # noqa: E402
from chairside.asr.engine import TrimmedWhisper  # noqa: E402
from chairside.asr.models import resolve  # noqa: E402
from chairside.client import load_audio  # noqa: E402
from chairside.config import Settings  # noqa: E402
from chairside.evaluation import wer  # noqa: E402
from conftest import recordings  # noqa: E402


def timed_transcripts(model, files, beam: int, repeats: int = 1) -> tuple[list[str], float]:
    texts, times = [], []
    for rec in files:
        audio = load_audio(rec.path)
        for _ in range(repeats):
            started = time.perf_counter()
            segments, _ = model.transcribe(audio, language=rec.language, beam_size=beam, temperature=0.0,
                                           without_timestamps=True, condition_on_previous_text=False)
            text = " ".join(s.text for s in segments)
            times.append(time.perf_counter() - started)
        texts.append(text)
    return texts, statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    args = parser.parse_args()
    settings = Settings.from_env()
    model_dir = str(resolve(settings.model, settings.models_path))
    files = [r for n, r in recordings().items() if r.language == "fr" and not n.startswith("dental")]
    refs = [r.transcript for r in files]
    rows = []

    # 1. threads per decode, for both encoder inputs
    for label, cls in (("30 s (faster-whisper)", WhisperModel), ("audio + 5 s", TrimmedWhisper)):
        for threads in (1, 2):
            model = cls(model_dir, device="cpu", compute_type=settings.compute_type, cpu_threads=threads)
            for beam in (1, 5):
                texts, median = timed_transcripts(model, files[:4], beam, repeats=3)
                rows.append({"test": "threads", "threads": threads, "encoder_input": label, "beam": beam, "median_decode_s": round(median, 3)})

    # 2. encoder input: full 30 s window vs audio + margin (1 thread)
    variants = [("30 s (faster-whisper)", None), ("audio + 1 s", 100), ("audio + 3 s", 300), ("audio + 5 s", 500)]
    for label, margin in variants:
        if margin is None:
            model = WhisperModel(model_dir, device="cpu", compute_type=settings.compute_type, cpu_threads=1)
        else:
            engine_module.ENCODER_MARGIN_FRAMES = margin
            model = TrimmedWhisper(model_dir, device="cpu", compute_type=settings.compute_type, cpu_threads=1)
        for beam in (1, 5):
            texts, median = timed_transcripts(model, files, beam)
            rows.append({"test": "encoder input", "threads": 1, "encoder_input": label, "beam": beam,
                         "median_decode_s": round(median, 3), "wer_fr": round(wer(refs, texts, "fr"), 4)})

    print("| test | threads | encoder input | beam | median decode (s) | French WER |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['test']} | {r['threads']} | {r['encoder_input']} | {r['beam']} | {r['median_decode_s']} | {r.get('wer_fr', '')} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
