"""Patients of the practice and their rights: access (the export), rectification, erasure;
the allergy classes a patient form suggests."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import Response

from ..auth import CARE_TEAM, DICTATE, PRIVATE, Principal, authorized
from ..documents.fhir import to_fhir
from ..record.allergies import ALLERGY_CLASSES
from ..record.ids import as_id
from ..record.kinds import title
from ..services import services
from ..store import audit, patients
from ..store.documents import version_of_row, versions_of_patient
from ..store.journal import Journal
from ..store.sessions import sessions_of_patient
from .common import body, handles_bad_input, iso, not_found, ok, record
from .sessions import utterance

log = logging.getLogger(__name__)


def _patient_id(request: Request) -> str | None:
    """The patient a path names, in any spelling of its id; None when it names none."""
    return as_id(request.path_params["patient_id"])


@authorized(*CARE_TEAM)
async def list_patients(request: Request, who: Principal) -> Response:
    """
    summary: The practice's patients, optionally those whose name or code contains q.
    tags: [patients]
    parameters:
      - {name: q, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: Patients, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Patient'}}}}}
    """
    found = await patients.search(services(request).pool, who.clinic_id, request.query_params.get("q", ""))
    await record(request, who, "patient.list", details={"count": len(found)})
    return ok(found)


@authorized(*CARE_TEAM)
@handles_bad_input
async def create_patient(request: Request, who: Principal) -> Response:
    """
    summary: Register a patient, with their identity and what a prescriber must check (allergies, pregnancy, breastfeeding, anticoagulant and antiplatelet treatments, renal and hepatic failure).
    tags: [patients]
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Patient'}
    responses:
      201: {description: The patient, content: {application/json: {schema: {$ref: '#/components/schemas/Patient'}}}}
      400: {description: 'A missing or invalid field, a code in use, a pregnancy for sex M; the message begins with the field name'}
    """
    patient = await patients.create(services(request).pool, who.clinic_id, await body(request))
    await record(request, who, "patient.create", subject_type="patient", subject_id=patient["id"], patient_id=patient["id"])
    return ok(patient, 201)


@authorized(*CARE_TEAM)
async def list_allergy_classes(request: Request, who: Principal) -> Response:
    """
    summary: The allergy classes recognised in a patient's allergies (key, French and English names, the terms that name them), for a form to suggest.
    tags: [patients]
    responses:
      200: {description: The classes, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/AllergyClass'}}}}}
    """
    return ok([{"key": c.key, "fr": c.fr, "en": c.en, "terms": list(c.terms), "includes": list(c.includes)}
               for c in ALLERGY_CLASSES.values()])


@authorized(*CARE_TEAM)
async def get_patient(request: Request, who: Principal) -> Response:
    """
    summary: One patient.
    tags: [patients]
    parameters:
      - {name: patient_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: The patient, content: {application/json: {schema: {$ref: '#/components/schemas/Patient'}}}}
      404: {description: No such patient in your practice}
    """
    patient_id = _patient_id(request)
    row = None if patient_id is None else await patients.get(services(request).pool, who.clinic_id, patient_id)
    if row is None:
        return not_found("patient")
    await record(request, who, "patient.read", subject_type="patient", subject_id=row["id"], patient_id=row["id"])
    return ok(patients.as_dict(row))


@authorized(*CARE_TEAM)
@handles_bad_input
async def rectify_patient(request: Request, who: Principal) -> Response:
    """
    summary: Rectify a patient's identity or safety facts (right to rectification); only the fields given change, and the audit trail records their names. Validated documents are not changed; re-issue one with POST /v1/documents/{id}/rectify.
    tags: [patients]
    parameters:
      - {name: patient_id, in: path, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Patient'}
    responses:
      200: {description: The patient as rectified}
      400: {description: 'An unknown or invalid field, or a patient made inconsistent (sex M with a pregnancy); the message begins with the field name'}
      404: {description: No such patient in your practice}
    """
    changes = await body(request)
    patient_id = _patient_id(request)
    if patient_id is None:
        return not_found("patient")
    async with services(request).pool.acquire() as conn, conn.transaction():
        done = await patients.rectify(conn, who.clinic_id, patient_id, changes)
        if done is None:
            return not_found("patient")
        patient, changed = done
        await audit.record(conn, action="patient.rectify", **who.actor, subject_type="patient", subject_id=patient["id"], patient_id=patient["id"], details={"fields": changed})
    return ok(patient)


@authorized(*DICTATE)
async def erase_patient(request: Request, who: Principal) -> Response:
    """
    summary: Erase a patient (right to erasure). Transcripts, drafts, room events and previews go at once; validated documents younger than the retention setting are kept.
    tags: [patients]
    parameters:
      - {name: patient_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: What was deleted and kept}
      404: {description: No such patient in your practice}
    """
    state = services(request)
    patient_id = _patient_id(request)
    if patient_id is None:
        return not_found("patient")
    async with state.database.pool.acquire() as conn, conn.transaction():
        row = await patients.get(conn, who.clinic_id, patient_id)
        if row is None:
            return not_found("patient")
        done = await patients.erase(conn, row["id"], state.settings.document_retention_years, state.documents.now().date())
        await audit.record(conn, action="patient.erase", **who.actor, subject_type="patient", subject_id=row["id"], patient_id=row["id"], details=done)
    log.info("patient %s erased", row["id"][:8])
    return ok(done)


@authorized(*DICTATE)
async def export_patient(request: Request, who: Principal) -> Response:
    """
    summary: Everything about a patient (right of access) as one zip, with patient.json, a FHIR Bundle per document version and the PDFs.
    tags: [patients]
    parameters:
      - {name: patient_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: The zip, content: {application/zip: {}}}
      404: {description: No such patient in your practice}
    """
    pool = services(request).pool
    patient_id = _patient_id(request)
    row = None if patient_id is None else await patients.get(pool, who.clinic_id, patient_id)
    if row is None:
        return not_found("patient")
    data, files = await _patient_file(services(request).journal, row)
    archive = await asyncio.get_running_loop().run_in_executor(None, _zip, data, files)
    await record(request, who, "patient.export", subject_type="patient", subject_id=row["id"], patient_id=row["id"],
                 details={"sessions": len(data["sessions"]), "documents": len(data["documents"]), "bytes": len(archive)})
    name = f"chairside-{row['code']}.zip"
    return Response(archive, media_type="application/zip",
                    headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'})


async def _patient_file(journal: Journal, patient) -> tuple[dict, dict[str, bytes]]:
    pool = journal.pool
    files: dict[str, bytes] = {}
    out_sessions = []
    for s in await sessions_of_patient(pool, patient["id"]):
        out_sessions.append({"id": s["id"], "started_at": iso(s["started_at"]), "ended_at": iso(s["ended_at"]),
                             "room": s["room"], "practitioner": s["practitioner"], "language": s["language"],
                             "utterances": [utterance(u) for u in await journal.utterances(s["id"])],
                             "drafts": await journal.drafts(s["id"])})
    documents: dict[str, dict] = {}
    for v in await versions_of_patient(pool, patient["id"]):
        doc = version_of_row(v, "validated")
        stem = f"{doc.number}-v{doc.version}"
        files[f"pdf/{stem}.pdf"] = doc.pdf
        files[f"fhir/{stem}.json"] = json.dumps(to_fhir(doc), ensure_ascii=False, indent=1).encode()
        documents.setdefault(doc.id, {"id": doc.id, "kind": doc.kind, "title": title(doc.kind), "versions": []})["versions"].append(
            {"version": doc.version, "number": doc.number, "issued_at": iso(doc.issued_at), "sha256": doc.sha256,
             "pdf": f"pdf/{stem}.pdf", "fhir": f"fhir/{stem}.json", "draft": doc.draft.as_dict()})
    data = {"format": "chairside-patient-export/1", "exported_at": datetime.now(timezone.utc).isoformat(),
            "patient": patients.as_dict(patient), "sessions": out_sessions, "documents": list(documents.values())}
    return data, files


def _zip(data: dict, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("patient.json", json.dumps(data, ensure_ascii=False, indent=1))
        for name, content in files.items():
            z.writestr(name, content)
    return buffer.getvalue()
