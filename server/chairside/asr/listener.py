"""The listener: 16 kHz audio in → Silero VAD → streaming recognition →
speech start/end, partial and final results out.

It owns the stream's recent audio (with a preroll before each utterance),
the VAD, one :class:`UtteranceTranscriber` per utterance and the order in
which they are decoded: finals of ended utterances first, then a final
decoded ahead in the silence before the VAD confirms the end, then partials
of the open utterance (a partial still waiting for a decoder when a final
becomes due is given up: on a busy server it would wait behind other
sessions' finals, and this one's final behind it).  It knows nothing of
the database, the dictation or the wire: results go to a :class:`Results`
(the session), whose ``final`` is awaited before the next decode, so
results stay in order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from typing import Protocol

import numpy as np

from ..audio import SAMPLE_RATE
from ..audio.vad import Endpointer, SileroVad, VadEvent, VadOptions
from ..config import Settings
from .engine import AsrEngine, Word
from .streaming import PROMPT_CONTEXT_CHARS, Context, FinalResult, PartialResult, StreamingOptions, UtteranceTranscriber

log = logging.getLogger(__name__)


class SessionLimit(Exception):
    """The session reached its configured maximum duration."""


class Results(Protocol):
    """Where a listener's results go, in order."""

    def speech_started(self, t: float) -> int:
        """Speech began at ``t`` s of stream audio; the utterance's number."""

    def speech_ended(self, utterance: int, t: float) -> None: ...

    def partial(self, utterance: int, result: PartialResult) -> None: ...

    async def final(self, utterance: int, result: FinalResult) -> None:
        """A final (one of several when a long utterance is cut); the next
        decode waits for it."""

    def failed(self, exc: Exception) -> None:
        """Recognition stopped on an error (raised by ``final`` or the engine)."""


def vad_options(settings: Settings) -> VadOptions:
    return VadOptions(
        threshold=settings.vad_threshold,
        min_speech_ms=settings.vad_min_speech_ms,
        min_silence_ms=settings.vad_min_silence_ms,
        speech_pad_ms=settings.vad_speech_pad_ms,
        max_utterance_s=settings.vad_max_utterance_s,
    )


