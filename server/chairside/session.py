"""One dictation session: the commit desk between the listener and the world.

The :class:`~chairside.asr.listener.Listener` turns audio into speech
start/end, partials and finals; the session numbers utterances (spoken or
typed), writes each final and draft change to the journal before anyone
hears of it, runs the dictation on whole utterances, has documents rendered,
and publishes every event once, in order, to ``session.events`` (the
transport) and the room's feed, which subscribe to them.  It knows nothing
of sockets or audio formats: transports feed it 16 kHz mono float32.

For each utterance the events are ``vad`` speech_start, partials, ``vad``
speech_end, then its final(s) (a partial already under way may arrive after
speech_end, never after the final).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Callable, assert_never

import numpy as np

from . import events as ev
from . import metrics
from .asr.engine import AsrEngine
from .asr.listener import Listener, SessionLimit
from .asr.streaming import FinalResult, PartialResult, StreamingOptions
from .audio.vad import SileroVad
from .config import Settings
from .dictation.outcomes import CommandDone, DocumentAsked, DraftChanged, HintGiven, Ignored, Outcome, ReadBack, Warned
from .dictation.state import Dictation
from .dictation.vocabulary import default_vocabulary, draft_vocabulary
from .documents.service import DocumentService
from .record.context import DocumentContext
from .record.ids import new_id
from .record.versions import Owner
from .rooms.publisher import RoomPublisher
from .store.journal import Journal, Resumed, SessionErased

__all__ = ["Session", "SessionLimit"]

log = logging.getLogger(__name__)

# Bounds of what a client may leave waiting or ask for (issue 15).
EVENTS_MAX = 2000  # events waiting to be sent: beyond, the session ends (client_too_slow)
PARTIALS_DROPPED_FROM = 200  # with this many waiting, partials are not queued (the finals replace them)


def streaming_options(start: ev.Start, settings: Settings) -> StreamingOptions:
    """How a session's speech is recognised: its language and prompt, the
    decoding settings."""
    if start.vocabulary is not None:
        vocabulary = start.vocabulary
    else:
        vocabulary = default_vocabulary(start.language) if settings.default_vocabulary else []
    return StreamingOptions(
        language=start.language,
        vocabulary=tuple(vocabulary[: settings.max_vocabulary_terms]),
        partial_interval_s=settings.partial_interval_s,
        partial_beam_size=settings.partial_beam_size,
        final_beam_size=settings.final_beam_size,
        window_s=settings.asr_window_s,
        agreement_n=settings.agreement_n,
        context_s=settings.asr_context_s,
        context_pause_s=settings.asr_context_pause_s,
        partial_cpu_share=settings.partial_cpu_share,
        context_late_s=settings.asr_context_late_s,
        context_late_cap_s=settings.asr_context_late_cap_s,
    )


class Session:
    def __init__(self, *, engine: AsrEngine, vad: SileroVad, settings: Settings, start: ev.Start, model_name: str = "",
                 documents: DocumentService | None = None, journal: Journal | None = None,
                 context: DocumentContext | None = None, owner: Owner | None = None,
                 publisher: RoomPublisher | None = None, resumed: Resumed | None = None, session_id: str | None = None) -> None:
        """``owner``: the clinic, dentist, room and patient the session is
        recorded under; ``publisher``: the room's feed, subscribed when the
        session opens and closed when it ends; ``resumed``: what
        an interrupted session had committed, to go on from.  Nothing happens
        until :meth:`open`."""
        self.id = session_id or (resumed.session_id if resumed else new_id())
        self.start = start
        self.language = start.language
        self.model_name = model_name
        self.events: asyncio.Queue[ev.ServerEvent | None] = asyncio.Queue()  # None: end of stream (transport)
        self.listener = Listener(engine=engine, vad=vad, settings=settings, options=streaming_options(start, settings),
                                 results=self, name=f"session-{self.id[:8]}")
        self.documents = documents
        self.journal = journal
        self.owner = owner or Owner()
        self.publisher = publisher
        self.resumed = resumed
        self.utterances = resumed.utterances if resumed else 0
        # the practice's date and time: "jeudi prochain" counts from it, a certificate's examination is dated by it
        started_at = documents.now() if documents else None
        self.dictation = Dictation(start.language, today=started_at and started_at.date(), started_at=started_at,
                                   context=context or DocumentContext(lab=start.lab), readback=not settings.sign_without_readback)
        if resumed is not None:
            self.dictation.restore(resumed.draft)
        # The default prompt follows what is dictated (a session's own vocabulary stays as sent).
        self._draft_vocabulary = start.vocabulary is None and settings.default_vocabulary and settings.draft_vocabulary
        self._max_vocabulary = settings.max_vocabulary_terms
        self._follow_draft()
        self._commit = asyncio.Lock()  # a final or draft change: written, then sent, one at a time
        self._fragments: dict[int, list[str]] = {}  # finals of an utterance cut by the window
        self._subscribers: list[Callable[[ev.SessionEvent], None]] = [self._to_client]
        self._journal_opened = False
        self._journal_ended = False
        self._stopping: asyncio.Task | None = None  # the one stop (the client's, a limit's or the server's shutdown)
        self.partials_dropped = 0  # for a client reading too slowly (_to_client)
        self._too_slow = False
        self.requests_per_s = settings.requests_per_s  # typed text, preview, accept: a burst of 3 s worth, then this rate
        self._requests, self._requests_at = 3 * self.requests_per_s, time.monotonic()  # allow_request's bucket
        self._document_jobs: asyncio.Queue[tuple[int | None, DocumentAsked] | None] = asyncio.Queue()
        self._document_worker: asyncio.Task | None = None
        # A long silence closes the line being dictated (stream time, so that
        # audio sent faster than real time closes it at the same point).
        self.line_silence_s = settings.line_silence_s
        self._speaking = False
        self._last_speech_end: float | None = None
        self._awaiting_final: set[int] = set()
        self._speech_ended_at: dict[int, float] = {}  # when each speech_end was sent (chairside_final_latency_seconds)
        self._line_closer: asyncio.Task | None = None

    async def open(self) -> None:
        """Record the session (or reopen a resumed one), join the room, say
        ``ready`` (with the resumed draft), and start listening.  Once."""
        assert not self._journal_opened and self.listener.samples == 0, "a session opens once"
        if self.journal is not None and self.resumed is not None:
            await self.journal.reopen_session(self.id)
        elif self.journal is not None:
            await self.journal.open_session(self.id, self.language, self.dictation.context.model_dump(mode="json"), self.owner)
        self._journal_opened = True
        if self.publisher is not None:  # the session's row exists: the room's log may refer to it
            self.subscribe(self.publisher.offer)
            self._emit(self._started())
        self._emit(ev.Ready(session_id=self.id, language=self.language, model=self.model_name, sample_rate=self.start.sample_rate,
                            room=self.owner.room_id, patient=self.owner.patient_id, resumed=self.resumed is not None,
                            utterances=self.utterances))
        if self.resumed is not None and self.dictation.draft is not None:  # the open draft, as it was
            self._emit(ev.DraftUpdated(utterance=None, draft=self.dictation.draft.snapshot(), change={"op": "resume"}))
        self.listener.start()

    def _started(self) -> ev.SessionStarted:
        ctx, patient = self.dictation.context, self.owner.patient_id
        return ev.SessionStarted(session=ev.StartedSession(
            id=self.id, language=self.language, practitioner=ctx.practitioner.name, resumed=self.resumed is not None,
            patient=patient and ev.PatientRef(id=patient, code=ctx.patient.code, last_name=ctx.patient.last_name,
                                              first_name=ctx.patient.first_name)))

    def subscribe(self, subscriber: Callable[[ev.SessionEvent], None]) -> None:
        """Be given every event the session publishes from now on, in order."""
        self._subscribers.append(subscriber)

    @property
    def audio_seconds(self) -> float:
        return self.listener.audio_seconds

    # -- in ----------------------------------------------------------------------

    def feed(self, samples: np.ndarray) -> None:
        """16 kHz mono float32 audio; SessionLimit past the maximum duration.
        Audio that comes once the session is stopping is not heard."""
        if self._stopping is not None:
            return
        self.listener.feed(samples)
        self._close_line_after_silence()

    async def add_text(self, text: str) -> None:
        """Typed text: a final utterance of its own, then dictation."""
        self.utterances += 1
        uid, t = self.utterances, round(self.audio_seconds, 3)
        async with self._commit:
            await self._commit_final(ev.Final(utterance=uid, text=text, words=[], start=t, end=t, language=self.language, source="text"))
            await self._dictate(uid, text)

    async def preview(self) -> None:
        """A preview PDF of the open draft (the client's `preview` message)."""
        async with self._commit:
            await self._outcomes(None, self.dictation.preview())

    async def accept(self, index: int) -> None:
        """The dentist accepts the drug suggested for line ``index`` (the client's `accept` message)."""
        async with self._commit:
            await self._outcomes(None, self.dictation.accept_suggestion(index))

    # -- the listener's results ------------------------------------------------------

    def speech_started(self, t: float) -> int:
        self.utterances += 1
        self._speaking = True
        self._awaiting_final.add(self.utterances)
        self._emit(ev.Vad(event="speech_start", utterance=self.utterances, t=t))
        return self.utterances

    def speech_ended(self, utterance: int, t: float) -> None:
        self._speaking, self._last_speech_end = False, t
        self._emit(ev.Vad(event="speech_end", utterance=utterance, t=t))
        self._speech_ended_at[utterance] = time.perf_counter()

    def partial(self, utterance: int, result: PartialResult) -> None:
        metrics.PARTIAL_LAG.observe(max(0.0, self.listener.audio_seconds - result.audio_end))
        self._emit(ev.Partial(utterance=utterance, stable=result.stable, unstable=result.unstable, audio_end=round(result.audio_end, 3)))

    async def final(self, utterance: int, result: FinalResult) -> None:
        final = ev.Final(
            utterance=utterance,
            text=result.text,
            words=[ev.WordTiming(word=w.word, start=w.start, end=w.end, probability=w.probability) for w in result.words],
            start=result.start,
            end=result.end,
            language=self.language,
            end_of_utterance=result.end_of_utterance,
        )
        async with self._commit:
            await self._commit_final(final)
            if result.text:
                self._fragments.setdefault(utterance, []).append(result.text)
            if result.end_of_utterance:
                self._awaiting_final.discard(utterance)
                if (ended_at := self._speech_ended_at.pop(utterance, None)) is not None:
                    delay = time.perf_counter() - ended_at
                    metrics.FINAL_LATENCY.observe(delay)
                    self.listener.engine.note_final_delay(delay)
                await self._dictate(utterance, " ".join(self._fragments.pop(utterance, [])))

    def _close_line_after_silence(self) -> None:
        """``line_silence_s`` of silence after the last final: the open line is complete."""
        draft = self.dictation.draft
        if (draft is None or draft.open_line is None or self._speaking or self._awaiting_final
                or self._last_speech_end is None or self.audio_seconds - self._last_speech_end < self.line_silence_s
                or (self._line_closer is not None and not self._line_closer.done())):
            return
        self._line_closer = asyncio.get_running_loop().create_task(self._end_line())

    async def _end_line(self) -> None:
        async with self._commit:
            if not self._speaking:
                await self._outcomes(None, self.dictation.end_line())

    def failed(self, exc: Exception) -> None:
        if isinstance(exc, SessionErased):
            log.info("session %s: ended, its patient was erased", self.id[:8])
            self._emit(ev.Error(code="session_erased", message=str(exc), fatal=True))
        else:
            log.error("session %s: recognition failed", self.id, exc_info=exc)
            self._emit(ev.Error(code="internal_error", message=f"recognition failed: {type(exc).__name__}", fatal=True))

    # -- end -------------------------------------------------------------------

    async def stop(self, reason: str = "stop") -> None:
        """Flush: end the open utterance, wait for every final, send ``closed``
        (once: a second caller waits for the first stop)."""
        if self._stopping is None:
            self._stopping = asyncio.create_task(self._stop(reason), name=f"stop-{self.id[:8]}")
        await asyncio.shield(self._stopping)

    async def _stop(self, reason: str) -> None:
        self.listener.finish()
        await self.listener.drained()
        if self._document_worker is not None:  # documents asked for before the stop are delivered
            self._document_jobs.put_nowait(None)
            await asyncio.shield(self._document_worker)
        await self._end_journal(reason)
        self._emit(ev.Closed(reason=reason, audio_seconds=round(self.audio_seconds, 3), utterances=self.utterances))
        await self._end_feed()

    async def close(self) -> None:
        """Abandon the session (client gone): stop recognising at once."""
        await self.listener.cancel()
        if self._line_closer is not None:
            self._line_closer.cancel()
        if self._document_worker is not None:
            self._document_worker.cancel()
            await asyncio.gather(self._document_worker, return_exceptions=True)
        with contextlib.suppress(Exception):  # the journal keeps what was committed; the end time is a courtesy
            await self._end_journal("disconnected")
        if self.publisher is not None:  # not ended by a stop: the room learns it is over
            self._emit(ev.SessionEnded(reason="disconnected", utterances=self.utterances))  # no client to tell
        await self._end_feed()

    async def _end_feed(self) -> None:
        """Write the room's last events, then leave the room (once)."""
        publisher, self.publisher = self.publisher, None
        if publisher is not None:
            if publisher.offer in self._subscribers:
                self._subscribers.remove(publisher.offer)
            await publisher.close()

    async def _end_journal(self, reason: str) -> None:
        if self.journal is not None and not self._journal_ended and self._journal_opened:
            self._journal_ended = True
            await self.journal.close_session(self.id, reason)

    # -- commits ---------------------------------------------------------------------

    def _emit(self, event: ev.SessionEvent) -> None:
        """Publish an event, once, to every subscriber."""
        for subscriber in self._subscribers:
            subscriber(event)

    def _to_client(self, event: ev.SessionEvent) -> None:
        """Queue an event for the client, within bounds: a client that reads
        too slowly first loses partials (the finals replace them), then the
        session ends (``client_too_slow``; it can be resumed)."""
        if not isinstance(event, ev.SERVER_EVENTS):  # not the room's own (session started/ended)
            return
        waiting = self.events.qsize()
        if isinstance(event, ev.Partial) and waiting >= PARTIALS_DROPPED_FROM:
            self.partials_dropped += 1
            return
        if waiting >= EVENTS_MAX:
            if not self._too_slow:
                self._too_slow = True
                log.warning("session %s: the client reads too slowly (%d events waiting); ending it", self.id[:8], waiting)
                self.events.put_nowait(ev.Error(code="client_too_slow", message=f"{waiting} events waiting: the connection is too slow; resume the session", fatal=True))
            return
        self.events.put_nowait(event)

    def allow_request(self) -> bool:
        """A client's `text`, `preview` or `accept`: within the session's rate
        (a burst of three seconds' worth, then ``requests_per_s`` a second)?"""
        now = time.monotonic()
        self._requests = min(3 * self.requests_per_s, self._requests + (now - self._requests_at) * self.requests_per_s)
        self._requests_at = now
        if self._requests < 1:
            return False
        self._requests -= 1
        return True

    async def _commit_final(self, final: ev.Final) -> None:
        """Write a final to the journal, then send it (under ``_commit``)."""
        if self.journal is not None and (final.text or final.source == "text"):
            await self.journal.final(self.id, utterance=final.utterance, source=final.source, text=final.text,
                                     words=[w.model_dump() for w in final.words], start=final.start, end=final.end,
                                     language=final.language, end_of_utterance=final.end_of_utterance)
        self._emit(final)

    async def _dictate(self, uid: int, text: str) -> None:
        """Commands and drafting on a whole utterance (under ``_commit``)."""
        if not text.strip():
            return
        await self._outcomes(uid, self.dictation.handle(text))

    async def _outcomes(self, uid: int | None, outcomes: list[Outcome]) -> None:
        """Send what the dictation did; a draft change is written to the
        journal before it is sent."""
        for outcome in outcomes:
            match outcome:
                case CommandDone(message=message, command=command, confidence=confidence):
                    self._emit(ev.Command(utterance=uid, command=command, confidence=confidence, message=message))
                case HintGiven(message=message, command=command, confidence=confidence):
                    self._emit(ev.Hint(utterance=uid, command=command, confidence=confidence, message=message))
                case DraftChanged(draft=draft, change=change):
                    if self.journal is not None:
                        await self.journal.draft_change(self.id, uid, draft, change)
                    self._emit(ev.DraftUpdated(utterance=uid, draft=draft, change=change))
                case ReadBack():
                    self._emit(ev.Readback(
                        utterance=uid, kind=outcome.document_kind, title=outcome.title, version=outcome.version,
                        lines=[ev.ReadbackLine(number=i, text=text) for i, text in enumerate(outcome.lines, 1)],
                        pending=outcome.pending, message=outcome.message))
                case Warned(message=message):
                    self._emit(ev.WarningEvent(utterance=uid, message=message))
                case DocumentAsked():
                    self._issue(uid, outcome)
                case Ignored():
                    pass  # dictation paused, or not content: the final is in the transcript
                case _:
                    assert_never(outcome)
        self._follow_draft()

    def _follow_draft(self) -> None:
        """Prompt the recognizer with the words of the document being
        dictated (the default vocabulary when none is open)."""
        if self._draft_vocabulary:
            kind = self.dictation.draft.kind if self.dictation.draft is not None else None
            self.listener.set_vocabulary(tuple(draft_vocabulary(self.language, kind)[: self._max_vocabulary]))

    # -- documents ---------------------------------------------------------------

    def _issue(self, uid: int | None, asked: DocumentAsked) -> None:
        """Render a document after the events already queued, off the
        recognition worker (decoding goes on meanwhile)."""
        if self.documents is None:
            self._emit(ev.Error(code="documents_unavailable", message="this server renders no documents"))
            return
        self._document_jobs.put_nowait((uid, asked))
        if self._document_worker is None:
            self._document_worker = asyncio.create_task(self._render_documents(), name=f"documents-{self.id[:8]}")

    async def _render_documents(self) -> None:
        assert self.documents is not None
        while (job := await self._document_jobs.get()) is not None:
            uid, asked = job
            try:
                doc = await self.documents.issue(asked.draft, self.dictation.context, preview=asked.preview,
                                                 owner=self.owner.of_session(self.id))
            except Exception as exc:
                log.exception("session %s: rendering document %s failed", self.id, asked.draft.id)
                self._emit(ev.Error(code="document_failed", message=f"the document could not be rendered ({type(exc).__name__}); the draft is kept"))
                continue
            self._emit(ev.DocumentReady(
                utterance=uid, document_id=doc.id, version=doc.version, kind=doc.kind, title=doc.title, number=doc.number,
                status=doc.status, url=doc.pdf_url, fhir_url=doc.fhir_url, sha256=doc.sha256, print=asked.print,
                render_ms=doc.render_ms,
            ))
