"""A validated document as a FHIR R4B document Bundle.

One Bundle per document version: the Composition (what the PDF says,
section by section) first, then the Patient, the Practitioner, the practice
(Organization), the orders the document makes (a prescription's
MedicationRequests sharing one ``groupIdentifier``; a lab order's
ServiceRequest to the lab), and the DocumentReference of the signed PDF
(URL, size, SHA-1 as FHIR asks).  Built as plain data, then validated by
the ``fhir.resources`` models: an invalid export is an error, never sent.

What a prescriber checks of the patient goes with the documents that care
for them — prescriptions and clinical reports, not certificates (handed to
third parties) nor lab orders — in a Composition section "Allergies et
précautions" whose entries are:

- one ``AllergyIntolerance`` per allergy as written (``code.text``), the
  known classes it names as codings (system ``urn:chairside:allergy-class``,
  ``record/allergies.py``), category ``medication`` or ``environment`` when
  a class says which; clinical status ``active``, no verification status
  (what the patient declared, not a test);
- a pregnancy as an ``Observation`` of pregnancy status (LOINC 82810-3,
  answer LA15173-0 "Pregnant") with a member ``Observation`` of the
  gestational age by last menstrual period (LOINC 11885-1) in weeks;
- breastfeeding as an ``Observation`` of breastfeeding status (LOINC 63895-7);
- anticoagulant and antiplatelet treatments in progress as ``Observation``s
  (system ``urn:chairside:patient-safety``, ``valueBoolean`` true): the drug
  is not known, so no MedicationStatement is made up;
- renal and hepatic failure as ``Condition``s (active, problem-list item)
  with their severity (SNOMED CT 6736007 moderate, 24484000 severe).

Facts not recorded (false, null, no allergy) give no resource: the record
cannot tell "no" from "not asked", so the export asserts neither.

Identifiers: the practitioner's RPPS as an IDNPS (``8`` + RPPS, system
``urn:oid:1.2.250.1.71.4.2.1``, the French national identifier of health
professionals); teeth in FDI two-digit notation (ISO 3950).
"""

from __future__ import annotations

import base64
import hashlib
import html
import uuid

from fhir.resources.R4B.bundle import Bundle

from ..record.allergies import ALLERGY_CLASSES, fold, named_classes
from ..record.context import DocumentContext
from ..record.draft import CertificateLine, LabLine, PrescriptionLine, ReportLine
from ..record.kinds import KINDS, SECTION_TITLES
from .render import document_urn, examination_moment, itt_in_words
from ..record.versions import DocumentVersion

IDNPS = "urn:oid:1.2.250.1.71.4.2.1"
FDI = "urn:iso:std:iso:3950"
PATIENT_CODE = "urn:chairside:patient-code"
KIND_SYSTEM = "urn:chairside:document-kind"
LOINC = "http://loinc.org"
# LOINC codes where one fits exactly; the kind itself is always given too
LOINC_TYPES = {"prescription": ("57833-6", "Prescription for medication"), "clinical_report": ("11488-4", "Consult note")}
GENDERS = {"F": "female", "M": "male", "X": "other"}
ALLERGY_CLASS_SYSTEM = "urn:chairside:allergy-class"
SAFETY_SYSTEM = "urn:chairside:patient-safety"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
SAFETY_KINDS = ("prescription", "clinical_report")  # the documents that carry the patient's safety facts
SEVERITY = {"moderate": ("6736007", "Moderate", "modérée"), "severe": ("24484000", "Severe", "sévère")}


def _id(doc: DocumentVersion, role: str) -> str:
    """A stable urn:uuid for one resource of one version (the same on every export)."""
    return uuid.uuid5(uuid.UUID(hex=doc.id), f"{doc.version}/{role}").urn


def _ref(url: str) -> dict:
    return {"reference": url}


def _narrative(*paragraphs: str) -> dict:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs) or "<p/>"
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _type(kind: str, title: str) -> dict:
    codings = [{"system": KIND_SYSTEM, "code": kind, "display": title}]
    if kind in LOINC_TYPES:
        code, display = LOINC_TYPES[kind]
        codings.insert(0, {"system": LOINC, "code": code, "display": display})
    return {"coding": codings, "text": title}


