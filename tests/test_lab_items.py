"""Lab orders as lists of items (issue 13): the table tests/data/lab_lines.tsv.

Each row is a dictation after "Fiche de laboratoire." (utterances separated
by " / "), the items it must give (each expected item's keys compared, in
order, and no other item), the order's fields, and words that must be in
the PDF's text.  The session's date is Sunday 29 November 2026.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from factories import context
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader

from chairside.dictation.state import Dictation
from chairside.documents.fhir import to_fhir
from chairside.documents.render import render_pdf
from chairside.record.draft import Draft, LabLine
from chairside.record.kinds import document_number
from chairside.record.mentions import missing
from chairside.record.versions import DocumentVersion

TABLE = Path(__file__).parent / "data" / "lab_lines.tsv"
TODAY = date(2026, 11, 29)
ISSUED = datetime(2026, 11, 29, 10, 15, tzinfo=ZoneInfo("Europe/Paris"))


def rows() -> list[dict]:
    with TABLE.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def dictate(*utterances: str) -> Dictation:
    d = Dictation(today=TODAY, context=context())
    d.handle("Fiche de laboratoire.")
    for utterance in utterances:
        d.handle(utterance)
    return d


def pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split()).replace("\u202f", " ").replace("\u00a0", " ")


def test_the_table_is_big_enough():
    assert len(rows()) >= 60


@pytest.mark.parametrize("row", rows(), ids=lambda r: r["comment"][:50])
def test_dictated_lab_items(row):
    d = dictate(*row["utterances"].split(" / "))
    items = LabLine.items_of(d.draft.lines)
    expected = json.loads(row["items"])
    assert len(items) == len(expected), items
    for got, want in zip(items, expected):
        assert {k: got.get(k) for k in want} == want, got
    for key, value in json.loads(row["order"]).items():
        assert d.draft.fields.get(key) == value, d.draft.fields
    text = pdf_text(render_pdf(d.draft, d.context, ISSUED, preview=True))
    for words in filter(None, (w.strip() for w in row["pdf"].split("|"))):
        assert words in text, f"{words!r} missing from the PDF: {text}"


def test_every_item_and_the_custom_made_device_mentions_are_printed():
    d = dictate("Onlay céramique sur la quarante-six, teinte A deux.", "Couronne métal sur la quarante-sept, vissée.",
                "Livraison mardi.", "Envoi empreinte optique.")
    assert missing(d.draft, d.context, TODAY) == []
    assert "readback" in [o.kind for o in d.handle("Valide.")] and d.handle("Oui.")[-1].kind == "document"
    text = pdf_text(render_pdf(d.draft, d.context, ISSUED))
    for words in ["onlay", "46", "céramique", "A2 (VITA classical)", "couronne", "47", "métal", "vissée",
                  "Dispositif médical sur mesure", "2017/745", "annexe XIII", "Dr Claire Martin", "10101234564",
                  "P-2026-0042", "Féminin, 42 ans", "empreinte optique", "1er décembre 2026"]:
        assert words in text, words
    assert "Jeanne" not in text and "Durand" not in text.title()  # the lab gets the code, not the name


def test_validation_names_the_item_that_lacks_a_field():
    d = dictate("Onlay céramique sur la 46, teinte A2.", "Couronne zircone sur la 47.", "Livraison mardi.")
    assert missing(d.draft, d.context, TODAY) == ["teinte de l'élément 2 (couronne 47)"]
    d.handle("À la ligne.")
    d.handle("Teinte A3.")
    assert missing(d.draft, d.context, TODAY) == []


def test_a_metal_or_splint_item_needs_no_shade_but_teeth_and_material():
    d = dictate("Couronne métal sur la 47.", "Inlay-core sur la 21.", "Livraison mardi.")
    assert missing(d.draft, d.context, TODAY) == ["matériau de l'élément 2 (inlay-core 21)", "teinte de l'élément 2 (inlay-core 21)"]
    d = dictate("Livraison mardi.")
    assert missing(d.draft, d.context, TODAY) == ["dents (FDI)", "type de travail", "matériau", "teinte"]


def test_a_line_stored_before_items_still_loads_as_an_item():
    old = {"kind": "lab_order", "lines": [
        {"text": "Couronne zircone sur la 36, teinte A2.", "teeth": [36], "section": "order",
         "fields": {"work_type": "couronne", "material": "zircone", "teeth": [36], "shade": "A2", "shade_guide": "VITA classical"}},
        {"text": "Teinte A3.", "section": "order", "fields": {"shade": "A3", "shade_guide": "VITA classical"}},
        {"text": "Livraison mardi.", "section": "order", "fields": {"delivery_date": "2026-12-01"}}]}
    draft = Draft.model_validate(old)
    assert LabLine.items_of(draft.lines) == [
        {"work_type": "couronne", "material": "zircone", "teeth": [36], "shade": "A3", "shade_guide": "VITA classical"}]
    assert draft.fields["delivery_date"] == "2026-12-01" and draft.fields["work_type"] == "couronne"
    again = Draft.model_validate(draft.as_dict())  # and a new line goes through JSON unchanged
    assert LabLine.items_of(again.lines) == LabLine.items_of(draft.lines)


def test_the_fhir_export_has_one_service_request_per_item():
    d = dictate("Onlay céramique sur la 46, teinte A trois et demi, limite en congé.", "Couronne métal sur 47.",
                "Livraison le 12 décembre.", "Envoi empreinte optique.")
    assert "readback" in [o.kind for o in d.handle("Valide.")] and d.handle("Oui.")[-1].kind == "document"
    pdf = render_pdf(d.draft, d.context, ISSUED)
    doc = DocumentVersion(id=d.draft.id, version=1, kind="lab_order", status="validated",
                          number=document_number("lab_order", d.draft.id, TODAY), issued_at=ISSUED, draft=d.draft,
                          context=d.context.model_dump(mode="json"), pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), render_ms=1.0)
    bundle = to_fhir(doc)
    Bundle.model_validate(bundle)
    requests = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    assert [r["code"]["text"] for r in requests] == ["onlay céramique", "couronne métal"]
    assert [[s["coding"][0]["code"] for s in r["bodySite"]] for r in requests] == [["46"], ["47"]]
    assert len({r["requisition"]["value"] for r in requests}) == 1 and all(r["occurrenceDateTime"] == "2026-12-12" for r in requests)
    assert "Teinte A3.5 (VITA classical)" in [n["text"] for n in requests[0]["note"]]
    assert "limite en congé" in [n["text"] for n in requests[0]["note"]]
    composition = bundle["entry"][0]["resource"]
    assert {r["reference"] for r in composition["section"][0]["entry"]} == {
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"}
