"""Normalization of dictated dental text.

Spoken numbers become digits (text2num), decimals and units their written
form ("zéro virgule douze pour cent" → "0,12 %", "un gramme" → "1 g"), and
teeth are read in FDI notation ("la trente-six", "dent numéro 46", "de
quatorze à seize", "trois six" where a tooth is expected).  A number that is
not an FDI tooth (19, 49, 56...) is reported as such, never silently taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from text_to_num import alpha2digit

PERMANENT_TEETH = frozenset(q * 10 + t for q in range(1, 5) for t in range(1, 9))
PRIMARY_TEETH = frozenset(q * 10 + t for q in range(5, 9) for t in range(1, 6))


def is_fdi_tooth(number: int) -> bool:
    return number in PERMANENT_TEETH or number in PRIMARY_TEETH


UNITS = {
    "fr": [
        (r"milligrammes?|mg", "mg"),
        (r"microgrammes?", "µg"),
        (r"grammes?|g", "g"),
        (r"millilitres?|ml", "ml"),
        (r"pour ?100|pour cent|pourcent", "%"),
    ],
    "en": [
        (r"milligrams?|mg", "mg"),
        (r"micrograms?", "µg"),
        (r"grams?|g", "g"),
        (r"millilit(?:er|re)s?|ml", "ml"),
        (r"per ?cent|percent", "%"),
    ],
}
_ONE = {"fr": r"un|une", "en": r"one|a"}
# Small numbers text2num leaves in words ("deux grammes"): before a unit they are a quantity.
_SMALL = {"fr": {"deux": 2, "trois": 3}, "en": {"two": 2, "three": 3}}
_DECIMAL = {"fr": r"(\d+) virgule (\d+)", "en": r"(\d+) point (\d+)"}


def spoken_numbers(text: str, language: str = "fr") -> str:
    """Numbers, decimals and units in their written form."""
    text = alpha2digit(text, language)
    # "virgule" / "point" between two numbers is a decimal separator
    sep = "," if language == "fr" else "."
    text = re.sub(_DECIMAL[language], lambda m: f"{m[1]}{sep}{m[2]}", text, flags=re.IGNORECASE)
    for spoken, unit in UNITS[language]:
        # "un gramme" → "1 g"; "400 milligrammes" → "400 mg"; "0,12 pour 100" → "0,12 %"
        text = re.sub(rf"\b({_ONE[language]})\s+(?:{spoken})\b", f"1 {unit}", text, flags=re.IGNORECASE)
        small = "|".join(_SMALL[language])
        text = re.sub(rf"\b({small})\s+(?:{spoken})\b", lambda m: f"{_SMALL[language][m[1].lower()]} {unit}", text, flags=re.IGNORECASE)
        text = re.sub(rf"(\d)\s*(?:{spoken})(?=\W|$)", rf"\1 {unit}", text, flags=re.IGNORECASE)
    return text


@dataclass(frozen=True)
class Tooth:
    number: int
    valid: bool  # an FDI tooth (11-48 permanent, 51-85 primary)
    start: int  # span in the normalized text
    end: int


# Words that announce a tooth: "la 36", "sur la 36", "dent 46", "dent numéro 46", "tooth 36".
_TOOTH_CUE = r"(?:\b(?:sur |de )?la|\bdents?(?: numéros?| n°)?|\bteeth|\btooth(?: number)?)"
# A tooth said as two digits ("trois six" → "3 6") or as one number ("36").
_TOOTH = re.compile(rf"{_TOOTH_CUE}\s+(\d)\s(\d)\b|{_TOOTH_CUE}\s+(\d{{2}})\b", re.IGNORECASE)
_RANGE = re.compile(r"\b(?:de la|de|from)\s+(\d{2})\s+(?:à la|à|a|to)\s+(\d{2})\b", re.IGNORECASE)


# Quadrants side by side on one arch, right of the patient first:
# upper 1|2, lower 4|3 (and 5|6, 8|7 for primary teeth).
_ARCHES = ((1, 2), (4, 3), (5, 6), (8, 7))


def _arch_span(first: int, last: int) -> list[int]:
    """The teeth from ``first`` to ``last`` along one arch, crossing the
    midline where needed ("de 13 à 23": 13 12 11 21 22 23); [] if the two
    are not on one arch or are not teeth."""
    if not (is_fdi_tooth(first) and is_fdi_tooth(last)):
        return list(range(first, last + 1)) if first // 10 == last // 10 and first <= last else []
    for right, left in _ARCHES:
        # positions along the arch: right quadrant from its back tooth to the midline, then the left one
        order = [right * 10 + t for t in range(8, 0, -1)] + [left * 10 + t for t in range(1, 9)]
        if first in order and last in order:
            a, b = order.index(first), order.index(last)
            span = order[a : b + 1] if a <= b else order[b : a + 1][::-1]
            return [n for n in span if is_fdi_tooth(n)]
    return []


def find_teeth(text: str) -> list[Tooth]:
    """Teeth mentioned in normalized text (after :func:`spoken_numbers`), in
    order; a range "de 14 à 16" gives 14, 15 and 16."""
    found: dict[int, Tooth] = {}
    for m in _RANGE.finditer(text):
        first, last = int(m[1]), int(m[2])
        span = _arch_span(first, last)
        if span:
            for i, n in enumerate(span):
                found.setdefault(m.start() * 100 + i, Tooth(n, is_fdi_tooth(n), m.start(), m.end()))
        else:  # not one arch segment: both ends as said, each checked
            for n, pos in ((first, m.start(1)), (last, m.start(2))):
                found.setdefault(pos * 100, Tooth(n, is_fdi_tooth(n), m.start(), m.end()))
    covered = [(t.start, t.end) for t in found.values()]
    for m in _TOOTH.finditer(text):
        if any(a <= m.start() < b for a, b in covered):
            continue
        n = int(m[1] + m[2]) if m[1] else int(m[3])
        found[m.start() * 100] = Tooth(n, is_fdi_tooth(n), m.start(), m.end())
    return [found[k] for k in sorted(found)]


_SURFACE_WORDS = [
    (r"m[ée]si(?:o|al|ale|aux)", "M"),
    (r"occlus(?:o|al|ale|aux)", "O"),
    (r"dist(?:o|al|ale|aux)", "D"),
    (r"vestibul(?:o|aire|aires)|buccal", "V"),
    (r"lingu(?:o|al|ale|aux)", "L"),
    (r"palat(?:o|in|ine|ins|ines|al)", "P"),
]
_SURFACE_CODE = re.compile(r"\b([MODVLP]{1,5})\b")


def find_surfaces(text: str) -> str | None:
    """Tooth surfaces as FDI letters: "MOD", "mésio-occlusale" → "MO"."""
    letters = ""
    for word in re.split(r"[\s,;]+", text):
        parts = word.split("-")
        codes = [code for part in parts for pattern, code in _SURFACE_WORDS if re.fullmatch(pattern, part, re.IGNORECASE)]
        if codes and len(codes) == len(parts):
            letters += "".join(codes)
        elif _SURFACE_CODE.fullmatch(word.strip(".")) and len(word.strip(".")) >= 2:
            letters += word.strip(".")
    unique = "".join(dict.fromkeys(letters))
    return unique or None


WEEKDAYS = {
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "en": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
}
_IN_PERIOD = {
    "fr": re.compile(r"\bdans\s+(\d+|un|une)\s+(jours?|semaines?|mois)\b", re.IGNORECASE),
    "en": re.compile(r"\bin\s+(\d+|a|an|one)\s+(days?|weeks?|months?)\b", re.IGNORECASE),
}
_NEXT_DAY = {
    "fr": re.compile(r"\b(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s+prochain\b", re.IGNORECASE),
    "en": re.compile(r"\bnext\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.IGNORECASE),
}
_SIMPLE = {
    "fr": {"aujourd'hui": 0, "demain": 1, "après-demain": 2},
    "en": {"today": 0, "tomorrow": 1, "the day after tomorrow": 2},
}


def relative_date(text: str, today: date, language: str = "fr") -> date | None:
    """The date a dictated phrase points to, counted from ``today`` (the
    session's date): "jeudi prochain", "dans quinze jours", "demain"...
    As in French usage, "dans huit jours" is a week and "dans quinze jours"
    two."""
    from datetime import timedelta

    text = alpha2digit(text, language, threshold=0)  # "deux semaines", "two weeks" too
    if m := _NEXT_DAY[language].search(text):
        weekday = WEEKDAYS[language].index(m[1].lower())
        ahead = (weekday - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    if m := _IN_PERIOD[language].search(text):
        count = {"un": 1, "une": 1, "a": 1, "an": 1, "one": 1}.get(m[1].lower())
        count = count if count is not None else int(m[1])
        unit = m[2].lower()
        if unit.startswith(("semaine", "week")):
            return today + timedelta(weeks=count)
        if unit.startswith(("mois", "month")):
            month = today.month - 1 + count
            year, month = today.year + month // 12, month % 12 + 1
            for day in (today.day, 30, 29, 28):  # 31 January + 1 month → 28/29 February
                try:
                    return today.replace(year=year, month=month, day=day)
                except ValueError:
                    continue
        if language == "fr" and count in (8, 15):
            count -= 1  # "dans huit jours" is a week, "dans quinze jours" two
        return today + timedelta(days=count)
    lowered = text.lower()
    for phrase, days in sorted(_SIMPLE[language].items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered):
            return today + timedelta(days=days)
    return None
