"""HTTP access to documents: the PDF of a version, its FHIR export, the
latest preview, the list of versions.

Document ids are random 128-bit UUIDs, never listed; authentication and
per-practice access control are still to come (issue 4).  Responses are
never cached by browsers or proxies (health data).
"""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .fhir import to_fhir
from .render import TITLES
from .store import DocumentVersion, fhir_url, pdf_url

log = logging.getLogger(__name__)

_ID = re.compile(r"^[0-9a-f]{32}$")
PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=PRIVATE)


async def _find(request: Request) -> DocumentVersion | JSONResponse:
    """The version a request names (?version=N, else the latest validated)."""
    document_id = request.path_params["document_id"]
    if not _ID.match(document_id):
        return _error(404, "not_found", "no such document")
    raw = request.query_params.get("version")
    version = None
    if raw is not None:
        if not raw.isdigit() or int(raw) < 1:
            return _error(400, "invalid_version", "version must be a positive integer")
        version = int(raw)
    store = request.app.state.documents.store
    doc = await store.get(document_id, version)
    if doc is None:
        if version is not None and await store.get(document_id) is not None:
            return _error(404, "not_found", f"this document has no validated version {version}")
        return _error(404, "not_found", "no validated version of this document (a draft is only a preview until 'valide')")
    return doc


def _pdf(doc: DocumentVersion, request: Request) -> Response:
    disposition = "attachment" if request.query_params.get("download") in ("1", "true") else "inline"
    headers = {**PRIVATE, "Content-Disposition": f'{disposition}; filename="{doc.filename}"', "ETag": f'"{doc.sha256}"',
               "X-Document-Version": str(doc.version), "X-Document-Status": doc.status}
    return Response(doc.pdf, media_type="application/pdf", headers=headers)


async def document_pdf(request: Request) -> Response:
    found = await _find(request)
    return found if isinstance(found, Response) else _pdf(found, request)


async def preview_pdf(request: Request) -> Response:
    document_id = request.path_params["document_id"]
    doc = await request.app.state.documents.store.preview(document_id) if _ID.match(document_id) else None
    if doc is None:
        return _error(404, "not_found", "no preview of this document (send a 'preview' message or say « aperçu »)")
    return _pdf(doc, request)


async def document_fhir(request: Request) -> Response:
    found = await _find(request)
    if isinstance(found, Response):
        return found
    return JSONResponse(to_fhir(found), media_type="application/fhir+json", headers=PRIVATE)


async def document_info(request: Request) -> Response:
    document_id = request.path_params["document_id"]
    versions = await request.app.state.documents.store.list_versions(document_id) if _ID.match(document_id) else []
    if not versions:
        return _error(404, "not_found", "no validated version of this document")
    return JSONResponse({
        "document_id": document_id, "kind": versions[-1]["kind"], "title": TITLES[versions[-1]["kind"]],
        "versions": [{"version": v["version"], "number": v["number"], "issued_at": v["issued_at"].isoformat(),
                      "sha256": v["sha256"], "url": pdf_url(document_id, v["version"]),
                      "fhir_url": fhir_url(document_id, v["version"])} for v in versions],
    }, headers=PRIVATE)


def document_routes() -> list[Route]:
    return [
        Route("/v1/documents/{document_id}.pdf", document_pdf),
        Route("/v1/documents/{document_id}/preview.pdf", preview_pdf),
        Route("/v1/documents/{document_id}/fhir", document_fhir),
        Route("/v1/documents/{document_id}", document_info),
    ]
