"""Prescription lines from dictated text, with the shipped formulary.

``parse_line("Paracétamol un gramme, un comprimé toutes les six heures si
douleur")`` → drug (fuzzy-matched to the formulary, mis-heard names
included), strength, form, posology (units per intake × intakes per day),
duration, notes, and warnings: a daily dose above the usual maximum, or a
drug not in the formulary (kept as free text).  Nothing is silently changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process
from text_to_num import alpha2digit

from ..record.draft import PrescriptionLine
from . import formulary
from .commands import fold
from .normalize import spoken_numbers

FORMULARY_PATH = Path(__file__).with_name("formulary.json")
DRUG_MATCH_THRESHOLD = 80


@dataclass(frozen=True)
class Drug:
    dci: str
    brands: tuple[str, ...]
    forms: tuple[str, ...]
    max_daily_mg: float | None


def load_formulary() -> tuple[list[Drug], dict[str, Drug]]:
    """The formulary (``formulary.load``) as this module's drugs: the daily
    maximum is the adult one of the drug's first ingredient dosed in mg."""
    data = formulary.load(FORMULARY_PATH)
    drugs, names = [], {}
    for d in data.drugs:
        in_mg = [i for i in d.ingredients if data.ingredient(i).unit == "mg"]
        maximum = data.max_daily(d, in_mg[0]) if in_mg else None
        drug = Drug(d.dci, d.brands, d.forms, maximum.value if maximum else None)
        drugs.append(drug)
        for name in d.names:
            names[fold(name)] = drug
    return drugs, names


_DRUGS, _NAMES = load_formulary()


_UNIT_WORD = re.compile(r"\b(?:(?:milli)?gram+e?s?|microgrammes?|pour ?cent)\b", re.IGNORECASE)
_STRENGTH = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mg|g|µg|%)(?=\W|$)")
_UNITS = re.compile(r"\b(\d+|un|une|deux|demi)\s+(comprim[ée]s?|g[ée]lules?|sachets?|cuill[èe]res?|bains? de bouche)\b", re.IGNORECASE)
_TIMES_A_DAY = re.compile(r"\b(\d+)\s*fois\s+par\s+jour\b", re.IGNORECASE)
_EVERY_HOURS = re.compile(r"\btoutes\s+les\s+(\d+)\s*heures\b", re.IGNORECASE)
_DURATION = re.compile(r"\bpendant\s+(\d+|un|une)\s*(jours?|semaines?)\b", re.IGNORECASE)
_MOMENTS = [("matin", r"\bmatin\b"), ("midi", r"\bmidi\b"), ("soir", r"\bsoir\b"), ("coucher", r"\bcoucher\b")]
_NOTES = [r"si douleurs?", r"au cours des repas|pendant les repas|au milieu des repas", r"sans dépasser [^,.;]+", r"à jeun"]
_FORMS = {"comprime": "comprimé", "gelule": "gélule", "sachet": "sachet", "cuillere": "cuillère"}
_COUNT = {"un": 1, "une": 1, "deux": 2, "demi": 0.5}


def _find_drug(words: list[str]) -> tuple[Drug | None, int, int]:
    """The formulary drug named in the first words (fuzzy), with the span of
    words it takes (start, end)."""
    best: tuple[float, Drug | None, int, int] = (0.0, None, 0, 0)
    for start in range(min(len(words), 6)):  # "bain de bouche à la chlorhexidine": the name may come later
        for length in (3, 2, 1):
            candidate = " ".join(words[start : start + length])
            if not candidate:
                continue
            hit = process.extractOne(candidate, list(_NAMES), scorer=fuzz.ratio)
            if hit and hit[1] > best[0]:
                best = (hit[1], _NAMES[hit[0]], start, start + length)
    if best[0] >= DRUG_MATCH_THRESHOLD:
        return best[1], best[2], best[3]
    return None, 0, 0


def find_drug(text: str) -> str | None:
    """The DCI of the formulary drug a phrase names (fuzzy), if any."""
    drug, _, _ = _find_drug(fold(text).split())
    return drug.dci if drug is not None else None


# "un gramme" as Whisper often hears it: "en grame", "un grame"
_MISHEARD_GRAM = re.compile(r"\b(?:en|un)\s+gram+e?s?\b", re.IGNORECASE)


def parse_line(dictated: str) -> PrescriptionLine:
    text = spoken_numbers(_MISHEARD_GRAM.sub("un gramme", dictated), "fr").strip(" .")
    words = fold(text).split()
    drug, start, end = _find_drug(words)
    if drug is None:
        name = re.split(r"\s*\d", text, maxsplit=1)[0].strip(" ,") or text
        line = PrescriptionLine(text=text, drug=name, in_formulary=False)
        line.warnings.append(f"« {name} » n'est pas dans le formulaire : vérifier le nom du médicament")
    else:
        line = PrescriptionLine(text=text, drug=drug.dci, in_formulary=True)
        said = " ".join(words[start:end])
        line.brand = next((b for b in drug.brands if fuzz.ratio(fold(b), said) >= DRUG_MATCH_THRESHOLD), "")
    if m := _STRENGTH.search(text):
        value = float(m[1].replace(",", "."))
        line.strength = f"{m[1]} {m[2]}"
        line.strength_mg = {"mg": value, "g": value * 1000, "µg": value / 1000}.get(m[2])
    elif said := _UNIT_WORD.search(text):  # a strength said but not understood ("Amoxicilline grame")
        line.warnings.append(f"dosage non compris : « {said[0]} » — à vérifier")
    counted = alpha2digit(text, "fr", threshold=0)  # "deux fois par jour" → "2 fois par jour"
    if m := _UNITS.search(text):
        count = m[1].lower()
        line.units_per_intake = float(_COUNT.get(count, count))
        line.form = _FORMS.get(fold(m[2]).rstrip("s"), "bain de bouche")
    elif drug is not None and drug.forms:
        line.form = drug.forms[0]
    moments = [name for name, pattern in _MOMENTS if re.search(pattern, text, re.IGNORECASE)]
    if m := _TIMES_A_DAY.search(counted):
        line.intakes_per_day = float(m[1])
    elif m := _EVERY_HOURS.search(counted):
        line.intakes_per_day = 24 / int(m[1])
    elif moments:
        line.intakes_per_day = float(len(moments))
    if m := _DURATION.search(counted):
        line.duration_days = int(_COUNT.get(m[1].lower(), m[1])) * (7 if m[2].lower().startswith("semaine") else 1)
    elif said := re.search(r"\bpendant\s+(?!les?\s+repas|la\s+nuit)[^,.;]+", text, re.IGNORECASE):  # a duration said, not understood
        line.warnings.append(f"durée non comprise : « {said[0]} » — à vérifier")
    line.notes = [n.group(0) for pattern in _NOTES if (n := re.search(pattern, text, re.IGNORECASE))]
    if drug is not None and drug.max_daily_mg and line.daily_mg and line.daily_mg > drug.max_daily_mg:
        line.warnings.append(
            f"{drug.dci} : {line.daily_mg:g} mg par jour dépasse la dose usuelle maximale de {drug.max_daily_mg:g} mg par jour"
        )
    return line
