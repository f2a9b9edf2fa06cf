"""Documents: legal mentions, PDFs (text extracted and checked), FHIR export."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import pdf_text
from factories import CONTEXT, context
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from pypdf import PdfReader

from chairside.config import Settings
from chairside.dictation.state import Dictation
from chairside.record.context import DocumentContext, Patient, Practitioner
from chairside.record.draft import Draft
from chairside.documents.fhir import to_fhir
from chairside.record.mentions import missing
from chairside.documents.render import itt_in_words, render_pdf
from chairside.record.kinds import document_number
from chairside.documents.service import DocumentService
from chairside.store.documents import DocumentStore
from chairside.store.db import open_database

TODAY = date(2026, 11, 29)
ISSUED = datetime(2026, 11, 29, 10, 15, tzinfo=ZoneInfo("Europe/Paris"))
STARTED = datetime(2026, 11, 29, 10, 2, tzinfo=ZoneInfo("Europe/Paris"))  # the dictation began before it was validated

SCRIPTS = {
    "prescription": [
        "Nouvelle ordonnance.",
        "Amoxicilline un gramme, un comprimé matin et soir pendant sept jours.",
        "Paracétamol un gramme, un comprimé toutes les six heures si douleur, sans dépasser quatre grammes par jour, pendant trois jours.",
    ],
    "medical_certificate": [
        "Certificat médical initial.",
        "Le patient déclare avoir reçu un coup de poing hier soir vers vingt-deux heures.",
        "Fracture coronaire sans exposition pulpaire sur la onze.",
        "Contention par attelle collée de treize à vingt-trois.",
        "ITT de trois jours sous réserve de complications.",
    ],
    "lab_order": [
        "Fiche de laboratoire.",
        "Couronne zircone sur la trente-six, teinte A deux, livraison jeudi prochain.",
        "Envoi empreinte optique et photos.",
        "Prévoir une occlusion légère, patiente bruxomane.",
    ],
    "clinical_report": [
        "Compte rendu.",
        "Motif : douleur sur la quarante-huit depuis trois jours.",
        "Anesthésie para-apicale, articaïne adrénalinée au cent millième, deux cartouches.",
        "Extraction de la quarante-huit, suture résorbable, deux points, pas d'incident.",
        "Prochain rendez-vous dans quinze jours pour dépose des fils.",
    ],
}


def dictated(kind: str, ctx: DocumentContext | None = None) -> Dictation:
    d = Dictation(today=TODAY, context=ctx or context(), started_at=STARTED)
    for utterance in SCRIPTS[kind]:
        d.handle(utterance)
    return d


def validated(kind: str) -> Draft:
    d = dictated(kind)
    d.handle("Valide.")  # read back: signed on "oui"
    outcomes = d.handle("Oui.")
    assert outcomes[-1].kind == "document", [o.message for o in outcomes]
    return d.draft


# -- mentions ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SCRIPTS))
def test_a_complete_document_lacks_nothing(kind):
    d = dictated(kind)
    assert missing(d.draft, d.context, TODAY) == []


def test_an_empty_context_lists_every_missing_mention():
    d = dictated("prescription", DocumentContext())
    lacking = missing(d.draft, d.context, TODAY)
    assert lacking == ["nom du praticien", "numéro RPPS", "adresse professionnelle (rue, code postal, ville)", "téléphone",
                       "adresse e-mail", "nom et prénom du patient", "sexe du patient", "date de naissance du patient"]


def test_a_child_s_prescription_needs_the_weight():
    child = {**CONTEXT, "patient": {**CONTEXT["patient"], "birth_date": "2019-05-01", "weight_kg": None}}
    d = dictated("prescription", DocumentContext.model_validate(child))
    assert missing(d.draft, d.context, TODAY) == ["poids du patient (moins de 15 ans)"]


def test_a_certificate_needs_findings_and_itt():
    d = Dictation(today=TODAY, context=context())
    d.handle("Certificat médical initial.")
    d.handle("Le patient déclare avoir chuté dans l'escalier.")
    assert missing(d.draft, d.context, TODAY) == ["constatations", "durée de l'ITT"]
    refused = d.handle("Valide.")
    assert refused[0].message == "Impossible de valider : il manque constatations, durée de l'ITT"
    assert d.draft.status == "draft"


def test_a_lab_order_needs_its_technical_fields():
    d = Dictation(today=TODAY, context=context())
    d.handle("Fiche de laboratoire.")
    d.handle("Couronne sur la trente-six.")
    assert missing(d.draft, d.context, TODAY) == ["matériau", "teinte", "date de livraison"]


# -- context -------------------------------------------------------------------------


def test_context_values_are_checked_and_normalized():
    ctx = context()
    assert ctx.clinic.phone == "+33 4 78 00 00 01" and ctx.clinic.address.country == "France"
    with pytest.raises(ValidationError, match="11 digits"):
        Practitioner(rpps="1234")
    with pytest.raises(ValidationError, match="check digit"):
        Practitioner(rpps="10101234565")
    with pytest.raises(ValidationError, match="phone"):
        Practitioner(phone="12")
    with pytest.raises(ValidationError, match="e-mail"):
        Practitioner(email="not-an-address")
    with pytest.raises(ValidationError):
        Patient(sex="femme")
    assert Patient(birth_date=date(2019, 12, 1)).age_on(TODAY) == 6


# -- PDFs ------------------------------------------------------------------------------

COMMON = ["Dr Claire Martin", "Chirurgien-dentiste", "10101234564", "12 rue de la République", "69002 Lyon", "France",
          "+33 4 78 00 00 01", "contact@cabinet-republique.fr", "29 novembre 2026", "Jeanne DURAND", "Signature"]


@pytest.mark.parametrize("kind, expected", [
    ("prescription", ["ORDONNANCE", "Féminin", "7 mars 1984", "62 kg", "Amoxicilline 1 g, comprimé",
                      "un comprimé matin et soir pendant 7 jours", "Paracétamol 1 g, comprimé"]),
    ("medical_certificate", ["CERTIFICAT MÉDICAL INITIAL", "Je soussigné(e)", "certifie avoir examiné le 29 novembre 2026 à 10 h 02",
                             "née le 7 mars 1984", "Circonstances déclarées", "Le patient déclare avoir reçu un coup de poing",
                             "Faits du 28 novembre 2026", "Constatations", "Fracture coronaire", "Soins réalisés",
                             "fixée à trois (3) jours, sous réserve de complications",
                             "remis en main propre le 29 novembre 2026 pour faire valoir ce que de droit"]),
    ("lab_order", ["FICHE DE LABORATOIRE", "P-2026-0042", "Laboratoire Prothèse Rhône", "couronne", "36", "zircone",
                   "A2 (VITA classical)", "3 décembre 2026", "empreinte optique, photos", "occlusion légère"]),
    ("clinical_report", ["COMPTE RENDU DE CONSULTATION", "Motif de consultation", "Douleur sur la 48", "Anesthésie",
                         "Para-apicale, articaïne, adrénaline 1/100 000, 2 cartouches", "Actes réalisés", "Extraction de la 48",
                         "Prochain rendez-vous", "13 décembre 2026"]),
])
def test_every_mandatory_mention_is_in_the_pdf(kind, expected):
    draft = validated(kind)
    pdf = render_pdf(draft, context(), ISSUED)
    text = " ".join(pdf_text(pdf).split()).replace("\u202f", " ").replace("\u00a0", " ")
    number = document_number(kind, draft.id, TODAY)
    common = COMMON if kind != "lab_order" else [c for c in COMMON if c not in ("Jeanne DURAND",)]
    for mention in [*common, *expected, number, "Version 1"]:
        assert mention in text, f"{mention!r} missing from the {kind} PDF"
    if kind == "lab_order":
        assert "Jeanne" not in text  # the lab gets the patient code, not the name
    if kind != "prescription":
        assert "62 kg" not in text  # the weight only where relevant
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def text_positions(data: bytes) -> list[tuple[float, str]]:
    """(height from the bottom of the page in points, text) of each text run."""
    runs: list[tuple[float, str]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            runs.append((round(cm[5] + tm[5] * cm[3], 1), text.strip()))

    PdfReader(io.BytesIO(data)).pages[0].extract_text(visitor_text=visit)
    return runs


def test_the_signature_area_is_right_under_the_last_line():
    """The practitioner signs directly below the last prescribed line: no room
    to add a line between them."""
    runs = text_positions(render_pdf(validated("prescription"), context(), ISSUED))
    last_line = min(y for y, text in runs if "sans dépasser 4 g par jour" in text)
    signature = max(y for y, text in runs if "chirurgien-dentiste" in text and "Dr Claire Martin," in text)
    assert 0 < last_line - signature < 40  # points: under it, within about 14 mm
    assert not [text for y, text in runs if signature < y < last_line]


def test_a_preview_is_marked_and_shows_what_is_missing():
    d = dictated("prescription", DocumentContext())
    text = pdf_text(render_pdf(d.draft, d.context, ISSUED, preview=True))
    assert "APERÇU" in text and "à compléter" in text


def test_itt_in_words():
    assert itt_in_words(1) == "L'incapacité totale de travail (ITT) est fixée à un (1) jour, sous réserve de complications."
    assert "vingt et un (21) jours" in itt_in_words(21)
    assert "néant" in itt_in_words(0)


def test_dictated_text_cannot_inject_markup():
    d = Dictation(today=TODAY, context=context())
    d.handle("Compte rendu.")
    d.handle('Motif : <img src="http://tracker.example/x.png"> douleur')
    pdf = render_pdf(d.draft, d.context, ISSUED)
    assert '<img src="http://tracker.example/x.png">' in pdf_text(pdf)  # printed as text, nothing fetched


# -- store -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def service(embedded_postgres):
    database = await open_database(Settings(database_url=embedded_postgres))
    service = DocumentService(DocumentStore(database.pool))
    yield service
    service.close()
    await database.close()


async def test_a_validated_version_is_rendered_once_and_kept(service):
    draft = validated("prescription")
    first = await service.issue(draft, context(), preview=False)
    again = await service.issue(draft, context(), preview=False)
    assert again == first and first.status == "validated" and first.pdf.startswith(b"%PDF-")
    with pytest.raises(ValueError, match="cannot change"):
        await service.store.put(first)
    preview = await service.issue(draft.snapshot(version=2, status="draft"), context(), preview=True)
    assert await service.store.preview(draft.id) == preview and await service.store.get(draft.id) == first


# -- FHIR ----------------------------------------------------------------------------------


async def _fhir(service, kind: str) -> dict:
    doc = await service.issue(validated(kind), context(), preview=False)
    bundle = to_fhir(doc)
    Bundle.model_validate(bundle)  # the fhir.resources models accept it
    return bundle


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


async def test_fhir_prescription_is_a_medication_request_group(service):
    bundle = await _fhir(service, "prescription")
    assert bundle["type"] == "document" and bundle["entry"][0]["resource"]["resourceType"] == "Composition"
    requests = resources(bundle, "MedicationRequest")
    assert len(requests) == 2 and len({r["groupIdentifier"]["value"] for r in requests}) == 1
    assert requests[0]["dosageInstruction"][0]["timing"]["repeat"] == {
        "frequency": 2, "period": 1.0, "periodUnit": "d",
        "boundsDuration": {"value": 7.0, "unit": "jours", "system": "http://unitsofmeasure.org", "code": "d"}}
    practitioner = resources(bundle, "Practitioner")[0]
    assert practitioner["identifier"][0] == {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810101234564", "type": {"text": "RPPS"}}
    reference = resources(bundle, "DocumentReference")[0]
    assert reference["content"][0]["attachment"]["contentType"] == "application/pdf"
    composition = bundle["entry"][0]["resource"]
    assert {r["reference"] for r in composition["section"][0]["entry"]} == {
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest"}


async def test_fhir_lab_order_is_a_service_request_to_the_lab(service):
    bundle = await _fhir(service, "lab_order")
    (request,) = resources(bundle, "ServiceRequest")
    assert request["bodySite"][0]["coding"][0] == {"system": "urn:iso:std:iso:3950", "code": "36"}
    assert request["occurrenceDateTime"] == "2026-12-03"
    lab = next(e for e in bundle["entry"] if e["fullUrl"] == request["performer"][0]["reference"])
    assert lab["resource"]["name"] == "Laboratoire Prothèse Rhône"


@pytest.mark.parametrize("kind", ["medical_certificate", "clinical_report"])
async def test_fhir_certificate_and_report_are_compositions(service, kind):
    bundle = await _fhir(service, kind)
    composition = bundle["entry"][0]["resource"]
    titles = [s["title"] for s in composition["section"]]
    assert titles[0] == ("Circonstances déclarées" if kind == "medical_certificate" else "Motif de consultation")
    if kind == "medical_certificate":
        assert "trois (3) jours" in composition["section"][-1]["text"]["div"]


SAFE_PATIENT = {**CONTEXT["patient"], "allergies": ["Pénicilline (urticaire)", "latex", "fraises"], "pregnancy_weeks": 20,
                "breastfeeding": True, "anticoagulant": True, "antiplatelet": True, "renal_failure": "moderate",
                "hepatic_failure": "severe"}


async def test_fhir_carries_the_patient_s_safety_facts_with_care_documents(service):
    draft = validated("prescription")
    doc = await service.issue(draft, context(patient=SAFE_PATIENT), preview=False)
    bundle = to_fhir(doc)
    Bundle.model_validate(bundle)
    patient_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    allergies = resources(bundle, "AllergyIntolerance")
    assert [a["code"]["text"] for a in allergies] == SAFE_PATIENT["allergies"]
    assert allergies[0]["code"]["coding"] == [{"system": "urn:chairside:allergy-class", "code": "penicillin", "display": "pénicillines"}]
    assert allergies[0]["category"] == ["medication"] and allergies[1]["category"] == ["environment"]
    assert "coding" not in allergies[2]["code"] and "category" not in allergies[2]  # not a known class: as written only
    assert all(a["patient"]["reference"] == patient_url and a["clinicalStatus"]["coding"][0]["code"] == "active" for a in allergies)
    observations = {o["code"]["coding"][0]["code"]: o for o in resources(bundle, "Observation")}
    assert observations["82810-3"]["valueCodeableConcept"]["coding"][0]["code"] == "LA15173-0"  # pregnant
    assert observations["11885-1"]["valueQuantity"] == {"value": 20.0, "unit": "semaines", "system": "http://unitsofmeasure.org", "code": "wk"}
    assert observations["82810-3"]["hasMember"][0]["reference"] in {e["fullUrl"] for e in bundle["entry"]}
    assert "63895-7" in observations  # breastfeeding
    assert observations["anticoagulant"]["valueBoolean"] is True and observations["antiplatelet"]["valueBoolean"] is True
    conditions = {c["code"]["coding"][0]["code"]: c for c in resources(bundle, "Condition")}
    assert conditions["renal-failure"]["severity"]["coding"][0]["code"] == "6736007"  # moderate
    assert conditions["hepatic-failure"]["severity"]["coding"][0]["code"] == "24484000"  # severe
    # the Composition lists them in a section of their own, after the prescriptions
    composition = bundle["entry"][0]["resource"]
    section = composition["section"][-1]
    assert [s["title"] for s in composition["section"]] == ["Prescriptions", "Allergies et précautions"]
    assert "Allergie : Pénicilline (urticaire) (pénicillines)" in section["text"]["div"] and "Insuffisance hépatique sévère" in section["text"]["div"]
    safety = {e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] in ("AllergyIntolerance", "Observation", "Condition")}
    assert {r["reference"] for r in section["entry"]} == safety and len(safety) == 3 + 2 + 1 + 2 + 2
    # the prescription itself is as before
    assert len(resources(bundle, "MedicationRequest")) == 2


async def test_fhir_of_a_certificate_or_of_a_patient_without_safety_facts_has_none(service):
    certificate = to_fhir(await service.issue(validated("medical_certificate"), context(patient=SAFE_PATIENT), preview=False))
    prescription = to_fhir(await service.issue(validated("prescription"), context(), preview=False))
    for bundle in (certificate, prescription):
        assert not any(e["resource"]["resourceType"] in ("AllergyIntolerance", "Observation", "Condition") for e in bundle["entry"])
        assert "Allergies et précautions" not in [s["title"] for s in bundle["entry"][0]["resource"]["section"]]


async def test_fhir_prescription_carries_as_needed_substitution_quantities_and_secure(service):
    d = Dictation(today=date(2026, 11, 29), context=context())
    for said in ["Nouvelle ordonnance.",
                 "Tramadol cinquante milligrammes, une gélule toutes les six heures si douleur, deux boîtes.",
                 "Ibuprofène quatre cents milligrammes, un comprimé trois fois par jour pendant trois jours, non substituable M T E, "
                 "à renouveler une fois."]:
        d.handle(said)
    assert d.handle("Valide.")[0].kind == "readback"
    assert d.handle("Oui.")[-1].kind == "document"
    doc = await service.issue(d.draft, d.context, preview=False)
    bundle = to_fhir(doc)
    Bundle.model_validate(bundle)
    tramadol, ibuprofen = resources(bundle, "MedicationRequest")
    assert tramadol["dosageInstruction"][0]["asNeededCodeableConcept"] == {"text": "douleur"}
    assert tramadol["dispenseRequest"] == {"quantity": {"value": 2, "unit": "boîtes"}}
    assert tramadol["category"][0]["coding"][0]["code"] == "ordonnance-securisee"
    assert ibuprofen["substitution"] == {"allowedBoolean": False, "reason": {"text": "MTE"}}
    assert ibuprofen["dispenseRequest"]["numberOfRepeatsAllowed"] == 1 and "asNeededCodeableConcept" not in ibuprofen["dosageInstruction"][0]
    text = pdf_text(doc.pdf)
    assert "Non substituable (MTE) Ibuprofène 400 mg" in " ".join(text.split())
    assert "Ordonnance sécurisée" in text and "Dosage : cinquante milligrammes, une gélule par prise, quatre fois par jour, deux boîtes" in " ".join(text.split())
    assert "À renouveler une (1) fois" in text and "M T E" not in text  # said once, printed once


async def test_a_preview_lists_what_to_check_before_signing(service):
    d = Dictation(today=date(2026, 11, 29), context=context())
    for said in ["Nouvelle ordonnance.", "Prednisolon vingt milligrammes, un comprimé le matin.",
                 "Ibuprofène quatre cents milligrammes, deux comprimés trois fois par jour pendant trois jours."]:
        d.handle(said)
    preview = await service.issue(d.draft, d.context, preview=True)
    text = " ".join(pdf_text(preview.pdf).split())
    assert "À vérifier avant de signer" in text
    assert "Ligne 1 : « Prednisolon » n'est pas dans le formulaire" in text and "Ligne 1 : durée du traitement" in text
    assert "Ligne 2 : ibuprofène : 2,4 g par jour dépasse la dose maximale adulte" in text
    validated_doc = await service.issue(validated("prescription"), context(), preview=False)
    assert "À vérifier" not in pdf_text(validated_doc.pdf)  # never on a signed document
