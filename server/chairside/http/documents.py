"""Documents: the practice's list, a version's PDF, its FHIR export, the
latest preview, the list of versions, and the re-issue of a document after
a rectification.

For the dentists and assistants of the practice the document belongs to
(another practice's document is "not found"); every read is audited.
Responses are never cached by browsers or proxies (health data).
"""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..auth import CARE_TEAM, DICTATE, PRIVATE, Principal, authorized, error_response
from ..documents.fhir import to_fhir
from ..record.context import Lab
from ..record.ids import is_id
from ..record.kinds import KINDS, title
from ..record.versions import DocumentVersion, Owner, fhir_url, pdf_url
from ..services import services
from ..store import audit, documents, patients
from .common import given_id, iso, not_found, ok, record


@authorized(*CARE_TEAM)
async def list_documents(request: Request, who: Principal) -> Response:
    """
    summary: Validated documents of the practice, latest first; filter by patient, session, kind, or the day their latest version was validated (from, to; both included).
    tags: [documents]
    parameters:
      - {name: patient, in: query, required: false, schema: {type: string}}
      - {name: session, in: query, required: false, schema: {type: string}}
      - {name: kind, in: query, required: false, schema: {type: string, enum: [prescription, lab_order, medical_certificate, clinical_report]}}
      - {name: from, in: query, required: false, schema: {type: string, format: date}}
      - {name: to, in: query, required: false, schema: {type: string, format: date}}
    responses:
      200: {description: 'Documents with their latest version, who validated it (validated_by, validated_by_name) and how many versions'}
      400: {description: A malformed filter}
    """
    q = request.query_params
    patient, session = given_id(q.get("patient")), given_id(q.get("session"))
    if (q.get("patient") and patient is None) or (q.get("session") and session is None):
        return error_response(400, "invalid_request", "patient and session are ids")
    kind = q.get("kind") or None
    if kind is not None and kind not in KINDS:
        return error_response(400, "invalid_request", f"kind: one of {', '.join(KINDS)}")
    try:
        since, until = (date.fromisoformat(q[k]) if q.get(k) else None for k in ("from", "to"))
    except ValueError:
        return error_response(400, "invalid_request", "from and to are dates (YYYY-MM-DD)")
    rows = await documents.latest_of_clinic(services(request).pool, who.clinic_id, patient, session, kind, since, until)
    await record(request, who, "document.list", patient_id=patient, details={"count": len(rows)})
    return ok([{"id": r["id"], "kind": r["kind"], "title": title(r["kind"]), "version": r["version"], "number": r["number"],
                "issued_at": iso(r["issued_at"]), "sha256": r["sha256"], "validated_by": r["validated_by"],
                "validated_by_name": r["validated_by_name"], "versions": r["versions"],
                "patient": r["patient_id"], "session": r["session_id"], "url": pdf_url(r["id"], r["version"]),
                "fhir_url": fhir_url(r["id"], r["version"])} for r in rows])


@authorized(*DICTATE)
async def rectify_document(request: Request, who: Principal) -> Response:
    """
    summary: Re-issue a validated document as its next version, with the practice's and the patient's current details (after a rectification). The earlier versions stay as they were.
    tags: [documents]
    parameters:
      - {name: document_id, in: path, required: true, schema: {type: string}}
    responses:
      201: {description: The new version}
      404: {description: No such document in your practice}
    """
    state = services(request)
    doc_id = given_id(request.path_params["document_id"])
    owner = None if doc_id is None else await documents.owned(state.database.pool, who.clinic_id, doc_id)
    latest = await state.documents.store.get(doc_id) if owner else None
    if latest is None:
        return not_found("document")
    patient = owner["patient_id"]
    old = latest.context
    context = await patients.document_context(state.database.pool, who.user_id, patient, _lab(old))
    draft = latest.draft.snapshot(version=latest.version + 1, status="validated")
    doc = await state.documents.issue(draft, context, preview=False, owner=Owner(
        who.clinic_id, who.user_id, None, patient, owner["session_id"]))
    return ok({"document_id": doc.id, "version": doc.version, "number": doc.number, "sha256": doc.sha256,
               "url": doc.pdf_url, "fhir_url": doc.fhir_url}, 201)


def _lab(context: dict) -> Lab:
    return Lab.model_validate(context.get("lab") or {})


# -- a document's versions, PDFs and FHIR export ----------------------------------------


async def _owned(request: Request, who: Principal):
    """The document's row (id, patient_id, session_id) if it belongs to the
    caller's practice; None otherwise."""
    document_id = request.path_params["document_id"]
    return await documents.owned(services(request).pool, who.clinic_id, document_id) if is_id(document_id) else None


async def _audit_read(request: Request, who: Principal, doc: DocumentVersion, what: str, patient_id: str | None) -> None:
    await audit.record(services(request).pool, action="document.read", **who.actor,
                       subject_type="document", subject_id=f"{doc.id}/v{doc.version}",
                       patient_id=patient_id, details={"as": what, "status": doc.status})


async def _find(request: Request, who: Principal) -> tuple[DocumentVersion, str | None] | JSONResponse:
    """The version a request names (?version=N, else the latest validated)
    and its patient."""
    document_id = request.path_params["document_id"]
    owned = await _owned(request, who)
    if owned is None:
        return error_response(404, "not_found", "no such document in your practice")
    raw = request.query_params.get("version")
    version = None
    if raw is not None:
        if not raw.isdigit() or int(raw) < 1:
            return error_response(400, "invalid_version", "version must be a positive integer")
        version = int(raw)
    store = services(request).documents.store
    doc = await store.get(document_id, version)
    if doc is None:
        if version is not None and await store.get(document_id) is not None:
            return error_response(404, "not_found", f"this document has no validated version {version}")
        return error_response(404, "not_found", "no validated version of this document (a draft is only a preview until 'valide')")
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
    document_id = request.path_params["document_id"]
    owned = await documents.preview_owned(services(request).pool, who.clinic_id, document_id) if is_id(document_id) else None
    doc = await services(request).documents.store.preview(document_id) if owned else None
    if doc is None:
        return error_response(404, "not_found", "no preview of this document in your practice (send a 'preview' message or say « aperçu »)")
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
        return error_response(404, "not_found", "no validated version of this document in your practice")
    return JSONResponse({
        "document_id": document_id, "kind": versions[-1]["kind"], "title": title(versions[-1]["kind"]),
        "versions": [{"version": v["version"], "number": v["number"], "issued_at": v["issued_at"].isoformat(),
                      "sha256": v["sha256"], "validated_by": v["validated_by"],
                      "url": pdf_url(document_id, v["version"]),
                      "fhir_url": fhir_url(document_id, v["version"])} for v in versions],
    }, headers=PRIVATE)
