"""Document versions: rendered once, kept unchanged, fetched by id.

A validated version is immutable: it is stored once with its PDF and the
PDF's sha256, and asking for it again (a second "imprime") returns the same
bytes.  A later change to the draft makes the next version.  Previews are
not versions: only the latest preview of a document is kept.

Stored in PostgreSQL, so documents outlive the server process and every
replica serves them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from ..store import audit
from ..record.context import DocumentContext
from ..record.kinds import document_number
from ..record.versions import DocumentVersion, Owner
from .render import render_pdf

log = logging.getLogger(__name__)


class DocumentStore:
    """Validated versions by (id, version) and the latest preview by id, in
    PostgreSQL (tables of ``store/migrations/0001_documents.sql``; a trigger
    refuses any update of a validated version)."""

    def __init__(self, pool) -> None:
        self.pool = pool

    async def put(self, doc: DocumentVersion, owner: Owner = Owner()) -> None:
        """Store a version (its validation audited in the same transaction)."""
        row = (uuid.UUID(hex=doc.id), doc.version, doc.number, doc.issued_at, doc.draft, doc.context, doc.pdf, doc.sha256, doc.render_ms)
        ids = (owner.uuid("clinic_id"), owner.uuid("patient_id"), owner.uuid("session_id"))
        async with self.pool.acquire() as conn, conn.transaction():
            if doc.status == "preview":
                await conn.execute(
                    "INSERT INTO document_previews (document_id, version, number, issued_at, draft, context, pdf, sha256, render_ms, kind,"
                    " clinic_id, patient_id, session_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                    " ON CONFLICT (document_id) DO UPDATE SET"
                    " version = EXCLUDED.version, number = EXCLUDED.number, issued_at = EXCLUDED.issued_at, draft = EXCLUDED.draft,"
                    " context = EXCLUDED.context, pdf = EXCLUDED.pdf, sha256 = EXCLUDED.sha256, render_ms = EXCLUDED.render_ms",
                    *row, doc.kind, *ids)
                return
            await conn.execute("INSERT INTO documents (id, kind, clinic_id, patient_id, session_id) VALUES ($1, $2, $3, $4, $5)"
                               " ON CONFLICT (id) DO NOTHING", row[0], doc.kind, *ids)
            try:
                await conn.execute(
                    "INSERT INTO document_versions (document_id, version, number, issued_at, draft, context, pdf, sha256, render_ms,"
                    " validated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", *row, owner.uuid("user_id"))
            except asyncpg.UniqueViolationError as exc:
                raise ValueError(f"document {doc.id} version {doc.version} exists already and cannot change") from exc
            await audit.record(conn, action="document.validate", clinic_id=owner.clinic_id, actor_id=owner.user_id,
                               actor_role="dentist" if owner.user_id else None, subject_type="document",
                               subject_id=f"{doc.id}/v{doc.version}", patient_id=owner.patient_id,
                               details={"kind": doc.kind, "number": doc.number, "sha256": doc.sha256})

    async def get(self, document_id: str, version: int | None = None) -> DocumentVersion | None:
        """A validated version; the latest one when ``version`` is None."""
        query = ("SELECT v.*, d.kind FROM document_versions v JOIN documents d ON d.id = v.document_id WHERE v.document_id = $1"
                 + (" AND v.version = $2" if version is not None else " ORDER BY v.version DESC LIMIT 1"))
        args = (uuid.UUID(hex=document_id),) + ((version,) if version is not None else ())
        row = await self.pool.fetchrow(query, *args)
        return version_of_row(row, "validated") if row else None

    async def list_versions(self, document_id: str) -> list[asyncpg.Record]:
        """The validated versions' kind, version, number, issued_at, sha256 and
        who validated them (not their PDFs)."""
        return await self.pool.fetch(
            "SELECT d.kind, v.version, v.number, v.issued_at, v.sha256, v.validated_by FROM document_versions v"
            " JOIN documents d ON d.id = v.document_id WHERE v.document_id = $1 ORDER BY v.version",
            uuid.UUID(hex=document_id))

    async def preview(self, document_id: str) -> DocumentVersion | None:
        row = await self.pool.fetchrow("SELECT * FROM document_previews WHERE document_id = $1", uuid.UUID(hex=document_id))
        return version_of_row(row, "preview") if row else None


def version_of_row(row, status: str) -> DocumentVersion:
    return DocumentVersion(
        id=row["document_id"].hex, version=row["version"], kind=row["kind"], status=status, number=row["number"],
        issued_at=row["issued_at"], draft=row["draft"], context=row["context"], pdf=bytes(row["pdf"]),
        sha256=row["sha256"], render_ms=round(float(row["render_ms"]), 1),
    )


class DocumentService:
    """Renders documents off the event loop (one at a time) and stores them."""

    def __init__(self, store: DocumentStore, timezone: str = "Europe/Paris") -> None:
        self.store = store
        self.tz = ZoneInfo(timezone)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")

    def now(self) -> datetime:
        return datetime.now(self.tz).replace(microsecond=0)

    async def issue(self, draft: dict, ctx: DocumentContext, *, preview: bool, owner: Owner = Owner()) -> DocumentVersion:
        """Render and store a validated version (once: the stored one is
        returned if it exists) or a preview."""
        if not preview and (existing := await self.store.get(draft["id"], draft["version"])) is not None:
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
        try:
            await self.store.put(doc, owner)
        except ValueError:  # rendered meanwhile elsewhere (another replica): the first one stands
            existing = await self.store.get(doc.id, doc.version)
            assert existing is not None
            return existing
        log.info("document %s v%d %s rendered in %.0f ms", doc.number, doc.version, doc.status, doc.render_ms)
        return doc

    async def warm_up(self) -> None:
        from .render import warm_up

        await asyncio.get_running_loop().run_in_executor(self._executor, warm_up)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