def _address(a) -> dict:
    return {"line": [a.street], "postalCode": a.postcode, "city": a.city, "country": a.country}


def _telecom(phone: str | None, email: str | None) -> list[dict]:
    return [t for t in ({"system": "phone", "value": phone, "use": "work"} if phone else None,
                        {"system": "email", "value": email, "use": "work"} if email else None) if t]


def _patient(ctx: DocumentContext) -> dict:
    p = ctx.patient
    resource: dict = {"resourceType": "Patient"}
    if p.code:
        resource["identifier"] = [{"system": PATIENT_CODE, "value": p.code}]
    if p.last_name or p.first_name:
        resource["name"] = [{"family": p.last_name or None, "given": [p.first_name] if p.first_name else None}]
    if p.sex:
        resource["gender"] = GENDERS[p.sex]
    if p.birth_date:
        resource["birthDate"] = p.birth_date.isoformat()
    return resource


def _hl7(system: str, code: str) -> dict:
    """A code of one of HL7's own code systems (statuses, categories)."""
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{system}", "code": code}]}


def _allergy(entry: str, patient: str) -> dict:
    classes = [ALLERGY_CLASSES[k] for k in ALLERGY_CLASSES if k in named_classes(entry)]
    resource: dict = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": _hl7("allergyintolerance-clinical", "active"),
        "code": {"coding": [{"system": ALLERGY_CLASS_SYSTEM, "code": c.key, "display": c.fr} for c in classes], "text": entry},
        "patient": _ref(patient),
    }
    if classes:
        resource["category"] = sorted({c.category for c in classes})
    return resource


def _observation(patient: str, code: dict, **value) -> dict:
    return {"resourceType": "Observation", "status": "final", "code": code, "subject": _ref(patient), **value}


