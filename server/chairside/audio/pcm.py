"""Raw PCM from the wire or a file, turned into 16 kHz mono float32."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Literal

import av
import numpy as np

from . import SAMPLE_RATE

Encoding = Literal["pcm_s16le", "pcm_f32le"]
BYTES_PER_SAMPLE: dict[str, int] = {"pcm_s16le": 2, "pcm_f32le": 4}


class PcmError(ValueError):
    """A binary frame that is not whole samples of the announced format."""


class PcmDecoder:
    """Interleaved little-endian PCM bytes → mono float32 at the source rate."""

    def __init__(self, encoding: Encoding, channels: int) -> None:
        self.encoding = encoding
        self.channels = channels
        self.frame_bytes = BYTES_PER_SAMPLE[encoding] * channels

    def decode(self, data: bytes) -> np.ndarray:
        if len(data) % self.frame_bytes:
            raise PcmError(
                f"frame of {len(data)} bytes is not a whole number of {self.channels}-channel "
                f"{self.encoding} samples ({self.frame_bytes} bytes each)"
            )
        if self.encoding == "pcm_s16le":
            samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        else:
            samples = np.frombuffer(data, dtype="<f4").astype(np.float32)
            if not np.all(np.isfinite(samples)):
                raise PcmError("pcm_f32le frame holds NaN or infinite samples")
        if self.channels > 1:
            samples = samples.reshape(-1, self.channels).mean(axis=1)
        return samples


class Resampler:
    """Streaming band-limited resampler to 16 kHz mono float32 (FFmpeg's
    libswresample through PyAV), for every transport: raw samples at a known
    rate (:meth:`push`: WebSocket PCM, files) or decoded frames of any
    format, layout and rate (:meth:`push_frame`: WebRTC's Opus).

    Its filter state is carried across calls, so chunk boundaries leave no
    clicks; :meth:`flush` returns the samples still held in the filter, and
    ends the stream: audio pushed after it (a client still sending after its
    ``stop``) is dropped.
    """

    def __init__(self, rate_in: int | None = None, rate_out: int = SAMPLE_RATE) -> None:
        """``rate_in``: the rate of the samples given to :meth:`push` (None
        when only frames, which carry their rate, are pushed)."""
        self.rate_in = rate_in
        self.rate_out = rate_out
        self._resampler = None if rate_in == rate_out else av.AudioResampler(format="flt", layout="mono", rate=rate_out)
        self.flushed = False

    def push(self, samples: np.ndarray) -> np.ndarray:
        if self.flushed:
            return np.zeros(0, np.float32)
        if self._resampler is None or samples.size == 0:
            return samples.astype(np.float32, copy=False)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self.rate_in
        return self._collect(self._resampler.resample(frame))

    def push_frame(self, frame: av.AudioFrame) -> np.ndarray:
        if self.flushed:
            return np.zeros(0, np.float32)
        if self._resampler is None:  # frames may come at any rate, even the output's
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self.rate_out)
        return self._collect(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        if self._resampler is None or self.flushed:
            self.flushed = True
            return np.zeros(0, np.float32)
        self.flushed = True
        return self._collect(self._resampler.resample(None))

    @staticmethod
    def _collect(frames: list) -> np.ndarray:
        if not frames:
            return np.zeros(0, np.float32)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float32, copy=False)


def decode_file(path: str | Path, chunk_s: float = 0.1) -> Iterator[np.ndarray]:
    """Decode any audio file FFmpeg reads (WAV, MP3, Ogg/Opus, FLAC, ...) into
    16 kHz mono float32 chunks of about ``chunk_s`` seconds, streaming."""
    chunk = max(1, int(chunk_s * SAMPLE_RATE))
    pending: list[np.ndarray] = []
    size = 0
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError(f"{path} has no audio stream")
        stream = container.streams.audio[0]
        to_float = av.AudioResampler(format="fltp")  # keeps rate and layout
        resampler: Resampler | None = None
        for frame in container.decode(stream):
            for f in to_float.resample(frame):
                planes = f.to_ndarray()  # (channels, samples)
                mono = planes.mean(axis=0) if planes.shape[0] > 1 else planes[0]
                if resampler is None:
                    resampler = Resampler(f.sample_rate)
                out = resampler.push(mono)
                pending.append(out)
                size += out.size
                while size >= chunk:
                    joined = np.concatenate(pending)
                    yield joined[:chunk]
                    pending, size = [joined[chunk:]], joined.size - chunk
        if resampler is not None:
            pending.append(resampler.flush())
    rest = np.concatenate(pending) if pending else np.zeros(0, np.float32)
    for i in range(0, rest.size, chunk):
        yield rest[i : i + chunk]
