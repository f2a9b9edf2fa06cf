"""Patients' rights on a real server: access (a zip export), rectification
(a new document version, the validated PDF unchanged), erasure (with the
documented retention of legal documents); the audit trail of all of it,
verified by ``chairside audit verify``; and no patient data in the logs."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import subprocess
import sys
import zipfile

import asyncpg
import httpx
import pytest
import websockets
from conftest import FIX_DURATION, ROOT, create_practice, start_server, stop_server
from factories import CONTEXT
from pypdf import PdfReader

from chairside.store.db import start_embedded

PATIENT = {"last_name": "Quenneville", "first_name": "Albertine", "sex": "F", "birth_date": "1979-11-02", "weight_kg": 58,
           "code": "P-2026-0777"}
SAID = "Paracétamol un gramme, un comprimé toutes les six heures si douleur, pendant trois jours."


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def dictate(practice, patient_id: str, steps: list, speech=None) -> list[dict]:
    async with websockets.connect(practice.server.ws) as ws:
        await ws.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "room": practice.rooms[0],
                                  "patient": patient_id, "lab": CONTEXT["lab"]}))
        for step in steps:
            if step == "speech":
                from chairside.client import load_audio, to_pcm

                pcm = to_pcm(load_audio(speech)) + bytes(32000)
                for offset in range(0, len(pcm), 3200):
                    await ws.send(pcm[offset : offset + 3200])
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.0)
            else:
                await ws.send(json.dumps({"type": "text", "text": step}))
        await ws.send(json.dumps({"type": "stop"}))
        return [json.loads(m) async for m in ws]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    """A server of its own (its log is read whole), at debug level, that
    erases validated documents with the rest (retention 0)."""
    server = start_server(tmp_path_factory.mktemp("rights"), log_level="debug", document_retention_years="0")
    yield create_practice(server)
    stop_server(server)


def new_patient(practice, **fields) -> dict:
    response = httpx.post(practice.server.http + "/v1/patients", headers=practice.headers("assistant"), json={**PATIENT, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def audit_rows(server, patient_id: str) -> list[dict]:
    pg = start_embedded(server.data_dir)
    try:
        async def rows():
            conn = await asyncpg.connect(pg.get_uri())
            try:
                return [dict(r) for r in await conn.fetch(
                    "SELECT action, actor_role, subject_type, details::text AS details FROM audit_events WHERE patient_id = $1 ORDER BY id",
                    patient_id)]
            finally:
                await conn.close()

        return asyncio.run(rows())
    finally:
        pg.cleanup()


def test_export_rectify_erase(clinic, corpus):
    practice = clinic
    patient = new_patient(practice)
    pid = patient["id"]
    events = asyncio.run(dictate(practice, pid, ["Nouvelle ordonnance.", "speech", FIX_DURATION, SAID, "Valide.", "Oui."], corpus["dental_02.wav"].path))
    document = [e for e in events if e["type"] == "document.ready"][0]
    said = [e["text"] for e in events if e["type"] == "final" and e["text"]]

    found = practice.get("/v1/patients", params={"q": "quennev"}).json()  # a search by name: the name goes in a query string
    assert [p["id"] for p in found] == [pid]

    # access: everything about the patient, in one zip
    export = practice.get(f"/v1/patients/{pid}/export")
    assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
    assert export.headers["content-disposition"] == 'attachment; filename="chairside-P-2026-0777.zip"'
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    data = json.loads(archive.read("patient.json"))
    assert data["patient"]["last_name"] == "Quenneville" and data["format"] == "chairside-patient-export/1"
    assert [u["text"] for u in data["sessions"][0]["utterances"]] == said
    spoken = [u for u in data["sessions"][0]["utterances"] if u["source"] == "speech"]
    assert spoken and all(0 < u["confidence"] <= 1 and u["words"] for u in spoken)
    assert all(u["confidence"] is None for u in data["sessions"][0]["utterances"] if u["source"] == "text")
    assert data["sessions"][0]["drafts"][0]["status"] == "validated"
    version = data["documents"][0]["versions"][0]
    assert hashlib.sha256(archive.read(version["pdf"])).hexdigest() == document["sha256"]
    bundle = json.loads(archive.read(version["fhir"]))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "document"

    # rectification: the patient file changes, the validated PDF does not; a re-issue is version 2
    rectified = httpx.patch(practice.server.http + f"/v1/patients/{pid}", headers=practice.headers(),
                            json={"last_name": "Quenneville-Roy", "weight_kg": 59})
    assert rectified.status_code == 200 and rectified.json()["last_name"] == "Quenneville-Roy"
    for bad in ({"birth_date": "02/11/1979"}, {"nickname": "Titine"}, {"last_name": ""}):
        refused = httpx.patch(practice.server.http + f"/v1/patients/{pid}", headers=practice.headers(), json=bad)
        assert refused.status_code == 400, (bad, refused.text)
    assert practice.get(f"/v1/patients/{pid}").json()["last_name"] == "Quenneville-Roy"  # the refusals changed nothing
    v1 = practice.get(document["url"])
    assert hashlib.sha256(v1.content).hexdigest() == document["sha256"] and "QUENNEVILLE-ROY" not in pdf_text(v1.content)
    reissued = httpx.post(practice.server.http + f"/v1/documents/{document['document_id']}/rectify", headers=practice.headers())
    assert reissued.status_code == 201 and reissued.json()["version"] == 2
    assert "QUENNEVILLE-ROY" in pdf_text(practice.get(reissued.json()["url"]).content)
    assert practice.get(document["url"]).content == v1.content  # version 1 as it was signed

    # erasure (retention 0 on this server: validated documents go too)
    erased = httpx.delete(practice.server.http + f"/v1/patients/{pid}", headers=practice.headers())
    assert erased.status_code == 200, erased.text
    result = erased.json()
    assert result["deleted"]["utterances"] == len(said) and result["deleted"]["sessions"] == 1
    assert result["documents_deleted"] == 1 and result["documents_kept"] == 0 and result["retention_years"] == 0
    assert practice.get(f"/v1/patients/{pid}").status_code == 404
    assert practice.get(f"/v1/sessions?patient={pid}").json() == []
    assert practice.get(document["url"]).status_code == 404
    assert practice.get(f"/v1/sessions/{events[0]['session_id']}/utterances").status_code == 404
    assert httpx.delete(practice.server.http + f"/v1/patients/{pid}", headers=practice.headers()).status_code == 404

    # the screens' log forgot the session too
    async def snapshot():
        async with websockets.connect(f"ws://127.0.0.1:{practice.server.port}/v1/rooms/{practice.rooms[0]}/events") as ws:
            await ws.send(json.dumps({"type": "hello", "token": practice.tokens["assistant"]}))
            return json.loads(await ws.recv())

    shown = json.dumps(asyncio.run(snapshot()), ensure_ascii=False)
    assert "Quenneville" not in shown and "Paracétamol" not in shown

    # every access was audited, with ids and counts only, and the chain holds
    actions = [r["action"] for r in audit_rows(practice.server, pid)]
    for expected in ("patient.create", "document.validate", "patient.export", "patient.rectify", "document.read", "patient.read",
                     "patient.erase"):
        assert expected in actions, (expected, actions)
    assert all("Quenneville" not in r["details"] and "Paracétamol" not in r["details"] for r in audit_rows(practice.server, pid))
    verify = subprocess.run([sys.executable, "-m", "chairside.cli", "audit", "verify"], env=practice.server.env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and verify.stdout.startswith("audit trail intact"), verify.stdout + verify.stderr

    # nothing about the patient reached the log, not even at debug level
    log = practice.server.log()
    for secret in ("Quenneville", "quennev", "Albertine", "1979-11-02", "P-2026-0777", "Paracétamol", "aracétamol", *said):
        assert secret not in log, secret


def test_erasure_keeps_validated_documents_for_the_retention_period(practice):
    """On the shared server (default retention: 20 years), the legal record
    stays, unchanged, and nothing else does."""
    patient = new_patient(practice, code="P-2026-0778")
    events = asyncio.run(dictate(practice, patient["id"], ["Nouvelle ordonnance.", SAID, "Valide.", "Oui.", "Nouveau compte rendu.", "Motif douleur."]))
    document = [e for e in events if e["type"] == "document.ready"][0]
    erased = httpx.delete(practice.server.http + f"/v1/patients/{patient['id']}", headers=practice.headers()).json()
    assert (erased["documents_kept"], erased["documents_deleted"], erased["retention_years"]) == (1, 0, 20)
    assert erased["deleted"]["draft_changes"] >= 4 and erased["deleted"]["sessions"] == 1
    kept = practice.get(document["url"])
    assert kept.status_code == 200 and hashlib.sha256(kept.content).hexdigest() == document["sha256"]
    assert practice.get(f"/v1/patients/{patient['id']}").status_code == 404
    assert all(p["id"] != patient["id"] for p in practice.get("/v1/patients").json())
    # its code is free again
    assert new_patient(practice, code="P-2026-0778")["code"] == "P-2026-0778"


def test_bad_patients_are_refused_with_the_reason(practice):
    for bad, reason in (({"last_name": "Sans Prénom"}, "first_name"), ({**PATIENT, "sex": "Z"}, "sex"),
                        ({**PATIENT, "weight_kg": -3}, "weight_kg"), ({**PATIENT, "code": practice.patient["code"]}, "code")):
        response = httpx.post(practice.server.http + "/v1/patients", headers=practice.headers(), json=bad)
        assert response.status_code == 400 and reason in response.json()["error"]["message"], response.text
    assert httpx.post(practice.server.http + "/v1/patients", headers=practice.headers(), content=b"{").status_code == 400


def test_a_session_whose_patient_is_erased_ends_with_the_reason(practice):
    patient = new_patient(practice, code="P-2026-0779")

    async def scenario():
        async with websockets.connect(practice.server.ws) as ws:
            await ws.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "patient": patient["id"]}))
            await ws.send(json.dumps({"type": "text", "text": "Nouvelle ordonnance."}))
            got = []
            while not any(e["type"] == "draft.updated" for e in got):
                got.append(json.loads(await ws.recv()))
            erased = httpx.delete(practice.server.http + f"/v1/patients/{patient['id']}", headers=practice.headers())
            assert erased.status_code == 200
            await ws.send(json.dumps({"type": "text", "text": SAID}))
            rest = []
            with pytest.raises(websockets.ConnectionClosedError):
                while True:
                    rest.append(json.loads(await ws.recv()))
            return rest, ws.close_code

    rest, close_code = asyncio.run(scenario())
    assert rest[-1]["type"] == "error" and rest[-1]["code"] == "session_erased" and rest[-1]["fatal"], rest
    assert close_code == 4410


# -- the facts a prescriber checks ----------------------------------------------------

SAFETY = {"allergies": ["Pénicilline", "chlorhexidine"], "pregnancy_weeks": 14, "breastfeeding": False, "anticoagulant": True,
          "antiplatelet": False, "renal_failure": "moderate", "hepatic_failure": None}


def patient_row(server, patient_id: str) -> dict | None:
    pg = start_embedded(server.data_dir)
    try:
        async def row():
            conn = await asyncpg.connect(pg.get_uri())
            try:
                found = await conn.fetchrow("SELECT * FROM patients WHERE id = $1", patient_id)
                return None if found is None else dict(found)
            finally:
                await conn.close()

        return asyncio.run(row())
    finally:
        pg.cleanup()


def test_safety_facts_are_created_read_rectified_exported_and_erased(practice):
    patient = new_patient(practice, code="P-2026-0780", **SAFETY)
    pid = patient["id"]
    assert {k: patient[k] for k in SAFETY} == SAFETY
    assert patient["allergy_classes"] == ["chlorhexidine", "penicillin"]
    assert {k: practice.get(f"/v1/patients/{pid}", "assistant").json()[k] for k in SAFETY} == SAFETY
    listed = [p for p in practice.get("/v1/patients", params={"q": "P-2026-0780"}).json() if p["id"] == pid]
    assert listed and listed[0]["anticoagulant"] is True and listed[0]["allergies"] == SAFETY["allergies"]

    # the documents' context has them: the FHIR export of a prescription for the patient lists the allergies
    events = asyncio.run(dictate(practice, pid, ["Nouvelle ordonnance.", "Amoxicilline un gramme matin et soir pendant sept jours.", "Valide.", "Oui."]))
    document = [e for e in events if e["type"] == "document.ready"][0]
    bundle = practice.get(document["fhir_url"]).json()
    allergies = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "AllergyIntolerance"]
    assert [a["code"]["text"] for a in allergies] == SAFETY["allergies"]
    assert allergies[0]["code"]["coding"][0]["code"] == "penicillin"
    assert any(e["resource"]["resourceType"] == "Condition" for e in bundle["entry"])

    # rectification: only what is given changes; the audit names the fields, never their values
    changes = {"allergies": ["Pénicilline", "chlorhexidine", "latex"], "anticoagulant": False, "renal_failure": "severe",
               "pregnancy_weeks": None}
    rectified = httpx.patch(practice.server.http + f"/v1/patients/{pid}", headers=practice.headers("assistant"), json=changes)
    assert rectified.status_code == 200, rectified.text
    assert {k: rectified.json()[k] for k in changes} == changes and rectified.json()["last_name"] == PATIENT["last_name"]
    assert rectified.json()["allergy_classes"] == ["chlorhexidine", "latex", "penicillin"]
    rectify = [r for r in audit_rows(practice.server, pid) if r["action"] == "patient.rectify"]
    assert len(rectify) == 1 and json.loads(rectify[0]["details"]) == {"fields": ["allergies", "pregnancy_weeks", "anticoagulant", "renal_failure"]}
    rows = audit_rows(practice.server, pid)
    assert not any(secret in r["details"] for r in rows for secret in ("latex", "Pénicilline", "chlorhexidine", "severe", "moderate"))

    def values(node):  # every scalar in a row's details ("14" may be in a document number: values, not text)
        if isinstance(node, dict):
            return [v for item in node.values() for v in values(item)]
        return [v for item in node for v in values(item)] if isinstance(node, list) else [node]

    assert 14 not in [v for r in rows for v in values(json.loads(r["details"]))]  # the pregnancy weeks

    # an inconsistent patient is refused, and nothing changes
    httpx.patch(practice.server.http + f"/v1/patients/{pid}", headers=practice.headers(), json={"pregnancy_weeks": 15})
    refused = httpx.patch(practice.server.http + f"/v1/patients/{pid}", headers=practice.headers(), json={"sex": "M"})
    assert refused.status_code == 400 and refused.json()["error"]["message"].startswith("pregnancy_weeks: a patient of sex M"), refused.text
    assert practice.get(f"/v1/patients/{pid}").json()["sex"] == "F"

    # access: the export's patient.json has them
    archive = zipfile.ZipFile(io.BytesIO(practice.get(f"/v1/patients/{pid}/export").content))
    exported = json.loads(archive.read("patient.json"))["patient"]
    assert exported["allergies"] == changes["allergies"] and exported["renal_failure"] == "severe" and exported["pregnancy_weeks"] == 15

    # erasure (retention 20 on this server): the prescription is kept, the patient row is an erased marker without them
    erased = httpx.delete(practice.server.http + f"/v1/patients/{pid}", headers=practice.headers())
    assert erased.status_code == 200 and erased.json()["documents_kept"] == 1
    row = patient_row(practice.server, pid)
    assert row["erased_at"] is not None and row["last_name"] == ""
    assert (row["allergies"], row["pregnancy_weeks"], row["breastfeeding"], row["anticoagulant"], row["antiplatelet"],
            row["renal_failure"], row["hepatic_failure"]) == ([], None, False, False, False, None, None)


def test_bad_safety_facts_are_refused_with_the_field_named(practice):
    for bad, field in (({"sex": "M", "pregnancy_weeks": 10}, "pregnancy_weeks"), ({"pregnancy_weeks": 46}, "pregnancy_weeks"),
                       ({"pregnancy_weeks": "douze"}, "pregnancy_weeks"), ({"allergies": ["x" * 101]}, "allergies.0"),
                       ({"allergies": [f"allergie {i}" for i in range(31)]}, "allergies"), ({"allergies": "pénicilline"}, "allergies"),
                       ({"renal_failure": "mild"}, "renal_failure"), ({"hepatic_failure": "sévère"}, "hepatic_failure"),
                       ({"breastfeeding": "peut-être"}, "breastfeeding"), ({"antiplatelet": None}, "antiplatelet")):
        response = httpx.post(practice.server.http + "/v1/patients", headers=practice.headers(), json={**PATIENT, "code": "P-2026-0781", **bad})
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["error"]["message"].startswith(f"{field}: "), (bad, response.text)
    assert not practice.get("/v1/patients", params={"q": "P-2026-0781"}).json()  # none was registered


def test_the_allergy_classes_are_offered_to_forms(practice):
    classes = {c["key"]: c for c in practice.get("/v1/allergy-classes", "assistant").json()}
    assert classes["penicillin"]["fr"] == "pénicillines" and "amoxicilline" in classes["penicillin"]["terms"]
    assert classes["beta-lactam"]["includes"] == ["penicillin", "cephalosporin"]
