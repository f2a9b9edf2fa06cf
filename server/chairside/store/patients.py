"""Patients of a practice, and their rights: access (export), rectification,
erasure.

A patient row holds their identity (``IDENTITY``) and what a prescriber must
check (``SAFETY``: allergies, pregnancy, breastfeeding, anticoagulant and
antiplatelet treatments, renal and hepatic failure), validated by
:class:`chairside.record.context.Patient`; both go to the documents'
context (:func:`document_context`).

Every function takes the caller's clinic and only ever touches that
clinic's rows: another practice's patient is "not found".

Erasure (``erase``) removes the patient's dictation sessions, transcripts,
draft changes, room events and previews at once (Chairside keeps no audio).
Validated documents are legal records: those issued less than
``CHAIRSIDE_DOCUMENT_RETENTION_YEARS`` ago are kept unchanged (with the
patient's identity as printed on them) and the patient row is reduced to an
erased marker (no identity, no safety facts); older ones are deleted with the rest.  A retention of 0
erases validated documents too.
"""

from __future__ import annotations

import re
from datetime import date

import asyncpg
from pydantic import ValidationError

from ..record.allergies import allergy_classes
from ..record.context import Clinic, DocumentContext, Lab, Patient, Practitioner
from ..record.ids import new_id
from .db import affected
from .errors import AccountError, first_error

IDENTITY = ("code", "last_name", "first_name", "sex", "birth_date", "weight_kg")
# what a prescriber checks (migration 0006): never printed, given to the documents' context
SAFETY = ("allergies", "pregnancy_weeks", "breastfeeding", "anticoagulant", "antiplatelet", "renal_failure", "hepatic_failure")
EDITABLE = IDENTITY + SAFETY
_COLUMNS = ", ".join(EDITABLE)


def as_dict(row: asyncpg.Record) -> dict:
    """A patient as the API gives it: the editable fields, the known classes
    of their allergies (read-only, ``record.allergies``), id and creation time."""
    return {"id": row["id"], "code": row["code"], "last_name": row["last_name"], "first_name": row["first_name"],
            "sex": row["sex"], "birth_date": row["birth_date"].isoformat() if row["birth_date"] else None,
            "weight_kg": row["weight_kg"], **{k: _safety_value(row, k) for k in SAFETY},
            "allergy_classes": sorted(allergy_classes(row["allergies"])), "created_at": row["created_at"].isoformat()}


def _safety_value(row: asyncpg.Record, name: str):
    return list(row[name]) if name == "allergies" else row[name]


def _checked(values: dict) -> Patient:
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise AccountError(f"unknown patient field(s): {', '.join(sorted(unknown))}; known: {', '.join(EDITABLE)}")
    try:
        patient = Patient.model_validate(values)
    except ValidationError as exc:
        raise AccountError(first_error(exc)) from exc
    for name, words in (("last_name", "a last name"), ("first_name", "a first name")):
        if not getattr(patient, name):
            raise AccountError(f"{name}: a patient needs {words}")
    return patient


async def create(pool, clinic_id: str, values: dict) -> dict:
    fields = _checked(values).model_dump()
    code = fields["code"] = fields["code"] or f"P-{new_id()[:8].upper()}"
    try:
        row = await pool.fetchrow(
            f"INSERT INTO patients (id, clinic_id, {_COLUMNS})"
            f" VALUES ($1, $2, {', '.join(f'${i}' for i in range(3, 3 + len(EDITABLE)))}) RETURNING *",
            new_id(), clinic_id, *(fields[k] for k in EDITABLE))
    except asyncpg.UniqueViolationError:
        raise AccountError(f"code: the practice has a patient with the code {code!r} already") from None
    return as_dict(row)


async def get(pool, clinic_id: str, patient_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM patients WHERE id = $1 AND clinic_id = $2 AND erased_at IS NULL",
                               patient_id, clinic_id)


async def search(pool, clinic_id: str, query: str = "", limit: int = 50) -> list[dict]:
    """Patients whose name or code contains ``query`` (case ignored), or born
    on the day it names ("2014-03-12" or "12/03/2014")."""
    query = query.strip()
    born = _day(query)
    rows = await pool.fetch(
        "SELECT * FROM patients WHERE clinic_id = $1 AND erased_at IS NULL AND"
        " ((last_name || ' ' || first_name || ' ' || code) ILIKE '%' || $2 || '%' OR birth_date = $4)"
        " ORDER BY last_name, first_name LIMIT $3", clinic_id, query, limit, born)
    return [as_dict(r) for r in rows]


def _day(text: str) -> date | None:
    """The day a search names, as ISO or as French write it (12/03/2014)."""
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    try:
        return date(int(m[3]), int(m[2]), int(m[1])) if m else date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


