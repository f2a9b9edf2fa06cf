"""Streaming policy for one utterance: cheap partials for display, finals
decoded afresh, with the phrase before a pause as context.

Partials.  While the utterance is open its tail is re-decoded (greedy) and
LocalAgreement-n decides what becomes stable.  The tail is the audio after
the stable words that are long settled: those are given to the decoder as
the previous text (read in one pass, nearly free), the stable words said in
the tail are forced as its prefix (so that they stay; CTranslate2 reads a
forced prefix token by token, at the cost of decoding it), and the rest is
the new hypothesis.  Once the tail holds ``TAIL_TIMED_S`` of audio its words
are timed (on the same encoder pass) and it moves up past the stable words;
words that end ``TAIL_KEEP_S`` before its end become stable even if the
hypotheses did not agree on them (the final replaces them anyway): a
partial costs the same at the 20th second of an utterance as at the 4th.
Partials encode a shorter zero margin than finals.  Partials are only shown: the
interval between two of them is at least ``partial_interval_s`` of new
audio, and widens so that partial decodes take no more than
``partial_cpu_share`` of a decoder per second of audio (a slow machine, or a
busy one, gets fewer partials rather than a late final).

Finals.  At the end of the utterance the final is the recognizer's best
reading of it (beam search, word timings), decoded afresh: the stable words
of the partials are not forced on it, and it replaces them.  When the
utterance follows a short pause (at most ``context_pause_s``), the final is
decoded with the phrase before it: up to ``context_s`` of the preceding
utterances' audio, the pause, then this utterance's audio, with the text of
their finals forced as the decoder's prefix; only the words after that
prefix are this utterance's.  The recognizer thus never hears a fragment
after a pause alone ("pendant sept jours" reads as the end of the phrase
it ends, not as a sentence of its own).

An utterance longer than the decoding window is cut at the end of a word
well inside the window; that part is sent as a final and decoding goes on
from there, with the text before as context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from .. import metrics
from ..audio import SAMPLE_RATE
from ..text import word_key
from .agreement import LocalAgreement, trim_repetition
from .engine import FINAL, PARTIAL, PARTIAL_ENCODER_MARGIN_FRAMES, AsrEngine, DecodeRequest, Word

PROMPT_CONTEXT_CHARS = 200
# Hypotheses decoded from less audio than this are shown but do not count
# towards agreement: with so little context Whisper base guesses, and two
# equal guesses would become permanent (measured: docs/benchmarks.md).
MIN_AGREEMENT_WINDOW_S = 1.5
# A partial's tail is timed (and moved up past its stable words) once it
# holds TAIL_TIMED_S of audio; its words ending TAIL_KEEP_S before its end are
# settled; it keeps at least TAIL_MIN_S of audio (measured: docs/benchmarks.md,
# "Issue 11: partials on a tail window"; 4 s rather than 2: "Partials: words
# not agreed on settle after 4 s").
TAIL_TIMED_S = 1.0
TAIL_KEEP_S = 4.0
TAIL_MIN_S = 0.5
# A window cut keeps only words ending this long before the window's end
# (the last ones may be cut mid-word).
CUT_MARGIN_S = 1.0
# Audio kept before the first word of the context (its onset), after its
# last word, and the end of the pause kept before the utterance.
CONTEXT_LEAD_S = 0.15
CONTEXT_TAIL_S = 0.2
CONTEXT_PAUSE_S = 0.3
# A short utterance whose only word or two are this doubtful is a sound, not
# speech (an "euh" alone is read "Un", 0.21, or a prompt word, "ITT.").
LONE_SOUND_S = 1.0
LONE_SOUND_MAX_P = 0.35
# What Whisper writes for a hesitation heard without a prompt.
INTERJECTIONS = frozenset({"et", "eh", "ah", "oh", "euh", "heu", "hein", "hum", "hmm", "mmh", "bah", "ben", "pff", "uh", "um"})
# Hesitations: never words of the dictation, whatever Whisper writes.
FILLERS = frozenset({"euh", "euhm", "euf", "heu", "hein", "hum", "hmm", "hm", "mmh", "mhm", "bah", "ben", "pff"})


def is_filler(word: str) -> bool:
    """A hesitation: one of FILLERS, or a lone lower-case "e" (an "euh"
    written as a letter: "chlorhexidine, e deux fois par jour"; a capital E,
    "vitamine E", is a word)."""
    return word_key(word) in FILLERS or word.strip(" ,.;:!?…") == "e"


@dataclass(frozen=True)
class StreamingOptions:
    language: str = "fr"
    vocabulary: tuple[str, ...] = ()
    partial_interval_s: float = 0.5
    partial_beam_size: int = 1
    final_beam_size: int = 5
    window_s: float = 15.0
    agreement_n: int = 3
    context_s: float = 10.0  # audio of the phrase before a pause decoded with a final (0: none)
    context_pause_s: float = 3.0  # longest pause the context spans
    partial_cpu_share: float = 0.2  # partial decode seconds per second of audio, at most (0: no bound)
    context_late_s: float = 0.6  # finals later than this lately: the context shrinks (0: never)
    context_late_cap_s: float = 4.0  # the most context once finals come late (none for a final that competes with another)


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


@dataclass(frozen=True)
class Context:
    """What was said just before an utterance: the stream's audio from
    ``start`` (a sample) up to the utterance, and the words of its finals in
    session seconds."""

    audio: np.ndarray
    start: int
    words: tuple[Word, ...] = ()


def drop_fillers(words: list[Word]) -> list[Word]:
    """Without hesitations, nor what is left of them ("Hein ?" → "?")."""
    return [w for w in words if word_key(w.word) and not is_filler(w.word)]


def after_prefix(words: list[Word], prefix: list[str]) -> list[Word]:
    """The decoded words after a forced prefix of ``len(prefix)`` words.  The
    decoder may go on from the prefix's last word without a space ("46" then
    "-23," for "sur la 46 … teinte A3"): what it added to that word is a word
    of the fragment, not dropped with the prefix."""
    n = len(prefix)
    if not n or len(words) < n:
        return words[n:]
    joined, last = words[n - 1], prefix[-1]
    rest = joined.word[len(last) :].lstrip("-") if joined.word != last and joined.word.startswith(last) else ""
    return ([Word(rest, joined.start, joined.end, joined.probability)] if word_key(rest) else []) + words[n:]


@dataclass
class UtteranceTranscriber:
    """Audio of one utterance in, partials and finals out.  ``start`` is the
    utterance's first sample in the session's 16 kHz stream."""

    engine: AsrEngine
    options: StreamingOptions
    start: int
    context: str = ""  # text said before this window, for the prompt
    vocabulary: tuple[str, ...] | None = None  # the prompt's terms, when not the options' (set by the listener)
    before: Context | None = None  # the phrase before a short pause (set by the listener)
    window_start: int = 0  # first sample of the decoding window, within ``audio``
    decoded_until: int = 0  # samples seen by the last partial decode
    closed: bool = False
    agreement: LocalAgreement = field(init=False)
    speculated_end: int = -1  # stream sample a final was decoded ahead for
    partial_interval: float = 0.0  # seconds of new audio before the next partial (adapts)
    tail_start: int = 0  # first sample of the partials' tail, within ``audio`` (≥ window_start)
    settled: int = 0  # stable words said before ``tail_start`` (the tail's previous text)
    _speculative: tuple[tuple, FinalResult] | None = None
    _buffer: np.ndarray = field(default_factory=lambda: np.zeros(SAMPLE_RATE, np.float32))
    _size: int = 0

    def __post_init__(self) -> None:
        self.agreement = LocalAgreement(self.options.agreement_n)
        self.partial_interval = self.options.partial_interval_s

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
        return not self.closed and self.audio.size - self.decoded_until >= self.partial_interval * SAMPLE_RATE

    def _prompt(self, context: str | None = None) -> dict[str, str]:
        """The decode's prompt: the vocabulary, then the text said before
        (``context``, by default the window's)."""
        vocabulary = ", ".join(self.options.vocabulary if self.vocabulary is None else self.vocabulary)
        context = (self.context if context is None else context)[-PROMPT_CONTEXT_CHARS:]
        return {"vocabulary": vocabulary + "." if vocabulary else "", "prompt": context.strip()}

    # -- partials ---------------------------------------------------------------------

    async def cut_if_full(self) -> FinalResult | None:
        """Before a partial: when the audio so far fills the decoding window,
        cut it (see :meth:`_cut`) and return the final of the part before the
        cut."""
        self.decoded_until = self.audio.size
        if (self.decoded_until - self.window_start) / SAMPLE_RATE >= self.options.window_s:
            return await self._cut()
        return None

    async def partial(self) -> PartialResult:
        """Re-decode the open utterance (greedy, the stable words forced),
        after :meth:`cut_if_full`.  Only shown: it may be given up halfway
        (cancelled) without loss."""
        self.decoded_until = self.audio.size
        committed = self.agreement.committed
        forced = committed[self.settled :]
        tail_s = (self.decoded_until - self.tail_start) / SAMPLE_RATE
        timed = tail_s >= TAIL_TIMED_S
        settled_text = " ".join(committed[: self.settled])
        decoded = await self.engine.decode(DecodeRequest(
            audio=self.audio[self.tail_start : self.decoded_until], language=self.options.language,
            prefix=" ".join(forced), **self._prompt((self.context + " " + settled_text).strip()),
            beam_size=self.options.partial_beam_size, word_timestamps=timed, priority=PARTIAL,
            encoder_margin_frames=PARTIAL_ENCODER_MARGIN_FRAMES,
        ))
        if self.options.partial_cpu_share > 0:  # slow decodes (slow or busy machine): fewer partials
            self.partial_interval = max(self.options.partial_interval_s, decoded.compute_s / self.options.partial_cpu_share)
        window_s = (self.decoded_until - self.window_start) / SAMPLE_RATE  # after a cut: the new window
        words = [w for w in decoded.text.split() if word_key(w) and not is_filler(w)]
        self.agreement.update(words[len(forced) :], trusted=window_s >= MIN_AGREEMENT_WINDOW_S)
        if timed:
            self._move_tail(words, drop_fillers(decoded.words), tail_s)
        partial = PartialResult(
            stable=self.agreement.stable_text,
            unstable=" ".join(self.agreement.unstable),
            audio_end=(self.start + self.decoded_until) / SAMPLE_RATE,
        )
        return partial

    def _move_tail(self, words: list[str], timed: list[Word], tail_s: float) -> None:
        """Move the tail up past the stable words, and past the words that
        end ``TAIL_KEEP_S`` before its end (they become stable: the window
        will not see them again), keeping at least ``TAIL_MIN_S`` of audio.
        ``words`` are the tail's decoded words (the stable ones first),
        ``timed`` the same words timed from the tail's start."""
        if ([word_key(w.word) for w in timed] != [word_key(w) for w in words]
                or any(b.end < a.end for a, b in pairwise(timed))):
            return  # the timings are not those of the words (or not in order): keep the tail
        stable = len(self.agreement.committed) - self.settled
        old = [i for i, w in enumerate(timed) if 0 < w.end <= tail_s - TAIL_KEEP_S]
        moved = max(stable, min(old[-1] + 1, stable + len(self.agreement.unstable))) if old else stable
        while moved > 0 and not 0 < timed[moved - 1].end <= tail_s - TAIL_MIN_S:
            moved -= 1
        if moved == 0:
            return
        if moved > stable:
            self.agreement.settle(moved - stable)
        boundary = timed[moved - 1].end
        if moved < len(timed) and timed[moved].start > boundary:  # between two words
            boundary = (boundary + timed[moved].start) / 2
        self.tail_start += int(boundary * SAMPLE_RATE)
        self.settled += moved

    # -- finals -------------------------------------------------------------------------

    def _speculation_key(self, end: int) -> tuple:
        return (end, self.window_start, len(self.before.words) if self.before else 0, self.context, self.vocabulary)

    async def speculate(self, end_sample: int) -> None:
        """Decode the final ahead of time, as if the utterance ended at
        ``end_sample``: while the VAD waits out its minimum silence, the audio
        of the final is already known.  Used by :meth:`final` if the utterance
        does end there (and its context did not change); wasted otherwise."""
        self.speculated_end = end_sample
        end = end_sample - self.start
        if end <= self.window_start or (end - self.window_start) / SAMPLE_RATE >= self.options.window_s:
            return
        key = self._speculation_key(end)
        self._speculative = (key, await self._decode_final(end))

    async def final(self) -> list[FinalResult]:
        """The final(s) of a closed utterance."""
        results = []
        while (self.audio.size - self.window_start) / SAMPLE_RATE >= self.options.window_s:
            if (cut := await self._cut()) is not None:
                results.append(cut)
        speculative = self._speculative
        if speculative is not None and speculative[0] == self._speculation_key(self.audio.size):
            results.append(speculative[1])
        else:
            results.append(await self._decode_final(self.audio.size))
        return results

    def _lead(self, end: int) -> tuple[np.ndarray, list[Word], int]:
        """The context decoded before this utterance's window: (audio, its
        words, the stream sample its audio would start at if it ran on
        without a break into the utterance).  Only for the first window of an
        utterance, within ``context_s`` and the decoding window."""
        before = self.before
        if before is None or self.window_start > 0 or self.options.context_s <= 0 or not before.words:
            return np.zeros(0, np.float32), [], self.start
        context_s = self._context_budget()
        if context_s <= 0:
            return np.zeros(0, np.float32), [], self.start
        first_allowed = max(before.start, self.start - int(context_s * SAMPLE_RATE),
                            self.start + end - int((self.options.window_s - 0.5) * SAMPLE_RATE))
        words = list(before.words)
        for i, w in enumerate(words):
            onset = int((w.start - CONTEXT_LEAD_S) * SAMPLE_RATE)
            if i > 0:  # not into the previous word
                onset = max(onset, int(words[i - 1].end * SAMPLE_RATE))
            if onset >= first_allowed and w.end * SAMPLE_RATE <= self.start + 0.05 * SAMPLE_RATE:
                # Of the pause after the last word, only its end (silence, by
                # the VAD's definition): what it held before gave no words (a
                # breath, an "euh" ended by the VAD) and must not become the
                # first words of this utterance.
                spoken_until = min(self.start, int((words[-1].end + CONTEXT_TAIL_S) * SAMPLE_RATE))
                pause_from = max(spoken_until, self.start - int(CONTEXT_PAUSE_S * SAMPLE_RATE))
                audio = np.concatenate([before.audio[onset - before.start : spoken_until - before.start],
                                        before.audio[pause_from - before.start : self.start - before.start]])
                return audio, words[i:], self.start - audio.size
        return np.zeros(0, np.float32), [], self.start

    def _context_budget(self) -> float:
        """Seconds of the phrase before decoded with this final.  All of
        ``context_s``, unless finals come late (the 90th percentile of VAD
        speech_end → final lately above ``context_late_s``) while another
        stream is being recognised: then at most ``context_late_cap_s``, and
        none while another final is decoding or waiting.  The context makes
        a final two to four times dearer to decode (the lead's audio is
        encoded, and each of its words' tokens is one more step of the
        decoder): it buys accuracy while the server keeps up, and is another
        dentist's wait once it does not; a short one keeps most of its worth
        for a fraction of its cost.  A dentist alone keeps it all: their
        finals wait for no one else's (measured: docs/benchmarks.md,
        "Context that gives way" and "A shorter context once finals come
        late")."""
        late = 0 < self.options.context_late_s < self.engine.final_delay_s() and self.engine.listeners > 1
        if not late:
            kind, seconds = "whole", self.options.context_s
        elif self.engine.finals_ahead > 0:
            kind, seconds = "busy", 0.0
        else:
            kind, seconds = "short", min(self.options.context_s, self.options.context_late_cap_s)
        metrics.FINAL_CONTEXTS.labels(kind).inc()
        return seconds

    async def _decode_final(self, end: int) -> FinalResult:
        lead_audio, lead_words, lead_start = self._lead(end)
        audio = self.audio[self.window_start : end]
        prefix = " ".join(w.word for w in lead_words)
        prompt_context = self.context
        if prefix and prompt_context.endswith(prefix):  # the prefix is said, not prompted
            prompt_context = prompt_context[: -len(prefix)].strip()
        decoded = await self.engine.decode(DecodeRequest(
            audio=np.concatenate([lead_audio, audio]) if lead_audio.size else audio, language=self.options.language,
            prefix=prefix, **self._prompt(prompt_context), beam_size=self.options.final_beam_size,
            word_timestamps=True, priority=FINAL,
        ))
        words = decoded.words or [Word(w, 0.0, 0.0, 0.0) for w in decoded.text.split()]
        if lead_words:  # keep what follows the forced prefix, timed from the lead's start
            words = after_prefix(words, [w.word for w in lead_words])
            shift = (lead_start - (self.start + self.window_start)) / SAMPLE_RATE
            words = [Word(w.word, max(0.0, w.start + shift), w.end + shift, w.probability) if w.end > 0 else w for w in words]
        words = drop_fillers(words)
        words = words[: len(trim_repetition([w.word for w in words]))]
        if (words and (end - self.window_start) / SAMPLE_RATE <= LONE_SOUND_S and len(words) <= 2
                and all(w.probability < LONE_SOUND_MAX_P for w in words) and await self._only_a_sound(end)):
            words = []  # a breath, an "euh", that the prompt made a word of
        return self._result(" ".join(w.word for w in words), words, end, True)

    async def _only_a_sound(self, end: int) -> bool:
        """Is a short, doubtful utterance a sound rather than a word?  Heard
        alone, without the prompt, an "euh" reads as an interjection ("et ?",
        "Ah !") while a said word stays a word ("ITT." → "HIT !"): the prompt's
        words (commands, drugs, "ITT") are what a lone sound turns into."""
        alone = await self.engine.decode(DecodeRequest(
            audio=self.audio[self.window_start : end], language=self.options.language,
            beam_size=self.options.final_beam_size, priority=FINAL,
        ))
        return all(word_key(w) in INTERJECTIONS or not word_key(w) for w in alone.text.split())

    def _result(self, text: str, words: list[Word], end: int, end_of_utterance: bool) -> FinalResult:
        """A final of the current window, word times made session times."""
        t0 = (self.start + self.window_start) / SAMPLE_RATE
        return FinalResult(
            text=text,
            words=[Word(w.word, round(max(0.0, t0 + w.start), 3), round(max(0.0, t0 + w.end), 3), round(w.probability, 3)) for w in words],
            start=round(t0, 3),
            end=round((self.start + end) / SAMPLE_RATE, 3),
            end_of_utterance=end_of_utterance,
        )

    async def _cut(self) -> FinalResult | None:
        """Cut the window at the end of the last word that ends well inside
        it, decoded afresh like a final."""
        end = min(self.audio.size if self.closed else self.decoded_until, self.window_start + int(self.options.window_s * SAMPLE_RATE))
        decoded = await self.engine.decode(DecodeRequest(
            audio=self.audio[self.window_start : end], language=self.options.language, **self._prompt(),
            beam_size=self.options.final_beam_size, word_timestamps=True, priority=FINAL,
        ))
        limit = (end - self.window_start) / SAMPLE_RATE - CUT_MARGIN_S
        words = [w for w in decoded.words if 0 < w.end <= limit]
        words = words[: len(trim_repetition([w.word for w in words]))]
        if words:
            cut_at = self.window_start + int(words[-1].end * SAMPLE_RATE)
        else:  # nothing recognisable in a whole window: move on, keep a second
            cut_at = max(self.window_start, end - SAMPLE_RATE)
        words = drop_fillers(words)
        text = " ".join(w.word for w in words)
        result = None
        if text:
            result = self._result(text, words, cut_at, False)
            self.context = (self.context + " " + text).strip()
        self.window_start = self.tail_start = cut_at
        self.settled = 0
        self.decoded_until = max(self.decoded_until, cut_at)
        self.agreement = LocalAgreement(self.options.agreement_n)
        return result
