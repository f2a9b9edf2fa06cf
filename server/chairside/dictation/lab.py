"""Dental lab order details from dictated text: work type, material, shade,
teeth (pillars and pontics of a bridge), stump shade, delivery date."""

from __future__ import annotations

import re
from datetime import date

from text_to_num import alpha2digit

from .commands import fold
from .normalize import find_teeth, relative_date, spoken_numbers

# (what is said, folded) → the name written on the order; longest first
WORK_TYPES = [
    ("prothese amovible", "prothèse amovible"), ("couronne provisoire", "couronne provisoire"),
    ("inlay core", "inlay-core"), ("couronne", "couronne"), ("bridge", "bridge"), ("inlay", "inlay"),
    ("onlay", "onlay"), ("facette", "facette"), ("gouttiere", "gouttière"), ("stellite", "stellite"),
]
MATERIALS = [
    ("disilicate de lithium", "disilicate de lithium"), ("emax", "disilicate de lithium"),
    ("ceramo metallique", "céramo-métallique"), ("ceramometallique", "céramo-métallique"),
    ("zircone", "zircone"), ("zirconium", "zircone"), ("zircon", "zircone"), ("pmma", "PMMA"), ("ceramique", "céramique"),
    ("composite", "composite"), ("metal", "métal"), ("titane", "titane"),
]
# What goes to the lab with the order (folded words → as written)
ITEMS_SENT = [
    ("empreinte optique", "empreinte optique"), ("empreintes? numeriques?", "empreinte optique"),
    ("empreintes? physiques?", "empreinte physique"), ("empreintes?", "empreinte"), ("porte empreintes?", "porte-empreinte"),
    ("modeles? en platre", "modèles en plâtre"), ("modeles?", "modèles"), ("mordu|cire d occlusion|articule", "mordu"),
    ("arc facial", "arc facial"), ("photos?|photographies?", "photos"), ("provisoires?", "provisoire"),
    ("antagonistes?", "antagoniste"), ("teintier", "teintier"),
]
_SENDING = re.compile(r"\b(?:envoi|envoie|envoyes?|joints?|ci joints?|avec|sent|enclosed|included)\b")
_VITA = re.compile(r"\bteinte\s+([A-D])\s*([1-4](?:[.,]5)?)\b", re.IGNORECASE)
_3D_MASTER = re.compile(r"\bteinte\s+([0-5])\s*([LMR])\s*([1-3](?:[.,]5)?)\b", re.IGNORECASE)
_STUMP = re.compile(r"\bmoignon\s+(?:teinte\s+)?(ND\s*[1-9])\b", re.IGNORECASE)
_ELEMENTS = re.compile(r"\b(\d)\s+éléments\b", re.IGNORECASE)


def _find(table: list[tuple[str, str]], folded: str) -> str | None:
    for said, written in table:
        if re.search(rf"\b{said}s?\b", folded):  # "facettes", "couronnes"
            return written
    return None


def parse_lab_line(dictated: str, today: date, language: str = "fr") -> dict:
    """The lab-order fields one utterance gives (only those it mentions)."""
    text = spoken_numbers(dictated, language)
    folded = fold(text)
    fields: dict = {}
    if work := _find(WORK_TYPES, folded):
        fields["work_type"] = work
    if material := _find(MATERIALS, folded):
        fields["material"] = material
    digits = alpha2digit(text, language, threshold=0)  # "A deux" → "A 2", "deux M deux" → "2 M 2"
    if m := _VITA.search(digits):
        fields["shade"] = f"{m[1].upper()}{m[2].replace(',', '.')}"
        fields["shade_guide"] = "VITA classical"
    elif m := _3D_MASTER.search(digits):
        fields["shade"] = f"{m[1]}{m[2].upper()}{m[3].replace(',', '.')}"
        fields["shade_guide"] = "VITA 3D-Master"
    if m := _STUMP.search(digits):
        fields["stump_shade"] = m[1].upper().replace(" ", "")
    teeth = [t.number for t in find_teeth(text) if t.valid]
    if teeth:
        fields["teeth"] = teeth
        if fields.get("work_type") == "bridge" and len(teeth) >= 3:
            fields["pillars"] = [teeth[0], teeth[-1]]
            fields["pontics"] = teeth[1:-1]
    if m := _ELEMENTS.search(text):
        fields["elements"] = int(m[1])
    if _SENDING.search(folded):
        items = []
        for said, written in ITEMS_SENT:
            if re.search(rf"\b(?:{said})\b", folded) and written not in items and not any(written in i for i in items):
                items.append(written)
        if items:
            fields["items_sent"] = items
    if "livraison" in folded or "delivery" in folded or "pour le" in folded:
        if (when := relative_date(text, today, language)) is not None:
            fields["delivery_date"] = when.isoformat()
    return fields
