"""Silero VAD v6 through onnxruntime, streamed, and the endpointer."""

import numpy as np
import pytest
from faster_whisper.vad import get_vad_model

from chairside.audio import SAMPLE_RATE
from chairside.audio.vad import FRAME, Endpointer, SileroVad, VadOptions
from chairside.client import load_audio


def run(audio: np.ndarray, chunk: int = 1234, **options) -> list:
    endpointer = Endpointer(SileroVad.shared().stream(), VadOptions(**options))
    events = []
    for i in range(0, audio.size, chunk):
        events += endpointer.feed(audio[i : i + chunk])
    return events + endpointer.finish(audio.size)


def test_streaming_probabilities_equal_a_whole_file_pass(corpus):
    audio = load_audio(corpus["fr_fleurs_000.wav"].path)
    audio = audio[: audio.size // FRAME * FRAME]
    stream = SileroVad.shared().stream()
    streamed = np.array([stream(audio[i : i + FRAME]) for i in range(0, audio.size, FRAME)])
    reference = get_vad_model()(audio).reshape(-1)
    assert np.max(np.abs(streamed - reference)) < 1e-3


def test_speech_is_found_with_audio_times(corpus):
    audio = load_audio(corpus["fr_fleurs_000.wav"].path)
    events = run(audio)
    kinds = [e.kind for e in events]
    assert kinds[0] == "speech_start" and kinds[-1] == "speech_end"
    assert kinds == ["speech_start", "speech_end"] * (len(kinds) // 2)
    # the speaker starts about 2.2 s into the recording (start padded by 0.2 s)
    assert 1.7 < events[0].t < 2.4
    assert events[-1].t > 0.8 * audio.size / SAMPLE_RATE


def test_pauses_split_utterances(corpus):
    # dental_s1 is five utterances separated by 1.2 s pauses
    events = run(load_audio(corpus["dental_s1.wav"].path))
    assert [e.kind for e in events].count("speech_start") == 5


@pytest.mark.parametrize("name", ["silence", "noise"])
def test_silence_and_noise_are_not_speech(corpus, name):
    if name == "silence":
        audio = np.zeros(10 * SAMPLE_RATE, np.float32)
    else:
        audio = load_audio(corpus["noise_picovoice-leopard_empty.wav"].path)
    assert run(audio) == []


def test_max_utterance_length_forces_an_end(corpus):
    audio = load_audio(corpus["fr_fleurs_001.wav"].path)
    events = run(audio, max_utterance_s=3.0)
    starts = [e for e in events if e.kind == "speech_start"]
    ends = [e for e in events if e.kind == "speech_end"]
    assert len(starts) >= 5
    assert all(b.sample - a.sample <= 3 * SAMPLE_RATE + FRAME for a, b in zip(starts, ends))


def test_utterances_never_overlap(corpus):
    events = run(load_audio(corpus["dental_s1.wav"].path), speech_pad_ms=800, min_silence_ms=300)
    times = [e.sample for e in events]
    assert times == sorted(times)


def test_min_speech_ignores_short_blips():
    rng = np.random.default_rng(0)
    click = np.zeros(3 * SAMPLE_RATE, np.float32)
    click[SAMPLE_RATE : SAMPLE_RATE + 160] = rng.uniform(-0.9, 0.9, 160)
    assert run(click) == []
