"""What one utterance did to the dictation: a union of typed outcomes.

:meth:`Dictation.handle <chairside.dictation.state.Dictation.handle>`
returns a list of them; the session turns each into its protocol event by
its type.  ``kind`` names each type for people and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Union

from ..record.draft import Draft


@dataclass(frozen=True)
class CommandDone:
    """A command was understood and carried out (or answered: "Rien à effacer")."""

    kind: ClassVar[str] = "command"
    message: str
    command: str
    confidence: float


@dataclass(frozen=True)
class HintGiven:
    """The utterance nearly was a command, or a command lacked its words: nothing was done."""

    kind: ClassVar[str] = "hint"
    message: str
    command: str
    confidence: float


@dataclass(frozen=True)
class DraftChanged:
    """The open draft changed: the draft as it now stands, and what changed."""

    kind: ClassVar[str] = "draft_updated"
    message: str
    draft: Draft
    change: dict


@dataclass(frozen=True)
class Warned:
    """Something the practitioner must check (a dose, a tooth number...)."""

    kind: ClassVar[str] = "warning"
    message: str


@dataclass(frozen=True)
class DocumentAsked:
    """A version to render: validated (to print or not), or a preview."""

    kind: ClassVar[str] = "document"
    message: str
    draft: Draft
    preview: bool = False
    print: bool = False


@dataclass(frozen=True)
class ReadBack:
    """The open document read back: its lines, numbered (1-based), as plain
    text; ``pending`` is what a "oui" now does (``validate``,
    ``validate_and_print``) or None ("relis": nothing waits)."""

    kind: ClassVar[str] = "readback"
    message: str
    document_kind: str
    title: str
    version: int
    lines: tuple[str, ...]
    pending: str | None = None


@dataclass(frozen=True)
class Ignored:
    """The utterance was not used: dictation is paused, or it was not content
    (talk to the patient); it stays in the transcript only."""

    kind: ClassVar[str] = "ignored"
    message: str


Outcome = Union[CommandDone, HintGiven, DraftChanged, Warned, DocumentAsked, ReadBack, Ignored]
