"""The REST API: log in, users and rooms, patients and their rights, sessions
and utterances, documents.  Its OpenAPI schema is served at ``/openapi.json``
(built from these docstrings) and described in ``docs/api.md``.

Every endpoint but login states the roles it serves (:func:`authorized`);
everything is scoped to the caller's clinic, and every read, export,
rectification and erasure of patient data is written to the audit trail.
Responses are never cached (``Cache-Control: private, no-store``).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
import zipfile
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .auth import ADMIN, ANYONE, CARE_TEAM, DICTATE, PRIVATE, Principal, authorized, error_response
from .record.context import Lab
from .documents.fhir import to_fhir
from .documents.store import version_of_row
from .record.kinds import title
from .record.versions import Owner, fhir_url, pdf_url
from .store import accounts, audit, patients
from .store.accounts import AccountError
from .store.journal import Journal
from .services import services

log = logging.getLogger(__name__)


class BadRequest(Exception):
    pass


def ok(data, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=PRIVATE)


def not_found(what: str) -> JSONResponse:
    return error_response(404, "not_found", f"no such {what} in your practice")


async def body(request: Request) -> dict:
    try:
        data = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(hex=value) if value and len(value) == 32 else None
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def _record(request: Request, who: Principal, action: str, **fields) -> None:
    await audit.record(services(request).pool, action=action, **who.actor, **fields)


def handles_bad_input(endpoint):
    """400 for a body that is not what the endpoint needs (AccountError, BadRequest)."""
    async def wrapped(request: Request, who: Principal) -> Response:
        try:
            return await endpoint(request, who)
        except (AccountError, BadRequest) as exc:
            return error_response(400, "invalid_request", str(exc))

    wrapped.__doc__, wrapped.__name__ = endpoint.__doc__, endpoint.__name__
    return wrapped


# -- authentication -------------------------------------------------------------------


async def login(request: Request) -> Response:
    """
    summary: Log in; returns a short-lived bearer token.
    tags: [auth]
    security: []
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Login'}
    responses:
      200: {description: 'The token: send it as "Authorization: Bearer <token>"', content: {application/json: {schema: {$ref: '#/components/schemas/Token'}}}}
      400: {description: Not a JSON object with email and password}
      401: {description: Wrong e-mail or password (the same answer for both)}
    """
    try:
        data = await body(request)
    except BadRequest as exc:
        return error_response(400, "invalid_request", str(exc))
    email, password = data.get("email"), data.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        return error_response(400, "invalid_request", "send {\"email\": …, \"password\": …}")
    user = await accounts.authenticate(services(request).pool, email, password)
    if user is None:
        log.info("login refused")
        return error_response(401, "invalid_credentials", "wrong e-mail or password")
    return ok(_token(request, user.id, user.clinic_id, user.role, user.name))


def _token(request: Request, user_id: str, clinic_id: str, role: str, name: str) -> dict:
    tokens = services(request).tokens
    return {"token": tokens.issue(user_id, clinic_id, role), "token_type": "Bearer", "expires_in": int(tokens.ttl_s),
            "user": {"id": user_id, "clinic_id": clinic_id, "role": role, "name": name}}


@authorized(*ANYONE)
async def refresh(request: Request, who: Principal) -> Response:
    """
    summary: A fresh token for a valid one, while the user is still active.
    tags: [auth]
    responses:
      200: {description: A new token, content: {application/json: {schema: {$ref: '#/components/schemas/Token'}}}}
      401: {description: 'No token, an invalid or expired one, or a disabled user'}
    """
    row = await services(request).pool.fetchrow(
        "SELECT name, role FROM users WHERE id = $1 AND clinic_id = $2 AND disabled_at IS NULL",
        uuid.UUID(hex=who.user_id), uuid.UUID(hex=who.clinic_id))
    if row is None:
        return error_response(401, "invalid_token", "this user can no longer log in")
    return ok(_token(request, who.user_id, who.clinic_id, row["role"], row["name"]))


@authorized(*ANYONE)
@handles_bad_input
async def change_password(request: Request, who: Principal) -> Response:
    """
    summary: Change one's own password (the demo practice's printed one first of all).
    tags: [auth]
    requestBody:
      required: true
      content:
        application/json:
          schema: {type: object, required: [current_password, new_password], properties: {current_password: {type: string}, new_password: {type: string, minLength: 12}}}
    responses:
      204: {description: Changed}
      400: {description: 'A new password under 12 characters, or the same as the current one'}
      403: {description: The current password is wrong}
    """
    data = await body(request)
    current, new = data.get("current_password"), data.get("new_password")
    if not isinstance(current, str) or not isinstance(new, str):
        raise BadRequest("send current_password and new_password")
    if current == new:
        raise BadRequest("the new password is the current one")
    if not await accounts.change_password(services(request).pool, who.user_id, current, new):
        return error_response(403, "wrong_password", "the current password is wrong")
    return Response(status_code=204, headers=PRIVATE)


@authorized(*ANYONE)
async def me(request: Request, who: Principal) -> Response:
    """
    summary: The logged-in user and their practice.
    tags: [auth]
    responses:
      200: {description: The user}
    """
    row = await services(request).pool.fetchrow(
        "SELECT u.id, u.email, u.name, u.role, u.rpps, c.id AS clinic_id, c.name AS clinic FROM users u"
        " JOIN clinics c ON c.id = u.clinic_id WHERE u.id = $1", uuid.UUID(hex=who.user_id))
    return ok({"id": row["id"].hex, "email": row["email"], "name": row["name"], "role": row["role"], "rpps": row["rpps"],
               "clinic": {"id": row["clinic_id"].hex, "name": row["clinic"]}})


# -- users and rooms ---------------------------------------------------------------------


@authorized(*ADMIN)
async def list_users(request: Request, who: Principal) -> Response:
    """
    summary: The practice's users.
    tags: [users]
    responses:
      200: {description: Users (no password hashes)}
    """
    rows = await services(request).pool.fetch(
        "SELECT id, email, name, role, rpps, disabled_at FROM users WHERE clinic_id = $1 ORDER BY name", uuid.UUID(hex=who.clinic_id))
    return ok([{"id": r["id"].hex, "email": r["email"], "name": r["name"], "role": r["role"], "rpps": r["rpps"],
                "disabled": r["disabled_at"] is not None} for r in rows])


@authorized(*ADMIN)
@handles_bad_input
async def create_user(request: Request, who: Principal) -> Response:
    """
    summary: Add a user to the practice.
    tags: [users]
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/NewUser'}
    responses:
      201: {description: The user's id}
      400: {description: 'A missing or invalid field, a password under 12 characters, an e-mail in use'}
    """
    data = await body(request)
    fields = {k: data.get(k) for k in ("email", "name", "role", "password")}
    if not all(isinstance(v, str) and v for v in fields.values()):
        raise BadRequest("email, name, role and password are required")
    user = await accounts.create_user(services(request).pool, who.clinic_id, rpps=data.get("rpps") or "",
                                      phone=data.get("phone"), **fields)
    return ok({"id": user.id, "email": user.email, "name": user.name, "role": user.role}, 201)


@authorized(*ADMIN)
async def disable_user(request: Request, who: Principal) -> Response:
    """
    summary: Disable a user of the practice (they can no longer log in or refresh a token; their current token ends within its lifetime). Their name stays on what they signed.
    tags: [users]
    parameters:
      - {name: user_id, in: path, required: true, schema: {type: string}}
    responses:
      204: {description: Disabled}
      400: {description: An admin disabling themselves}
      404: {description: No such user in your practice}
    """
    user_id = _uuid(request.path_params["user_id"])
    if user_id is not None and user_id.hex == who.user_id:
        return error_response(400, "invalid_request", "an admin cannot disable themselves")
    done = None if user_id is None else await services(request).pool.fetchval(
        "UPDATE users SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1 AND clinic_id = $2 RETURNING id",
        user_id, uuid.UUID(hex=who.clinic_id))
    if done is None:
        return not_found("user")
    log.info("user %s disabled", user_id.hex[:8])
    return Response(status_code=204, headers=PRIVATE)


@authorized(*ANYONE)
async def list_rooms(request: Request, who: Principal) -> Response:
    """
    summary: The practice's rooms (chairs), with whether a dictation is live in each.
    tags: [rooms]
    responses:
      200: {description: Rooms}
    """
    rows = await services(request).pool.fetch(
        "SELECT r.id, r.name, r.last_seq, EXISTS (SELECT 1 FROM dictation_sessions s WHERE s.room_id = r.id AND s.ended_at IS NULL) AS live"
        " FROM rooms r WHERE r.clinic_id = $1 ORDER BY r.name", uuid.UUID(hex=who.clinic_id))
    return ok([{"id": r["id"].hex, "name": r["name"], "last_seq": r["last_seq"], "live": r["live"]} for r in rows])


@authorized(*ADMIN)
@handles_bad_input
async def create_room(request: Request, who: Principal) -> Response:
    """
    summary: Add a room (a chair) to the practice.
    tags: [rooms]
    requestBody:
      required: true
      content:
        application/json:
          schema: {type: object, required: [name], properties: {name: {type: string}}}
    responses:
      201: {description: The room's id}
      400: {description: 'No name, or a name in use'}
    """
    name = (await body(request)).get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("a room needs a name")
    room_id = await accounts.create_room(services(request).pool, who.clinic_id, name.strip())
    return ok({"id": room_id, "name": name.strip()}, 201)


# -- patients --------------------------------------------------------------------------------


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
    await _record(request, who, "patient.list", details={"count": len(found)})
    return ok(found)


@authorized(*CARE_TEAM)
@handles_bad_input
async def create_patient(request: Request, who: Principal) -> Response:
    """
    summary: Register a patient.
    tags: [patients]
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Patient'}
    responses:
      201: {description: The patient, content: {application/json: {schema: {$ref: '#/components/schemas/Patient'}}}}
      400: {description: 'A missing or invalid field, a code in use'}
    """
    patient = await patients.create(services(request).pool, who.clinic_id, await body(request))
    await _record(request, who, "patient.create", subject_type="patient", subject_id=patient["id"], patient_id=patient["id"])
    return ok(patient, 201)


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
    row = await patients.get(services(request).pool, who.clinic_id, request.path_params["patient_id"])
    if row is None:
        return not_found("patient")
    await _record(request, who, "patient.read", subject_type="patient", subject_id=row["id"].hex, patient_id=row["id"].hex)
    return ok(patients.as_dict(row))


@authorized(*CARE_TEAM)
@handles_bad_input
async def rectify_patient(request: Request, who: Principal) -> Response:
    """
    summary: Rectify a patient's identity (right to rectification). Validated documents are not changed; re-issue one with POST /v1/documents/{id}/rectify.
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
      400: {description: An unknown or invalid field}
      404: {description: No such patient in your practice}
    """
    changes = await body(request)
    async with services(request).pool.acquire() as conn, conn.transaction():
        done = await patients.rectify(conn, who.clinic_id, request.path_params["patient_id"], changes)
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
    async with state.database.pool.acquire() as conn, conn.transaction():
        row = await patients.get(conn, who.clinic_id, request.path_params["patient_id"])
        if row is None:
            return not_found("patient")
        done = await patients.erase(conn, row["id"], state.settings.document_retention_years, state.documents.now().date())
        await audit.record(conn, action="patient.erase", **who.actor, subject_type="patient", subject_id=row["id"].hex, patient_id=row["id"].hex, details=done)
    log.info("patient %s erased", row["id"].hex[:8])
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
    row = await patients.get(pool, who.clinic_id, request.path_params["patient_id"])
    if row is None:
        return not_found("patient")
    data, files = await _patient_file(services(request).journal, row)
    archive = await asyncio.get_running_loop().run_in_executor(None, _zip, data, files)
    await _record(request, who, "patient.export", subject_type="patient", subject_id=row["id"].hex, patient_id=row["id"].hex,
                  details={"sessions": len(data["sessions"]), "documents": len(data["documents"]), "bytes": len(archive)})
    name = f"chairside-{row['code']}.zip"
    return Response(archive, media_type="application/zip",
                    headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'})


async def _patient_file(journal: Journal, patient) -> tuple[dict, dict[str, bytes]]:
    pool = journal.pool
    sessions = await pool.fetch(
        "SELECT s.*, r.name AS room, u.name AS practitioner FROM dictation_sessions s LEFT JOIN rooms r ON r.id = s.room_id"
        " LEFT JOIN users u ON u.id = s.user_id WHERE s.patient_id = $1 ORDER BY s.started_at", patient["id"])
    files: dict[str, bytes] = {}
    out_sessions = []
    for s in sessions:
        out_sessions.append({"id": s["id"].hex, "started_at": _iso(s["started_at"]), "ended_at": _iso(s["ended_at"]),
                             "room": s["room"], "practitioner": s["practitioner"], "language": s["language"],
                             "utterances": [_utterance(u) for u in await journal.utterances(s["id"])],
                             "drafts": await journal.drafts(s["id"])})
    versions = await pool.fetch(
        "SELECT v.*, d.kind FROM document_versions v JOIN documents d ON d.id = v.document_id WHERE d.patient_id = $1"
        " ORDER BY d.created_at, v.version", patient["id"])
    documents: dict[str, dict] = {}
    for v in versions:
        doc = version_of_row(v, "validated")
        stem = f"{doc.number}-v{doc.version}"
        files[f"pdf/{stem}.pdf"] = doc.pdf
        files[f"fhir/{stem}.json"] = json.dumps(to_fhir(doc), ensure_ascii=False, indent=1).encode()
        documents.setdefault(doc.id, {"id": doc.id, "kind": doc.kind, "title": title(doc.kind), "versions": []})["versions"].append(
            {"version": doc.version, "number": doc.number, "issued_at": _iso(doc.issued_at), "sha256": doc.sha256,
             "pdf": f"pdf/{stem}.pdf", "fhir": f"fhir/{stem}.json", "draft": doc.draft})
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


def _utterance(u) -> dict:
    return {"utterance": u["utterance"], "source": u["source"], "text": u["text"], "words": u["words"], "start": u["start_s"],
            "end": u["end_s"], "language": u["language"], "end_of_utterance": u["end_of_utterance"], "confidence": u["confidence"],
            "at": _iso(u["created_at"])}


# -- sessions and utterances --------------------------------------------------------------------


@authorized(*CARE_TEAM)
async def list_sessions(request: Request, who: Principal) -> Response:
    """
    summary: Dictation sessions of the practice, latest first; filter by room or patient.
    tags: [sessions]
    parameters:
      - {name: room, in: query, required: false, schema: {type: string}}
      - {name: patient, in: query, required: false, schema: {type: string}}
      - {name: limit, in: query, required: false, schema: {type: integer, default: 50, maximum: 500}}
    responses:
      200: {description: Sessions}
      400: {description: A malformed filter}
    """
    q = request.query_params
    limit = q.get("limit", "50")
    room, patient = _uuid(q.get("room")), _uuid(q.get("patient"))
    if not limit.isdigit() or not 1 <= int(limit) <= 500 or (q.get("room") and room is None) or (q.get("patient") and patient is None):
        return error_response(400, "invalid_request", "room and patient are ids; limit is 1 to 500")
    rows = await services(request).pool.fetch(
        "SELECT s.id, s.language, s.started_at, s.ended_at, s.end_reason, s.room_id, s.user_id, s.patient_id,"
        " (SELECT count(*) FROM utterances u WHERE u.session_id = s.id) AS utterances FROM dictation_sessions s"
        " WHERE s.clinic_id = $1 AND ($2::uuid IS NULL OR s.room_id = $2) AND ($3::uuid IS NULL OR s.patient_id = $3)"
        " ORDER BY s.started_at DESC LIMIT $4", uuid.UUID(hex=who.clinic_id), room, patient, int(limit))
    await _record(request, who, "session.list", patient_id=patient.hex if patient else None, details={"count": len(rows)})
    return ok([_session(r) for r in rows])


def _session(r) -> dict:
    return {"id": r["id"].hex, "language": r["language"], "started_at": _iso(r["started_at"]), "ended_at": _iso(r["ended_at"]),
            "end_reason": r["end_reason"], "room": r["room_id"].hex if r["room_id"] else None,
            "user": r["user_id"].hex if r["user_id"] else None, "patient": r["patient_id"].hex if r["patient_id"] else None,
            "utterances": r["utterances"]}


async def _own_session(request: Request, who: Principal):
    session_id = _uuid(request.path_params["session_id"])
    if session_id is None:
        return None
    return await services(request).pool.fetchrow(
        "SELECT s.*, (SELECT count(*) FROM utterances u WHERE u.session_id = s.id) AS utterances FROM dictation_sessions s"
        " WHERE s.id = $1 AND s.clinic_id = $2", session_id, uuid.UUID(hex=who.clinic_id))


@authorized(*CARE_TEAM)
async def get_session(request: Request, who: Principal) -> Response:
    """
    summary: One session, with its drafts as they last were and its documents.
    tags: [sessions]
    parameters:
      - {name: session_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: The session}
      404: {description: No such session in your practice}
    """
    s = await _own_session(request, who)
    if s is None:
        return not_found("session")
    pool = services(request).pool
    drafts = await services(request).journal.drafts(s["id"])
    documents = await pool.fetch("SELECT id FROM documents WHERE session_id = $1 ORDER BY created_at", s["id"])
    await _record(request, who, "session.read", subject_type="session", subject_id=s["id"].hex,
                  patient_id=s["patient_id"].hex if s["patient_id"] else None)
    return ok({**_session(s), "drafts": drafts, "documents": [f"/v1/documents/{d['id'].hex}" for d in documents]})


@authorized(*CARE_TEAM)
async def session_utterances(request: Request, who: Principal) -> Response:
    """
    summary: The final utterances of a session, in order, with word timings.
    tags: [sessions]
    parameters:
      - {name: session_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: Utterances}
      404: {description: No such session in your practice}
    """
    s = await _own_session(request, who)
    if s is None:
        return not_found("session")
    rows = await services(request).journal.utterances(s["id"])
    await _record(request, who, "session.read", subject_type="session", subject_id=s["id"].hex,
                  patient_id=s["patient_id"].hex if s["patient_id"] else None, details={"utterances": len(rows)})
    return ok([_utterance(u) for u in rows])


# -- documents ------------------------------------------------------------------------------------


@authorized(*CARE_TEAM)
async def list_documents(request: Request, who: Principal) -> Response:
    """
    summary: Validated documents of the practice, latest first; filter by patient or session.
    tags: [documents]
    parameters:
      - {name: patient, in: query, required: false, schema: {type: string}}
      - {name: session, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: Documents with their latest version}
      400: {description: A malformed filter}
    """
    q = request.query_params
    patient, session = _uuid(q.get("patient")), _uuid(q.get("session"))
    if (q.get("patient") and patient is None) or (q.get("session") and session is None):
        return error_response(400, "invalid_request", "patient and session are ids")
    rows = await services(request).pool.fetch(
        "SELECT DISTINCT ON (d.id) d.id, d.kind, d.patient_id, d.session_id, v.version, v.number, v.issued_at, v.sha256, v.validated_by"
        " FROM documents d JOIN document_versions v ON v.document_id = d.id WHERE d.clinic_id = $1"
        " AND ($2::uuid IS NULL OR d.patient_id = $2) AND ($3::uuid IS NULL OR d.session_id = $3)"
        " ORDER BY d.id, v.version DESC", uuid.UUID(hex=who.clinic_id), patient, session)
    rows = sorted(rows, key=lambda r: r["issued_at"], reverse=True)
    await _record(request, who, "document.list", patient_id=patient.hex if patient else None, details={"count": len(rows)})
    return ok([{"id": r["id"].hex, "kind": r["kind"], "title": title(r["kind"]), "version": r["version"], "number": r["number"],
                "issued_at": _iso(r["issued_at"]), "sha256": r["sha256"],
                "validated_by": r["validated_by"].hex if r["validated_by"] else None, "patient": r["patient_id"].hex if r["patient_id"] else None,
                "session": r["session_id"].hex if r["session_id"] else None, "url": pdf_url(r["id"].hex, r["version"]),
                "fhir_url": fhir_url(r["id"].hex, r["version"])} for r in rows])


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
    doc_id = _uuid(request.path_params["document_id"])
    owner = None if doc_id is None else await state.database.pool.fetchrow(
        "SELECT clinic_id, patient_id, session_id FROM documents WHERE id = $1 AND clinic_id = $2", doc_id, uuid.UUID(hex=who.clinic_id))
    latest = await state.documents.store.get(doc_id.hex) if owner else None
    if latest is None:
        return not_found("document")
    patient = owner["patient_id"].hex if owner["patient_id"] else None
    old = latest.context
    context = await patients.document_context(state.database.pool, who.user_id, patient, _lab(old))
    draft = {**latest.draft, "version": latest.version + 1, "status": "validated"}
    doc = await state.documents.issue(draft, context, preview=False, owner=Owner(
        who.clinic_id, who.user_id, None, patient, owner["session_id"].hex if owner["session_id"] else None))
    return ok({"document_id": doc.id, "version": doc.version, "number": doc.number, "sha256": doc.sha256,
               "url": doc.pdf_url, "fhir_url": doc.fhir_url}, 201)


def _lab(context: dict) -> Lab:
    return Lab.model_validate(context.get("lab") or {})


def api_routes() -> list[Route]:
    return [
        Route("/v1/auth/login", login, methods=["POST"]),
        Route("/v1/auth/refresh", refresh, methods=["POST"]),
        Route("/v1/auth/password", change_password, methods=["POST"]),
        Route("/v1/me", me, methods=["GET"]),
        Route("/v1/users", list_users, methods=["GET"]),
        Route("/v1/users", create_user, methods=["POST"]),
        Route("/v1/users/{user_id}", disable_user, methods=["DELETE"]),
        Route("/v1/rooms", list_rooms, methods=["GET"]),
        Route("/v1/rooms", create_room, methods=["POST"]),
        Route("/v1/patients", list_patients, methods=["GET"]),
        Route("/v1/patients", create_patient, methods=["POST"]),
        Route("/v1/patients/{patient_id}", get_patient, methods=["GET"]),
        Route("/v1/patients/{patient_id}", rectify_patient, methods=["PATCH"]),
        Route("/v1/patients/{patient_id}", erase_patient, methods=["DELETE"]),
        Route("/v1/patients/{patient_id}/export", export_patient, methods=["GET"]),
        Route("/v1/sessions", list_sessions, methods=["GET"]),
        Route("/v1/sessions/{session_id}", get_session, methods=["GET"]),
        Route("/v1/sessions/{session_id}/utterances", session_utterances, methods=["GET"]),
        Route("/v1/documents", list_documents, methods=["GET"]),
        Route("/v1/documents/{document_id}/rectify", rectify_document, methods=["POST"]),
    ]
