"""Silero VAD v6 (the ONNX file faster-whisper ships), streamed frame by frame.

The model sees 512-sample frames at 16 kHz preceded by the last 64 samples of
the previous frame; its LSTM state (h, c) is carried from frame to frame, so
streaming gives the same probabilities as a whole-file pass.  One ONNX session
serves every stream of the process; each stream owns its state.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime

from . import SAMPLE_RATE

FRAME = 512
CONTEXT = 64
FRAME_S = FRAME / SAMPLE_RATE


def default_model_path() -> Path:
    from faster_whisper.utils import get_assets_path

    return Path(get_assets_path()) / "silero_vad_v6.onnx"


class SileroVad:
    """The shared ONNX model.  Thread-safe: streams pass their own state.

    Streams run it on :attr:`thread`, one worker thread of its own, never on
    the event loop: a frame costs about a tenth of a millisecond, but eight
    live streams make hundreds of them a second, and ONNX Runtime lets go of
    the GIL while it computes."""

    _shared: "SileroVad | None" = None
    _lock = threading.Lock()
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vad")

    def __init__(self, path: Path | None = None) -> None:
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(path or default_model_path()), providers=["CPUExecutionProvider"], sess_options=opts
        )

    @classmethod
    def shared(cls) -> "SileroVad":
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def stream(self) -> "VadStream":
        return VadStream(self)


class VadStream:
    """Speech probability of consecutive 512-sample frames of one audio stream."""

    def __init__(self, model: SileroVad) -> None:
        self.model = model
        self.h = np.zeros((1, 1, 128), np.float32)
        self.c = np.zeros((1, 1, 128), np.float32)
        self.context = np.zeros(CONTEXT, np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        x = np.concatenate([self.context, frame.astype(np.float32, copy=False)])[None, :]
        prob, self.h, self.c = self.model.session.run(None, {"input": x, "h": self.h, "c": self.c})
        self.context = frame[-CONTEXT:].copy()
        return float(prob.reshape(-1)[0])


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5
    min_speech_ms: int = 250
    min_silence_ms: int = 500
    speech_pad_ms: int = 200
    max_utterance_s: float = 60.0

    @property
    def neg_threshold(self) -> float:
        return max(self.threshold - 0.15, 0.01)


@dataclass(frozen=True)
class VadEvent:
    kind: Literal["speech_start", "speech_end"]
    sample: int  # position in the 16 kHz stream, padding included

    @property
    def t(self) -> float:
        return self.sample / SAMPLE_RATE


@dataclass
class Endpointer:
    """Turns frame probabilities into speech_start / speech_end events.

    Speech starts once ``min_speech_ms`` of frames stay above the threshold
    (reported ``speech_pad_ms`` before the first such frame); it ends once
    ``min_silence_ms`` stay below ``threshold - 0.15`` (reported
    ``speech_pad_ms`` after the last speech frame), or when the utterance
    reaches ``max_utterance_s``.
    """

    stream: VadStream
    options: VadOptions = field(default_factory=VadOptions)
    position: int = 0  # samples consumed by the model
    in_speech: bool = False
    _pending: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    _onset: int | None = None  # first frame of a speech candidate
    _start: int = 0  # reported start of the open utterance
    _silence_from: int | None = None  # first silent frame inside speech
    _last_end: int = 0  # end of the previous utterance: utterances never overlap

    def feed(self, samples: np.ndarray) -> list[VadEvent]:
        buf = np.concatenate([self._pending, samples]) if self._pending.size else samples
        n = buf.size - buf.size % FRAME
        events: list[VadEvent] = []
        for i in range(0, n, FRAME):
            events.extend(self._step(self.stream(buf[i : i + FRAME])))
        self._pending = buf[n:].copy()
        return events

    @property
    def pending_end(self) -> int | None:
        """Where the open utterance ends if the current silence lasts
        (None while speech goes on or before that point has been heard)."""
        if not self.in_speech or self._silence_from is None:
            return None
        end = self._silence_from + self._pad
        return end if self.position >= end else None

    def finish(self, at: int) -> list[VadEvent]:
        """End an open utterance at sample ``at`` (end of stream)."""
        if not self.in_speech:
            return []
        end = at if self._silence_from is None else min(at, self._silence_from + self._pad)
        return [self._close(max(end, self._start))]

    @property
    def _pad(self) -> int:
        return self.options.speech_pad_ms * SAMPLE_RATE // 1000

    def _step(self, p: float) -> list[VadEvent]:
        o = self.options
        frame_start = self.position
        self.position += FRAME
        if not self.in_speech:
            if p >= o.threshold:
                if self._onset is None:
                    self._onset = frame_start
                if self.position - self._onset >= o.min_speech_ms * SAMPLE_RATE // 1000:
                    return self._open(max(0, self._onset - self._pad))
            elif p < o.neg_threshold:
                self._onset = None
            return []
        if p >= o.threshold:
            self._silence_from = None
        elif p < o.neg_threshold and self._silence_from is None:
            self._silence_from = frame_start
        if self._silence_from is not None and self.position - self._silence_from >= o.min_silence_ms * SAMPLE_RATE // 1000:
            return [self._close(min(self._silence_from + self._pad, self.position))]
        if self.position - self._start >= o.max_utterance_s * SAMPLE_RATE:
            # Forced cut: end here and go on with a new utterance at once.
            return [self._close(self.position)] + self._open(self.position)
        return []

    def _close(self, end: int) -> VadEvent:
        self.in_speech = False
        self._onset = None
        self._last_end = end
        return VadEvent("speech_end", end)

    def _open(self, start: int) -> list[VadEvent]:
        self.in_speech = True
        self._start = start = max(start, self._last_end)
        self._silence_from = None
        self._onset = None
        return [VadEvent("speech_start", start)]
