"""The structured-result table: dictated lines (recognition-style variants:
no accents, numbers in words or digits, misheard drug names, brands) and
what each must give in its document (tests/data/dictation_fields.tsv).

``expected`` is a JSON object of dotted paths into the draft line
(``fields.teeth``, ``details.product``); ``warnings`` counts the line's
warnings.  The session's date is Sunday 29 November 2026.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from factories import context

from chairside.dictation.state import Dictation

TABLE = Path(__file__).parent / "data" / "dictation_fields.tsv"
OPEN = {"prescription": "Nouvelle ordonnance.", "lab_order": "Fiche de laboratoire.",
        "medical_certificate": "Certificat médical initial.", "clinical_report": "Compte rendu."}


def rows() -> list[dict]:
    with TABLE.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def lookup(line: dict, path: str):
    value = line
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def test_the_table_is_big_enough():
    table = rows()
    assert len(table) >= 80 and {r["kind"] for r in table} == set(OPEN)


@pytest.mark.parametrize("row", rows(), ids=lambda r: r["utterance"][:40])
def test_dictated_line(row):
    d = Dictation(today=date(2026, 11, 29), context=context())
    d.handle(OPEN[row["kind"]])
    outcomes = d.handle(row["utterance"])
    assert outcomes and outcomes[0].kind == "draft_updated", [o.message for o in outcomes]
    line = d.draft.lines[-1].model_dump()
    for path, expected in json.loads(row["expected"]).items():
        got = len(line["warnings"]) if path == "warnings" else lookup(line, path)
        assert got == expected, f"{path}: {got!r} != {expected!r} in {line}"
