"""Prescription lines from dictated text, with the shipped formulary.

``parse_line("Paracétamol un gramme, un comprimé toutes les six heures si
douleur pendant trois jours")`` → drug, strength, form, posology (units per
intake × intakes per day), duration or number of boxes, renewals, as-needed,
substitution, and the warnings that need only the line itself.  The checks
that need the patient or the other lines (doses by weight, totals per
active ingredient, allergies, pregnancy …) are in :mod:`.safety`.

Nothing said is rewritten into something else:
- a drug is the formulary's only when its name is said exactly (DCI, brand
  or alias, once folded: accents, case, plurals; the recognizer's usual
  spellings are aliases in the data).  A name close to a formulary name
  stays as heard, with a warning and a ``suggestion`` the dentist may
  accept ("oui"); an unknown drug stays as said, with a warning;
- a strength said without its unit ("Doliprane mille") is read only when
  it is one of the drug's strengths; the printed line never gets a strength
  that was not said.
"""

from __future__ import annotations

import re

from text_to_num import alpha2digit

from ..record.draft import PrescriptionLine, Substitution
from .formulary import FORMULARY, Drug, Strength, fold_name, ingredient_amounts
from .normalize import spoken_numbers

# "un gramme" as Whisper often hears it: "en grame", "un grame"
_MISHEARD_GRAM = re.compile(r"\b(?:en|un)\s+gram+e?s?\b", re.IGNORECASE)
_MUI = re.compile(r"\bmillions?\s+d['’]\s?unit[ée]s(?:\s+internationales)?\b", re.IGNORECASE)
_UNIT_WORD = re.compile(r"\b(?:(?:milli)?gram+e?s?|microgrammes?|pour ?cent)\b", re.IGNORECASE)
_STRENGTH = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mg|g|µg|%|M\s?UI|ppm)(?=\W|$)", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)?)[,.;]?$")
_SMALL = r"\d+|une?|deux|trois|quatre|cinq|six|sept|huit|neuf|dix"
_COUNT = {"un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9,
          "dix": 10, "demi": 0.5}
_UNITS = re.compile(rf"\b({_SMALL}|demi|1/2)\s+(comprim[ée]s?|g[ée]lules?|sachets?|cuill[èe]res?(?: à (?:café|soupe|mesure))?|"
                    r"bains? de bouche|pulv[ée]risations?|doses?(?:-poids)?|ampoules?)\b", re.IGNORECASE)
_TIMES_A_DAY = re.compile(r"\b(\d+)\s*fois\s+par\s+jour\b", re.IGNORECASE)
_EVERY_HOURS = re.compile(r"\btoutes\s+les\s+(\d+)\s*(?:heures|h)\b", re.IGNORECASE)
_DURATION = re.compile(rf"\b(?:pendant|durant|pour|q\.?\s?s\.?\s?p\.?)\s+({_SMALL})\s*(jours?|j|semaines?|mois)\b", re.IGNORECASE)
_DURATION_SAID = re.compile(r"\b(?:pendant|durant|pour|q\.?\s?s\.?\s?p\.?)\s+(?!les?\s+repas|la\s+nuit|la\s+douleur)[^,.;]+", re.IGNORECASE)
_BOXES = re.compile(rf"\b({_SMALL})\s+bo[iî]tes?\b", re.IGNORECASE)
_RENEWALS = re.compile(rf"\b(?:[àa]\s+renouveler|renouvelable)\s+({_SMALL})\s+fois\b", re.IGNORECASE)
_AS_NEEDED = re.compile(r"\b(?:si|en cas de)\s+(douleurs?|besoin|fi[èe]vre)\b", re.IGNORECASE)
_NON_SUBSTITUTABLE = re.compile(r"\bnon[- ]substituables?\b(?:\s*[,:(–-]?\s*(?:pour\s+)?(\w[\w' -]*))?", re.IGNORECASE)
# After a bare number, words that make it a count, not a strength.
_NOT_A_STRENGTH = re.compile(r"(?:fois|par|x|comprim|g[ée]lule|sachet|cuill|bains?|doses?|ampoule|pulv|bo[iî]te|jours?|h\b|heures)", re.IGNORECASE)
# Where the name of a drug the formulary lacks ends: a number, a comma, a posology.
_NAME_END = re.compile(rf"\s*\d|\s*[,;:(]|\s+(?=(?:{_SMALL}|demi)\s+(?:comprim|g[ée]lule|sachet|cuill|bain|dose|ampoule|pulv))", re.IGNORECASE)
_MOMENTS = [("matin", r"\bmatin\b"), ("midi", r"\bmidi\b"), ("soir", r"\bsoir\b"), ("coucher", r"\bcoucher\b")]
_NOTES = [r"si douleurs?|en cas de douleurs?|si besoin|en cas de fi[èe]vre", r"au cours des repas|pendant les repas|au milieu des repas",
          r"sans dépasser [^,.;]+", r"à jeun"]
