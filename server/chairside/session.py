"""One dictation session: audio → VAD → streaming ASR → events.

The session knows nothing of sockets: the WebSocket transport, the WebRTC
transport and ``chairside transcribe`` all feed it audio and read
``session.events``.  Recognition runs in a per-session worker task, so the
events of one session are always in order: for each utterance, ``vad``
speech_start, partials, ``vad`` speech_end, then its final(s) (a partial
already under way may arrive after speech_end, never after the final).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque

import numpy as np

from . import events as ev
from .asr.engine import AsrEngine
from .asr.streaming import PROMPT_CONTEXT_CHARS, FinalResult, StreamingOptions, UtteranceTranscriber
from .audio import SAMPLE_RATE
from .audio.pcm import PcmDecoder, Resampler
from .audio.vad import Endpointer, SileroVad, VadEvent, VadOptions
from .config import Settings
from .dictation.state import Dictation, Outcome
from .dictation.vocabulary import default_vocabulary
from .record.context import DocumentContext
from .documents.store import DocumentService
from .record.versions import Owner
from .rooms import RoomPublisher, room_event
from .store.journal import Journal, Resumed, SessionErased

log = logging.getLogger(__name__)


class SessionLimit(Exception):
    """The session reached its configured maximum duration."""


class Session:
    def __init__(self, *, engine: AsrEngine, vad: SileroVad, settings: Settings, start: ev.Start, model_name: str = "",
                 documents: DocumentService | None = None, journal: Journal | None = None,
                 context: DocumentContext | None = None, owner: Owner | None = None,
                 publisher: RoomPublisher | None = None, resumed: Resumed | None = None, session_id: str | None = None) -> None:
        """``owner``: the clinic, dentist, room and patient the session is
        recorded under; ``publisher``: the room's live feed; ``resumed``: what
        an interrupted session had committed, to go on from."""
        self.id = session_id or (resumed.session_id if resumed else uuid.uuid4().hex)
        self.settings = settings
        self.language = start.language
        self.engine = engine
        self.events: asyncio.Queue[ev.ServerEvent | None] = asyncio.Queue()  # None: end of stream (transport)
        self.decoder = PcmDecoder(start.encoding, start.channels)
        self.resampler = Resampler(start.sample_rate)
        self.endpointer = Endpointer(
            vad.stream(),
            VadOptions(
                threshold=settings.vad_threshold,
                min_speech_ms=settings.vad_min_speech_ms,
                min_silence_ms=settings.vad_min_silence_ms,
                speech_pad_ms=settings.vad_speech_pad_ms,
                max_utterance_s=settings.vad_max_utterance_s,
            ),
        )
        self.streaming = StreamingOptions(
            language=start.language,
            vocabulary=tuple(self._vocabulary(start, settings)[: settings.max_vocabulary_terms]),
            partial_interval_s=settings.partial_interval_s,
            partial_beam_size=settings.partial_beam_size,
            final_beam_size=settings.final_beam_size,
            window_s=settings.asr_window_s,
            agreement_n=settings.agreement_n,
        )
        self.samples = 0  # 16 kHz samples received
        self.utterances = 0
        self._buffer = np.zeros(0, np.float32)  # recent stream audio ...
        self._buffer_start = 0  # ... starting at this sample
        self._preroll = (settings.vad_speech_pad_ms + settings.vad_min_speech_ms) * SAMPLE_RATE // 1000 + SAMPLE_RATE
        self._open: tuple[int, UtteranceTranscriber] | None = None
        self._closing: deque[tuple[int, UtteranceTranscriber]] = deque()
        self._last_partial: dict[int, tuple[str, str]] = {}
        self._context = ""  # recent final text: the next utterance's prompt
        self.documents = documents
        self.journal = journal
        self._journal_ended = False
        self._commit = asyncio.Lock()  # a final or draft change: written, then sent, one at a time
        self.owner = owner or Owner()
        self.publisher = publisher
        context = context or DocumentContext(lab=start.lab)
        if journal is None:
            opening = asyncio.sleep(0)
        elif resumed is not None:
            opening = journal.reopen_session(self.id)
        else:
            opening = journal.open_session(self.id, start.language, context.model_dump(mode="json"), self.owner)
        self._journal_opened = asyncio.ensure_future(opening)
        if publisher is not None:
            publisher.after(self._journal_opened)
        today = documents.now().date() if documents else None  # the practice's date, for "jeudi prochain"
        self.dictation = Dictation(start.language, today=today, context=context)
        if resumed is not None:
            self.utterances = resumed.utterances
            self.dictation.restore(resumed.draft)
        self._document_jobs: asyncio.Queue[tuple[int | None, Outcome] | None] = asyncio.Queue()
        self._document_worker: asyncio.Task | None = None
        self._fragments: dict[int, list[str]] = {}  # finals of an utterance cut by the window
        self._wake = asyncio.Event()
        self._stopping = False
        self._emit(ev.Ready(session_id=self.id, language=start.language, model=model_name, sample_rate=start.sample_rate,
                            room=self.owner.room_id, patient=self.owner.patient_id, resumed=resumed is not None,
                            utterances=self.utterances))
        if resumed is not None and self.dictation.draft is not None:  # the open draft, as it was
            self._emit(ev.DraftUpdated(utterance=None, draft=self.dictation.draft.as_dict(), change={"op": "resume"}))
        self._worker = asyncio.create_task(self._run(), name=f"session-{self.id[:8]}")

    @staticmethod
    def _vocabulary(start: ev.Start, settings: Settings) -> list[str]:
        if start.vocabulary is not None:
            return start.vocabulary
        return default_vocabulary(start.language) if settings.default_vocabulary else []

    @property
    def audio_seconds(self) -> float:
        return self.samples / SAMPLE_RATE

    # -- audio in --------------------------------------------------------------

    def feed_pcm(self, data: bytes) -> None:
        """Raw client audio; raises PcmError on a malformed frame, SessionLimit
        when the session is over its maximum duration."""
        self.feed(self.resampler.push(self.decoder.decode(data)))

    def feed(self, samples: np.ndarray) -> None:
        """16 kHz mono float32 audio."""
        if self._stopping:
            return
        if samples.size:
            self._buffer = np.concatenate([self._buffer, samples])
            self.samples += samples.size
            for event in self.endpointer.feed(samples):
                self._on_vad(event)
            self._fill_open(self.samples)
            self._trim_buffer()
            self._wake.set()
        if self.audio_seconds > self.settings.max_session_s:
            raise SessionLimit(f"session reached its maximum duration of {self.settings.max_session_s:g} s of audio")

    def _slice(self, start: int, end: int) -> np.ndarray:
        return self._buffer[max(0, start - self._buffer_start) : max(0, end - self._buffer_start)]

    def _fill_open(self, until: int) -> None:
        if self._open is not None:
            u = self._open[1]
            have = u.start + u.audio.size
            if until > have:
                u.append(self._slice(have, until))

    def _trim_buffer(self) -> None:
        keep_from = self.samples - self._preroll
        if self._open is not None:
            u = self._open[1]
            keep_from = min(keep_from, u.start + u.audio.size)
        drop = keep_from - self._buffer_start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._buffer_start = keep_from

    def _on_vad(self, event: VadEvent) -> None:
        if event.kind == "speech_start":
            self.utterances += 1
            u = UtteranceTranscriber(engine=self.engine, options=self.streaming, start=event.sample, context=self._context)
            self._open = (self.utterances, u)
            self._emit(ev.Vad(event="speech_start", utterance=self.utterances, t=round(event.t, 3)))
        elif self._open is not None:
            uid, u = self._open
            self._fill_open(event.sample)
            u.close(event.sample)
            self._open = None
            self._closing.append((uid, u))
            self._emit(ev.Vad(event="speech_end", utterance=uid, t=round(event.t, 3)))

    async def add_text(self, text: str) -> None:
        """Typed text: a final utterance of its own, then dictation."""
        self.utterances += 1
        uid, t = self.utterances, round(self.audio_seconds, 3)
        async with self._commit:
            await self._commit_final(ev.Final(utterance=uid, text=text, words=[], start=t, end=t, language=self.language, source="text"))
            await self._dictate(uid, text)

    # -- end -------------------------------------------------------------------

    async def stop(self, reason: str = "stop") -> None:
        """Flush: end the open utterance, wait for every final, send ``closed``."""
        if not self._stopping:
            try:
                self.feed(self.resampler.flush())
            except SessionLimit:
                pass
            for event in self.endpointer.finish(self.samples):
                self._on_vad(event)
            self._stopping = True
            self._wake.set()
        await asyncio.shield(self._worker)
        if self._document_worker is not None:  # documents asked for before the stop are delivered
            self._document_jobs.put_nowait(None)
            await asyncio.shield(self._document_worker)
        await self._end_journal(reason)
        self._emit(ev.Closed(reason=reason, audio_seconds=round(self.audio_seconds, 3), utterances=self.utterances))
        await self._end_feed()

    async def close(self) -> None:
        """Abandon the session (client gone): stop recognising at once."""
        self._stopping = True
        self._worker.cancel()
        tasks = [self._worker]
        if self._document_worker is not None:
            self._document_worker.cancel()
            tasks.append(self._document_worker)
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):  # the journal keeps what was committed; the end time is a courtesy
            await self._end_journal("disconnected")
        if self.publisher is not None:
            self.publisher.publish({"type": "session.ended", "reason": "disconnected", "utterances": self.utterances})
        await self._end_feed()

    async def _end_feed(self) -> None:
        """Write the room's last events, then leave the room (once)."""
        publisher, self.publisher = self.publisher, None
        if publisher is not None:
            await publisher.close()

    async def _end_journal(self, reason: str) -> None:
        if self.journal is not None and not self._journal_ended:
            self._journal_ended = True
            await self._journal_opened
            await self.journal.close_session(self.id, reason)

    # -- recognition worker ------------------------------------------------------

    def _emit(self, event: ev.ServerEvent) -> None:
        self.events.put_nowait(event)
        if self.publisher is not None and (shared := room_event(event)) is not None:
            self.publisher.publish(shared)

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while await self._step():
                    pass
                if self._stopping and not self._closing:
                    return
        except asyncio.CancelledError:
            raise
        except SessionErased as exc:
            log.info("session %s: ended, its patient was erased", self.id[:8])
            self._emit(ev.Error(code="session_erased", message=str(exc), fatal=True))
        except Exception as exc:
            log.exception("session %s: recognition failed", self.id)
            self._emit(ev.Error(code="internal_error", message=f"recognition failed: {type(exc).__name__}", fatal=True))

    async def _step(self) -> bool:
        """Run one recognition job if one is due; False when there is none."""
        if self._closing:
            uid, u = self._closing[0]
            finals = await u.final()
            self._closing.popleft()
            self._last_partial.pop(uid, None)
            for result in finals:
                await self._emit_final(uid, result)
            return True
        if self._open is None:
            return False
        pending_end = self.endpointer.pending_end
        if pending_end is not None:
            # Silent long enough that the final's audio is known: decode it now,
            # so that it is ready when the VAD confirms the end.  No partials
            # meanwhile: the final must not wait behind one.
            uid, u = self._open
            if u.speculated_end != pending_end:
                await u.speculate(pending_end)
                return True
            return False
        if self._open[1].partial_due:
            uid, u = self._open
            partial, cut = await u.partial()
            if cut is not None:
                await self._emit_final(uid, cut)
            shown = (partial.stable, partial.unstable)
            if any(shown) and self._last_partial.get(uid) != shown:
                self._last_partial[uid] = shown
                self._emit(ev.Partial(utterance=uid, stable=partial.stable, unstable=partial.unstable, audio_end=round(partial.audio_end, 3)))
            return True
        return False

    async def _emit_final(self, uid: int, result: FinalResult) -> None:
        if result.text:  # what was just said helps with what follows a short pause
            self._context = (self._context + " " + result.text)[-PROMPT_CONTEXT_CHARS:].strip()
            if self._open is not None and self._open[0] > uid and self._open[1].window_start == 0:
                self._open[1].context = self._context  # it started before this final was ready
        final = ev.Final(
            utterance=uid,
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
                self._fragments.setdefault(uid, []).append(result.text)
            if result.end_of_utterance:
                await self._dictate(uid, " ".join(self._fragments.pop(uid, [])))

    async def _commit_final(self, final: ev.Final) -> None:
        """Write a final to the journal, then send it (under ``_commit``)."""
        if self.journal is not None and (final.text or final.source == "text"):
            await self._journal_opened
            await self.journal.final(self.id, utterance=final.utterance, source=final.source, text=final.text,
                                     words=[w.model_dump() for w in final.words], start=final.start, end=final.end,
                                     language=final.language, end_of_utterance=final.end_of_utterance)
        self._emit(final)

    async def preview(self) -> None:
        """A preview PDF of the open draft (the client's `preview` message)."""
        async with self._commit:
            await self._outcomes(None, self.dictation.preview())

    async def _dictate(self, uid: int, text: str) -> None:
        """Commands and drafting on a whole utterance (under ``_commit``)."""
        if not text.strip():
            return
        await self._outcomes(uid, self.dictation.handle(text))

    async def _outcomes(self, uid: int | None, outcomes: list[Outcome]) -> None:
        """Send what the dictation did; a draft change is written to the
        journal before it is sent."""
        for outcome in outcomes:
            if outcome.kind == "draft_updated" and self.journal is not None:
                await self._journal_opened
                await self.journal.draft_change(self.id, uid, outcome.draft or {}, outcome.change or {})
            if outcome.kind == "command":
                self._emit(ev.Command(utterance=uid, command=outcome.command, confidence=outcome.confidence, message=outcome.message))
            elif outcome.kind == "hint":
                self._emit(ev.Hint(utterance=uid, command=outcome.command, confidence=outcome.confidence, message=outcome.message))
            elif outcome.kind == "draft_updated":
                self._emit(ev.DraftUpdated(utterance=uid, draft=outcome.draft or {}, change=outcome.change or {}))
            elif outcome.kind == "warning":
                self._emit(ev.WarningEvent(utterance=uid, message=outcome.message))
            elif outcome.kind == "document":
                self._issue(uid, outcome)
            # "ignored": dictation paused

    # -- documents ---------------------------------------------------------------

    def _issue(self, uid: int | None, outcome: Outcome) -> None:
        """Render a document after the events already queued, off the
        recognition worker (decoding goes on meanwhile)."""
        if self.documents is None:
            self._emit(ev.Error(code="documents_unavailable", message="this server renders no documents"))
            return
        self._document_jobs.put_nowait((uid, outcome))
        if self._document_worker is None:
            self._document_worker = asyncio.create_task(self._render_documents(), name=f"documents-{self.id[:8]}")

    async def _render_documents(self) -> None:
        assert self.documents is not None
        while (job := await self._document_jobs.get()) is not None:
            uid, outcome = job
            assert outcome.draft is not None
            try:
                doc = await self.documents.issue(outcome.draft, self.dictation.context, preview=outcome.preview,
                                                 owner=self.owner.of_session(self.id))
            except Exception as exc:
                log.exception("session %s: rendering document %s failed", self.id, outcome.draft.get("id"))
                self._emit(ev.Error(code="document_failed", message=f"the document could not be rendered ({type(exc).__name__}); the draft is kept"))
                continue
            self._emit(ev.DocumentReady(
                utterance=uid, document_id=doc.id, version=doc.version, kind=doc.kind, title=doc.title, number=doc.number,
                status=doc.status, url=doc.pdf_url, fhir_url=doc.fhir_url, sha256=doc.sha256, print=outcome.print,
                render_ms=doc.render_ms,
            ))