def _failure(organ: str, label: str, severity: str, patient: str) -> dict:
    code, display, french = SEVERITY[severity]
    return {
        "resourceType": "Condition",
        "clinicalStatus": _hl7("condition-clinical", "active"),
        "category": [_hl7("condition-category", "problem-list-item")],
        "severity": {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": french},
        "code": {"coding": [{"system": SAFETY_SYSTEM, "code": f"{organ}-failure", "display": label}], "text": f"{label} {french}"},
        "subject": _ref(patient),
    }


def _safety(doc: DocumentVersion, ctx: DocumentContext, patient: str) -> list[tuple[str, str, dict]]:
    """The patient's safety facts as FHIR resources: (fullUrl, narrative line, resource)."""
    p = ctx.patient
    out: list[tuple[str, str, dict]] = []
    for i, entry in enumerate(p.allergies):
        named = [ALLERGY_CLASSES[k].fr for k in ALLERGY_CLASSES if k in named_classes(entry) and fold(ALLERGY_CLASSES[k].fr) != fold(entry)]
        out.append((_id(doc, f"allergy/{i}"), f"Allergie : {entry}" + (f" ({', '.join(named)})" if named else ""),
                    _allergy(entry, patient)))
    if p.pregnancy_weeks is not None:
        age_url = _id(doc, "gestational-age")
        out.append((_id(doc, "pregnancy"), f"Grossesse : {p.pregnancy_weeks} semaines d'aménorrhée", _observation(
            patient, {"coding": [{"system": LOINC, "code": "82810-3", "display": "Pregnancy status"}], "text": "Grossesse"},
            valueCodeableConcept={"coding": [{"system": LOINC, "code": "LA15173-0", "display": "Pregnant"}], "text": "Enceinte"},
            hasMember=[_ref(age_url)])))
        out.append((age_url, "", _observation(
            patient, {"coding": [{"system": LOINC, "code": "11885-1",
                                  "display": "Gestational age Estimated from last menstrual period"}],
                      "text": "Terme en semaines d'aménorrhée"},
            valueQuantity={"value": p.pregnancy_weeks, "unit": "semaines", "system": UCUM, "code": "wk"})))
    if p.breastfeeding:
        out.append((_id(doc, "breastfeeding"), "Allaitement en cours", _observation(
            patient, {"coding": [{"system": LOINC, "code": "63895-7", "display": "Breastfeeding status"}], "text": "Allaitement"},
            valueCodeableConcept={"text": "Allaitement en cours"})))
    for field, label in (("anticoagulant", "Traitement anticoagulant en cours"),
                         ("antiplatelet", "Traitement antiagrégant plaquettaire en cours")):
        if getattr(p, field):
            out.append((_id(doc, field), label, _observation(
                patient, {"coding": [{"system": SAFETY_SYSTEM, "code": field, "display": label}], "text": label},
                valueBoolean=True)))
    for organ, label, severity in (("renal", "Insuffisance rénale", p.renal_failure),
                                   ("hepatic", "Insuffisance hépatique", p.hepatic_failure)):
        if severity:
            out.append((_id(doc, f"{organ}-failure"), f"{label} {SEVERITY[severity][2]}", _failure(organ, label, severity, patient)))
    return out


def _safety_section(facts: list[tuple[str, str, dict]]) -> list[dict]:
    if not facts:
        return []
    return [{"title": "Allergies et précautions", "code": {"text": "patient-safety"},
             "text": _narrative(*(line for _, line, _ in facts if line)), "entry": [_ref(url) for url, _, _ in facts]}]


def _practitioner(ctx: DocumentContext) -> dict:
    pr = ctx.practitioner
    resource: dict = {"resourceType": "Practitioner", "name": [{"text": pr.name}],
                      "qualification": [{"code": {"text": pr.title}}]}
    if pr.rpps:
        resource["identifier"] = [{"system": IDNPS, "value": f"8{pr.rpps}", "type": {"text": "RPPS"}}]
    if telecom := _telecom(pr.phone, pr.email):
        resource["telecom"] = telecom
    return resource


def _organization(name: str, address, phone: str | None, email: str | None) -> dict:
    resource: dict = {"resourceType": "Organization", "name": name or "Cabinet dentaire"}
    if address is not None and address.complete:
        resource["address"] = [_address(address)]
    if telecom := _telecom(phone, email):
        resource["telecom"] = telecom
    return resource


def _medication_requests(doc: DocumentVersion, refs: dict) -> list[tuple[str, dict]]:
    out = []
    for i, line in enumerate(doc.draft.lines):
        assert isinstance(line, PrescriptionLine)
        name = " ".join(filter(None, [line.drug, line.strength, line.form])) or line.text
        dosage: dict = {"text": line.text}
        if line.intakes_per_day:
            repeat: dict = {"frequency": max(1, round(line.intakes_per_day)), "period": 1, "periodUnit": "d"}
            if line.duration_days:
                repeat["boundsDuration"] = {"value": line.duration_days, "unit": "jours", "system": "http://unitsofmeasure.org", "code": "d"}
            dosage["timing"] = {"repeat": repeat}
        if line.units_per_intake and line.form:
            dosage["doseAndRate"] = [{"doseQuantity": {"value": line.units_per_intake, "unit": line.form}}]
        if line.as_needed:  # "si douleur": taken when needed, for that reason
            dosage["asNeededCodeableConcept"] = {"text": line.as_needed}
        request = {
            "resourceType": "MedicationRequest",
            "status": "active", "intent": "order",
            "groupIdentifier": {"system": "urn:ietf:rfc:3986", "value": document_urn(doc.id)},
            "medicationCodeableConcept": {"text": name},
            "subject": _ref(refs["patient"]), "requester": _ref(refs["practitioner"]),
            "authoredOn": doc.issued_at.isoformat(),
            "dosageInstruction": [dosage],
        }
        dispense: dict = {}
        if line.duration_days:
            dispense["expectedSupplyDuration"] = {
                "value": line.duration_days, "unit": "jours", "system": "http://unitsofmeasure.org", "code": "d"}
        if line.boxes:
            dispense["quantity"] = {"value": line.boxes, "unit": "boîtes"}
        if line.renewals:
            dispense["numberOfRepeatsAllowed"] = line.renewals
        if dispense:
            request["dispenseRequest"] = dispense
        if line.non_substitutable is not None:  # "non substituable (MTE)": no generic substitution
            reason = {"text": line.non_substitutable} if line.non_substitutable != "?" else None
            request["substitution"] = {"allowedBoolean": False, **({"reason": reason} if reason else {})}
        if line.secure:
            request["category"] = [{"coding": [{"system": "urn:chairside:prescription", "code": "ordonnance-securisee",
                                                "display": "Ordonnance sécurisée"}]}]
        if line.notes:
            request["note"] = [{"text": n} for n in line.notes]
        out.append((_id(doc, f"medication-request/{i}"), request))
    return out


def _service_requests(doc: DocumentVersion, refs: dict) -> list[tuple[str, dict]]:
    """One ServiceRequest per item of the order, sharing the document as
    their ``requisition``; the order's fields (delivery, stump shade, items
    sent, notes) on each."""
    f = doc.draft.fields
    common = []
    if f.get("stump_shade"):
        common.append(f"Teinte du moignon {f['stump_shade']}")
    if f.get("items_sent"):
        common.append("Éléments envoyés : " + ", ".join(f["items_sent"]))
    common += [line.text if line.section == "notes" else line.notes
               for line in doc.draft.lines if isinstance(line, LabLine) and (line.section == "notes" or line.notes)]
    out = []
    for i, item in enumerate(LabLine.items_of(doc.draft.lines) or [{}]):
        what = " ".join(filter(None, [item.get("work_type"), item.get("material")])) or "Travail prothétique"
        request: dict = {
            "resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"{document_urn(doc.id)}#{i + 1}"}],
            "requisition": {"system": "urn:ietf:rfc:3986", "value": document_urn(doc.id)},
            "code": {"text": what}, "subject": _ref(refs["patient"]), "requester": _ref(refs["practitioner"]),
            "authoredOn": doc.issued_at.isoformat(), "performer": [_ref(refs["lab"])],
        }
        details = [{"text": f"{label} : {item[key]}"} for key, label in (("work_type", "Travail"), ("material", "Matériau"))
                   if item.get(key)]
        if item.get("teeth"):
            request["bodySite"] = [{"coding": [{"system": FDI, "code": str(t)}], "text": f"dent {t}"} for t in item["teeth"]]
        if f.get("delivery_date"):
            request["occurrenceDateTime"] = f["delivery_date"]
        notes = []
        if item.get("shade"):
            notes.append(f"Teinte {item['shade']} ({item.get('shade_guide', '')})".replace(" ()", ""))
            details.append({"text": f"Teinte : {item['shade']}"})
        for key, label in (("shade_cervical", "Teinte au collet"), ("shade_incisal", "Teinte incisale")):
            if item.get(key):
                notes.append(f"{label} {item[key]}")
                details.append({"text": f"{label} : {item[key]}"})
        if item.get("pillars"):
            notes.append(f"Piliers {', '.join(map(str, item['pillars']))}; intermédiaires {', '.join(map(str, item.get('pontics', [])))}")
        if item.get("notes"):
            notes.append(item["notes"])
        notes += common
        if details:
            request["orderDetail"] = details
        if notes:
            request["note"] = [{"text": n} for n in notes]
        out.append((_id(doc, f"service-request/{i}" if i else "service-request"), request))
    return out


def _sections(doc: DocumentVersion, orders: list[str]) -> list[dict]:
    kind, lines = doc.kind, doc.draft.lines
    if kind == "prescription":
        return [{"title": "Prescriptions", "text": _narrative(*(line.text for line in lines)),
                 "entry": [_ref(o) for o in orders]}]
    if kind == "lab_order":
        return [{"title": "Demande au laboratoire", "text": _narrative(*(line.text for line in lines)),
                 "entry": [_ref(o) for o in orders]}]
    sections = []
    for name in KINDS[kind].sections:
        texts = [(line.body if isinstance(line, ReportLine) else "") or line.text
                 for line in lines if isinstance(line, CertificateLine) and line.section == name]
        if name == "itt" and "itt_days" in doc.draft.fields:
            texts = [itt_in_words(doc.draft.fields["itt_days"], doc.draft.fields.get("itt_qualifier", "exact"))]
        if texts:
            sections.append({"title": SECTION_TITLES[name], "code": {"text": name}, "text": _narrative(*texts)})
    if kind == "medical_certificate" and doc.draft.fields.get("accompanied_by"):  # a minor's accompanying adult
        sections.append({"title": "Accompagnant", "code": {"text": "accompanied_by"},
                         "text": _narrative(f"Accompagné(e) de {doc.draft.fields['accompanied_by']}")})
    return sections


def _examination_event(doc: DocumentVersion) -> list[dict]:
    """A certificate's examination (Composition.event): when the patient was
    examined, as printed — said, or the dictation's start; never the
    validation's time."""
    if doc.kind != "medical_certificate" or (moment := examination_moment(doc.draft.fields)) is None:
        return []
    return [{"code": [{"text": "Examen clinique"}], "period": {"start": moment}}]


def to_fhir(doc: DocumentVersion) -> dict:
    """The FHIR R4B document Bundle of a validated version, as JSON data."""
    if doc.status != "validated":
        raise ValueError("only validated documents are exported")
    ctx = DocumentContext.model_validate(doc.context)
    refs = {role: _id(doc, role) for role in ("composition", "patient", "practitioner", "organization", "lab", "pdf")}
    resources: list[tuple[str, dict]] = [
        (refs["patient"], _patient(ctx)),
        (refs["practitioner"], _practitioner(ctx)),
        (refs["organization"], _organization(ctx.clinic.name, ctx.clinic.address, ctx.clinic.phone, ctx.clinic.email)),
    ]
    orders: list[tuple[str, dict]] = []
    if doc.kind == "prescription":
        orders = _medication_requests(doc, refs)
    elif doc.kind == "lab_order":
        resources.append((refs["lab"], _organization(ctx.lab.name, ctx.lab.address, ctx.lab.phone, ctx.lab.email)))
        orders = _service_requests(doc, refs)
    safety = _safety(doc, ctx, refs["patient"]) if doc.kind in SAFETY_KINDS else []
    doc_type = _type(doc.kind, doc.title)
    composition = {
        "resourceType": "Composition",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": document_urn(doc.id)},
        "status": "final", "type": doc_type, "subject": _ref(refs["patient"]),
        "date": doc.issued_at.isoformat(), "author": [_ref(refs["practitioner"])], "title": f"{doc.title} n° {doc.number}",
        "custodian": _ref(refs["organization"]),
        "attester": [{"mode": "legal", "time": doc.issued_at.isoformat(), "party": _ref(refs["practitioner"])}],
        "section": _sections(doc, [url for url, _ in orders]) + _safety_section(safety),
    }
    if event := _examination_event(doc):
        composition["event"] = event
    reference = {
        "resourceType": "DocumentReference",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"{document_urn(doc.id)};v={doc.version}"}],
        "status": "current", "docStatus": "final", "type": doc_type, "subject": _ref(refs["patient"]),
        "date": doc.issued_at.isoformat(), "author": [_ref(refs["practitioner"])], "custodian": _ref(refs["organization"]),
        "description": f"{doc.title} n° {doc.number}, version {doc.version}",
        "content": [{"attachment": {
            "contentType": "application/pdf", "language": "fr", "url": doc.pdf_url, "size": len(doc.pdf),
            "hash": base64.b64encode(hashlib.sha1(doc.pdf).digest()).decode("ascii"),
            "title": doc.filename, "creation": doc.issued_at.isoformat(),
        }}],
        "context": {"related": [_ref(refs["composition"])]},
    }
    entries = [(refs["composition"], composition), *resources, *orders, *((url, r) for url, _, r in safety), (refs["pdf"], reference)]
    bundle = {
        "resourceType": "Bundle", "type": "document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"{document_urn(doc.id)};v={doc.version}"},
        "timestamp": doc.issued_at.isoformat(),
        "entry": [{"fullUrl": url, "resource": _clean(resource)} for url, resource in entries],
    }
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)


def _clean(value):
    """Drop None values and empty lists (FHIR allows no empty elements)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value

