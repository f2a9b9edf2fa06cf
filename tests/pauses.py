"""Paused dictations, as the tests and scripts/bench_pauses.py both use
them: what a draft should be (the manifest's expectations of
tests/data/pauses and ../shared/audio/pauses), and a real Listener run
in-process on a recording, faster than real time."""

from __future__ import annotations

import asyncio

import numpy as np
from chairside import events as ev
from chairside.asr.listener import Listener
from chairside.audio import SAMPLE_RATE
from chairside.config import Settings
from chairside.dictation.state import Dictation
from chairside.dictation.vocabulary import draft_vocabulary
from chairside.session import streaming_options


def draft_problems(draft: dict | None, expect: dict) -> list[str]:
    """What the draft lacks of what is expected (empty: right)."""
    if draft is None:
        return ["no draft"]
    problems = []
    fields, lines = draft.get("fields", {}), draft["lines"]
    teeth = sorted({t for line in lines for t in line.get("teeth", [])} | set(fields.get("teeth", [])))
    got = {"kind": draft["kind"], "lines": len(lines), "drugs": [line.get("drug") for line in lines], "teeth": teeth,
           "durations": [line.get("duration_days") for line in lines], "work_type": fields.get("work_type"),
           "material": fields.get("material"), "shade": fields.get("shade"), "itt_days": fields.get("itt_days")}
    for key, value in expect.items():
        if got[key] != value:
            problems.append(f"{key}: {got[key]!r} (expected {value!r})")
    return problems


class Collected:
    """A listener's results: how many utterances, and their finals.  With a
    ``dictation``, each final is dictated as it comes and the listener's
    prompt follows the draft, as a session's does."""

    def __init__(self, dictation: Dictation | None = None, follow_draft: bool = True) -> None:
        self.utterances, self.finals = 0, []
        self.dictation, self.follow_draft = dictation, follow_draft
        self.listener: Listener | None = None

    def speech_started(self, t: float) -> int:
        self.utterances += 1
        return self.utterances

    def speech_ended(self, utterance: int, t: float) -> None:
        pass

    def partial(self, utterance: int, result) -> None:
        pass

    async def final(self, utterance: int, result) -> None:
        self.finals.append(result)
        if self.dictation is not None and result.text:
            self.dictation.handle(result.text)
        if self.dictation is not None and self.follow_draft and self.listener is not None:
            kind = self.dictation.draft.kind if self.dictation.draft is not None else None
            self.listener.set_vocabulary(tuple(draft_vocabulary("fr", kind)))

    def failed(self, exc: Exception) -> None:
        raise exc


async def listen(engine, vad, settings: Settings, audio: np.ndarray, dictation: Dictation | None = None) -> Collected:
    """Audio (then 1 s of silence) through a real Listener with the default
    French prompt, fed 0.1 s at a time as fast as it decodes (and dictated,
    with a ``dictation``)."""
    results = Collected(dictation, follow_draft=settings.default_vocabulary and settings.draft_vocabulary)
    results.listener = listener = Listener(engine=engine, vad=vad, settings=settings, results=results,
                        options=streaming_options(ev.Start(type="start", encoding="pcm_f32le", language="fr"), settings))
    listener.start()
    audio = np.concatenate([audio, np.zeros(SAMPLE_RATE, np.float32)])
    for i in range(0, audio.size, SAMPLE_RATE // 10):
        listener.feed(audio[i : i + SAMPLE_RATE // 10])
        await asyncio.sleep(0)
    listener.finish()
    await listener.drained()
    return results