_FORMS = {"comprime": "comprimé", "gelule": "gélule", "sachet": "sachet", "cuillere": "cuillère", "pulverisation": "pulvérisation",
          "dose": "dose", "ampoule": "ampoule"}
# The reasons a drug may be declared non-substitutable (arrêté du 12
# novembre 2019): marge thérapeutique étroite, enfant de moins de 6 ans
# (forme galénique adaptée), contre-indication formelle et démontrée.
_REASONS: list[tuple[Substitution, str]] = [
    ("MTE", r"m\s?t\s?e|marge th[ée]rapeutique [ée]troite"),
    ("EFG", r"e\s?f\s?g|enfants?|forme gal[ée]nique"),
    ("CIF", r"c\s?i\s?f|contre[- ]indication formelle"),
]

# Warning kinds of the line itself (see record.draft.PrescriptionLine.warning_kinds).
UNKNOWN_DRUG, NEAR_DRUG, NO_DURATION, NO_STRENGTH, STRENGTH_UNKNOWN = (
    "unknown_drug", "near_drug", "no_duration", "no_strength", "strength_unknown")
SECURE, NO_SUBSTITUTION_REASON, NOT_UNDERSTOOD = "secure", "no_substitution_reason", ""


def find_drug(text: str) -> str | None:
    """The DCI of the formulary drug a phrase names, exactly or nearly (to
    tell what a dictated fragment is about, never to print it)."""
    words = fold_name(text).split()
    if (exact := FORMULARY.find_exact(words)) is not None:
        return exact.drug.dci
    near = FORMULARY.near_matches(words, limit=1)
    return near[0].drug.dci if near else None


def _count(word: str) -> float:
    word = word.lower()
    return float(_COUNT[word]) if word in _COUNT else 0.5 if word == "1/2" else float(word)


def _warn(line: PrescriptionLine, kind: str, message: str) -> None:
    line.warnings.append(message)
    line.warning_kinds.append(kind)


def _strengths(drug: Drug, brand: str | None) -> list[Strength]:
    """The strengths of the product said (a brand's own, when the file tags them)."""
    own = [s for s in drug.strengths if brand and s.brand and fold_name(s.brand) == fold_name(brand)]
    return own or [s for s in drug.strengths if not s.brand or not brand]


def _amount_unit(drug: Drug) -> str:
    return FORMULARY.ingredient(drug.first_ingredient).unit


def _read_strength(line: PrescriptionLine, text: str, drug: Drug | None, after: list[str], brand: str | None) -> None:
    """The strength said, with its unit or (one of the drug's) without."""
    if m := _STRENGTH.search(text):
        value = float(m[1].replace(",", "."))
        unit = m[2].lower().replace(" ", "")
        if unit == "mui":
            line.strength, line.strength_mg = f"{m[1]} MUI", value
        elif unit in ("%", "ppm"):  # a concentration: printed, no dose to check
            line.strength = f"{m[1]} {unit}"
        else:
            line.strength = f"{m[1]} {unit}"
            line.strength_mg = {"mg": value, "g": value * 1000, "µg": value / 1000}.get(unit)
        if drug is not None and line.strength_mg is not None and _amount_unit(drug) in ("mg", "MUI") and unit != "%":
            found = FORMULARY.strength_for(drug, line.strength_mg)
            line.amounts = ingredient_amounts(found) if found else {drug.first_ingredient: line.strength_mg}
        return
    if said := _UNIT_WORD.search(text):  # a strength said but not understood ("Amoxicilline grame")
        _warn(line, NOT_UNDERSTOOD, f"dosage non compris : « {said[0]} » — à vérifier")
        return
    if drug is None:
        return
    number = _BARE_NUMBER.match(after[0]) if after else None
    follows = after[1] if len(after) > 1 else ""
    if number and not _NOT_A_STRENGTH.match(follows):  # "Doliprane 1000", not "Doliprane 2 comprimés", "… 3 fois par jour"
        found = FORMULARY.strength_for(drug, number[1].replace(",", "."))
        if found is None:
            labels = ", ".join(dict.fromkeys(s.label for s in _strengths(drug, brand)))
            _warn(line, STRENGTH_UNKNOWN, f"dosage « {number[1]} » inconnu pour {drug.dci} ({labels}) : préciser l'unité")
            return
        unit = _amount_unit(drug)
        line.strength = f"{number[1]} {unit}"
        line.strength_mg = float(number[1].replace(",", "."))
        line.amounts = ingredient_amounts(found)
        return
    strengths = _strengths(drug, brand)
    if len({tuple(sorted(s.amounts.items())) for s in strengths}) == 1:  # one strength: checked, not printed
        line.amounts = ingredient_amounts(strengths[0])
    elif len(strengths) > 1 and _amount_unit(drug) in ("mg", "MUI"):
        labels = ", ".join(dict.fromkeys(s.label for s in strengths))
        _warn(line, NO_STRENGTH, f"{drug.dci} : dosage non dit ({labels}) — la dose ne peut pas être vérifiée")


