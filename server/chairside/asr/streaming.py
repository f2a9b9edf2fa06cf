"""Streaming policy for one utterance: partial re-decodes, agreement, final.

While the utterance is open it is re-decoded every ``partial_interval_s`` of
new audio (greedy, the committed words forced as the decoder's prefix), and
LocalAgreement-n (n = 3 by default) decides what becomes stable.  At the end of the utterance a
final decode (beam search, word timings) starts from the same committed words,
so the final text always begins with the stable text: nothing shown as stable
is ever retracted.  An utterance longer than the decoding window is cut at
the end of its last committed word; that part is sent as a final and decoding
goes on from there, with the text before as context.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..audio import SAMPLE_RATE
from .agreement import LocalAgreement, trim_repetition
from .engine import FINAL, PARTIAL, AsrEngine, DecodeRequest, Word

PROMPT_CONTEXT_CHARS = 200
# Hypotheses decoded from less audio than this are shown but do not count
# towards agreement: with so little context Whisper base guesses, and two
# equal guesses would become permanent (measured: docs/benchmarks.md).
MIN_AGREEMENT_WINDOW_S = 1.5


@dataclass(frozen=True)
class StreamingOptions:
    language: str = "fr"
    vocabulary: tuple[str, ...] = ()
    partial_interval_s: float = 0.5
    partial_beam_size: int = 1
    final_beam_size: int = 5
    window_s: float = 25.0
    agreement_n: int = 3


@dataclass(frozen=True)
class PartialResult:
    stable: str
    unstable: str
    audio_end: float  # stream time up to which audio was decoded


@dataclass(frozen=True)
class FinalResult:
    text: str
    words: list[Word]
    start: float
    end: float
    end_of_utterance: bool


@dataclass
class UtteranceTranscriber:
    """Audio of one utterance in, partials and finals out.  ``start`` is the
    utterance's first sample in the session's 16 kHz stream."""

    engine: AsrEngine
    options: StreamingOptions
    start: int
    context: str = ""  # text said before this window, for the prompt
    window_start: int = 0  # first sample of the decoding window, within ``audio``
    decoded_until: int = 0  # samples seen by the last partial decode
    closed: bool = False
    agreement: LocalAgreement = field(init=False)
    speculated_end: int = -1  # stream sample a final was decoded ahead for
    _speculative: tuple[tuple[int, int], FinalResult] | None = None
    _buffer: np.ndarray = field(default_factory=lambda: np.zeros(SAMPLE_RATE, np.float32))
    _size: int = 0

    def __post_init__(self) -> None:
        self.agreement = LocalAgreement(self.options.agreement_n)

    @property
    def audio(self) -> np.ndarray:
        """The utterance's audio so far (a view: valid until the next append)."""
        return self._buffer[: self._size]

    def append(self, samples: np.ndarray) -> None:
        needed = self._size + samples.size
        if needed > self._buffer.size:  # grow geometrically: appends stay O(1) amortized
            grown = np.zeros(max(needed, 2 * self._buffer.size), np.float32)
            grown[: self._size] = self._buffer[: self._size]
            self._buffer = grown
        self._buffer[self._size : needed] = samples
        self._size = needed

    def close(self, end_sample: int) -> None:
        """The utterance ended at ``end_sample`` of the stream: only its final is left."""
        self._size = min(self._size, max(0, end_sample - self.start))
        self.closed = True

    @property
    def partial_due(self) -> bool:
        return not self.closed and self.audio.size - self.decoded_until >= self.options.partial_interval_s * SAMPLE_RATE

    def _prompt(self) -> str:
        vocabulary = ", ".join(self.options.vocabulary)
        context = self.context[-PROMPT_CONTEXT_CHARS:]
        return " ".join(p for p in (vocabulary + ("." if vocabulary else ""), context) if p).strip()

    def _request(self, *, priority: int, beam: int, words: bool, end: int | None = None) -> DecodeRequest:
        return DecodeRequest(
            audio=self.audio[self.window_start : end],
            language=self.options.language,
            prefix=self.agreement.stable_text,
            prompt=self._prompt(),
            beam_size=beam,
            word_timestamps=words,
            priority=priority,
        )

    async def partial(self) -> tuple[PartialResult, FinalResult | None]:
        """Re-decode the open utterance.  Returns the partial and, when the
        window had to be cut, the final of the part before the cut."""
        self.decoded_until = self.audio.size
        cut = None
        if (self.decoded_until - self.window_start) / SAMPLE_RATE >= self.options.window_s:
            cut = await self._cut()
        decoded = await self.engine.decode(self._request(priority=PARTIAL, beam=self.options.partial_beam_size, words=False, end=self.decoded_until))
        window_s = (self.decoded_until - self.window_start) / SAMPLE_RATE  # after a cut: the new window
        self.agreement.update(self._tail(decoded.text.split()), trusted=window_s >= MIN_AGREEMENT_WINDOW_S)
        partial = PartialResult(
            stable=self.agreement.stable_text,
            unstable=" ".join(self.agreement.unstable),
            audio_end=(self.start + self.decoded_until) / SAMPLE_RATE,
        )
        return partial, cut

    async def speculate(self, end_sample: int) -> None:
        """Decode the final ahead of time, as if the utterance ended at
        ``end_sample``: while the VAD waits out its minimum silence, the audio
        of the final is already known.  Used by :meth:`final` if the utterance
        does end there and nothing was committed since; wasted otherwise."""
        self.speculated_end = end_sample
        end = end_sample - self.start
        if end <= self.window_start or (end - self.window_start) / SAMPLE_RATE >= self.options.window_s:
            return
        key = (end, len(self.agreement.committed))
        self._speculative = (key, await self._decode_final(end))

    async def final(self) -> list[FinalResult]:
        """The final(s) of a closed utterance."""
        results = []
        while (self.audio.size - self.window_start) / SAMPLE_RATE >= self.options.window_s:
            if (cut := await self._cut()) is not None:
                results.append(cut)
        speculative = self._speculative
        if speculative is not None and speculative[0] == (self.audio.size, len(self.agreement.committed)):
            results.append(speculative[1])
        else:
            results.append(await self._decode_final(self.audio.size))
        return results

    async def _decode_final(self, end: int) -> FinalResult:
        decoded = await self.engine.decode(self._request(priority=FINAL, beam=self.options.final_beam_size, words=True, end=end))
        text, words = self._merge_committed(decoded.words, decoded.text)
        return self._result(text, words, end, True)

    def _result(self, text: str, words: list[Word], end: int, end_of_utterance: bool) -> FinalResult:
        """A final of the current window, word times made session times."""
        t0 = (self.start + self.window_start) / SAMPLE_RATE
        return FinalResult(
            text=text,
            words=[Word(w.word, round(t0 + w.start, 3), round(t0 + w.end, 3), round(w.probability, 3)) for w in words],
            start=round(t0, 3),
            end=round((self.start + end) / SAMPLE_RATE, 3),
            end_of_utterance=end_of_utterance,
        )

    def _tail(self, words: list[str]) -> list[str]:
        """The words after the committed prefix."""
        return words[len(self.agreement.committed) :]

    def _merge_committed(self, words: list[Word], text: str) -> tuple[str, list[Word]]:
        """Make sure the committed words open the result, as they were shown."""
        committed = self.agreement.committed
        if not words:  # decode kept nothing (e.g. only a hallucination): keep what was shown
            words = [Word(w, 0.0, 0.0, 0.0) for w in text.split()] or [Word(w, 0.0, 0.0, 0.0) for w in committed]
        merged = [Word(c, w.start, w.end, w.probability) for c, w in zip(committed, words)]
        if len(words) < len(committed):
            last = words[-1] if words else Word("", 0.0, 0.0, 0.0)
            merged += [Word(c, last.end, last.end, 0.0) for c in committed[len(words) :]]
        tail = words[len(committed) :]
        merged += tail[: len(trim_repetition([w.word for w in tail]))]
        return " ".join(w.word for w in merged), merged

    async def _cut(self) -> FinalResult | None:
        """Cut the window at the end of the last committed word (when nothing
        is committed yet: of the last word but one of a fresh hypothesis)."""
        end = min(self.audio.size if self.closed else self.decoded_until, self.window_start + int(self.options.window_s * SAMPLE_RATE))
        decoded = await self.engine.decode(self._request(priority=FINAL, beam=self.options.partial_beam_size, words=True, end=end))
        committed = self.agreement.committed
        if committed:
            text, words = self._merge_committed(decoded.words[: len(committed)], " ".join(committed))
        else:
            words = decoded.words[:-1]
            text = " ".join(w.word for w in words)
        if words and words[-1].end > 0:
            cut_at = self.window_start + int(words[-1].end * SAMPLE_RATE)
        else:  # nothing recognisable in a whole window: move on, keep a second
            cut_at = max(self.window_start, end - SAMPLE_RATE)
        result = None
        if text:
            result = self._result(text, words, cut_at, False)
            self.context = (self.context + " " + text).strip()
        self.window_start = cut_at
        self.agreement = LocalAgreement(self.options.agreement_n)
        return result
