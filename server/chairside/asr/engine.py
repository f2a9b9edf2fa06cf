"""The speech engine: one faster-whisper model per process, shared by every
session, decoding off the event loop in priority order (finals first, and no
partial starts while a final decodes)."""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import merge_punctuations

from .. import metrics
from ..audio import SAMPLE_RATE
from .hallucinations import is_hallucination
from .models import ModelError

log = logging.getLogger(__name__)

FINAL, PARTIAL = 0, 1  # priorities: lower runs first

# Zero frames (10 ms each) kept after the audio when the encoder input is
# trimmed: with less, greedy decodes of short windows start repeating
# themselves (measured in docs/benchmarks.md).
ENCODER_MARGIN_FRAMES = 500
# Partials (shown, never kept) take a shorter margin: a fifth cheaper, and a
# loop is cut by the token bound and trim_repetition (docs/benchmarks.md).
PARTIAL_ENCODER_MARGIN_FRAMES = 200
# Tokens a decode may add per second of audio (French dictation needs about
# 6): a bound on runaway repetitions.
MAX_TOKENS_PER_S = 12
# faster-whisper gives the decoder the last max_length // 2 - 1 tokens of a prompt.
PROMPT_TOKENS = 223


class TrimmedWhisper(WhisperModel):
    """faster-whisper that does not encode the zero padding of short windows.

    faster-whisper pads every window to 30 s (3,000 feature frames) before
    the encoder; CTranslate2 also accepts shorter inputs.  Encoding only the
    audio plus a 5 s margin makes short windows 2-3x cheaper to decode at the
    same WER on our French sets (docs/benchmarks.md).
    """

    _local = threading.local()

    def encode(self, features: np.ndarray):
        if features.ndim == 2:
            used = np.flatnonzero(np.any(features != 0.0, axis=0))
            frames = int(used[-1]) + 1 if used.size else 1
            margin = getattr(self._local, "margin", ENCODER_MARGIN_FRAMES)
            keep = min(features.shape[-1], -(-(frames + margin) // 100) * 100)
            features = np.ascontiguousarray(features[:, :keep])
        output = super().encode(features)
        self._local.encoder_output = output  # reused for word alignment
        self._local.encodes = getattr(self._local, "encodes", 0) + 1
        return output

    def use_margin(self, frames: int) -> None:
        """Zero frames this thread's next encodes keep after the audio."""
        self._local.margin = frames

    def last_encoding(self):
        """(encoder output, encodes so far) of this thread's latest window."""
        return getattr(self._local, "encoder_output", None), getattr(self._local, "encodes", 0)


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class DecodeRequest:
    audio: np.ndarray  # 16 kHz mono float32
    language: str
    prefix: str = ""  # forced start of the transcript (committed words)
    vocabulary: str = ""  # terms the prompt begins with, kept whole
    prompt: str = ""  # earlier text, after the vocabulary: its start is cut if the prompt is too long
    beam_size: int = 1
    word_timestamps: bool = False
    priority: int = PARTIAL
    encoder_margin_frames: int = ENCODER_MARGIN_FRAMES  # zero frames encoded after the audio


@dataclass
class Decoded:
    text: str
    words: list[Word] = field(default_factory=list)  # whitespace words with timings (word_timestamps only)
    compute_s: float = 0.0


def _recent_p90(samples: collections.deque[tuple[float, float]], window_s: float, at_least: int = 1) -> float:
    """The 90th percentile (nearest rank) of the values noted within the last
    ``window_s``; 0 with fewer than ``at_least`` of them."""
    now = time.perf_counter()
    values = sorted(v for at, v in samples if now - at <= window_s)
    return values[-(-9 * len(values) // 10) - 1] if len(values) >= max(1, at_least) else 0.0


class AsrEngine:
    """Owns the model; ``await engine.decode(request)`` from any session."""

    def __init__(self, model_dir: Path, compute_type: str = "int8", threads: int = 0, workers: int = 1) -> None:
        self.model_dir = Path(model_dir)
        self.workers = max(1, workers)
        started = time.perf_counter()
        try:
            self.model = TrimmedWhisper(
                str(model_dir), device="cpu", compute_type=compute_type, cpu_threads=threads, num_workers=self.workers
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"cannot load the speech model in {model_dir}: {exc}") from exc
        self.load_s = time.perf_counter() - started
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="asr")
        self._queue: list[tuple[int, int, float, DecodeRequest, asyncio.Future]] = []
        self._final_waits: collections.deque[tuple[float, float]] = collections.deque(maxlen=64)  # (when, how long a final waited)
        self._final_delays: collections.deque[tuple[float, float]] = collections.deque(maxlen=64)  # (when, speech end → final)
        self._counter = itertools.count()
        self._ready: asyncio.Event | None = None
        self._dispatchers: list[asyncio.Task] = []
        self._finals_running = 0
        self.listeners = 0  # streams being recognised now (Listener.start .. its end)
        self._decoding: set[asyncio.Future] = set()  # the requests on a decoder now
        self.decodes = 0
        self.busy_s = 0.0
        self._stats_lock = threading.Lock()  # decodes finish on several threads

    # -- asyncio side --------------------------------------------------------

    async def start(self) -> None:
        if self._dispatchers:
            return
        self._ready = asyncio.Event()
        self._dispatchers = [asyncio.create_task(self._dispatch(), name=f"asr-dispatch-{i}") for i in range(self.workers)]

    async def close(self) -> None:
        for task in self._dispatchers:
            task.cancel()
        await asyncio.gather(*self._dispatchers, return_exceptions=True)
        self._dispatchers = []
        for *_, future in self._queue:
            if not future.done():
                future.cancel()
        self._queue.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def decode(self, request: DecodeRequest) -> Decoded:
        if not self._dispatchers:
            await self.start()
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (request.priority, next(self._counter), time.perf_counter(), request, future))
        assert self._ready is not None
        self._ready.set()
        if request.priority == FINAL:
            return await future
        # A partial may be given up (its task cancelled): still queued, it is
        # never decoded; already decoding, it is waited for, as its thread
        # cannot be stopped and would keep a core from the final that follows
        # (measured: docs/benchmarks.md, "partials that give way").
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if future in self._decoding:
                await asyncio.wait({future})
            future.cancel()
            raise

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def finals_ahead(self) -> int:
        """Finals decoding or waiting for a decoder now: a final sent now
        starts at once only while there are fewer than ``workers``."""
        return self._finals_running + sum(1 for p, *_, f in self._queue if p == FINAL and not f.cancelled())

    def final_wait_s(self, window_s: float = 30.0) -> float:
        """How long finals waited for a decoder lately (the 90th percentile
        over the last ``window_s``; 0 when none did): the server is busy when
        it grows, as new sessions would make it grow more."""
        return _recent_p90(self._final_waits, window_s)

    def note_final_delay(self, seconds: float) -> None:
        """A session's final came ``seconds`` after the VAD's speech_end."""
        self._final_delays.append((time.perf_counter(), seconds))

    def final_delay_s(self, window_s: float = 30.0, at_least: int = 5) -> float:
        """How late finals came after the end of speech lately, as the
        sessions felt it (the 90th percentile over the last ``window_s``; 0
        with fewer than ``at_least`` finals in it).  Unlike the wait for a
        decoder, it also grows when each session's finals queue behind its
        own earlier ones, or when decodes slow down on a busy CPU."""
        return _recent_p90(self._final_delays, window_s, at_least)

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._ready is not None
        while True:
            # A partial waits while a final decodes: the final keeps a core
            # to itself (partials are only shown, a final's delay is felt).
            while not self._queue or (self._queue[0][0] != FINAL and self._finals_running):
                self._ready.clear()
                await self._ready.wait()
            priority, _, queued_at, request, future = heapq.heappop(self._queue)
            if future.cancelled():
                continue
            kind, waited = "final" if priority == FINAL else "partial", time.perf_counter() - queued_at
            if priority == FINAL:
                self._final_waits.append((time.perf_counter(), waited))
            metrics.DECODE_WAIT.labels(kind).observe(waited)
            self._finals_running += priority == FINAL
            self._decoding.add(future)
            try:
                result = await loop.run_in_executor(self._executor, self.decode_sync, request)
                metrics.DECODES.labels(kind).inc()
                metrics.DECODE_SECONDS.labels(kind).observe(result.compute_s)
            except asyncio.CancelledError:  # engine closing: nobody waits forever
                future.cancel()
                raise
            except Exception as exc:  # reported to the waiting session
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)
            finally:
                self._decoding.discard(future)
                if priority == FINAL:
                    self._finals_running -= 1
                    self._ready.set()  # a partial may go now

    # -- worker thread side --------------------------------------------------

    def decode_sync(self, request: DecodeRequest) -> Decoded:
        """Decode one window (at most 30 s) in the calling thread.

        Word timings are aligned on the encoder output of the same pass, not by
        faster-whisper's ``word_timestamps`` (which re-decodes the tail of the
        window after the last word and invents words in the trailing silence).
        """
        started = time.perf_counter()
        _, encodes_before = self.model.last_encoding()
        self.model.use_margin(request.encoder_margin_frames)
        segments, _info = self.model.transcribe(
            request.audio,
            language=request.language,
            task="transcribe",
            beam_size=request.beam_size,
            best_of=request.beam_size,
            # Temperature 0 only: faster-whisper's fallback re-decodes by sampling
            # at higher temperatures when the log-probability is low, which made
            # finals slower, non-deterministic and, on short utterances, worse
            # ("Due to the slow ..." became "Did").  Decoding loops are cut by
            # trim_repetition and the token bound instead.
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=self._initial_prompt(request),
            prefix=request.prefix or None,
            without_timestamps=True,
            word_timestamps=False,
            vad_filter=False,
            no_speech_threshold=0.6,
            log_prob_threshold=-1.0,
            max_new_tokens=10 + int(MAX_TOKENS_PER_S * request.audio.size / SAMPLE_RATE),
        )
        kept = [seg for seg in segments if not is_hallucination(seg.text)]
        text = " ".join("".join(s.text for s in kept).split())
        words: list[Word] = []
        if request.word_timestamps and kept:
            encoder_output, encodes_after = self.model.last_encoding()
            if encodes_after - encodes_before == 1:  # one window: align on it
                words = self._align(request, [t for seg in kept for t in seg.tokens], encoder_output)
            else:  # longer than one window (rare): let faster-whisper align
                words = self._align_long(request)
        elapsed = time.perf_counter() - started
        with self._stats_lock:
            self.decodes += 1
            self.busy_s += elapsed
        return Decoded(text=text, words=words, compute_s=elapsed)

    def _initial_prompt(self, request: DecodeRequest) -> str | list[int] | None:
        """The prompt as faster-whisper takes it.  It keeps only the last
        ``PROMPT_TOKENS`` of a prompt: with a long vocabulary, the earlier
        text gives way, not the vocabulary's first terms (the commands)."""
        context = request.prompt.strip()
        if not request.vocabulary:
            return context or None
        tokenizer = self._tokenizer(request.language)
        terms = tokenizer.encode(" " + request.vocabulary.strip())[:PROMPT_TOKENS]
        room = PROMPT_TOKENS - len(terms)
        said = tokenizer.encode(" " + context) if context and room > 0 else []
        return terms + said[len(said) - room :] if len(said) > room else terms + said

    def _tokenizer(self, language: str) -> Tokenizer:
        return Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe", language=language)

    def _align(self, request: DecodeRequest, tokens: list[int], encoder_output) -> list[Word]:
        tokenizer = self._tokenizer(request.language)
        text_tokens = [t for t in tokens if t < tokenizer.eot]
        num_frames = request.audio.size // self.model.feature_extractor.hop_length
        alignment = self.model.find_alignment(tokenizer, [text_tokens], encoder_output, num_frames)[0]
        merge_punctuations(alignment, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
        return _whitespace_words([_Piece(a["word"], a["start"], a["end"], a["probability"]) for a in alignment if a["word"]])

    def _align_long(self, request: DecodeRequest) -> list[Word]:
        segments, _ = self.model.transcribe(
            request.audio, language=request.language, beam_size=1, temperature=0.0, condition_on_previous_text=False,
            initial_prompt=self._initial_prompt(request), prefix=request.prefix or None, without_timestamps=True,
            word_timestamps=True, vad_filter=False,
        )
        return _whitespace_words([w for s in segments if not is_hallucination(s.text) for w in (s.words or [])])


@dataclass(frozen=True)
class _Piece:
    word: str
    start: float
    end: float
    probability: float


def _whitespace_words(pieces: list) -> list[Word]:
    """faster-whisper splits "L'accident" into " L" + "'accident"; merge its
    pieces back into whitespace-delimited words, the unit Chairside uses."""
    words: list[Word] = []
    for piece in pieces:
        text = piece.word
        if words and not text.startswith(" "):
            last = words[-1]
            words[-1] = Word(last.word + text, last.start, float(piece.end), min(last.probability, float(piece.probability)))
        else:
            words.append(Word(text.strip(), float(piece.start), float(piece.end), float(piece.probability)))
    return [w for w in words if w.word]

