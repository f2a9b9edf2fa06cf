"""The wire protocol v1 in code: one typed model per message.

Client → server messages are validated on the way in
(:func:`parse_client_message`); server → client events are built from these
models only.  ``docs/protocol.md`` documents the same messages with examples.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter, ValidationError, field_validator

from .record.context import Lab
from .record.draft import Draft

PROTOCOL_VERSION = 1


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------
# client → server


class Start(_Message):
    type: Literal["start"]
    language: Literal["fr", "en"] = "fr"
    sample_rate: int = Field(16000, ge=8000, le=48000)
    encoding: Literal["pcm_s16le", "pcm_f32le"] = "pcm_s16le"
    channels: int = Field(1, ge=1, le=2)
    # None: the server's default vocabulary (CHAIRSIDE_DEFAULT_VOCABULARY); [] for none
    vocabulary: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(None, max_length=256)
    # the access token (POST /v1/auth/login), unless sent in the Authorization header of the handshake
    token: str | None = Field(None, max_length=4096)
    room: str | None = Field(None, pattern=r"^[0-9a-f]{32}$")  # the room dictated in: its screens follow
    patient: str | None = Field(None, pattern=r"^[0-9a-f]{32}$")  # the patient documents are for
    lab: Lab = Field(default_factory=Lab)  # the dental lab a lab order goes to
    resume: str | None = Field(None, pattern=r"^[0-9a-f]{32}$")  # go on with an interrupted session of yours

    @field_validator("vocabulary")
    @classmethod
    def _clean(cls, terms: list[str] | None) -> list[str] | None:
        return None if terms is None else [" ".join(t.split()) for t in terms if t.strip()]


class Stop(_Message):
    type: Literal["stop"]


class Text(_Message):
    """Typed text, handled exactly like a final utterance (keyboard corrections)."""

    type: Literal["text"]
    text: str = Field(min_length=1, max_length=2000)


class Preview(_Message):
    """Render a preview PDF of the open draft (answered by ``document.ready``)."""

    type: Literal["preview"]


class Accept(_Message):
    """Accept the formulary drug suggested for a line of the open draft (the
    page's button for "Vouliez-vous dire … ?"; saying "oui" does the same)."""

    type: Literal["accept"]
    index: int = Field(ge=0, le=999)  # the line, 0-based as in draft.updated's change.index


class TokenRenewal(_Message):
    """A fresh token for the open connection (``POST /v1/auth/refresh``'s),
    sent before the one it started with expires; on screens too."""

    type: Literal["token"]
    token: str = Field(min_length=1, max_length=4096)


ClientMessage = Annotated[Union[Start, Stop, Text, Preview, Accept, TokenRenewal], Field(discriminator="type")]
_client_adapter: TypeAdapter = TypeAdapter(ClientMessage)
CLIENT_TYPES = ("start", "stop", "text", "preview", "accept", "token")


class ProtocolError(Exception):
    """Bad input from a client: ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_client_message(text: str) -> Start | Stop | Text | Preview | Accept | TokenRenewal:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError("invalid_json", f"text frame is not JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("invalid_json", "a message must be a JSON object")
    kind = data.get("type")
    if kind not in CLIENT_TYPES:
        raise ProtocolError("unknown_message", f"unknown message type {kind!r}; expected one of {', '.join(CLIENT_TYPES)}")
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'message'}: {e['msg']}" for e in exc.errors())
        raise ProtocolError("invalid_message", f"invalid {kind!r} message: {details}") from exc


# --------------------------------------------------------------------------
# server → client


class Ready(_Message):
    type: Literal["ready"] = "ready"
    protocol: int = PROTOCOL_VERSION
    session_id: str
    language: str
    model: str
    sample_rate: int  # of the client's audio, as announced
    asr_sample_rate: int = 16000
    room: str | None = None
    patient: str | None = None
    resumed: bool = False  # an interrupted session goes on: its utterance numbers and draft continue
    utterances: int = 0  # utterances the session had (0 for a new one)


class Vad(_Message):
    type: Literal["vad"] = "vad"
    event: Literal["speech_start", "speech_end"]
    utterance: int
    t: float  # seconds of session audio


class Partial(_Message):
    type: Literal["partial"] = "partial"
    utterance: int
    stable: str  # committed, never changes: later partials and the final start with it
    unstable: str  # may still change
    audio_end: float  # session audio time the hypothesis covers


class WordTiming(_Message):
    word: str
    start: float
    end: float
    probability: float


class Final(_Message):
    type: Literal["final"] = "final"
    utterance: int
    text: str
    words: list[WordTiming]
    start: float
    end: float
    language: str
    end_of_utterance: bool = True  # false: a long utterance was cut, more follows
    source: Literal["speech", "text"] = "speech"  # "text": a typed `text` message


class Command(_Message):
    """A voice (or typed) command was understood and carried out."""

    type: Literal["command"] = "command"
    utterance: int | None  # None: asked by a client message (`accept`), not by an utterance
    command: str
    confidence: float
    message: str  # what it did, for the user: "Ordonnance ouverte"


class Hint(_Message):
    """An utterance that nearly was a command: nothing was done."""

    type: Literal["hint"] = "hint"
    utterance: int
    command: str
    confidence: float
    message: str


class ReadbackLine(_Message):
    number: int  # 1-based, as said in "efface la ligne 2"
    text: str


class Readback(_Message):
    """The open document read back before it is signed ("valide"), or on
    demand ("relis"): its lines as plain text, numbered.  ``pending`` is what
    "oui" / "confirme" now does (``validate``, ``validate_and_print``); any
    other utterance cancels it.  None: nothing waits."""

    type: Literal["readback"] = "readback"
    utterance: int | None
    kind: str  # the document kind: prescription, medical_certificate, lab_order, clinical_report
    title: str
    version: int
    lines: list[ReadbackLine]
    pending: Literal["validate", "validate_and_print"] | None
    message: str  # "Ordonnance, version 1 : 2 lignes. Dites « oui » pour signer"


class DraftUpdated(_Message):
    """The open draft changed: the whole draft and what changed."""

    type: Literal["draft.updated"] = "draft.updated"
    utterance: int | None  # None: not caused by an utterance (a resumed session's draft)
    draft: Draft  # as it stands after the change
    change: dict


class WarningEvent(_Message):
    """Something the practitioner must check (a dose, a tooth number...)."""

    type: Literal["warning"] = "warning"
    utterance: int | None  # None: not about an utterance (a `preview` message)
    message: str


class DocumentReady(_Message):
    """A document version was rendered: fetch its PDF at ``url``."""

    type: Literal["document.ready"] = "document.ready"
    utterance: int | None  # the utterance that asked for it; None for a `preview` message
    document_id: str
    version: int
    kind: str
    title: str
    number: str  # as printed on the document
    status: Literal["validated", "preview"]
    url: str  # the PDF, relative to the server
    fhir_url: str | None  # validated versions only
    sha256: str
    print: bool  # the practitioner asked for it to be printed
    render_ms: float


class Error(_Message):
    type: Literal["error"] = "error"
    code: str
    message: str
    fatal: bool = False  # true: the server closes the connection after it


class Closed(_Message):
    type: Literal["closed"] = "closed"
    reason: str
    audio_seconds: float
    utterances: int


ServerEvent = Union[Ready, Vad, Partial, Final, Command, Hint, Readback, DraftUpdated, WarningEvent, DocumentReady, Error, Closed]
SERVER_EVENTS = get_args(ServerEvent)


# --------------------------------------------------------------------------
# rooms: the screens' WebSocket (/v1/rooms/{room}/events) and the room's log


class Hello(BaseModel):
    """A screen's first message (other fields are ignored)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["hello"]
    token: Any = None  # or in the handshake's Authorization header; whatever it is, the token check judges it
    last_seq: StrictInt | None = Field(None, ge=0)  # the last event seen, when reconnecting


class PatientRef(_Message):
    id: str
    code: str
    last_name: str
    first_name: str


class StartedSession(_Message):
    id: str
    language: str
    practitioner: str
    patient: PatientRef | None
    resumed: bool


class SessionStarted(_Message):
    """A dictation began (or was resumed) in the room."""

    type: Literal["session.started"] = "session.started"
    session: StartedSession


class SessionEnded(_Message):
    """The room's dictation ended: stopped, or its connection lost (``disconnected``)."""

    type: Literal["session.ended"] = "session.ended"
    reason: str
    utterances: int


# What a room's screens are told of a session, in its log (connection-specific
# events are not: ready, vad, errors; an empty final is not either).
SharedEvent = Annotated[
    Union[Partial, Final, Command, Hint, Readback, DraftUpdated, WarningEvent, DocumentReady, SessionStarted, SessionEnded],
    Field(discriminator="type"),
]
SHARED = (Partial, Final, Command, Hint, Readback, DraftUpdated, WarningEvent, DocumentReady, SessionStarted, SessionEnded)


def shared(event: BaseModel) -> BaseModel | None:
    """What the room's screens get of one of a session's events (None: nothing)."""
    if isinstance(event, Final) and not event.text:
        return None  # nothing was said (the journal keeps no empty final either)
    if isinstance(event, Closed):
        return SessionEnded(reason=event.reason, utterances=event.utterances)
    return event if isinstance(event, SHARED) else None


class RoomEntry(BaseModel):
    """One event of a room's log: stored as the event's JSON plus
    ``session_id``; sent to screens with its sequence number ``seq`` too."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    event: SharedEvent

    def stored(self) -> dict:
        return {**self.event.model_dump(mode="json"), "session_id": self.session_id}


def in_room(seq: int, stored: dict) -> dict:
    """An event of the room's log as screens get it: with its ``seq``."""
    return {**stored, "seq": seq}


class Catchup(_Message):
    """A reconnecting screen gets exactly the ``events`` it missed after ``after``, next."""

    type: Literal["catchup"] = "catchup"
    after: int
    events: int


class RoomRef(_Message):
    id: str
    name: str


class TranscriptLine(_Message):
    utterance: int
    text: str
    start: float
    end: float
    source: Literal["speech", "text"]
    end_of_utterance: bool


class RoomDocument(_Message):
    """A validated document of the session (its ``document.ready`` but ``print``)."""

    utterance: int | None
    document_id: str
    version: int
    kind: str
    title: str
    number: str
    status: Literal["validated", "preview"]
    url: str
    fhir_url: str | None
    sha256: str
    render_ms: float


class SessionState(_Message):
    """The room's latest session as a snapshot shows it."""

    id: str
    language: str
    practitioner: str
    patient: PatientRef | None
    started_at: str
    ended_at: str | None
    transcript: list[TranscriptLine]
    drafts: list[Draft]  # the drafts as last changed, but those discarded
    documents: list[RoomDocument]


class Snapshot(_Message):
    """The room as of sequence ``seq``: it replaces what a screen shows."""

    type: Literal["snapshot"] = "snapshot"
    seq: int
    room: RoomRef
    session: SessionState | None
    reason: Literal["connect", "behind"] = "connect"


SessionEvent = Union[ServerEvent, SessionStarted, SessionEnded]  # what a session publishes (session.py)
