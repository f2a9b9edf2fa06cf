"""Recognition across pauses, with the real model and VAD in-process: finals
decoded afresh (not forced to the stable words of the partials), the phrase
before a short pause decoded with the fragment after it, and fillers that
never become words."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from chairside import events as ev
from chairside.asr.engine import FINAL, Word
from chairside.asr.listener import Listener
from chairside.asr.streaming import StreamingOptions, UtteranceTranscriber, drop_fillers
from chairside.audio import SAMPLE_RATE
from chairside.client import load_audio
from chairside.config import Settings
from chairside.evaluation import wer
from chairside.runtime import load_engine
from chairside.session import streaming_options
from pauses import Collected
from pauses import listen as run_listener

PAUSES = Path(__file__).parent / "data" / "pauses"


async def listen(audio: np.ndarray, settings: Settings, dictation=None) -> tuple[Collected, list]:
    """Audio (then 1 s of silence) through a real Listener, default French prompt
    (dictated, with a ``dictation``); the results and the final decodes
    (request, decoded)."""
    engine, vad, _ = load_engine(settings)
    await engine.start()
    decodes = []
    decode = engine.decode

    async def spy(request):
        decoded = await decode(request)
        if request.priority == FINAL:
            decodes.append((request, decoded))
        return decoded

    engine.decode = spy
    try:
        return await run_listener(engine, vad, settings, audio, dictation), decodes
    finally:
        await engine.close()


def test_a_final_is_decoded_afresh_not_forced_to_the_stable_words(corpus):
    rec = corpus["fr_picovoice-cheetah_test_fr.wav"]
    audio = load_audio(rec.path)

    async def run():
        engine, _, _ = load_engine(Settings.from_env())
        await engine.start()
        try:
            u = UtteranceTranscriber(engine=engine, options=StreamingOptions(language="fr"), start=0)
            u.append(audio)
            u.agreement.committed = ["Bonjour", "madame"]  # what partials showed as stable, wrongly
            u.close(audio.size)
            return await u.final()
        finally:
            await engine.close()

    finals = asyncio.run(run())
    text = " ".join(f.text for f in finals)
    assert not text.lower().startswith("bonjour"), text
    assert wer([rec.transcript], [text], "fr") < 0.3, text


def test_partials_of_a_long_utterance_decode_only_its_tail(corpus):
    """An 18-s sentence fed as it is spoken: each partial decodes the tail
    after the settled words (a few seconds, not the whole utterance), the
    stable text only grows, and what partials showed is close to the final."""
    rec = corpus["fr_fleurs_001.wav"]
    audio = load_audio(rec.path)

    async def run():
        engine, _, _ = load_engine(Settings.from_env())
        await engine.start()
        windows, partials = [], []
        decode = engine.decode

        async def spy(request):
            if request.priority != FINAL:
                windows.append(request.audio.size / SAMPLE_RATE)
            return await decode(request)

        engine.decode = spy
        try:
            # a fixed partial interval (no CPU share): the same partials on a busy machine as on an idle one;
            # a window longer than the sentence: no cut (a cut starts the stable text afresh)
            u = UtteranceTranscriber(engine=engine, options=StreamingOptions(language="fr", partial_cpu_share=0, window_s=25.0), start=0)
            fed = 0
            while fed < audio.size:
                step = int(u.partial_interval * SAMPLE_RATE)
                u.append(audio[fed : fed + step])
                fed += step
                partials.append(await u.partial())
            u.close(audio.size)
            return windows, partials, await u.final()
        finally:
            await engine.close()

    windows, partials, finals = asyncio.run(run())
    assert audio.size / SAMPLE_RATE > 17
    assert max(windows) < 7.0, windows  # the tail: settled words + unsettled ones + new audio
    assert sum(w > 5.0 for w in windows) <= 2, windows
    for before, after in zip(partials, partials[1:]):
        assert after.stable.startswith(before.stable), (before.stable, after.stable)
    shown = partials[-1].stable + " " + partials[-1].unstable
    assert len(partials[-1].stable.split()) > 40  # the tail moved on: most of the sentence is settled
    assert wer([rec.transcript], [shown], "fr") < 0.45, shown  # partials: greedy on a tail (the final: below)
    assert wer([rec.transcript], [" ".join(f.text for f in finals)], "fr") < 0.3


def contexts(kind: str) -> float:
    """Final decodes after a short pause so far, by what they were decoded with (/metrics)."""
    from chairside.metrics import REGISTRY

    return REGISTRY.get_sample_value("chairside_final_contexts_total", {"context": kind}) or 0.0


def test_a_fragment_after_a_short_pause_is_decoded_with_the_phrase_before():
    # "Nouvelle ordonnance. Amoxicilline un gramme, un comprimé matin et soir
    # pendant sept jours." said in five pieces, 0.4 to 2 s apart
    transcript = "Nouvelle ordonnance. Amoxicilline un gramme, un comprimé matin et soir pendant sept jours."
    busy_before = contexts("busy")
    results, decodes = asyncio.run(listen(load_audio(PAUSES / "pauses_p01.ogg"), Settings.from_env(partial_interval_s=1000.0)))
    finals = [f for f in results.finals if f.text]
    assert len(finals) >= 4, [f.text for f in finals]
    continued = [(r, d) for r, d in decodes if r.prefix]
    assert len(continued) >= 3  # the fragments after the first
    assert contexts("busy") == busy_before  # an idle server: every one with the phrase before
    said = " ".join(f.text for f in finals)
    for request, _ in continued:
        assert said.replace("  ", " ").find(request.prefix) >= 0, request.prefix  # the finals' own text, forced
        assert request.audio.size / SAMPLE_RATE > 2.0  # with the audio of what was said before
    short = next(f for f in finals if f.end - f.start < 1.5 and "gramme" in f.text.lower())  # "un gramme", alone ~1 s
    assert not short.text.lower().startswith("amoxicilline"), short.text  # only the fragment's own words
    assert short.words and all(short.start - 0.05 <= w.start <= w.end <= short.end + 0.05 for w in short.words), short.words
    assert wer([transcript], [said], "fr") < 0.25, said


@pytest.mark.parametrize("late, others, expect", [
    (False, "dictating", "whole"),  # finals on time: the phrase before, whoever else decodes
    (True, "dictating", "busy"),  # late, another final decoding or waiting: none of it
    (True, "silent", "short"),  # late, another dentist's stream open, no other final: its last 4 s
    (True, "none", "whole"),  # late, a dentist alone: their finals wait for no one else's
])
def test_once_finals_come_late_a_fragment_decodes_less_of_the_phrase_before(late, others, expect):
    """While finals come in time, the fragments after a pause keep the phrase
    before (it is worth drafts), even while another dentist's finals keep
    the recognizer busy.  Once finals come late (as admission reads it) and
    another dentist is being recognised, a fragment is decoded with at most
    the last ``asr_context_late_cap_s`` of it, and alone while another final
    is decoding or waiting (the phrase before makes a final several times
    dearer, and the other dentist would wait); either way it is still
    recognized."""
    from chairside.asr.engine import DecodeRequest

    audio = load_audio(PAUSES / "pauses_p01.ogg")
    before = {kind: contexts(kind) for kind in ("whole", "short", "busy")}

    async def run() -> tuple[Collected, list]:
        settings = Settings.from_env(partial_interval_s=1000.0, asr_workers=2)
        assert (settings.asr_context_s, settings.asr_context_late_cap_s) == (10.0, 4.0)
        engine, vad, _ = load_engine(settings)
        await engine.start()
        if late:
            for _ in range(5):  # what the sessions noted: finals 2 s after the end of speech
                engine.note_final_delay(2.0)
        decode, decodes = engine.decode, []

        async def spy(request):
            decoded = await decode(request)
            if request.priority == FINAL:
                decodes.append(request)
            return decoded

        async def other_finals() -> None:  # always a final decoding or queued: the next sent before the last ends
            request = DecodeRequest(audio=audio[: int(1.5 * SAMPLE_RATE)], language="fr", beam_size=5, priority=FINAL)
            pending = asyncio.ensure_future(decode(request))
            while not done.is_set():
                following = asyncio.ensure_future(decode(request))
                await pending
                pending = following
            await pending

        done = asyncio.Event()
        other = None
        if others != "none":  # another dentist's stream, open (silent: it asks for no decode)
            other = Listener(engine=engine, vad=vad, settings=settings, results=Collected(),
                             options=streaming_options(ev.Start(type="start", encoding="pcm_f32le", language="fr"), settings))
            other.start()
        dictating = asyncio.create_task(other_finals()) if others == "dictating" else None
        engine.decode = spy
        try:
            return await run_listener(engine, vad, settings, audio), decodes
        finally:
            done.set()
            if dictating is not None:
                await dictating
            if other is not None:
                other.finish()
                await other.drained()
            assert engine.listeners == 0
            await engine.close()

    results, decodes = asyncio.run(run())
    finals = [f for f in results.finals if f.text]
    assert len(finals) >= 4, [f.text for f in finals]
    grown = {kind: contexts(kind) - before[kind] for kind in before}
    assert grown[expect] >= 3 and sum(grown.values()) == grown[expect], grown
    # the fragments after a pause ("un gramme", "pendant sept jours") last under 3 s
    seconds = [r.audio.size / SAMPLE_RATE for r in decodes if r.prefix]
    if expect == "whole":
        assert len(seconds) >= 3 and max(seconds) > 7.0, seconds  # up to 10 s of the phrase before
    elif expect == "short":
        assert len(seconds) >= 3 and max(seconds) <= 7.0, seconds  # at most 4 s of it
    else:
        assert seconds == [], [r.prefix for r in decodes]  # no fragment with the phrase before
    said = " ".join(f.text for f in finals)
    transcript = "Nouvelle ordonnance. Amoxicilline un gramme, un comprimé matin et soir pendant sept jours."
    assert wer([transcript], [said], "fr") < 0.35, said


@pytest.mark.parametrize(("words", "kept"), [
    (["Bain", "de", "bouche", "à", "la", "chlorhexidine,", "e", "deux", "fois"], ["Bain", "de", "bouche", "à", "la", "chlorhexidine,", "deux", "fois"]),
    (["Euf", "paracétamol", "un", "gramme,"], ["paracétamol", "un", "gramme,"]),
    (["Euh,", "motif", "hum", "contrôle."], ["motif", "contrôle."]),
    (["Toco", "vitamine", "E,", "un", "comprimé"], ["Toco", "vitamine", "E,", "un", "comprimé"]),  # a capital E is a word
    (["Bain", "de", "bouche"], ["Bain", "de", "bouche"]),
])
def test_hesitations_are_no_words_of_a_final(words, kept):
    """How Whisper writes an "euh" inside a phrase ("Euh", "Euf", a lone
    "e"): dropped from every final, never a word of the dictation."""
    assert [w.word for w in drop_fillers([Word(w, 0.0, 0.0, 0.9) for w in words])] == kept


def test_a_lone_filler_gives_no_words():
    audio = load_audio(PAUSES / "pauses_p02.ogg")  # "Nouvelle ordonnance." … "Euh" alone (3.1–3.8 s) … "paracétamol …"
    settings = Settings.from_env(partial_interval_s=1000.0)
    after_a_phrase, _ = asyncio.run(listen(audio[: int(3.95 * SAMPLE_RATE)], settings))
    assert [f.text for f in after_a_phrase.finals if f.text] == ["Nouvelle ordonnance."]
    alone, _ = asyncio.run(listen(audio[int(2.9 * SAMPLE_RATE) : int(3.95 * SAMPLE_RATE)], settings))  # the prompt has "ITT", drugs, commands
    assert alone.utterances == 1
    assert [f.text for f in alone.finals if f.text] == []


def test_a_short_word_said_alone_is_kept():
    """"ITT" said alone after a pause is as short and as doubtful as an "euh"
    read "ITT." — heard without the prompt it is still a word ("HIT !"), not
    an interjection ("et ?"): it is kept, and the ITT line gets its days."""
    audio = load_audio(PAUSES / "pauses_p27.ogg")  # … "avec exposition pulpaire." [ITT] [0.6 s] "de six jours" …
    collected, _ = asyncio.run(listen(audio, Settings.from_env(partial_interval_s=1000.0)))
    texts = [f.text for f in collected.finals if f.text]
    assert any(t.strip(" .").upper() == "ITT" for t in texts), texts


def test_the_engine_knows_how_long_finals_wait(corpus):
    """More finals asked at once than there are decoders: the later ones wait, and
    final_wait_s says so; final_delay_s tells how late the sessions' finals
    came, once there are five of them (what admission reads to refuse new
    sessions)."""
    from chairside.asr.engine import DecodeRequest

    audio = load_audio(corpus["fr_picovoice-cheetah_test_fr.wav"].path)[: 16000 * 3]

    engine, _, _ = load_engine(Settings.from_env())

    async def run() -> tuple[float, float]:
        await engine.start()
        try:
            idle = engine.final_wait_s()
            await asyncio.gather(*(engine.decode(DecodeRequest(audio=audio, language="fr", priority=FINAL)) for _ in range(engine.workers + 2)))
            return idle, engine.final_wait_s()
        finally:
            await engine.close()

    idle, busy = asyncio.run(run())
    assert idle == 0.0 and busy > 0.05, busy

    for delay in (0.3, 0.4, 0.5, 2.5):
        engine.note_final_delay(delay)
    assert engine.final_delay_s() == 0.0  # four finals: too few to judge
    for delay in (0.6, 0.4, 0.3, 0.5, 0.4, 0.6):
        engine.note_final_delay(delay)
    assert engine.final_delay_s() == 0.6  # the 9th of 10
    engine.note_final_delay(3.0)
    assert engine.final_delay_s() == 2.5
    assert engine.final_delay_s(window_s=0.0) == 0.0  # none that recent


def test_no_partial_starts_while_a_final_decodes(corpus):
    """Finals first: a partial asked for while a final decodes waits for it
    (the final keeps its core), while a second final may run beside it."""
    from chairside.asr.engine import PARTIAL, AsrEngine, DecodeRequest

    audio = load_audio(corpus["fr_picovoice-cheetah_test_fr.wav"].path)
    spans: list[tuple[int, float, float]] = []

    def timed(self, request):
        started = time.perf_counter()
        try:
            return AsrEngine.decode_sync(self, request)
        finally:
            spans.append((request.priority, started, time.perf_counter()))

    async def run() -> None:
        engine, _, _ = load_engine(Settings.from_env(asr_workers=2))
        engine.decode_sync = timed.__get__(engine)
        await engine.start()
        try:
            final = asyncio.ensure_future(engine.decode(DecodeRequest(audio=audio, language="fr", beam_size=5, priority=FINAL)))
            await asyncio.sleep(0.05)  # the final is decoding on one decoder; the other one is free
            await asyncio.gather(final, engine.decode(DecodeRequest(audio=audio[: SAMPLE_RATE], language="fr", priority=PARTIAL)),
                                 engine.decode(DecodeRequest(audio=audio, language="fr", beam_size=5, priority=FINAL)))
        finally:
            await engine.close()

    asyncio.run(run())
    (_, f1, f1_end), (_, f2, f2_end) = sorted(s for s in spans if s[0] == FINAL)[:2]
    (_, p, _), = [s for s in spans if s[0] == PARTIAL]
    assert f2 < f1_end  # two finals side by side
    assert p >= max(f1_end, f2_end) - 0.01, spans  # the partial after both


def test_a_queued_partial_gives_way_to_its_final(corpus):
    """Both decoders busy with other sessions' finals: a dictation's partial
    waits in the queue.  When its speech ends, the partial is given up and
    the final is decoded instead of it, not after it."""
    from chairside.asr.engine import PARTIAL, AsrEngine, DecodeRequest
    from chairside.asr.listener import Listener

    audio = load_audio(corpus["fr_picovoice-cheetah_test_fr.wav"].path)
    ran: list[int] = []  # the priorities of the decodes run, in order

    def logged(self, request):
        try:
            return AsrEngine.decode_sync(self, request)
        finally:
            ran.append(request.priority)

    async def run() -> Collected:
        settings = Settings.from_env(asr_workers=2)
        engine, vad, _ = load_engine(settings)
        engine.decode_sync = logged.__get__(engine)
        await engine.start()
        results = Collected()
        listener = Listener(engine=engine, vad=vad, settings=settings, results=results, options=StreamingOptions(language="fr"))
        try:
            others = [asyncio.ensure_future(engine.decode(DecodeRequest(audio=audio, language="fr", beam_size=5, priority=FINAL)))
                      for _ in range(2)]
            await asyncio.sleep(0.05)  # both decoders are busy
            listener.start()
            listener.feed(audio[: 2 * SAMPLE_RATE])  # speech: a partial is due ...
            deadline = time.perf_counter() + 5
            while engine.queued == 0:  # ... and waits
                assert time.perf_counter() < deadline, "no partial was asked for"
                await asyncio.sleep(0.005)
            listener.feed(np.zeros(SAMPLE_RATE, np.float32))  # the speech ends
            listener.finish()
            await listener.drained()
            await asyncio.gather(*others)
        finally:
            await engine.close()
        return results

    results = asyncio.run(run())
    assert [f.text for f in results.finals if f.text], results.finals
    assert PARTIAL not in ran, ran  # the partial was never decoded: the final went instead


def test_the_prompt_follows_the_document_being_dictated():
    """Once "Nouvelle ordonnance" is dictated, the fragments after it are
    decoded with the prescription's words (the formulary's drugs, forms,
    durations) instead of the default vocabulary: "Rodogyl … pendant sept
    jours" in five pieces comes out right (with the default prompt, "Rodogile"
    and "cette jour", docs/benchmarks.md)."""
    from chairside.dictation.state import Dictation
    from chairside.dictation.vocabulary import default_vocabulary, draft_vocabulary

    collected, decoded = asyncio.run(listen(load_audio(PAUSES / "pauses_p10.ogg"), Settings.from_env(partial_interval_s=1000.0), Dictation("fr")))
    decodes = [request for request, _ in decoded]
    assert decodes[0].vocabulary == ", ".join(default_vocabulary("fr")) + "."  # "Nouvelle ordonnance", nothing open yet
    prescription = ", ".join(draft_vocabulary("fr", "prescription")) + "."
    assert "Rodogyl" in prescription and "nouvelle ordonnance" in prescription
    assert all(r.vocabulary == prescription for r in decodes[1:] if r.audio.size > SAMPLE_RATE // 2), [r.vocabulary for r in decodes]
    line, = collected.dictation.draft.lines
    assert (line.drug, line.duration_days) == ("spiramycine/métronidazole", 7), [f.text for f in collected.finals]


def test_a_long_vocabulary_keeps_its_terms_and_shortens_the_text_before():
    """faster-whisper keeps a prompt's last 223 tokens: the engine makes room
    by cutting the earlier text, never the vocabulary's first terms (the
    commands)."""
    from chairside.asr.engine import PROMPT_TOKENS, DecodeRequest
    from chairside.dictation.vocabulary import draft_vocabulary

    engine, _, _ = load_engine(Settings.from_env())
    tokenizer = engine._tokenizer("fr")
    vocabulary = ", ".join(draft_vocabulary("fr", "prescription")) + "."
    said = "Amoxicilline un gramme, un comprimé matin et soir pendant sept jours. " * 6
    tokens = engine._initial_prompt(DecodeRequest(audio=np.zeros(0, np.float32), language="fr", vocabulary=vocabulary, prompt=said))
    terms = tokenizer.encode(" " + vocabulary)
    assert len(tokens) == PROMPT_TOKENS and tokens[: len(terms)] == terms
    assert tokenizer.decode(tokens[len(terms) :]).strip().endswith("pendant sept jours.")
    short = engine._initial_prompt(DecodeRequest(audio=np.zeros(0, np.float32), language="fr", vocabulary="Rodogyl.", prompt="Nouvelle ordonnance."))
    assert tokenizer.decode(short) == " Rodogyl. Nouvelle ordonnance."
    assert engine._initial_prompt(DecodeRequest(audio=np.zeros(0, np.float32), language="fr", prompt="Nouvelle ordonnance.")) == "Nouvelle ordonnance."


def test_what_the_decoder_glued_to_the_forced_prefix_is_kept():
    """A fragment decoded after the phrase before it (forced as prefix) may
    come out glued to the prefix's last word: "sur la 46" then "-23," for
    "teinte A3". The glued part is the fragment's; it used to be dropped
    with the prefix, and the fragment vanished."""
    from chairside.asr.engine import Word
    from chairside.asr.streaming import after_prefix

    said = [Word("sur", 0.0, 0.2, 0.9), Word("la", 0.2, 0.3, 0.9), Word("46-23,", 0.3, 1.4, 0.4)]
    assert after_prefix(said, ["sur", "la", "46"]) == [Word("23,", 0.3, 1.4, 0.4)]
    plain = said[:2] + [Word("46", 0.3, 0.6, 0.9), Word("teinte", 1.0, 1.3, 0.8)]
    assert after_prefix(plain, ["sur", "la", "46"]) == [plain[3]]
    assert after_prefix(said[:2] + [Word("46,", 0.3, 0.6, 0.9)], ["sur", "la", "46"]) == []  # only punctuation added
    assert after_prefix(plain, []) == plain
