"""The session pipeline in-process: long utterances and the decoding window."""

from __future__ import annotations

import asyncio
import threading

import pytest

from chairside import events as ev
from chairside.audio import SAMPLE_RATE
from chairside.client import load_audio
from chairside.config import Settings
from chairside.evaluation import wer
from chairside.runtime import load_engine
from chairside.session import Session


async def run_session(settings: Settings, audio, speed: float) -> list:
    engine, vad, name = load_engine(settings)
    await engine.start()
    session = Session(engine=engine, vad=vad, settings=settings, start=ev.Start(type="start", encoding="pcm_f32le"), model_name=name)
    await session.open()
    chunk = SAMPLE_RATE // 10
    try:
        for i in range(0, audio.size, chunk):
            session.feed(audio[i : i + chunk])
            await asyncio.sleep(0.1 / speed)
        await session.stop()
    finally:
        await session.close()
        await engine.close()
    events = []
    while not session.events.empty():
        events.append(session.events.get_nowait())
    return events


def test_an_utterance_longer_than_the_window_is_cut_at_a_word_and_goes_on(corpus):
    rec = corpus["fr_fleurs_001.wav"]  # 23 s with one short pause
    settings = Settings.from_env(asr_window_s=8.0, vad_min_silence_ms=3000)
    events = asyncio.run(run_session(settings, load_audio(rec.path), speed=2.0))
    assert [e.event for e in events if isinstance(e, ev.Vad)] == ["speech_start", "speech_end"]
    finals = [e for e in events if isinstance(e, ev.Final)]
    assert len(finals) >= 3
    assert [f.end_of_utterance for f in finals] == [False] * (len(finals) - 1) + [True]
    for before, after in zip(finals, finals[1:]):
        assert before.end <= after.start + 0.01  # consecutive, no overlap
        assert after.start - before.start <= 8.0 + 0.5  # each piece fits the window
    # stable text never changes from one partial to the next; a final (decoded
    # afresh) replaces them, and partials then go on with the text after it
    stable = ""
    for e in events:
        if isinstance(e, ev.Partial):
            assert e.stable.startswith(stable)
            stable = e.stable
        elif isinstance(e, ev.Final):
            stable = ""
    for f in finals:
        assert f.words and all(f.start - 0.05 <= w.start <= w.end <= f.end + 0.05 for w in f.words)
    text = " ".join(f.text for f in finals)
    assert wer([rec.transcript], [text], "fr") < 0.5, text


def test_stop_flushes_an_open_utterance(corpus, monkeypatch):
    """... and Silero runs on the VAD's own thread, never on the event loop's."""
    from chairside.audio.vad import VadStream

    threads, frame = set(), VadStream.__call__

    def recorded(self, samples):
        threads.add(threading.current_thread().name)
        return frame(self, samples)

    monkeypatch.setattr(VadStream, "__call__", recorded)
    audio = load_audio(corpus["fr_picovoice-cheetah_test_fr.wav"].path)
    cut = audio[: int(3.2 * SAMPLE_RATE)]  # stop while still speaking
    events = asyncio.run(run_session(Settings.from_env(), cut, speed=4.0))
    assert threads and all(name.startswith("vad") for name in threads), threads
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Ready" and kinds[-1] == "Closed"
    final = next(e for e in events if isinstance(e, ev.Final))
    assert final.text and final.end == pytest.approx(3.2, abs=0.05)


def test_admission_refuses_when_the_recognizer_is_behind():
    """The registry's caps, and the load: while finals wait for the recognizer
    a new session is refused (the open ones are served first), unless none is
    open."""
    from chairside.registry import SessionRegistry

    class Conn:
        session = None

    registry = SessionRegistry(max_sessions=3, per_user=2, per_practice=0)
    a, b, c, d = Conn(), Conn(), Conn(), Conn()
    assert registry.admit(a, "u1", "p1", busy=True) is None  # nothing open: served, whatever the load
    assert registry.admit(b, "u2", "p1", busy=True) == "server"
    assert registry.admit(b, "u1", "p1") is None
    assert registry.admit(c, "u1", "p1") == "user"
    assert registry.admit(c, "u2", "p2") is None
    assert registry.admit(d, "u3", "p3") == "server" and len(registry) == 3
    registry.discard(a)
    assert registry.admit(d, "u3", "p3") is None


def test_the_default_prompt_follows_the_open_document():
    """A session with the default vocabulary prompts the recognizer with the
    open document's words, and with the default again once it is gone; a
    session that sent its own vocabulary keeps it throughout."""
    from chairside.dictation.vocabulary import default_vocabulary, draft_vocabulary

    async def prompts(start: ev.Start, said: list[str]) -> list[tuple[str, ...]]:
        settings = Settings.from_env()
        engine, vad, name = load_engine(settings)
        await engine.start()
        session = Session(engine=engine, vad=vad, settings=settings, start=start, model_name=name)
        await session.open()
        seen = []
        try:
            for text in said:
                await session.add_text(text)
                seen.append(session.listener.vocabulary)
        finally:
            await session.close()
            await engine.close()
        return seen

    said = ["Fiche de laboratoire.", "Couronne zircone sur la 21, teinte A2.", "Nouvelle ordonnance.", "Abandonne.", "Oui."]
    seen = asyncio.run(prompts(ev.Start(type="start", encoding="pcm_f32le"), said))
    lab, prescription = tuple(draft_vocabulary("fr", "lab_order")), tuple(draft_vocabulary("fr", "prescription"))
    assert seen[:3] == [lab, lab, prescription] and {"zircone", "disilicate de lithium", "teinte"} <= set(lab)
    assert seen[3:] == [prescription, tuple(default_vocabulary("fr"))], seen[3:]  # discarded once confirmed: none is open
    own = asyncio.run(prompts(ev.Start(type="start", encoding="pcm_f32le", vocabulary=["Rodogyl"]), said[:3]))
    assert own == [("Rodogyl",)] * 3  # as sent, whatever is dictated
