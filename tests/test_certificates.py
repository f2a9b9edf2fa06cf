"""Initial medical certificates keep what was said (issue 13): the ITT with
its qualifier ("inférieure à huit jours"), the examination's date and time
(said, else the start of the dictation; never the validation's), declared
circumstances in reported speech whatever the verb, a minor's accompanying
adult, the réserve on later complications.

The table (tests/data/certificate_lines.tsv) gives dictated lines, each
sequence after "Certificat médical initial.": ``utterances`` split on " // ",
``expected`` dotted paths into the draft (``fields.itt_qualifier``: the
document's fields; ``line.text``: its last line), ``pdf`` the words the
rendered PDF must hold and ``not_pdf`` those it must not (" | "), ``render``
final or preview, ``patient`` adult (Jeanne Durand, 42) or minor (a boy of
12).  The dictation begins on 29 November 2026 at 09:40; the certificate is
rendered at 11:55.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import conftest
import pytest
from factories import CONTEXT, context

from chairside.dictation.state import Dictation
from chairside.documents.render import itt_in_words, render_pdf
from chairside.record.draft import Draft
from chairside.record.mentions import missing

TABLE = Path(__file__).parent / "data" / "certificate_lines.tsv"
PARIS = ZoneInfo("Europe/Paris")
STARTED = datetime(2026, 11, 29, 9, 40, tzinfo=PARIS)
VALIDATED = datetime(2026, 11, 29, 11, 55, tzinfo=PARIS)
MINOR = {**CONTEXT, "patient": {**CONTEXT["patient"], "first_name": "Lucas", "sex": "M", "birth_date": "2014-03-12"}}
OPEN = "Certificat médical initial."


def rows() -> list[dict]:
    with TABLE.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def pdf_text(data: bytes) -> str:
    """The PDF's text on one line, with French's narrow spaces as spaces."""
    return " ".join(conftest.pdf_text(data).split()).replace("\u202f", " ").replace("\u00a0", " ")


def dictate(utterances: list[str], *, minor: bool = False, started_at: datetime = STARTED) -> Dictation:
    d = Dictation(today=started_at.date(), context=context(**MINOR) if minor else context(), started_at=started_at)
    for said in [OPEN, *utterances]:
        d.handle(said)
    return d


def lookup(draft: Draft, path: str):
    head, _, rest = path.partition(".")
    value = draft.fields if head == "fields" else draft.lines[-1].model_dump(mode="json")
    for key in rest.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def test_the_table_covers_what_the_issue_asks():
    table = rows()
    assert len(table) >= 50
    qualifiers = {json.loads(r["expected"]).get("fields.itt_qualifier") for r in table}
    assert {"exact", "less_than", "more_than", "at_least", "at_most"} <= qualifiers
    ids = {r["id"] for r in table}
    assert {"itt-no-1", "itt-eq-3", "exam-1", "exam-session", "decl-1", "decl-6", "minor-1", "minor-unsaid", "res-2"} <= ids


@pytest.mark.parametrize("row", rows(), ids=lambda r: r["id"])
def test_certificate_line(row):
    d = dictate(row["utterances"].split(" // "), minor=row["patient"] == "minor")
    for path, expected in json.loads(row["expected"]).items():
        got = lookup(d.draft, path)
        assert got == expected, f"{path}: {got!r} != {expected!r} in {d.draft.as_dict()}"
    text = pdf_text(render_pdf(d.draft, d.context, VALIDATED, preview=row["render"] == "preview"))
    for words in filter(None, row["pdf"].split(" | ")):
        assert words in text, f"{words!r} not in the PDF: {text}"
    for words in filter(None, row["not_pdf"].split(" | ")):
        assert words not in text, f"{words!r} in the PDF: {text}"


def complete(d: Dictation) -> Dictation:
    for said in ["Le patient déclare avoir reçu un coup de poing hier soir.", "Fracture coronaire de la onze.",
                 "ITT inférieure à huit jours."]:
        d.handle(said)
    return d


def statement(d: Dictation, issued_at: datetime) -> str:
    text = pdf_text(render_pdf(d.draft, d.context, issued_at))
    return text[text.index("certifie avoir examiné"):text.index("Circonstances")]


def test_a_version_2_validated_later_keeps_the_examination_time():
    d = complete(dictate([]))
    assert "readback" in [o.kind for o in d.handle("Valide.")] and d.handle("Oui.")[-1].kind == "document"
    first = statement(d, VALIDATED)
    d.handle("Plaie de la lèvre inférieure.")  # a change after validation: version 2
    assert d.draft.version == 2
    assert "readback" in [o.kind for o in d.handle("Valide.")] and d.handle("Oui.")[-1].kind == "document"
    later = datetime(2026, 11, 30, 16, 40, tzinfo=PARIS)
    second = statement(d, later)
    assert "le 29 novembre 2026 à 9 h 40" in first and first == second
    text = pdf_text(render_pdf(d.draft, d.context, later))
    assert "validé le 30 novembre 2026 à 16 h 40" in text  # the signature's date is the validation's
    assert "est inférieure à huit (8) jours, sous réserve de complications" in text


def test_a_dictated_examination_time_survives_a_version_2():
    d = complete(dictate(["Patient examiné ce jour à dix heures trente."]))
    d.handle("Valide."), d.handle("Oui.")  # read back, then signed
    d.handle("Hématome de la joue gauche.")
    d.handle("Valide."), d.handle("Oui.")  # read back, then signed
    assert d.draft.version == 2 and d.draft.fields["examined_at"] == "2026-11-29T10:30"
    assert "examiné le 29 novembre 2026 à 10 h 30" in statement(d, datetime(2026, 12, 1, 8, 0, tzinfo=PARIS))


def test_a_resumed_session_keeps_the_first_dictation_s_start():
    d = dictate(["Le patient déclare avoir chuté dans l'escalier."])
    stored = Draft.model_validate(d.draft.as_dict())  # as the journal keeps it
    resumed = Dictation(today=STARTED.date(), context=context(), started_at=datetime(2026, 11, 29, 10, 25, tzinfo=PARIS))
    resumed.restore(stored)
    complete(resumed)
    assert {line.fields["dictation_started_at"] for line in resumed.draft.lines} == {"2026-11-29T09:40+01:00"}
    assert "à 9 h 40" in statement(resumed, VALIDATED)


def test_the_examination_is_never_dated_by_the_validation():
    d = complete(dictate([], started_at=datetime(2026, 11, 29, 9, 40, tzinfo=PARIS)))
    for issued in (VALIDATED, datetime(2026, 12, 3, 18, 5, tzinfo=PARIS)):
        assert "le 29 novembre 2026 à 9 h 40" in statement(d, issued)


def test_a_draft_with_no_examination_date_cannot_be_validated():
    d = complete(dictate([]))
    bare = Draft.model_validate({**d.draft.as_dict(), "lines": [
        {k: v for k, v in line.model_dump().items() if k != "fields"} | {"fields": {
            k: v for k, v in line.fields.items() if k != "dictation_started_at"}} for line in d.draft.lines]})
    assert missing(bare, d.context, STARTED.date()) == ["date de l'examen"]
    assert missing(d.draft, d.context, STARTED.date()) == []
    assert "date de l'examen" in pdf_text(render_pdf(bare, d.context, VALIDATED, preview=True))


def test_itt_in_words_with_each_qualifier():
    assert itt_in_words(8, "less_than") == ("L'incapacité totale de travail (ITT) est inférieure à huit (8) jours, "
                                            "sous réserve de complications.")
    assert "est supérieure à huit (8) jours" in itt_in_words(8, "more_than")
    assert "est supérieure ou égale à huit (8) jours" in itt_in_words(8, "at_least")
    assert "est inférieure ou égale à huit (8) jours" in itt_in_words(8, "at_most")
    assert "est fixée à huit (8) jours" in itt_in_words(8)
    assert "néant" in itt_in_words(0) and "sous réserve de complications" in itt_in_words(0)


def test_the_session_date_of_a_dictation_without_one_is_today():
    d = Dictation(today=date(2026, 11, 29))
    assert d.started_at.date() == date(2026, 11, 29)


def test_the_fhir_export_says_the_itt_as_the_pdf_does():
    from chairside.documents.fhir import to_fhir
    from chairside.record.versions import DocumentVersion

    d = complete(dictate([]))
    d.handle("Valide."), d.handle("Oui.")  # read back, then signed
    pdf = render_pdf(d.draft, d.context, VALIDATED)
    doc = DocumentVersion(id=d.draft.id, version=1, kind="medical_certificate", status="validated", number="CMI-1",
                          issued_at=VALIDATED, draft=d.draft, context=d.context.model_dump(mode="json"), pdf=pdf,
                          sha256="0" * 64, render_ms=1.0)
    bundle = json.dumps(to_fhir(doc), ensure_ascii=False)
    assert "est inférieure à huit (8) jours" in bundle and "fixée à" not in bundle


def test_the_fhir_export_has_the_examination_time_and_the_accompanying_adult():
    """The certificate's Composition.event is the examination as printed (the
    dictation's start here, not the validation), and a minor's accompanying
    adult is a section of its own."""
    from chairside.documents.fhir import to_fhir
    from chairside.record.versions import DocumentVersion

    d = complete(dictate(["Accompagné de sa mère, Madame Durand."], minor=True))
    d.handle("Valide."), d.handle("Oui.")
    doc = DocumentVersion(id=d.draft.id, version=1, kind="medical_certificate", status="validated", number="CMI-2",
                          issued_at=VALIDATED, draft=d.draft, context=d.context.model_dump(mode="json"),
                          pdf=render_pdf(d.draft, d.context, VALIDATED), sha256="0" * 64, render_ms=1.0)
    composition = to_fhir(doc)["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    start = datetime.fromisoformat(composition["event"][0]["period"]["start"])
    assert start.tzinfo is not None and start == STARTED and start != VALIDATED  # the same instant, in any offset
    accompanying = [s for s in composition["section"] if s["title"] == "Accompagnant"]
    assert accompanying and "sa mère, Madame Durand" in accompanying[0]["text"]["div"]
