"""Dictation sessions and their utterances."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..auth import CARE_TEAM, Principal, authorized, error_response
from ..services import services
from ..store import documents, sessions
from .common import given_id, iso, not_found, ok, record


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
    room, patient = given_id(q.get("room")), given_id(q.get("patient"))
    if not limit.isdigit() or not 1 <= int(limit) <= 500 or (q.get("room") and room is None) or (q.get("patient") and patient is None):
        return error_response(400, "invalid_request", "room and patient are ids; limit is 1 to 500")
    rows = await sessions.sessions_of(services(request).pool, who.clinic_id, room, patient, int(limit))
    await record(request, who, "session.list", patient_id=patient, details={"count": len(rows)})
    return ok([_session(r) for r in rows])


def _session(r) -> dict:
    return {"id": r["id"], "language": r["language"], "started_at": iso(r["started_at"]), "ended_at": iso(r["ended_at"]),
            "end_reason": r["end_reason"], "room": r["room_id"], "user": r["user_id"], "patient": r["patient_id"],
            "utterances": r["utterances"]}


async def _own_session(request: Request, who: Principal):
    session_id = given_id(request.path_params["session_id"])
    if session_id is None:
        return None
    return await sessions.session_of(services(request).pool, who.clinic_id, session_id)


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
    drafts = await services(request).journal.drafts(s["id"])
    document_ids = await documents.ids_of_session(services(request).pool, s["id"])
    await record(request, who, "session.read", subject_type="session", subject_id=s["id"], patient_id=s["patient_id"])
    return ok({**_session(s), "drafts": drafts, "documents": [f"/v1/documents/{d}" for d in document_ids]})


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
    await record(request, who, "session.read", subject_type="session", subject_id=s["id"], patient_id=s["patient_id"],
                 details={"utterances": len(rows)})
    return ok([utterance(u) for u in rows])


def utterance(u) -> dict:
    """An utterance as the API shows it (from a row of ``utterances``)."""
    return {"utterance": u["utterance"], "source": u["source"], "text": u["text"], "words": u["words"], "start": u["start_s"],
            "end": u["end_s"], "language": u["language"], "end_of_utterance": u["end_of_utterance"], "confidence": u["confidence"],
            "at": iso(u["created_at"])}
