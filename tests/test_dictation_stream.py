"""Dictation through /v1/stream: typed text and real speech drive the same
session's drafts, and validated documents are fetched over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json

import httpx
import websockets
from conftest import FIX_DURATION, Practice, bearer, pdf_text
from factories import CONTEXT

from chairside.client import load_audio, to_pcm


def dictate(practice: Practice, steps: list) -> list[dict]:
    """A session of the practice's dentist for its patient, in its first room."""
    return asyncio.run(session(practice.server.ws, practice.tokens["dentist"], steps, room=practice.rooms[0],
                               patient=practice.patient["id"], lab=CONTEXT["lab"]))


async def session(url: str, token: str, steps: list, **start) -> list[dict]:
    """Run steps (text strings, {"type": ...} messages, or ("audio", path))
    then stop; all events."""
    events: list[dict] = []
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "start", "language": "fr", "token": token, **start}))

        async def receive() -> None:
            async for message in ws:
                events.append(json.loads(message))

        receiver = asyncio.create_task(receive())
        for step in steps:
            if isinstance(step, tuple):
                pcm = to_pcm(load_audio(step[1]))
                for i in range(0, len(pcm), 3200):
                    await ws.send(pcm[i : i + 3200])
                    await asyncio.sleep(0.1)
                await ws.send(bytes(32000))  # one second of silence closes the utterance
                await asyncio.sleep(1.5)
            elif isinstance(step, dict):
                await ws.send(json.dumps(step))
                await asyncio.sleep(0.3)
            else:
                await ws.send(json.dumps({"type": "text", "text": step}))
                await asyncio.sleep(0.05)
        await ws.send(json.dumps({"type": "stop"}))
        await receiver
    return events


def test_typed_text_drives_a_prescription(practice):
    events = dictate(practice, [
        "Nouvelle ordonnance.",
        "Amoxicilline un gramme, un comprimé matin et soir pendant sept jours.",
        "Ibuprofène quatre cents milligrammes, deux comprimés trois fois par jour",
        "Efface ça.",
        "Valide.",
        "Oui.",
    ])
    types = [e["type"] for e in events]
    assert types[0] == "ready" and types[-1] == "closed"
    texts = [e for e in events if e["type"] == "final"]
    assert all(f["source"] == "text" for f in texts) and len(texts) == 6
    commands = [e["message"] for e in events if e["type"] == "command"]
    assert commands == ["Ordonnance ouverte", "Ligne effacée", "Ordonnance validée, version 1"]
    warnings = [e["message"] for e in events if e["type"] == "warning"]
    assert len(warnings) == 1 and "ibuprofène" in warnings[0]
    last = [e for e in events if e["type"] == "draft.updated"][-1]
    assert last["draft"]["status"] == "validated"
    assert [line["drug"] for line in last["draft"]["lines"]] == ["amoxicilline"]
    ready = [e for e in events if e["type"] == "document.ready"]
    assert len(ready) == 1 and ready[0]["status"] == "validated" and not ready[0]["print"]
    assert types.index("document.ready") < types.index("closed")  # delivered before the session closes