class Listener:
    def __init__(self, *, engine: AsrEngine, vad: SileroVad, settings: Settings, options: StreamingOptions,
                 results: Results, name: str = "listener") -> None:
        self.engine = engine
        self.options = options
        self.results = results
        self.name = name
        self.max_seconds = settings.max_session_s
        self.endpointer = Endpointer(vad.stream(), vad_options(settings))
        self.samples = 0  # 16 kHz samples received
        self._buffer = np.zeros(0, np.float32)  # recent stream audio ...
        self._buffer_start = 0  # ... starting at this sample
        self._preroll = (settings.vad_speech_pad_ms + settings.vad_min_speech_ms) * SAMPLE_RATE // 1000 + SAMPLE_RATE
        # The audio before an utterance that its final may be decoded with: the
        # phrase before a short pause, and the pause.
        self._history = int((options.context_s + options.context_pause_s) * SAMPLE_RATE) if options.context_s > 0 else 0
        self._spoken: deque[tuple[float, float, list[Word]]] = deque()  # recent finals: start, end, timed words
        self._open: tuple[int, UtteranceTranscriber] | None = None
        self._closing: deque[tuple[int, UtteranceTranscriber]] = deque()
        self._last_partial: dict[int, tuple[str, str]] = {}
        self._context = ""  # recent final text: the next utterance's prompt
        self._vocabulary: tuple[str, ...] | None = None  # set_vocabulary's terms (None: the options')
        self._wake = asyncio.Event()
        self._vad_queue: deque[np.ndarray] = deque()  # audio the VAD has yet to hear
        self._vad_wake = asyncio.Event()
        self._heard = 0  # samples the VAD has heard
        self._pending_end: int | None = None  # the endpointer's pending_end, read on the loop
        self._input_closed = False  # finish(): no more audio
        self._finished = False  # ... and the VAD has heard all of it
        self._worker: asyncio.Task | None = None
        self._vad_task: asyncio.Task | None = None
        self._partial_job: asyncio.Task | None = None  # the open utterance's partial being decoded

    @property
    def audio_seconds(self) -> float:
        return self.samples / SAMPLE_RATE

    def start(self) -> None:
        """Start listening (the VAD task) and recognising (the decoding task)."""
        self._vad_task = asyncio.create_task(self._listen(), name=f"{self.name}-vad")
        self._worker = asyncio.create_task(self._run(), name=self.name)
        self.engine.listeners += 1
        self._worker.add_done_callback(self._ended)

    def _ended(self, _task: asyncio.Task) -> None:
        self.engine.listeners -= 1

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The prompt's terms now."""
        return self.options.vocabulary if self._vocabulary is None else self._vocabulary

    def set_vocabulary(self, terms: tuple[str, ...]) -> None:
        """The prompt's terms from now on (what is being dictated changed):
        for the utterances to come, and for those not yet finalised, whose
        finals will be decoded with them (a final decoded ahead with the old
        terms is decoded again)."""
        if terms == self.vocabulary:
            return
        self._vocabulary = terms
        for _, u in [*self._closing, *([self._open] if self._open else [])]:
            u.vocabulary = terms

    # -- audio in ----------------------------------------------------------------

    def feed(self, samples: np.ndarray) -> None:
        """16 kHz mono float32 audio; SessionLimit past the maximum duration.

        The audio is kept and handed to the VAD task, which runs Silero on the
        VAD's own thread (:attr:`SileroVad.thread`), so that the event loop
        never waits for it; the open utterance is given the audio at once, so
        partials hear what has come even while the VAD catches up."""
        if self._input_closed:
            return
        if samples.size:
            self._buffer = np.concatenate([self._buffer, samples]) if self._buffer.size else samples.astype(np.float32, copy=True)
            self.samples += samples.size
            self._vad_queue.append(self._buffer[-samples.size :])
            self._vad_wake.set()
            self._fill_open(self.samples)
        if self.audio_seconds > self.max_seconds:
            raise SessionLimit(f"session reached its maximum duration of {self.max_seconds:g} s of audio")

    def finish(self) -> None:
        """No more audio: the open utterance ends where the audio ends, once
        the VAD has heard it all (its final follows)."""
        self._input_closed = True
        self._vad_wake.set()

    async def drained(self) -> None:
        """Wait until every final is out (after :meth:`finish`)."""
        for task in (self._vad_task, self._worker):
            if task is not None:
                await asyncio.shield(task)

    async def cancel(self) -> None:
        """Stop recognising at once."""
        self._input_closed = self._finished = True
        tasks = [t for t in (self._vad_task, self._worker) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- voice activity ---------------------------------------------------------------

    async def _listen(self) -> None:
        """The VAD task: audio in order through the endpointer, then its events."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self._vad_wake.wait()
                self._vad_wake.clear()
                while self._vad_queue:
                    audio = self._vad_queue.popleft() if len(self._vad_queue) == 1 else self._take_queue()
                    events = await loop.run_in_executor(SileroVad.thread, self.endpointer.feed, audio)
                    self._heard += audio.size
                    for event in events:
                        self._on_vad(event)
                    self._pending_end = self.endpointer.pending_end
                    self._fill_open(self.samples)
                    self._trim_buffer()
                    self._withdraw_partial()
                    self._wake.set()
                if self._input_closed and not self._vad_queue:
                    for event in self.endpointer.finish(self._heard):
                        self._on_vad(event)
                    self._pending_end = None
                    self._finished = True
                    self._wake.set()
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._finished = True
            self.results.failed(exc)

    def _take_queue(self) -> np.ndarray:
        chunks = list(self._vad_queue)
        self._vad_queue.clear()
        return np.concatenate(chunks)

    def _slice(self, start: int, end: int) -> np.ndarray:
        return self._buffer[max(0, start - self._buffer_start) : max(0, end - self._buffer_start)]

    def _fill_open(self, until: int) -> None:
        if self._open is not None:
            u = self._open[1]
            have = u.start + u.audio.size
            if until > have:
                u.append(self._slice(have, until))

    def _trim_buffer(self) -> None:
        keep_from = self._heard - max(self._preroll, self._history)
        if self._open is not None:
            u = self._open[1]
            keep_from = min(keep_from, u.start + u.audio.size)
        drop = keep_from - self._buffer_start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._buffer_start = keep_from

    def _on_vad(self, event: VadEvent) -> None:
        if event.kind == "speech_start":
            uid = self.results.speech_started(round(event.t, 3))
            u = UtteranceTranscriber(engine=self.engine, options=self.options, start=event.sample, context=self._context,
                                     vocabulary=self._vocabulary)
            if self._history:  # the words come with the previous finals, before this one is decoded
                first = max(self._buffer_start, event.sample - self._history)
                u.before = Context(audio=self._slice(first, event.sample).copy(), start=first)
            self._open = (uid, u)
        elif self._open is not None:
            uid, u = self._open
            self._fill_open(event.sample)
            u.close(event.sample)
            self._open = None
            self._closing.append((uid, u))
            self.results.speech_ended(uid, round(event.t, 3))

    # -- recognition ------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while await self._step():
                    pass
                if self._finished and not self._closing:
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.results.failed(exc)

    async def _step(self) -> bool:
        """Run one recognition job if one is due; False when there is none."""
        if self._closing:
            uid, u = self._closing[0]
            self._give_context(u)
            finals = await u.final()
            self._closing.popleft()
            self._last_partial.pop(uid, None)
            for result in finals:
                await self._final(uid, result)
            return True
        if self._open is None:
            return False
        pending_end = self._pending_end
        if pending_end is not None:
            # Silent long enough that the final's audio is known: decode it now,
            # so that it is ready when the VAD confirms the end.  No partials
            # meanwhile: the final must not wait behind one.
            uid, u = self._open
            if u.speculated_end != pending_end:
                self._give_context(u)
                await u.speculate(pending_end)
                return True
            return False
        if self._open[1].partial_due:
            uid, u = self._open
            if (cut := await u.cut_if_full()) is not None:
                await self._final(uid, cut)
                if self._final_due:
                    return True  # a final became due meanwhile: it goes first
            job = self._partial_job = asyncio.create_task(u.partial())
            try:
                await asyncio.wait({job})
            finally:
                self._partial_job = None
                job.cancel()  # the listener is cancelled: so is its partial
            if job.cancelled():  # withdrawn: a final is due
                return True
            partial = job.result()
            shown = (partial.stable, partial.unstable)
            if any(shown) and self._last_partial.get(uid) != shown:
                self._last_partial[uid] = shown
                self.results.partial(uid, partial)
            return True
        return False

    @property
    def _final_due(self) -> bool:
        """An utterance ended, or the silence is long enough to decode the
        open one's final ahead."""
        return bool(self._closing) or self._pending_end is not None

    def _withdraw_partial(self) -> None:
        """A final is due: the partial asked for is given up, so that the
        final does not wait for it.  Still queued, it is never decoded (a
        busy server's partials wait behind other sessions' finals); already
        decoding, it ends first (:meth:`AsrEngine.decode`), unshown."""
        job = self._partial_job
        if job is not None and not job.done() and self._final_due:
            job.cancel()

    def _give_context(self, u: UtteranceTranscriber) -> None:
        """The words of the finals before ``u`` that no pause longer than
        ``context_pause_s`` separates from it (its final is decoded with them)."""
        if u.before is None:
            return
        t, words = u.start / SAMPLE_RATE, []
        for start, end, spoken in reversed(self._spoken):
            if t - end > self.options.context_pause_s or end > t + 0.01:
                break
            words[:0] = spoken
            t = start
        earliest = u.before.start / SAMPLE_RATE
        u.before = dataclasses.replace(u.before, words=tuple(w for w in words if w.start >= earliest and w.end > 0))

    async def _final(self, uid: int, result: FinalResult) -> None:
        self._spoken.append((result.start, result.end, list(result.words)))
        horizon = result.end - self._history / SAMPLE_RATE - self.options.window_s
        while self._spoken and self._spoken[0][1] < horizon:
            self._spoken.popleft()
        if result.text:  # what was just said helps with what follows a short pause
            self._context = (self._context + " " + result.text)[-PROMPT_CONTEXT_CHARS:].strip()
            if self._open is not None and self._open[0] > uid and self._open[1].window_start == 0:
                self._open[1].context = self._context  # it started before this final was ready
        await self.results.final(uid, result)
