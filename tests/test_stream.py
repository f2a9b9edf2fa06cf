"""/v1/stream end to end: a real server process, the real model, real
recordings streamed at real-time pace."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from chairside.asr.models import resolve
from chairside.client import StreamResult, load_audio, stream_file, stream_pcm, to_pcm
from chairside.config import Settings
from chairside.evaluation import wer

FRENCH = [
    "fr_fleurs_000.wav", "fr_fleurs_001.wav", "fr_fleurs_002.wav", "fr_fleurs_003.wav", "fr_fleurs_004.wav",
    "fr_fleurs_005.wav", "fr_fleurs_006.wav", "fr_fleurs_007.wav", "fr_fleurs_008.wav", "fr_fleurs_009.wav",
    "fr_picovoice-leopard_test_fr.wav", "fr_picovoice-cheetah_test_fr.wav",
]


def whole_file_transcripts(paths: list, language: str) -> list[str]:
    """Reference: faster-whisper on each whole file, same model, its defaults."""
    from faster_whisper import WhisperModel

    settings = Settings.from_env()
    model = WhisperModel(str(resolve(settings.model, settings.models_path)), device="cpu", compute_type="int8")
    return [" ".join(s.text for s in model.transcribe(str(p), language=language)[0]) for p in paths]


@pytest.fixture(scope="module")
def french_whole_file_job(corpus):
    """The whole-file reference, decoded in a thread while the recordings are
    streamed (mostly waiting for real time): the two share the cores."""
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(whole_file_transcripts, [corpus[f].path for f in FRENCH], "fr")


@pytest.fixture(scope="module")
def french_whole_file(french_whole_file_job, french_passes):
    # after the passes: waiting for the reference never holds the streaming back
    return french_whole_file_job.result()


PASSES = 1
LANES = 3  # sessions at once: a final may wait for another's decode; its text does not depend on timing


@pytest.fixture(scope="module")
def french_passes(server, corpus, french_whole_file_job) -> list[dict[str, StreamResult]]:
    """The French recordings streamed in real time, ``LANES`` sessions at once."""

    async def run() -> dict[str, StreamResult]:
        queue = list(FRENCH)
        results: dict[str, StreamResult] = {}

        async def lane() -> None:
            while queue:
                name = queue.pop(0)
                # no prompt, as in the whole-file reference: like for like
                results[name] = await stream_file(server.ws, corpus[name].path, language="fr", trailing_silence_s=1.0, vocabulary=[], token=server.token)

        await asyncio.gather(*(lane() for _ in range(LANES)))
        return results

    return [asyncio.run(run()) for _ in range(PASSES)]


@pytest.fixture(scope="module")
def french_streams(french_passes) -> dict[str, StreamResult]:
    return french_passes[0]


def utterances(result: StreamResult) -> dict[int, dict]:
    by_id: dict[int, dict] = {}
    for r in result.events:
        e = r.event
        if "utterance" in e:
            u = by_id.setdefault(e["utterance"], {"partials": [], "finals": [], "order": []})
            u["order"].append(e["type"] if e["type"] != "vad" else e["event"])
            if e["type"] == "partial":
                u["partials"].append(e)
            elif e["type"] == "final":
                u["finals"].append(e)
    return by_id


def test_streaming_french_wer_is_within_10_percent_of_whole_file(french_passes, french_whole_file, corpus):
    """Streaming loses at most 10 % of WER against whole-file decoding
    (finals are decoded afresh since issue 11: measured below whole-file,
    0.245 against 0.267 with the default prompt)."""
    references = [corpus[f].transcript for f in FRENCH]
    passes = [wer(references, [p[f].text for f in FRENCH], "fr") for p in french_passes]
    streaming = sum(passes) / len(passes)
    whole = wer(references, french_whole_file, "fr")
    print(f"French WER: streaming {passes} mean {streaming:.4f}, whole-file {whole:.4f}, ratio {streaming / whole:.3f}")
    assert streaming <= 1.10 * whole


def test_every_session_closes_cleanly(french_streams):
    for name, result in french_streams.items():
        assert result.events[0].event["type"] == "ready", name
        closed = result.events[-1].event
        assert closed["type"] == "closed" and closed["reason"] == "stop", name
        assert closed["audio_seconds"] == pytest.approx(result.audio_seconds, abs=0.05)
        assert closed["utterances"] >= 1
        assert result.close_code == 1000
        assert not result.of("error")


def test_partials_come_before_the_final(french_streams):
    for name, result in french_streams.items():
        with_partials = 0
        for uid, u in utterances(result).items():
            assert u["order"][0] == "speech_start"
            assert u["order"][-1] == "final", (name, uid, u["order"])
            assert "final" not in u["order"][:-1] or all(not f["end_of_utterance"] for f in u["finals"][:-1])
            with_partials += bool(u["partials"])
        assert with_partials >= 1, name


def test_stable_text_never_changes_between_partials(french_streams):
    """Stable words stay from one partial to the next (until a final of the
    utterance); the final is decoded afresh and may differ: it replaces them."""
    differs = 0
    for name, result in french_streams.items():
        for uid, u in utterances(result).items():
            stable = ""
            for e in (r.event for r in result.events if r.event.get("utterance") == uid and r.event["type"] in ("partial", "final")):
                if e["type"] == "final":
                    differs += not e["text"].startswith(stable)
                    stable = ""  # after a cut, partials go on with the text after it
                    continue
                assert e["stable"].startswith(stable), (name, uid, stable, e["stable"])
                stable = e["stable"]
                if e["unstable"] == "" and e["stable"] == "":
                    pytest.fail("empty partial sent")
    print(f"finals that differ from their stable text: {differs}")


def test_final_words_have_timings_inside_the_utterance(french_streams):
    for result in french_streams.values():
        for u in utterances(result).values():
            for f in u["finals"]:
                assert " ".join(w["word"] for w in f["words"]) == f["text"]
                for w in f["words"]:
                    assert f["start"] - 0.05 <= w["start"] <= w["end"] <= f["end"] + 0.05
                    assert 0.0 <= w["probability"] <= 1.0


def test_vad_events_carry_audio_times(french_streams, corpus):
    for name, result in french_streams.items():
        times = [r.event["t"] for r in result.of("vad")]
        assert times == sorted(times)
        assert 0 <= times[0] and times[-1] <= corpus[name].duration_s + 1.1


@pytest.mark.parametrize("kind", ["noise", "silence"])
def test_nothing_comes_out_of_noise_or_silence(server, corpus, kind):
    if kind == "noise":
        audio = load_audio(corpus["noise_picovoice-leopard_empty.wav"].path)
    else:
        audio = np.zeros(8 * 16000, np.float32)
    result = asyncio.run(stream_pcm(server.ws, to_pcm(audio), language="fr", token=server.token))
    assert [r.event for r in result.of("partial")] == []
    assert result.text == ""
    assert result.events[-1].event["type"] == "closed"


def test_english_session(server, corpus):
    rec = corpus["en_faster-whisper_jfk.wav"]
    result = asyncio.run(stream_file(server.ws, rec.path, language="en", token=server.token))
    assert result.events[0].event["language"] == "en"
    assert wer([rec.transcript], [result.text], "en") < 0.15, result.text


@pytest.mark.parametrize(
    "rate,channels,encoding", [(8000, 1, "pcm_s16le"), (44100, 2, "pcm_s16le"), (48000, 1, "pcm_f32le")]
)
def test_any_rate_and_layout_is_resampled(server, corpus, rate, channels, encoding):
    import av

    rec = corpus["fr_picovoice-leopard_test_fr.wav"]
    audio = load_audio(rec.path)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    frame = av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = 16000
    converted = np.concatenate([f.to_ndarray().reshape(-1) for f in resampler.resample(frame) + resampler.resample(None)])
    pcm = to_pcm(converted, encoding, channels)
    result = asyncio.run(stream_pcm(server.ws, pcm, sample_rate=rate, channels=channels, encoding=encoding, realtime=False, vocabulary=[], token=server.token))
    assert result.events[0].event["sample_rate"] == rate
    assert result.events[-1].event["audio_seconds"] == pytest.approx(rec.duration_s, abs=0.1)
    limit = 0.35 if rate == 8000 else 0.2  # telephone bandwidth loses some detail
    assert wer([rec.transcript], [result.text], "fr") <= limit, result.text


def test_the_default_vocabulary_helps_commands(server, corpus):
    """With no vocabulary sent, the recognizer is prompted with the command
    phrases: "Efface ça." is heard as a command (without: "et façant")."""
    rec = corpus["dental_06.wav"]
    by_default = asyncio.run(stream_file(server.ws, rec.path, realtime=False, token=server.token))
    assert [r.event["command"] for r in by_default.of("command")] == ["undo"], by_default.text
    without = asyncio.run(stream_file(server.ws, rec.path, realtime=False, vocabulary=[], token=server.token))
    assert without.of("command") == [], without.text


def test_a_vocabulary_is_accepted_and_used(server, corpus):
    rec = corpus["dental_02.wav"]
    result = asyncio.run(stream_file(server.ws, rec.path, vocabulary=["amoxicilline", "comprimé"], realtime=False, token=server.token))
    assert "amoxicilline" in result.text.lower()