def test_speech_and_text_to_a_printed_pdf(practice, corpus):
    """The issue's end-to-end case: a typed command opens the draft, lines are
    dictated (real speech and typed), "valide et imprime" gives a PDF that is
    fetched over HTTP, with its FHIR export."""
    events = dictate(practice, [
        "Nouvelle ordonnance.",
        ("audio", corpus["dental_02.wav"].path),  # "Amoxicilline un gramme, un comprimé matin et soir pendant sept jours."
        FIX_DURATION,
        "Paracétamol un gramme, un comprimé toutes les six heures si douleur, pendant trois jours.",
        "Valide et imprime.",
        "Oui.",
    ])
    ready = [e for e in events if e["type"] == "document.ready"]
    assert len(ready) == 1, [e for e in events if e["type"] in ("command", "error", "warning")]
    doc = ready[0]
    assert (doc["status"], doc["print"], doc["kind"], doc["version"]) == ("validated", True, "prescription", 1)
    response = practice.get(doc["url"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "private, no-store"
    assert hashlib.sha256(response.content).hexdigest() == doc["sha256"]
    text = pdf_text(response.content)
    assert "Amoxicilline" in text and "Paracétamol 1 g" in text and doc["number"] in text, text
    spoken = [e for e in events if e["type"] == "draft.updated"][-1]["draft"]["lines"][0]
    warnings = [e["message"] for e in events if e["type"] == "warning"]
    # the recognizer may mishear "un gramme": then the line says so, never a guessed strength
    assert spoken["strength"] == "1 g" or any(w.startswith("dosage non compris") for w in warnings), (spoken, warnings)
    assert "Jeanne DURAND" in text and "10101234564" in text
    bundle = practice.get(doc["fhir_url"]).json()
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Composition" and kinds.count("MedicationRequest") == 2 and "DocumentReference" in kinds


def test_validation_needs_the_legal_mentions(server):
    """The demo dentist has no RPPS and the session no patient: the
    prescription cannot be signed; a preview still renders, and nothing is
    fetchable as validated."""
    events = asyncio.run(session(server.ws, server.token, [
        "Nouvelle ordonnance.", "Amoxicilline un gramme matin et soir.", "Valide.", {"type": "preview"},
    ]))
    refused = [e["message"] for e in events if e["type"] == "command"][-1]
    assert refused.startswith("Impossible de valider") and "numéro RPPS" in refused and "date de naissance" in refused
    ready = [e for e in events if e["type"] == "document.ready"]
    assert len(ready) == 1 and ready[0]["status"] == "preview" and ready[0]["fhir_url"] is None
    preview = httpx.get(server.http + ready[0]["url"], headers=bearer(server.token), timeout=10)
    assert preview.status_code == 200 and "APERÇU" in pdf_text(preview.content)
    validated = httpx.get(f"{server.http}/v1/documents/{ready[0]['document_id']}.pdf", headers=bearer(server.token), timeout=10)
    assert validated.status_code == 404 and validated.json()["error"]["code"] == "not_found"


def test_a_validated_version_never_changes(practice):
    """Printing again gives the same bytes; a change after validation makes
    version 2, and version 1 stays as it was."""
    events = dictate(practice, [
        "Nouvelle ordonnance.", "Amoxicilline un gramme matin et soir pendant sept jours.", "Valide.", "Oui.", "Imprime.",
        "Paracétamol un gramme si douleur pendant trois jours.", "Valide et imprime.", "Oui.",
    ])
    ready = [e for e in events if e["type"] == "document.ready"]
    assert [(e["version"], e["print"]) for e in ready] == [(1, False), (1, True), (2, True)]
    assert ready[0]["sha256"] == ready[1]["sha256"] != ready[2]["sha256"]
    doc_id = ready[0]["document_id"]
    first = practice.get(f"/v1/documents/{doc_id}.pdf?version=1")
    latest = practice.get(f"/v1/documents/{doc_id}.pdf")
    assert hashlib.sha256(first.content).hexdigest() == ready[0]["sha256"]
    assert "Paracétamol" not in pdf_text(first.content) and "Paracétamol" in pdf_text(latest.content)
    info = practice.get(f"/v1/documents/{doc_id}").json()
    assert [v["version"] for v in info["versions"]] == [1, 2]
    me = practice.get("/v1/me").json()["id"]
    assert [v["validated_by"] for v in info["versions"]] == [me, me]  # who validated, and when (issued_at)
    assert practice.get(f"/v1/documents/{doc_id}.pdf?version=3").status_code == 404
    assert practice.get(f"/v1/documents/{doc_id}.pdf?version=zero").status_code == 400
    assert practice.get("/v1/documents/not-an-id.pdf").status_code == 404


def test_speech_and_text_share_the_session(practice, corpus):
    events = dictate(practice, [
        "Nouvelle ordonnance.",
        ("audio", corpus["dental_02.wav"].path),  # "Amoxicilline un gramme, un comprimé matin et soir pendant sept jours."
        FIX_DURATION,
        "Valide.",
        "Oui.",
    ])
    speech_finals = [e for e in events if e["type"] == "final" and e["source"] == "speech"]
    assert speech_finals and "amoxici" in speech_finals[0]["text"].lower()  # often misspelt: the formulary matches it
    drafts = [e for e in events if e["type"] == "draft.updated"]
    lines = drafts[-1]["draft"]["lines"]
    assert len(lines) == 1 and lines[0]["drug"] == "amoxicilline" and lines[0]["intakes_per_day"] == 2.0
    assert drafts[-1]["draft"]["status"] == "validated"


def test_validation_reads_back_then_signs_on_oui(practice):
    """Issue 13 end to end: "valide" answers with a readback (to the dentist
    and to the room's screens), nothing is signed until "oui"; "non" cancels."""
    events = dictate(practice, [
        "Nouvelle ordonnance.",
        "Amoxicilline un gramme, un comprimé matin et soir.",
        "Pendant sept jours.",  # the duration, said after a pause, continues the line
        "Ouvrez grand.",  # said to the patient: in the transcript, not in the document
        "Valide l'ordonnance.",
        "Non.",
        "Valide.",
        "Oui.",
    ])
    readbacks = [e for e in events if e["type"] == "readback"]
    assert len(readbacks) == 2
    rb = readbacks[-1]
    assert set(rb) == {"type", "utterance", "kind", "title", "version", "lines", "pending", "message"}
    assert (rb["kind"], rb["title"], rb["version"], rb["pending"]) == ("prescription", "Ordonnance", 1, "validate")
    assert rb["lines"] == [{"number": 1, "text": "Amoxicilline 1 g, un comprimé matin et soir pendant 7 jours"}]
    assert rb["message"].endswith("Dites « oui » pour signer")
    commands = [(e["command"], e["message"]) for e in events if e["type"] == "command"]
    assert ("cancel", "Validation annulée : le document reste un brouillon") in commands
    assert commands[-1] == ("validate", "Ordonnance validée, version 1")
    types = [e["type"] for e in events]
    # nothing rendered before the "oui": one document, after the second readback
    assert types.count("document.ready") == 1 and types.index("document.ready") > len(types) - 1 - types[::-1].index("readback")
    ready = [e for e in events if e["type"] == "document.ready"][0]
    assert ready["status"] == "validated" and ready["version"] == 1
    assert any(e["type"] == "final" and e["text"] == "Ouvrez grand." for e in events)
    last = [e for e in events if e["type"] == "draft.updated"][-1]["draft"]
    assert last["status"] == "validated" and len(last["lines"]) == 1


def test_text_before_start_is_refused(server):
    async def scenario():
        async with websockets.connect(server.ws) as ws:
            await ws.send(json.dumps({"type": "text", "text": "Nouvelle ordonnance."}))
            return json.loads(await ws.recv())

    error = asyncio.run(scenario())
    assert error["code"] == "not_started"


def test_a_near_drug_name_is_asked_about_and_only_the_dentists_yes_changes_it(practice):
    """Issue 12: "Prednisolon" is not silently printed as prednisolone; the
    dentist is asked, and "oui" (or the page's `accept` message) takes it."""
    events = dictate(practice, [
        "Nouvelle ordonnance.",
        "Prednisolon vingt milligrammes, un comprimé le matin pendant trois jours.",
        "Oui.",
        "Amoxicillinne un gramme, un comprimé matin et soir pendant six jours.",
        "Érythromycine cinq cents milligrammes, un comprimé deux fois par jour pendant sept jours.",
        {"type": "accept", "index": 1},
        {"type": "accept", "index": 2},  # nothing close to suggest: nothing changes
    ])
    hints = [e["message"] for e in events if e["type"] == "hint" and e["command"] == "accept_suggestion"]
    assert hints == ["« Prednisolon » n'est pas dans le formulaire. Vouliez-vous dire « prednisolone » ? Dites « oui » pour corriger",
                     "« Amoxicillinne » n'est pas dans le formulaire. Vouliez-vous dire « amoxicilline » ? Dites « oui » pour corriger"]
    done = [e["message"] for e in events if e["type"] == "command" and e["command"] == "accept_suggestion"]
    assert done == ["« Prednisolon » corrigé en « prednisolone »", "« Amoxicillinne » corrigé en « amoxicilline »"]
    assert "Pas de suggestion sur la ligne 3" in [e["message"] for e in events if e["type"] == "warning"]
    lines = [e for e in events if e["type"] == "draft.updated"][-1]["draft"]["lines"]
    assert [(line["drug"], line["in_formulary"]) for line in lines] == [
        ("prednisolone", True), ("amoxicilline", True), ("Érythromycine", False)]  # the unknown drug stays as said
    assert lines[0]["text"].startswith("prednisolone 20 mg") and lines[0]["duration_days"] == 3


def test_checks_use_the_patients_record_and_all_the_lines(practice):
    """A penicillin allergy and a child's weight from the patient record;
    paracetamol from two products adds up; validation needs each line's duration."""
    patient = httpx.post(practice.server.http + "/v1/patients", headers=practice.headers(), timeout=30, json={
        "last_name": "Petit", "first_name": "Hugo", "sex": "M", "birth_date": "2018-03-02", "weight_kg": 20,
        "code": "P-HUGO", "allergies": ["pénicilline"]}).json()
    events = asyncio.run(session(practice.server.ws, practice.tokens["dentist"], [
        "Nouvelle ordonnance.",
        "Amoxicilline cinq cents milligrammes, un comprimé matin et soir pendant six jours.",
        "Doliprane cinq cents milligrammes, un comprimé quatre fois par jour pendant trois jours.",
        "Dafalgan cinq cents milligrammes, un comprimé trois fois par jour.",
        "Valide.",
    ], room=practice.rooms[0], patient=patient["id"]))
    warnings = [e["message"] for e in events if e["type"] == "warning"]
    assert any("allergie aux pénicillines" in w for w in warnings), warnings
    # 20 kg child: paracetamol 2 g then 3.5 g a day over the child maximum (per kg × weight)
    assert any(w.startswith("paracétamol : 2 g par jour dépasse le maximum enfant de 80 mg/kg/j × 20 kg") for w in warnings), warnings
    assert any("déjà prescrit (ligne 2)" in w for w in warnings), warnings
    refused = [e["message"] for e in events if e["type"] == "command"][-1]
    assert refused.startswith("Impossible de valider") and "durée ou nombre de boîtes de la ligne 3 (paracétamol)" in refused
