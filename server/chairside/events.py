"""The wire protocol v1 in code: one typed model per message.

Client → server messages are validated on the way in
(:func:`parse_client_message`); server → client events are built from these
models only.  ``docs/protocol.md`` documents the same messages with examples.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

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


ClientMessage = Annotated[Union[Start, Stop, Text, Preview], Field(discriminator="type")]
_client_adapter: TypeAdapter = TypeAdapter(ClientMessage)
CLIENT_TYPES = ("start", "stop", "text", "preview")


class ProtocolError(Exception):
    """Bad input from a client: ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_client_message(text: str) -> Start | Stop | Text | Preview:
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
    utterance: int
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


ServerEvent = Union[Ready, Vad, Partial, Final, Command, Hint, DraftUpdated, WarningEvent, DocumentReady, Error, Closed]
