"""PCM decoding and resampling to 16 kHz mono."""

import numpy as np
import pytest

from chairside.audio import SAMPLE_RATE
from chairside.audio.pcm import PcmDecoder, PcmError, Resampler, decode_file
from chairside.client import load_audio, to_pcm


def tone(rate: int, seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_frequency(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
def test_streamed_resampling_keeps_length_pitch_and_level(rate):
    x = tone(rate, 2.0)
    resampler = Resampler(rate)
    chunks = [resampler.push(x[i : i + 997]) for i in range(0, x.size, 997)]
    y = np.concatenate(chunks + [resampler.flush()])
    assert abs(y.size - 2 * SAMPLE_RATE) <= 32
    assert abs(dominant_frequency(y, SAMPLE_RATE) - 440) < 2
    middle = y[4000:-4000]
    assert 0.45 < np.max(np.abs(middle)) < 0.55  # no gain change, no clipping


def test_resampling_filters_what_16k_cannot_hold():
    # 7 kHz survives, 12 kHz (above the new Nyquist) must not fold back as 4 kHz
    x = tone(48000, 1.0, 7000) + tone(48000, 1.0, 12000)
    r = Resampler(48000)
    y = np.concatenate([r.push(x), r.flush()])
    spectrum = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(y.size, 1 / SAMPLE_RATE)
    alias = spectrum[np.abs(freqs - 4000) < 50].max()
    kept = spectrum[np.abs(freqs - 7000) < 50].max()
    assert alias < kept / 100


def test_decoded_frames_of_any_layout_are_resampled_and_audio_after_the_flush_is_dropped():
    """WebRTC's Opus frames (48 kHz stereo, as aiortc decodes them) go through
    the same resampler; a client still sending after its stop is ignored."""
    import av

    x = tone(48000, 1.0)
    frame = av.AudioFrame.from_ndarray((np.stack([x, x]) * 32767).astype(np.int16).T.reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate = 48000
    r = Resampler()
    y = np.concatenate([r.push_frame(frame), r.flush()])
    assert abs(y.size - SAMPLE_RATE) <= 32 and abs(dominant_frequency(y, SAMPLE_RATE) - 440) < 2
    assert r.push_frame(frame).size == 0 and r.push(x).size == 0 and r.flush().size == 0


def test_stereo_is_averaged_to_mono():
    left, right = tone(16000, 0.5), np.zeros(8000, np.float32)
    pcm = to_pcm(left, "pcm_f32le", 1)
    stereo = np.stack([left, right], 1).reshape(-1).astype("<f4").tobytes()
    mono = PcmDecoder("pcm_f32le", 2).decode(stereo)
    assert np.allclose(mono, left / 2, atol=1e-6)
    assert PcmDecoder("pcm_f32le", 1).decode(pcm).size == 8000


def test_s16_decoding():
    samples = np.array([0, 16384, -32768, 32767], dtype="<i2").tobytes()
    assert np.allclose(PcmDecoder("pcm_s16le", 1).decode(samples), [0, 0.5, -1.0, 32767 / 32768])


@pytest.mark.parametrize(
    "encoding,channels,size",
    [("pcm_s16le", 1, 3), ("pcm_s16le", 2, 6), ("pcm_f32le", 1, 6), ("pcm_f32le", 2, 12)],
)
def test_partial_samples_are_refused(encoding, channels, size):
    with pytest.raises(PcmError, match="whole number"):
        PcmDecoder(encoding, channels).decode(bytes(size))


def test_nan_samples_are_refused():
    with pytest.raises(PcmError, match="NaN"):
        PcmDecoder("pcm_f32le", 1).decode(np.array([0.0, np.nan], "<f4").tobytes())


def test_compressed_files_decode_like_the_wav(corpus):
    wav = load_audio(corpus["fr_fleurs_000.wav"].path)
    ogg = np.concatenate(list(decode_file(corpus["fr_fleurs_000.wav"].path.with_name("fr_fleurs_000.original.ogg"))))
    assert abs(ogg.size - wav.size) < 0.1 * SAMPLE_RATE
