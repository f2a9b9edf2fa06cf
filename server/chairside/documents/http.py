"""HTTP access to documents: the PDF of a version, its FHIR export, the
latest preview, the list of versions.

For the dentists and assistants of the practice the document belongs to
(another practice's document is "not found"); every read is audited.
Responses are never cached by browsers or proxies (health data).
"""

from __future__ import annotations

import logging
import re
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..auth import CARE_TEAM, PRIVATE, Principal, authorized, error_response
from ..store import audit
from .fhir import to_fhir
from ..record.kinds import title
from ..record.versions import DocumentVersion, fhir_url, pdf_url
from ..services import services

log = logging.getLogger(__name__)

_ID = re.compile(r"^[0-9a-f]{32}$")
_error = error_response


async def _owned(request: Request, who: Principal, table: str = "documents", key: str = "id"):
    """The document's row (id, patient_id) if it belongs to the caller's
    practice; None otherwise."""
    document_id = request.path_params["document_id"]
    if not _ID.match(document_id):
        return None
    row = await services(request).pool.fetchrow(
        f"SELECT {key} AS id, patient_id FROM {table} WHERE {key} = $1 AND clinic_id = $2",
        uuid.UUID(hex=document_id), uuid.UUID(hex=who.clinic_id))
    return row


async def _audit_read(request: Request, who: Principal, doc: DocumentVersion, what: str, patient_id) -> None:
    await audit.record(services(request).pool, action="document.read", **who.actor,
                       subject_type="document", subject_id=f"{doc.id}/v{doc.version}",
                       patient_id=patient_id.hex if patient_id else None, details={"as": what, "status": doc.status})


async def _find(request: Request, who: Principal) -> tuple[DocumentVersion, uuid.UUID | None] | JSONResponse:
    """The version a request names (?version=N, else the latest validated)
    and its patient."""
    document_id = request.path_params["document_id"]
    owned = await _owned(request, who)
    if owned is None:
        return _error(404, "not_found", "no such document in your practice")
    raw = request.query_params.get("version")
    version = None
    if raw is not None:
        if not raw.isdigit() or int(raw) < 1:
            return _error(400, "invalid_version", "version must be a positive integer")
        version = int(raw)
    store = services(request).documents.store
    doc = await store.get(document_id, version)
    if doc is None:
        if version is not None and await store.get(document_id) is not None:
            return _error(404, "not_found", f"this document has no validated version {version}")
        return _error(404, "not_found", "no validated version of this document (a draft is only a preview until 'valide')")
    return doc, owned["patient_id"]


async def _read(request: Request, who: Principal, what: str) -> DocumentVersion | JSONResponse:
    """The version a request names, its read audited; or the refusal."""
    found = await _find(request, who)
    if isinstance(found, Response):
        return found
    doc, patient_id = found
    await _audit_read(request, who, doc, what, patient_id)
    return doc


def _pdf(doc: DocumentVersion, request: Request) -> Response:
    disposition = "attachment" if request.query_params.get("download") in ("1", "true") else "inline"
    headers = {**PRIVATE, "Content-Disposition": f'{disposition}; filename="{doc.filename}"', "ETag": f'"{doc.sha256}"',
               "X-Document-Version": str(doc.version), "X-Document-Status": doc.status}
    return Response(doc.pdf, media_type="application/pdf", headers=headers)


@authorized(*CARE_TEAM)
async def document_pdf(request: Request, who: Principal) -> Response:
    """
    summary: The PDF of a validated version (the latest, or ?version=N); ?download=1 for an attachment.
    tags: [documents]
    parameters:
      - {name: document_id, in: path, required: true, schema: {type: string}}
      - {name: version, in: query, required: false, schema: {type: integer}}
      - {name: download, in: query, required: false, schema: {type: string, enum: ['1', 'true']}}
    responses:
      200: {description: The PDF, content: {application/pdf: {}}}
      404: {description: No such document (version) in your practice}
    """
    found = await _read(request, who, "pdf")
    return found if isinstance(found, Response) else _pdf(found, request)


@authorized(*CARE_TEAM)
async def preview_pdf(request: Request, who: Principal) -> Response:
    """
    summary: The latest preview PDF of a draft (watermarked, missing mentions in red).
    tags: [documents]
    parameters:
      - {name: document_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: The PDF, content: {application/pdf: {}}}
      404: {description: No preview of this document in your practice}
    """
    owned = await _owned(request, who, "document_previews", "document_id")
    doc = await services(request).documents.store.preview(request.path_params["document_id"]) if owned else None
    if doc is None:
        return _error(404, "not_found", "no preview of this document in your practice (send a 'preview' message or say « aperçu »)")
    await _audit_read(request, who, doc, "preview", owned["patient_id"])
    return _pdf(doc, request)


@authorized(*CARE_TEAM)
async def document_fhir(request: Request, who: Principal) -> Response:
    """
    summary: The FHIR R4B document Bundle of a validated version.
    tags: [documents]
    parameters:
      - {name: document_id, in: path, required: true, schema: {type: string}}
      - {name: version, in: query, required: false, schema: {type: integer}}
    responses:
      200: {description: The Bundle, content: {application/fhir+json: {}}}
      404: {description: No such document (version) in your practice}
    """
    found = await _read(request, who, "fhir")
    if isinstance(found, Response):
        return found
    return JSONResponse(to_fhir(found), media_type="application/fhir+json", headers=PRIVATE)


@authorized(*CARE_TEAM)
async def document_info(request: Request, who: Principal) -> Response:
    """
    summary: A document's validated versions (number, date, sha256, links).
    tags: [documents]
    parameters:
      - {name: document_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: The versions}
      404: {description: No such document in your practice}
    """
    document_id = request.path_params["document_id"]
    versions = await services(request).documents.store.list_versions(document_id) if await _owned(request, who) else []
    if not versions:
        return _error(404, "not_found", "no validated version of this document in your practice")
    return JSONResponse({
        "document_id": document_id, "kind": versions[-1]["kind"], "title": title(versions[-1]["kind"]),
        "versions": [{"version": v["version"], "number": v["number"], "issued_at": v["issued_at"].isoformat(),
                      "sha256": v["sha256"], "validated_by": v["validated_by"].hex if v["validated_by"] else None,
                      "url": pdf_url(document_id, v["version"]),
                      "fhir_url": fhir_url(document_id, v["version"])} for v in versions],
    }, headers=PRIVATE)


def document_routes() -> list[Route]:
    return [
        Route("/v1/documents/{document_id}.pdf", document_pdf),
        Route("/v1/documents/{document_id}/preview.pdf", preview_pdf),
        Route("/v1/documents/{document_id}/fhir", document_fhir),
        Route("/v1/documents/{document_id}", document_info),
    ]
