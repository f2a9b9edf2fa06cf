"""A rendered document version, and whose a session and its documents are."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .draft import Draft
from .kinds import title


@dataclass(frozen=True)
class Owner:
    """Whose a session and its documents are (hex ids; None when unknown)."""

    clinic_id: str | None = None
    user_id: str | None = None
    room_id: str | None = None
    patient_id: str | None = None
    session_id: str | None = None

    def of_session(self, session_id: str) -> "Owner":
        return dataclasses.replace(self, session_id=session_id)


@dataclass(frozen=True)
class DocumentVersion:
    id: str  # the draft's id (hex of a UUID), the same for all its versions
    version: int
    kind: str
    status: Literal["validated", "preview"]
    number: str  # as printed: "ORD-20261129-1A2B3C4D"
    issued_at: datetime
    draft: Draft  # as validated (or previewed)
    context: dict  # practitioner, clinic, patient, lab as printed
    pdf: bytes
    sha256: str
    render_ms: float

    @property
    def title(self) -> str:
        return title(self.kind)

    @property
    def pdf_url(self) -> str:
        return f"/v1/documents/{self.id}/preview.pdf" if self.status == "preview" else pdf_url(self.id, self.version)

    @property
    def fhir_url(self) -> str | None:
        return None if self.status == "preview" else fhir_url(self.id, self.version)

    @property
    def filename(self) -> str:
        return f"{self.number}-v{self.version}{'-apercu' if self.status == 'preview' else ''}.pdf"


def pdf_url(document_id: str, version: int) -> str:
    return f"/v1/documents/{document_id}.pdf?version={version}"


def fhir_url(document_id: str, version: int) -> str:
    return f"/v1/documents/{document_id}/fhir?version={version}"