def _said_name(words: list[str], start: int, end: int) -> str:
    return " ".join(words[start:end]).strip(" ,.;:")


def parse_line(dictated: str) -> PrescriptionLine:
    text = spoken_numbers(_MUI.sub("MUI", _MISHEARD_GRAM.sub("un gramme", dictated)), "fr").strip(" .")
    words = re.split(r"\s+|(?<=['’])", text)  # "l'hexétidine": the name after the apostrophe
    exact = FORMULARY.find_exact(words)
    drug = exact.drug if exact is not None else None
    if exact is not None:
        line = PrescriptionLine(text=text, drug=exact.drug.dci, in_formulary=True, drug_id=exact.drug.id, brand=exact.brand or "")
        # a strength without its unit follows the name at once ("Doliprane 1000"), not after a comma
        after = [] if re.search(r"[,;:]$", words[exact.end - 1]) else words[exact.end :]
    else:
        near = FORMULARY.near_matches(words, limit=1)
        if near:
            name = _said_name(words, near[0].start, near[0].end)
            after = words[near[0].end :]
        else:
            name = _NAME_END.split(text, maxsplit=1)[0].strip(" ,;:") or text
            after = []
        line = PrescriptionLine(text=text, drug=name, in_formulary=False)
        _warn(line, UNKNOWN_DRUG, f"« {name} » n'est pas dans le formulaire : vérifier le nom du médicament")
        if near:
            line.suggestion = near[0].drug.dci
            _warn(line, NEAR_DRUG, f"Vouliez-vous dire « {near[0].drug.dci} » ? (dites « oui »)")
    _read_strength(line, text, drug, after, exact.brand if exact else None)
    counted = alpha2digit(text, "fr", threshold=0)  # "deux fois par jour" → "2 fois par jour"
    if m := _UNITS.search(text):
        line.units_per_intake = _count(m[1])
        form = fold_name(m[2]).split()[0]
        line.form = next((v for k, v in _FORMS.items() if form.startswith(k)), "bain de bouche" if form.startswith("bain") else m[2].lower())
    elif drug is not None and drug.forms:
        line.form = drug.forms[0]
    moments = [name for name, pattern in _MOMENTS if re.search(pattern, text, re.IGNORECASE)]
    if {"soir", "coucher"} <= set(moments) and re.search(r"\bsoir,?\s+(?:au|avant le)\s+coucher\b", text, re.IGNORECASE):
        moments.remove("coucher")  # "le soir au coucher" is one intake
    if m := _TIMES_A_DAY.search(counted):
        line.intakes_per_day = float(m[1])
    elif m := _EVERY_HOURS.search(counted):
        line.intakes_per_day = 24 / int(m[1])
    elif moments:
        line.intakes_per_day = float(len(moments))
    if m := _DURATION.search(text):
        n = _count(m[1])
        unit = m[2].lower()
        line.duration_days = int(n * (7 if unit.startswith("semaine") else 30 if unit == "mois" else 1))
    elif said := _DURATION_SAID.search(text):  # a duration said, not understood
        if not _BOXES.search(said[0]):
            _warn(line, NOT_UNDERSTOOD, f"durée non comprise : « {said[0]} » — à vérifier")
    if m := _BOXES.search(text):
        line.boxes = int(_count(m[1]))
    if m := _RENEWALS.search(text):
        line.renewals = int(_count(m[1]))
        line.apart.append(m[0])
    if m := _AS_NEEDED.search(text):
        line.as_needed = {"douleur": "douleur", "besoin": "besoin"}.get(fold_name(m[1]), "fièvre")
    if m := _NON_SUBSTITUTABLE.search(text):
        reason = m[1] or ""
        line.non_substitutable = next((code for code, pattern in _REASONS if re.match(rf"(?:{pattern})\b", reason, re.IGNORECASE)), "?")
        line.apart.append(m[0] if line.non_substitutable != "?" else re.match(r"\S+[- ]\S+", m[0])[0])
        if line.non_substitutable == "?":
            _warn(line, NO_SUBSTITUTION_REASON, "« non substituable » sans sa justification (MTE, EFG ou CIF) : la préciser")
    line.notes = [n.group(0) for pattern in _NOTES if (n := re.search(pattern, text, re.IGNORECASE))]
    if line.duration_days is None and line.boxes is None:
        _warn(line, NO_DURATION, "durée du traitement ou nombre de boîtes à préciser")
    if drug is not None and (regulation := FORMULARY.secure_prescription(drug)) is not None:
        line.secure = True
        _warn(line, SECURE, f"{drug.dci} : ordonnance sécurisée obligatoire (depuis le {_french_date(regulation.since)}) — "
                            "quantités, doses et durée écrites en toutes lettres")
    return line


def _french_date(iso: str) -> str:
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]
    try:
        year, month, day = (int(p) for p in iso.split("-"))
    except ValueError:
        return iso
    return f"{'1er' if day == 1 else day} {months[month - 1]} {year}"
