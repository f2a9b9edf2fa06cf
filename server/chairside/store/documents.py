"""Document versions: rendered once, kept unchanged, fetched by id.

A validated version is immutable: it is stored once with its PDF and the
PDF's sha256, and asking for it again (a second "imprime") returns the same
bytes.  A later change to the draft makes the next version.  Previews are
not versions: only the latest preview of a document is kept.

Stored in PostgreSQL (tables of ``migrations/0001_documents.sql``; a
trigger refuses any update of a validated version), so documents outlive
the server process and every replica serves them.  Also here: whose a
document is (the practice's only), and the lists of a practice's, a
patient's and a session's documents.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from ..record.draft import Draft
from ..record.versions import DocumentVersion, Owner
from . import audit


class DocumentStore:
    """Validated versions by (id, version) and the latest preview by id."""

    def __init__(self, pool) -> None:
        self.pool = pool

    async def put(self, doc: DocumentVersion, owner: Owner = Owner()) -> None:
        """Store a version (its validation audited in the same transaction)."""
        row = (doc.id, doc.version, doc.number, doc.issued_at, doc.draft.as_dict(), doc.context, doc.pdf, doc.sha256, doc.render_ms)
        ids = (owner.clinic_id, owner.patient_id, owner.session_id)
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
                    " validated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", *row, owner.user_id)
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
        args = (document_id,) + ((version,) if version is not None else ())
        row = await self.pool.fetchrow(query, *args)
        return version_of_row(row, "validated") if row else None

    async def list_versions(self, document_id: str) -> list[asyncpg.Record]:
        """The validated versions' kind, version, number, issued_at, sha256 and
        who validated them (not their PDFs)."""
        return await self.pool.fetch(
            "SELECT d.kind, v.version, v.number, v.issued_at, v.sha256, v.validated_by FROM document_versions v"
            " JOIN documents d ON d.id = v.document_id WHERE v.document_id = $1 ORDER BY v.version", document_id)

    async def preview(self, document_id: str) -> DocumentVersion | None:
        row = await self.pool.fetchrow("SELECT * FROM document_previews WHERE document_id = $1", document_id)
        return version_of_row(row, "preview") if row else None


def version_of_row(row, status: str) -> DocumentVersion:
    """A version from its row (``document_versions`` or ``document_previews``, with the document's kind)."""
    return DocumentVersion(
        id=row["document_id"], version=row["version"], kind=row["kind"], status=status, number=row["number"],
        issued_at=row["issued_at"], draft=Draft.model_validate(row["draft"]), context=row["context"], pdf=bytes(row["pdf"]),
        sha256=row["sha256"], render_ms=round(float(row["render_ms"]), 1),
    )


# -- whose a document is -------------------------------------------------------------


async def owned(pool: asyncpg.Pool, clinic_id: str, document_id: str) -> asyncpg.Record | None:
    """The document (id, patient_id, session_id) if it is this clinic's; None otherwise."""
    return await pool.fetchrow("SELECT id, patient_id, session_id FROM documents WHERE id = $1 AND clinic_id = $2",
                               document_id, clinic_id)


async def preview_owned(pool: asyncpg.Pool, clinic_id: str, document_id: str) -> asyncpg.Record | None:
    """The document's preview (id, patient_id) if it is this clinic's; None otherwise."""
    return await pool.fetchrow("SELECT document_id AS id, patient_id FROM document_previews WHERE document_id = $1 AND clinic_id = $2",
                               document_id, clinic_id)


# -- lists ---------------------------------------------------------------------------


async def latest_of_clinic(pool: asyncpg.Pool, clinic_id: str, patient_id: str | None = None,
                           session_id: str | None = None, kind: str | None = None, since: date | None = None,
                           until: date | None = None) -> list[asyncpg.Record]:
    """The clinic's documents (of a patient, of a session, of a kind, whose
    latest version was validated between ``since`` and ``until``, both days
    included, in UTC), each with its latest validated version (id, kind,
    patient_id, session_id, version, number, issued_at, sha256,
    validated_by, validated_by_name, versions), latest first."""
    return await pool.fetch(
        "SELECT * FROM (SELECT DISTINCT ON (d.id) d.id, d.kind, d.patient_id, d.session_id, v.version, v.number, v.issued_at,"
        " v.sha256, v.validated_by, u.name AS validated_by_name,"
        " (SELECT count(*) FROM document_versions w WHERE w.document_id = d.id) AS versions"
        " FROM documents d JOIN document_versions v ON v.document_id = d.id LEFT JOIN users u ON u.id = v.validated_by"
        " WHERE d.clinic_id = $1 AND ($2::uuid IS NULL OR d.patient_id = $2) AND ($3::uuid IS NULL OR d.session_id = $3)"
        " AND ($4::text IS NULL OR d.kind = $4) ORDER BY d.id, v.version DESC) latest"
        " WHERE ($5::date IS NULL OR issued_at >= $5::date) AND ($6::date IS NULL OR issued_at < $6::date + 1)"
        " ORDER BY issued_at DESC", clinic_id, patient_id, session_id, kind, since, until)


async def versions_of_patient(pool: asyncpg.Pool, patient_id: str) -> list[asyncpg.Record]:
    """Every validated version of a patient's documents, PDFs included (for
    :func:`version_of_row`), by document then version."""
    return await pool.fetch(
        "SELECT v.*, d.kind FROM document_versions v JOIN documents d ON d.id = v.document_id WHERE d.patient_id = $1"
        " ORDER BY d.created_at, v.version", patient_id)


async def ids_of_session(pool: asyncpg.Pool, session_id: str) -> list[str]:
    """A session's documents' ids, oldest first."""
    return [r["id"] for r in await pool.fetch("SELECT id FROM documents WHERE session_id = $1 ORDER BY created_at", session_id)]
