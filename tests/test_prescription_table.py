"""The prescription table (tests/data/prescription_lines.tsv): each dictated
line read and checked as a pharmacist would, against the expected structure
and exactly the expected warnings — drug identity without guessing, doses by
weight and across lines, the patient's allergies and conditions, legally
complete lines."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from chairside.dictation.prescription import parse_line
from chairside.dictation.safety import check
from chairside.record.context import Patient

TABLE = Path(__file__).parent / "data" / "prescription_lines.tsv"
TODAY = date(2026, 11, 30)


def rows() -> list[dict]:
    with TABLE.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def patient_of(spec: str) -> Patient | None:
    """ "age=8;weight=25;allergies=pénicilline,AINS;pregnancy=26;renal=severe" → a Patient."""
    if not spec.strip():
        return None
    facts = dict(part.split("=", 1) for part in spec.split(";") if part.strip())
    fields: dict = {}
    if "age" in facts:  # born on this day, that many years ago
        age = int(facts["age"])
        fields["birth_date"] = TODAY.replace(year=TODAY.year - age)
    if "weight" in facts:
        fields["weight_kg"] = float(facts["weight"])
    if "allergies" in facts:
        fields["allergies"] = [a.strip() for a in facts["allergies"].split(",") if a.strip()]
    if "pregnancy" in facts:
        fields["pregnancy_weeks"] = int(facts["pregnancy"])
        fields["sex"] = "F"
    for flag in ("breastfeeding", "anticoagulant", "antiplatelet"):
        if facts.get(flag) == "1":
            fields[flag] = True
    if "renal" in facts:
        fields["renal_failure"] = facts["renal"]
    if "hepatic" in facts:
        fields["hepatic_failure"] = facts["hepatic"]
    return Patient(**fields)


def read(row: dict):
    """The row's line, read and checked after its previous lines."""
    previous = [parse_line(t) for t in row["previous"].split(" | ") if t.strip()]
    line = parse_line(row["utterance"])
    alerts = check([*previous, line], patient_of(row["patient"]), TODAY)[-1]
    kinds = {k for k in line.warning_kinds if k} | {a.kind for a in alerts}
    return line, kinds


def _number(text: str) -> float:
    return float(text.replace(",", "."))


@pytest.mark.parametrize("row", rows(), ids=lambda r: r["id"])
def test_prescription_line(row):
    line, kinds = read(row)
    assert line.drug == row["drug"], (row["note"], line.drug)
    assert line.in_formulary == (row["in_formulary"] == "1")
    assert line.suggestion == row["suggest"]
    expect = {
        "strength_mg": (line.strength_mg, _number), "units": (line.units_per_intake, _number),
        "per_day": (line.intakes_per_day, _number), "days": (line.duration_days, int), "boxes": (line.boxes, int),
        "renewals": (line.renewals, int),
    }
    for column, (value, kind) in expect.items():
        if row[column].strip():
            assert value == pytest.approx(kind(row[column])), (column, row["note"])
    if line.strength:  # printed only when said: its number is in what was said
        assert line.strength.split()[0] in line.text, "a strength that was not said must not be printed"
    assert bool(line.as_needed) == (row["as_needed"] == "1"), row["note"]
    assert (line.non_substitutable or "") == row["substitution"], row["note"]
    assert line.secure == (row["secure"] == "1")
    expected = {k.strip() for k in row["warnings"].split(",") if k.strip()}
    assert kinds == expected, (row["note"], [w for w in line.warnings])


def test_the_table_covers_what_the_issue_asks():
    table = rows()
    assert len(table) >= 150
    kinds = [set(r["warnings"].split(",")) for r in table]
    for kind, at_least in {"near_drug": 5, "unknown_drug": 10, "dose_weight": 6, "allergy": 5, "same_ingredient": 6,
                           "secure": 6, "no_duration": 12, "pregnancy": 3, "dose_total": 2, "dose_max": 3}.items():
        assert sum(kind in k for k in kinds) >= at_least, kind


def test_no_drug_name_is_ever_changed_without_the_dentists_yes():
    """Target of issue 12: a line's drug is the formulary's only when said exactly."""
    from chairside.dictation.formulary import FORMULARY, fold_name

    for row in rows():
        line = parse_line(row["utterance"])
        if line.in_formulary:
            exact = FORMULARY.find_exact(fold_name(row["utterance"]).split())
            assert exact is not None and exact.drug.dci == line.drug, row["id"]
        else:
            assert fold_name(line.drug) in fold_name(row["utterance"]), row["id"]  # the words heard


def test_every_kind_of_warning_is_listed_on_the_preview_pdf():
    """For each kind of warning of the table, its first line's warnings are
    printed on the preview PDF, under "À vérifier avant de signer", never on
    the signed document."""
    import io
    from datetime import datetime

    from factories import context
    from pypdf import PdfReader

    from chairside.documents.render import render_pdf
    from chairside.record.draft import Draft

    def text_of(pdf: bytes) -> str:
        return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())

    first: dict[str, dict] = {}
    for row in rows():
        for kind in filter(None, (k.strip() for k in row["warnings"].split(","))):
            first.setdefault(kind, row)
    assert len(first) >= 15
    for kind, row in first.items():
        lines = [parse_line(t) for t in row["previous"].split(" | ") if t.strip()] + [parse_line(row["utterance"])]
        for line, alerts in zip(lines, check(lines, patient_of(row["patient"]), TODAY)):
            line.warnings += [a.message for a in alerts]
        draft = Draft(kind="prescription", lines=lines)
        preview = text_of(render_pdf(draft, context(), datetime(2026, 11, 30, 10, 0), preview=True))
        assert "À vérifier avant de signer" in preview
        for warning in lines[-1].warnings:
            assert f"Ligne {len(lines)} : {' '.join(warning.split())}" in preview, (kind, row["id"], warning)
        signed = text_of(render_pdf(draft.snapshot(status="validated"), context(), datetime(2026, 11, 30, 10, 0)))
        assert "À vérifier" not in signed, kind
