"""Dental lab order details from dictated text.

A lab order is a list of **items** (issue 13): each work type said begins
one, with its own teeth (pillars and pontics of a bridge), material, shade
(VITA classical with its half shades, 3D-Master, bleach BL1–BL4; at the
collar and the incisal edge when said) and notes — every word of the item
that is no field, so that nothing said is lost.  Words said before any work
type go on with the previous item (material, shade, "monolithique",
"limite en congé").  The delivery date, what is sent with the order and
the stump shade belong to the whole order.

:func:`read_lab_line` reads one line; :func:`parse_lab_line` gives the
flat fields of earlier releases (the first item's, and the order's).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..record.draft import LabLine
from .commands import fold
from .normalize import _arch_span, find_teeth, is_fdi_tooth, relative_date, spoken_numbers

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
ITEM_KEYS = LabLine.ITEM_KEYS
DOCUMENT_KEYS = ("delivery_date", "items_sent", "stump_shade")

VITA_CLASSICAL = {f"{l}{n}" for l in "ABC" for n in "1234"} | {"A3.5", "D2", "D3", "D4"}
VITA_3D_MASTER = {"0M1", "0M2", "0M3", "1M1", "1M2", "2L1.5", "2L2.5", "2M1", "2M2", "2M3", "2R1.5", "2R2.5",
                  "3L1.5", "3L2.5", "3M1", "3M2", "3M3", "3R1.5", "3R2.5", "4L1.5", "4L2.5", "4M1", "4M2", "4M3",
                  "4R1.5", "4R2.5", "5M1", "5M2", "5M3"}
MONTHS = ["janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre", "decembre"]
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]

_SENDING = re.compile(r"\b(?:envoi|envoie|envoyes?|envoyees?|joints?|ci joints?|joins|joignons|avec|sent|enclosed|included)\b")
_WORK = re.compile(r"\b(?:" + "|".join(said for said, _ in WORK_TYPES) + r")s?\b")
_HALF = r"(?:\.5|\s+et\s+demie?)"
_VITA = re.compile(rf"\b([a-d])\s?([1-4])({_HALF})?\b")
_3D_MASTER = re.compile(rf"\b([0-5])\s?([lmr])\s?([1-3])({_HALF})?\b")
_BLEACH = re.compile(r"\bb\s?l\s?([1-4])\b")
_SHADE_CUE = re.compile(r"\b(?:teintes?|shade|couleur)\s*$")
_STUMP = re.compile(r"\bmoignons?\s+(?:teinte\s+)?(nd)\s?([1-9])\b")
_ELEMENTS = re.compile(r"\b(\d)\s+elements?\b")
_CERVICAL = re.compile(r"\b(?:au |en )?(?:collet|cervical(?:e|es)?)\b")
_INCISAL = re.compile(r"\b(?:au |en )?(?:bord (?:libre|incisal)|incisal(?:e|es)?|tiers incisal)\b")
_RANGE = re.compile(r"\b(?:de la|de|du|from)\s+(\d{2})\s+(?:a la|au|a|jusqu a la|jusqu a|to)\s+(\d{2})\b")
_TOOTH_LIST = re.compile(r"\b(?:sur(?: les| la)?|les|la|dents?(?: numeros?)?|en|pilier|piliers|tooth|teeth|et)\s+"
                         r"(\d{2}(?:(?:\s*,\s*|\s+et\s+|\s+)\d{2}\b)*)\b")
_NOT_A_TOOTH_AFTER = re.compile(r"^\s*(?:jours?|semaines?|mois|heures?|h\b|mm|millimetres?|%|ans|elements?|"
                                + "|".join(MONTHS) + r")")
_DELIVERY_CUE = re.compile(r"\b(?:livraison|livrer|livree?s?|delivery|pour le|pour|retour|rendu|a rendre|avant le|d ici)\b")
_DATE = re.compile(
    r"\b(?:(?P<wd>" + "|".join(WEEKDAYS) + r")(?:\s+(?P<next>prochain))?(?:\s+(?P<wdday>\d{1,2}|1er)(?:\s+(?P<wdmonth>"
    + "|".join(MONTHS) + r"))?)?"
    r"|(?P<day>\d{1,2}|1er|premier)\s+(?P<month>" + "|".join(MONTHS) + r")(?:\s+(?P<year>20\d\d))?"
    r"|(?P<nd>\d{1,2})/(?P<nm>\d{1,2})(?:/(?P<ny>\d{2,4}))?"
    r"|dans\s+(?:\d+|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|quinze)\s+(?:jours?|semaines?|mois)|apres demain|demain"
    r"|(?<=\ble )(?P<bare>\d{1,2})(?!\s*(?:h|heures?)\b))\b")
# Words that join fields and are no note of their own, taken off the edges of what is left.
_JOINERS = re.compile(r"^(?:(?:sur|la|le|les|l|de|des|du|d|en|et|avec|a|au|aux|pour|un|une|teintes?|shade|couleur|"
                      r"dents?|numeros?|livraison|souhaitee|prevue|voulue|moignon|element|elements|soit|plus|puis|"
                      r"ainsi que|aussi|egalement|on|nous|je)\b\s*)+|(?:\s*\b(?:sur|la|le|les|l|de|des|du|d|en|et|avec|"
                      r"a|au|aux|pour|un|une|teintes?|dents?|soit|puis|ainsi que)\b)+$")
# Words that, at the start of a line without a work type, go on with the item before.
ITEM_DETAILS = re.compile(r"^(?:monolithiques?|stratifiee?s?|maquillee?s?|caracterisee?s?|vissee?s?|transvissee?s?|"
                          r"scellee?s?|collee?s?|limites?|congee?|epaulement|chanfrein|alliage|non precieux|precieux|"
                          r"semi precieux|emergence|profil|embrasures?|points? de contact|contacts?|epaisseur|"
                          r"polie?s?|glacee?s?|sur implants?|implanto portee?s?|pilier|piliers|intermediaires?)\b")


def _keep_fold(text: str) -> str:
    """Lowercase, no accents, punctuation as spaces, the same length as
    ``text`` (positions match); "." between digits and "/" kept."""
    out = []
    for i, c in enumerate(text):
        base = unicodedata.normalize("NFKD", c)[:1].lower() or " "
        if base.isalnum():
            out.append(base)
        elif c in "./" and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
            out.append(c)
        else:
            out.append(" ")
    return "".join(out)


def _find_span(table: list[tuple[str, str]], folded: str, start: int, end: int) -> tuple[str, int, int] | None:
    for said, written in table:
        if m := re.compile(rf"\b{said}s?\b").search(folded, start, end):
            return written, m.start(), m.end()
    return None


_NUMBER_WORD = r"z[ée]ro|une?|deux|trois|quatre|cinq"
_DIGIT = {"zero": "0", "zéro": "0", "un": "1", "une": "1", "deux": "2", "trois": "3", "quatre": "4", "cinq": "5"}


# The letter A of a shade written as the preposition ("teinte à deux" for
# "teinte A deux": the two sound the same), only right after the cue.
_SHADE_A = re.compile(rf"\b(teintes?|couleur)\s+[àÀ](?=\s*(?:[1-4]\b|(?:{_NUMBER_WORD})\b))", re.IGNORECASE)


def _shade_digits(text: str) -> str:
    """Number words of a shade as digits ("A trois et demi" → "A 3 et demi",
    "deux M deux" → "2 M 2", "BL deux" → "BL 2"; "teinte à deux" → "teinte A 2"),
    other words as said."""
    text = _SHADE_A.sub(r"\1 A", text)
    pattern = (rf"(?:(?<=\b[A-DLMR] )|(?<=BL )|(?<=bl )|(?<=\b[a-dlmr] )(?=(?:{_NUMBER_WORD})\b\s*(?:et demi|[,.]|$))|(?<=teinte )|(?<=Teinte )|(?<=ND ))"
               rf"({_NUMBER_WORD})\b|\b({_NUMBER_WORD})(?=\s*[LMR]\s*(?:\d|{_NUMBER_WORD})\b)")
    text = re.sub(pattern, lambda m: _DIGIT[(m[1] or m[2]).lower()], text)
    return re.sub(rf"(?<=\b[LMR] )({_NUMBER_WORD})\b", lambda m: _DIGIT[m[1].lower()], text)


@dataclass
class LabReading:
    """What one lab line says."""

    lead: dict = field(default_factory=dict)  # item fields (and notes) said before any work type
    items: list[dict] = field(default_factory=list)  # the items the line begins, each with its notes
    order: dict = field(default_factory=dict)  # fields of the whole order (delivery, items sent, stump shade)
    notes: str = ""  # words of the line that belong to no item (a note for the lab)
    continues: bool = False  # the lead goes on with the item before (item fields or item words)
    invalid_teeth: list[int] = field(default_factory=list)  # numbers said as teeth that are none

    @property
    def teeth(self) -> list[int]:
        out = list(self.lead.get("teeth", []))
        for item in self.items:
            out += [t for t in item.get("teeth", []) if t not in out]
        return out

    @property
    def fields(self) -> dict:
        """The flat fields of earlier releases: the first item's (or the
        lead's), all the teeth, and the order's."""
        first = dict(self.items[0]) if self.items else {}
        for key, value in self.lead.items():
            first.setdefault(key, value)
        flat = {k: first[k] for k in ITEM_KEYS if k in first}
        if self.teeth:
            flat["teeth"] = self.teeth
        return {**flat, **self.order}


def _delivery(low: str, today: date, language: str) -> tuple[str | None, list[tuple[int, int]]]:
    """The delivery date of a line ("livraison le 12 décembre", "pour mardi",
    "dans dix jours", "jeudi prochain") and the spans it takes."""
    cue = _DELIVERY_CUE.search(low)
    if cue is None:
        return None, []
    m = _DATE.search(low, cue.start())
    if m is None:
        return None, []
    when: date | None = None

    def on(day: int, month: int, year: int | None = None) -> date | None:
        try:
            d = date(year or today.year, month, day)
        except ValueError:
            return None
        return d if year or d >= today else date(d.year + 1, month, day)

    if m["wd"]:
        if m["wdday"]:
            day = 1 if m["wdday"] == "1er" else int(m["wdday"])
            month = MONTHS.index(m["wdmonth"]) + 1 if m["wdmonth"] else today.month
            when = on(day, month)
            if when is not None and not m["wdmonth"] and when < today:
                when = on(day, month % 12 + 1, today.year + (month == 12))
        else:  # "mardi", "jeudi prochain": the next one
            ahead = (WEEKDAYS.index(m["wd"]) - today.weekday()) % 7 or 7
            when = today + timedelta(days=ahead)
    elif m["month"]:
        day = 1 if m["day"] in ("1er", "premier") else int(m["day"])
        when = on(day, MONTHS.index(m["month"]) + 1, int(m["year"]) if m["year"] else None)
    elif m["nd"]:
        year = int(m["ny"]) if m["ny"] else None
        when = on(int(m["nd"]), int(m["nm"]), year + 2000 if year is not None and year < 100 else year)
    elif m["bare"]:  # "livraison le 15": the next 15th
        when = on(int(m["bare"]), today.month, today.year)
        if when is None or when < today:
            when = on(int(m["bare"]), today.month % 12 + 1, today.year + (today.month == 12))
    else:
        when = relative_date(low, today, language)
    if when is None:
        return None, []
    return when.isoformat(), [(cue.start(), cue.end()), (m.start(), m.end())]


def _teeth(low: str, start: int, end: int, masked: list[tuple[int, int]]) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    """Teeth in ``low[start:end]``: ranges, lists after a cue ("sur 24, 25
    et 26", "dents 36 et 37"), the article forms of :func:`find_teeth`, and
    bare runs of FDI numbers ("36 37 38"); numbers in ``masked`` spans
    (shades, dates) are never teeth.  (valid, invalid, spans)."""
    found: dict[int, int] = {}  # position → tooth
    invalid: list[int] = []
    spans: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return not any(x < b and a < y for x, y in masked + spans)

    for m in _RANGE.finditer(low, start, end):
        if not free(m.start(1), m.end(2)):
            continue
        span = _arch_span(int(m[1]), int(m[2]))
        if span:
            for i, n in enumerate(span):
                found[m.start() * 100 + i] = n
        else:
            invalid += [n for n in (int(m[1]), int(m[2])) if not is_fdi_tooth(n)]
        spans.append((m.start(), m.end()))
    for t in find_teeth(low[start:end]):  # "la 3 6": the tooth said digit by digit
        a, b = start + t.start, start + t.end
        if free(a, b) and " " in low[b - 3:b].strip():
            (found.__setitem__(a * 100, t.number) if t.valid else invalid.append(t.number))
            spans.append((a, b))
    for m in _TOOTH_LIST.finditer(low, start, end):
        if not free(m.start(1), m.end(1)) or _NOT_A_TOOTH_AFTER.match(low[m.end():end]):
            continue
        for n in re.finditer(r"\d{2}", m[1]):
            number, pos = int(n[0]), m.start(1) + n.start()
            if is_fdi_tooth(number):
                found[pos * 100] = number
            elif m[0].split()[0] != "et":
                invalid.append(number)
        spans.append((m.start(), m.end()))
    for m in re.finditer(r"\b\d{2}\b", low[:end]):  # bare: "36 37 38"
        if m.start() < start or not free(m.start(), m.end()) or _NOT_A_TOOTH_AFTER.match(low[m.end():end]):
            continue
        if low[max(0, m.start() - 1)] == "." or low[m.end():m.end() + 1] in (".", "/"):
            continue
        if is_fdi_tooth(int(m[0])):
            found[m.start() * 100] = int(m[0])
            spans.append((m.start(), m.end()))
    teeth: list[int] = []
    for key in sorted(found):
        if found[key] not in teeth:
            teeth.append(found[key])
    return teeth, invalid, spans


def _shades(low: str, text: str, start: int, end: int, masked: list[tuple[int, int]]) -> tuple[dict, list[tuple[int, int]]]:
    """The shades said in ``low[start:end]``: main, collar, incisal edge."""
    out: dict = {}
    spans: list[tuple[int, int]] = []
    candidates: list[tuple[int, int, str, str]] = []
    for m in _BLEACH.finditer(low, start, end):
        candidates.append((m.start(), m.end(), f"BL{m[1]}", "bleach"))
    for m in _3D_MASTER.finditer(low, start, end):
        shade = f"{m[1]}{m[2].upper()}{m[3]}{'.5' if m[4] else ''}"
        if shade in VITA_3D_MASTER:
            candidates.append((m.start(), m.end(), shade, "VITA 3D-Master"))
    for m in _VITA.finditer(low, start, end):
        shade = f"{m[1].upper()}{m[2]}{'.5' if m[3] else ''}"
        cued = _SHADE_CUE.search(low[max(start, m.start() - 12):m.start()]) or text[m.start()].isupper()
        qualified = _CERVICAL.search(low, max(start, m.start() - 12), m.start()) or _INCISAL.search(low, max(start, m.start() - 12), m.start())
        after = low[m.end():m.end() + 20]
        if shade in VITA_CLASSICAL and (cued or qualified or _CERVICAL.match(after.strip()) or _INCISAL.match(after.strip())
                                        or candidates or out):
            candidates.append((m.start(), m.end(), shade, "VITA classical"))
    taken: list[tuple[int, int]] = []
    for a, b, shade, guide in sorted(candidates):
        if any(x < b and a < y for x, y in taken + masked):
            continue
        taken.append((a, b))
        before = low[max(start, (spans[-1][1] if spans else start)):a]
        after = low[b:min(end, b + 22)]
        nxt = re.search(r"\b(?:[a-d]\s?[1-4]|b\s?l\s?[1-4]|[0-5]\s?[lmr]\s?[1-3])\b", after)
        if nxt:  # "A2, collet A3": the qualifier just before the next shade is that one's
            after = after[:nxt.start()]
            lone = _CERVICAL.fullmatch(after.strip()) or _INCISAL.fullmatch(after.strip())
            after = "" if lone and text[b:b + len(after)].lstrip()[:1] in (",", ";") else after
        where = ("shade_cervical" if _CERVICAL.match(after.lstrip()) else "shade_incisal" if _INCISAL.match(after.lstrip())
                 else "shade_cervical" if re.search(r"(?:collet|cervicale?s?)\s*$", before)
                 else "shade_incisal" if re.search(r"(?:incisale?s?|bord libre)\s*$", before) else "shade")
        if where in out:
            continue
        out[where] = shade
        if where == "shade" or "shade_guide" not in out:
            out["shade_guide"] = guide
        spans.append((a, b))
    return out, spans


def _leftover(text: str, low: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """The words of ``text[start:end]`` outside ``spans``, joiners taken off
    the edges of each piece, pieces joined by commas."""
    keep = [True] * (end - start)
    for a, b in spans:
        for i in range(max(a, start), min(b, end)):
            keep[i - start] = False
    pieces: list[str] = []
    current = ""
    for i, ok in enumerate(keep):
        c = text[start + i]
        decimal = c == "." and 0 < start + i < len(text) - 1 and text[start + i - 1].isdigit() and text[start + i + 1].isdigit()
        if ok and (c not in ",;:.!?" or decimal):
            current += c
        elif current.strip():
            pieces.append(current)
            current = ""
        else:
            current = ""
    if current.strip():
        pieces.append(current)
    out = []
    for piece in pieces:
        words = piece.split()
        while words and _JOINERS.fullmatch(fold(words[0])):
            words.pop(0)
        while words and _JOINERS.fullmatch(fold(words[-1])):
            words.pop()
        cleaned = " ".join(words)
        qualifier = fold(cleaned)
        if cleaned and not _CERVICAL.fullmatch(qualifier) and not _INCISAL.fullmatch(qualifier) and qualifier not in ("teinte",):
            out.append(cleaned)
    return re.sub(r"(\d)\.(\d)", r"\1,\2", ", ".join(out))  # "0,5 mm" as written in French


def read_lab_line(dictated: str, today: date, language: str = "fr") -> LabReading:
    """One lab line: the items it begins, what it adds to the item before,
    the order's fields, and its words that are no field."""
    text = _shade_digits(spoken_numbers(dictated, language))
    text = re.sub(r"(\d),(\d)", r"\1.\2", text)  # "A3,5"
    low = _keep_fold(text)
    reading = LabReading()
    taken: list[tuple[int, int]] = []
    # the order's fields, anywhere in the line
    when, spans = _delivery(low, today, language)
    if when:
        reading.order["delivery_date"] = when
        taken += spans
    if m := _STUMP.search(low):
        reading.order["stump_shade"] = f"ND{m[2]}"
        taken.append((m.start(), m.end()))
    works = [(m.start(), m.end()) for m in _WORK.finditer(low)]
    folded = fold(text)
    if _SENDING.search(folded):
        items: list[str] = []
        for said, written in ITEMS_SENT:
            for m in re.finditer(rf"\b(?:{said})\b", low):
                if not any(x < m.end() and m.start() < y for x, y in taken + works):
                    taken.append((m.start(), m.end()))
                    if written not in items and not any(written in i for i in items):
                        items.append(written)
        if items:
            reading.order["items_sent"] = items
            if s := _SENDING.search(low):
                taken.append((s.start(), s.end()))
    # the items: each work type said begins one
    starts = [a for a, _ in works]
    bounds = [0, *starts, len(low)] if starts else [0, len(low)]
    for index in range(len(bounds) - 1):
        a, b = bounds[index], bounds[index + 1]
        if index == 0 and starts and a == b:
            continue
        item: dict = {}
        spans: list[tuple[int, int]] = []
        if index > 0:
            work = _find_span(WORK_TYPES, low, a, b)
            if work:
                item["work_type"] = work[0]
                spans.append(work[1:])
        material = _find_span(MATERIALS, low, a, b)
        if material and not any(x < material[2] and material[1] < y for x, y in taken):
            item["material"] = material[0]
            spans.append(material[1:])
        if m := _ELEMENTS.search(low, a, b):
            item["elements"] = int(m[1])
            spans.append((m.start(), m.end()))
        shades, shade_spans = _shades(low, text, a, b, taken + spans)
        item.update(shades)
        spans += shade_spans
        teeth, invalid, teeth_spans = _teeth(low, a, b, taken + spans)
        reading.invalid_teeth += invalid
        spans += teeth_spans
        if teeth:
            item["teeth"] = teeth
            if item.get("work_type") == "bridge" and len(teeth) >= 3:
                item["pillars"] = [teeth[0], teeth[-1]]
                item["pontics"] = teeth[1:-1]
        notes = _leftover(text, low, a, b, taken + spans)
        if index == 0:
            has_fields = any(k in item for k in ITEM_KEYS)
            if has_fields or ITEM_DETAILS.match(fold(text[a:b])):
                reading.continues = True
                if notes:
                    item["notes"] = notes
                reading.lead = item
            elif not re.fullmatch(r"(?:\d+|deux|trois|quatre|cinq|six|sept|huit|dix)", fold(notes)):  # "Deux couronnes…"
                reading.notes = notes
        else:
            if notes:
                item["notes"] = notes
            reading.items.append({k: item[k] for k in (*ITEM_KEYS, "notes") if k in item})
    return reading


def parse_lab_line(dictated: str, today: date, language: str = "fr") -> dict:
    """The lab-order fields one utterance gives (only those it mentions)."""
    return read_lab_line(dictated, today, language).fields
