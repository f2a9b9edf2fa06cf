"""Document versions: rendered once, kept unchanged, fetched by id.

A validated version is immutable: it is stored once with its PDF and the
PDF's sha256, and asking for it again (a second "imprime") returns the same
bytes.  A later change to the draft makes the next version.  Previews are
not versions: only the latest preview of a document is kept.

This store lives in memory, inside one server process; the PostgreSQL store
(issue 4) takes its place with the same interface.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from .context import DocumentContext
from .render import TITLES, document_number, render_pdf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentVersion:
    id: str  # the draft's id (hex of a UUID), the same for all its versions
    version: int
    kind: str
    status: Literal["validated", "preview"]
    number: str  # as printed: "ORD-20261129-1A2B3C4D"
    issued_at: datetime
    draft: dict  # the draft as validated (Draft.as_dict())
    context: dict  # practitioner, clinic, patient, lab as printed
    pdf: bytes
    sha256: str
    render_ms: float

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def pdf_url(self) -> str:
        if self.status == "preview":
            return f"/v1/documents/{self.id}/preview.pdf"
        return f"/v1/documents/{self.id}.pdf?version={self.version}"

    @property
    def fhir_url(self) -> str | None:
        return None if self.status == "preview" else f"/v1/documents/{self.id}/fhir?version={self.version}"

    @property
    def filename(self) -> str:
        return f"{self.number}-v{self.version}{'-apercu' if self.status == 'preview' else ''}.pdf"


class DocumentStore:
    """Validated versions by (id, version); the latest preview by id."""

    def __init__(self) -> None:
        self._versions: dict[str, dict[int, DocumentVersion]] = {}
        self._previews: dict[str, DocumentVersion] = {}

    def put(self, doc: DocumentVersion) -> None:
        if doc.status == "preview":
            self._previews[doc.id] = doc
            return
        versions = self._versions.setdefault(doc.id, {})
        if doc.version in versions:
            raise ValueError(f"document {doc.id} version {doc.version} exists already and cannot change")
        versions[doc.version] = doc

    def get(self, document_id: str, version: int | None = None) -> DocumentVersion | None:
        """A validated version; the latest one when ``version`` is None."""
        versions = self._versions.get(document_id)
        if not versions:
            return None
        return versions.get(max(versions) if version is None else version)

    def versions(self, document_id: str) -> list[DocumentVersion]:
        return [v for _, v in sorted(self._versions.get(document_id, {}).items())]

    def preview(self, document_id: str) -> DocumentVersion | None:
        return self._previews.get(document_id)


class DocumentService:
    """Renders documents off the event loop (one at a time) and stores them."""

    def __init__(self, store: DocumentStore, timezone: str = "Europe/Paris") -> None:
        self.store = store
        self.tz = ZoneInfo(timezone)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")

    def now(self) -> datetime:
        return datetime.now(self.tz).replace(microsecond=0)

    async def issue(self, draft: dict, ctx: DocumentContext, *, preview: bool) -> DocumentVersion:
        """Render and store a validated version (once: the stored one is
        returned if it exists) or a preview."""
        if not preview and (existing := self.store.get(draft["id"], draft["version"])) is not None:
            return existing
        issued_at = self.now()
        started = time.perf_counter()
        pdf = await asyncio.get_running_loop().run_in_executor(
            self._executor, lambda: render_pdf(draft, ctx, issued_at, preview=preview))
        doc = DocumentVersion(
            id=draft["id"], version=draft["version"], kind=draft["kind"], status="preview" if preview else "validated",
            number=document_number(draft["kind"], draft["id"], issued_at.date()), issued_at=issued_at, draft=draft,
            context=ctx.model_dump(mode="json"), pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
            render_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        if not preview and (existing := self.store.get(doc.id, doc.version)) is not None:
            return existing  # rendered meanwhile by another request: the first one stands
        self.store.put(doc)
        log.info("document %s v%d %s rendered in %.0f ms", doc.number, doc.version, doc.status, doc.render_ms)
        return doc

    async def warm_up(self) -> None:
        from .render import warm_up

        await asyncio.get_running_loop().run_in_executor(self._executor, warm_up)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
