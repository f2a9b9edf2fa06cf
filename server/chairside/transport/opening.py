"""Opening a dictation session, whatever the transport (WebSocket or
WebRTC): the dentist's token, their room and patient checked against the
store, the documents' context read from it, an interrupted session resumed,
the room's feed started."""

from __future__ import annotations

from .. import events as ev
from ..auth import DICTATE, AuthError, still_valid
from ..record.ids import new_id
from ..record.versions import Owner
from ..registry import Live
from ..rooms.publisher import RoomPublisher, recover
from ..services import Services
from ..session import Session
from ..store import patients
from ..store import rooms as room_store

CLOSE_TAKEN_OVER = 4409  # the session was resumed on another connection


class Refused(Exception):
    """The session may not open: ``status`` is the HTTP status it stands for
    (401, 403, 404); WebSockets close with 4000 + status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def open_session(state: Services, start: ev.Start, token: str | None, *, connection: Live | None = None) -> Session:
    """The session a ``start`` asks for, once the caller may have it: a
    dentist, in a room and for a patient of their own practice.
    ``connection``: the caller's entry in the registry (not taken over)."""
    try:
        who = state.tokens.verify(token)
        await still_valid(state.database.pool, who)  # not disabled, not logged out since
    except AuthError as exc:
        raise Refused(exc.status, exc.code, exc.message) from None
    if who.role not in DICTATE:
        raise Refused(403, "forbidden", "only a dentist dictates; assistants watch rooms (/v1/rooms/{room}/events)")
    if connection is not None:  # a slot only now, for an authenticated dentist
        # finals already wait, or come late: a new session would make them later
        settings, engine = state.settings, state.engine
        busy = (0 < settings.busy_final_wait_s < engine.final_wait_s()
                or 0 < settings.busy_final_delay_s < engine.final_delay_s())
        refused = state.sessions.admit(connection, who.user_id, who.clinic_id, busy)
        if refused == "user":
            raise Refused(429, "too_many_sessions",
                          f"you already have {state.settings.max_sessions_per_user} sessions open; stop one (or resume it) first")
        if refused is not None:
            raise Refused(503, "server_busy", "the server runs its maximum of sessions"
                          + (" for your practice" if refused == "practice" else "") + "; retry later")
    pool = state.database.pool
    resumed = None
    if start.resume:
        resumed = await state.journal.resumable(start.resume, who.user_id)
        if resumed is None:
            raise Refused(404, "not_found", "no interrupted session of yours with this id (a stopped session cannot be resumed)")
        await state.sessions.take_over(resumed.session_id, keep=connection)
    room = resumed.room_id if resumed else start.room
    patient = resumed.patient_id if resumed else start.patient
    if room and not await room_store.in_clinic(pool, room, who.clinic_id):
        raise Refused(404, "not_found", "no such room in your practice")
    if patient and not resumed and await patients.get(pool, who.clinic_id, patient) is None:
        raise Refused(404, "not_found", "no such patient in your practice")
    if resumed:
        context = resumed.context
    else:
        context = await patients.document_context(pool, who.user_id, patient, start.lab)
    session_id = resumed.session_id if resumed else new_id()
    if room and resumed:
        await recover(pool, room, session_id)
    publisher = RoomPublisher(pool, room, session_id) if room else None
    session = Session(engine=state.engine, vad=state.vad, settings=state.settings, start=start, model_name=state.model_name,
                      documents=state.documents, journal=state.journal, context=context,
                      owner=Owner(who.clinic_id, who.user_id, room, patient), publisher=publisher, resumed=resumed, session_id=session_id)
    try:
        await session.open()
    except BaseException:
        await session.close()
        raise
    return session