async def rectify(conn, clinic_id: str, patient_id: str, changes: dict) -> tuple[dict, list[str]] | None:
    """Correct a patient's identity or safety facts (validated documents are
    not touched: re-issue one with ``POST /v1/documents/{id}/rectify``).
    The patient as it now is and the changed fields' names (never their
    values: they go to the audit trail), or None if there is no such
    patient.  The whole patient is checked again: a change that makes it
    inconsistent (sex M while a pregnancy is recorded) is refused."""
    row = await get(conn, clinic_id, patient_id)
    if row is None:
        return None
    current = {k: _safety_value(row, k) if k in SAFETY else row[k] for k in EDITABLE}
    new = _checked({**current, **changes}).model_dump()
    changed = [k for k in EDITABLE if new[k] != current[k]]
    try:
        row = await conn.fetchrow(
            f"UPDATE patients SET {', '.join(f'{k} = ${i}' for i, k in enumerate(EDITABLE, 2))}"
            " WHERE id = $1 RETURNING *", row["id"], *(new[k] for k in EDITABLE))
    except asyncpg.UniqueViolationError:
        raise AccountError(f"code: the practice has a patient with the code {new['code']!r} already") from None
    return as_dict(row), changed


async def erase(conn, patient_id: str, retention_years: int, today: date) -> dict:
    """Erase a patient (in the caller's transaction): what was deleted and kept."""
    sessions = [r["id"] for r in await conn.fetch("SELECT id FROM dictation_sessions WHERE patient_id = $1", patient_id)]
    cutoff = _years_before(today, retention_years)
    kept = [r["id"] for r in await conn.fetch(
        "SELECT d.id FROM documents d WHERE d.patient_id = $1 AND EXISTS"
        " (SELECT 1 FROM document_versions v WHERE v.document_id = d.id AND v.issued_at >= $2)", patient_id, cutoff)] \
        if retention_years > 0 else []
    expired = [r["id"] for r in await conn.fetch(
        "SELECT id FROM documents WHERE (patient_id = $1 OR session_id = ANY($2::uuid[])) AND NOT id = ANY($3::uuid[])",
        patient_id, sessions, kept)]
    counts = {
        "room_events": affected(await conn.execute("DELETE FROM room_events WHERE session_id = ANY($1::uuid[])", sessions)),
        "utterances": affected(await conn.execute("DELETE FROM utterances WHERE session_id = ANY($1::uuid[])", sessions)),
        "draft_changes": affected(await conn.execute("DELETE FROM draft_changes WHERE session_id = ANY($1::uuid[])", sessions)),
        "previews": affected(await conn.execute(
            "DELETE FROM document_previews WHERE patient_id = $1 OR session_id = ANY($2::uuid[])", patient_id, sessions)),
        "document_versions": affected(await conn.execute("DELETE FROM document_versions WHERE document_id = ANY($1::uuid[])", expired)),
    }
    await conn.execute("DELETE FROM documents WHERE id = ANY($1::uuid[])", expired)
    await conn.execute("UPDATE documents SET session_id = NULL WHERE session_id = ANY($1::uuid[])", sessions)
    counts["sessions"] = affected(await conn.execute("DELETE FROM dictation_sessions WHERE id = ANY($1::uuid[])", sessions))
    if kept:  # the legal documents keep the identity printed on them; the patient file is gone
        await conn.execute(
            "UPDATE patients SET erased_at = now(), code = 'erased-' || id::text, last_name = '', first_name = '',"
            " sex = NULL, birth_date = NULL, weight_kg = NULL, allergies = '{}', pregnancy_weeks = NULL, breastfeeding = false,"
            " anticoagulant = false, antiplatelet = false, renal_failure = NULL, hepatic_failure = NULL WHERE id = $1", patient_id)
    else:
        await conn.execute("DELETE FROM patients WHERE id = $1", patient_id)
    return {"deleted": counts, "documents_deleted": len(expired), "documents_kept": len(kept),
            "retention_years": retention_years}


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


async def document_context(pool, user_id: str, patient_id: str | None, lab: Lab) -> DocumentContext:
    """What documents print, from the store: the dictating practitioner, their
    practice, the session's patient (with their safety facts, which are not
    printed but checked); the lab as the client named it."""
    user = await pool.fetchrow("SELECT u.*, c.name AS clinic_name, c.street, c.postcode, c.city, c.country,"
                               " c.phone AS clinic_phone, c.email AS clinic_email"
                               " FROM users u JOIN clinics c ON c.id = u.clinic_id WHERE u.id = $1", user_id)
    practitioner = Practitioner(name=user["name"], title=user["title"], specialty=user["specialty"], rpps=user["rpps"] or "",
                                email=user["email"], phone=user["phone"])
    clinic = Clinic(name=user["clinic_name"], phone=user["clinic_phone"], email=user["clinic_email"],
                    address={"street": user["street"], "postcode": user["postcode"], "city": user["city"], "country": user["country"]})
    patient = Patient()
    if patient_id is not None:
        row = await pool.fetchrow("SELECT * FROM patients WHERE id = $1", patient_id)
        if row is not None:
            patient = Patient(**{k: row[k] for k in EDITABLE})
    return DocumentContext(practitioner=practitioner, clinic=clinic, patient=patient, lab=lab)
