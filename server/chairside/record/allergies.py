"""Allergy classes a prescriber checks, and the words that name them.

A patient's allergies are free text, as the patient or the practice wrote
them ("pénicilline", "Augmentin (urticaire 2019)", "latex").  This table
recognises the classes a dental prescription is checked against, by their
usual French and English names, some of their members (amoxicilline is a
penicillin) and a few French brand names.  :func:`allergy_classes` gives the
classes a list of allergies names; matching ignores case, accents,
hyphens and a final plural ``s``/``x`` on each word.

A broad class includes narrower ones: an allergy to the bêta-lactamines is
an allergy to the penicillins and the cephalosporins, to the AINS one to
aspirin, to the opioids one to codeine.  The reverse does not hold (an
allergy to penicillin says nothing of the cephalosporins).  A checker tags
each drug with every class it belongs to (amoxicilline: ``penicillin`` and
``beta-lactam``) and warns when the tags meet ``allergy_classes(...)``.

What is not recognised stays as written: the free text is the record, the
classes are an aid.  A false "allergy" (a negation typed into the list, "pas
d'allergie à la pénicilline") is matched as one: a needless warning is the
safe side.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class AllergyClass:
    key: str
    fr: str  # the class as a French label: "pénicillines"
    en: str  # the same in English: "penicillins"
    allergy_fr: str  # a French warning's words: "allergie aux pénicillines"
    terms: tuple[str, ...]  # what names it (or a member of it), French and English, as written
    includes: tuple[str, ...] = ()  # narrower classes an allergy to this one covers
    category: Literal["medication", "environment"] = "medication"  # FHIR AllergyIntolerance.category


_CLASSES = (
    AllergyClass("penicillin", "pénicillines", "penicillins", "allergie aux pénicillines", (
        "pénicilline", "péni", "penicillin", "amoxicilline", "amoxicillin", "ampicilline", "ampicillin",
        "oxacilline", "cloxacilline", "phénoxyméthylpénicilline", "pénicilline V", "pénicilline G",
        "Augmentin", "Clamoxyl", "Oracilline", "Extencilline")),
    AllergyClass("beta-lactam", "bêta-lactamines", "beta-lactams", "allergie aux bêta-lactamines", (
        "bêta-lactamine", "bêtalactamine", "béta-lactamine", "beta-lactam", "betalactam", "β-lactamine", "β-lactam"),
        includes=("penicillin", "cephalosporin")),
    AllergyClass("cephalosporin", "céphalosporines", "cephalosporins", "allergie aux céphalosporines", (
        "céphalosporine", "cephalosporin", "céfalexine", "cefalexin", "cephalexin", "céfaclor", "cefaclor",
        "céfadroxil", "cefadroxil", "céfuroxime", "cefuroxime", "cefixime", "céfixime", "cefpodoxime", "céfpodoxime",
        "ceftriaxone", "céftriaxone")),
    AllergyClass("macrolide", "macrolides", "macrolides", "allergie aux macrolides", (
        "macrolide", "azithromycine", "azithromycin", "clarithromycine", "clarithromycin", "érythromycine",
        "erythromycin", "roxithromycine", "roxithromycin", "josamycine", "spiramycine", "spiramycin",
        "Zithromax", "Rovamycine", "Rodogyl", "Birodogyl")),
    AllergyClass("lincosamide", "lincosamides", "lincosamides", "allergie aux lincosamides", (
        "lincosamide", "clindamycine", "clindamycin", "lincomycine", "lincomycin", "Dalacine")),
    AllergyClass("nsaid", "anti-inflammatoires non stéroïdiens (AINS)", "non-steroidal anti-inflammatory drugs (NSAIDs)",
                 "allergie aux anti-inflammatoires non stéroïdiens", (
        "AINS", "NSAID", "anti-inflammatoire", "antiinflammatoire", "anti-inflammatoire non stéroïdien",
        "anti-inflammatory", "anti-inflammatories", "antiinflammatory", "ibuprofène", "ibuprofen", "kétoprofène",
        "ketoprofen", "diclofénac", "diclofenac", "naproxène", "naproxen", "flurbiprofène", "acide niflumique",
        "acide méfénamique", "piroxicam", "célécoxib", "celecoxib", "Advil", "Nurofen", "Voltarène", "Profénid"),
        includes=("aspirin",)),
    AllergyClass("aspirin", "aspirine", "aspirin", "allergie à l'aspirine", (
        "aspirine", "aspirin", "acide acétylsalicylique", "acetylsalicylic acid", "salicylé", "salicylate",
        "Kardégic")),
    AllergyClass("codeine", "codéine", "codeine", "allergie à la codéine", (
        "codéine", "codeine", "codéiné", "Codoliprane")),
    AllergyClass("opioid", "opioïdes", "opioids", "allergie aux opioïdes", (
        "opioïde", "opioid", "opiacé", "opiate", "morphinique", "morphine", "tramadol", "dihydrocodéine",
        "dihydrocodeine", "oxycodone", "Izalgi", "Lamaline"),
        includes=("codeine",)),
    AllergyClass("paracetamol", "paracétamol", "paracetamol", "allergie au paracétamol", (
        "paracétamol", "paracetamol", "acetaminophen", "Doliprane", "Dafalgan", "Efferalgan", "Codoliprane")),
    AllergyClass("sulfonamide", "sulfamides", "sulfonamides", "allergie aux sulfamides", (
        "sulfamide", "sulfonamide", "sulfa", "sulfaméthoxazole", "sulfamethoxazole", "cotrimoxazole",
        "co-trimoxazole", "Bactrim")),
    AllergyClass("chlorhexidine", "chlorhexidine", "chlorhexidine", "allergie à la chlorhexidine", (
        "chlorhexidine", "Eludril", "Paroex", "Prexidine", "Hibitane")),
    AllergyClass("iodine", "iode", "iodine", "allergie à l'iode", (
        "iode", "iodé", "iodée", "iodine", "povidone", "Bétadine", "produit de contraste iodé")),
    AllergyClass("latex", "latex", "latex", "allergie au latex", (
        "latex", "caoutchouc naturel", "natural rubber"), category="environment"),
    AllergyClass("local-anaesthetic", "anesthésiques locaux", "local anaesthetics", "allergie aux anesthésiques locaux", (
        "anesthésique local", "anesthésiques locaux", "anesthésie locale", "anesthésies locales", "anesthésiant local",
        "local anaesthetic", "local anesthetic", "articaïne", "articaine", "lidocaïne", "lidocaine", "lignocaïne",
        "lignocaine", "mépivacaïne", "mepivacaine", "prilocaïne", "prilocaine", "bupivacaïne", "bupivacaine",
        "Xylocaïne", "Septanest", "Scandicaïne", "Ubistesin")),
)

ALLERGY_CLASSES: dict[str, AllergyClass] = {c.key: c for c in _CLASSES}

# Said of corticosteroids, not of NSAIDs: taken out of the text before the NSAID terms are looked for.
_NOT_NSAID = ("anti-inflammatoire stéroïdien", "anti-inflammatory steroid", "corticoïde", "corticostéroïde")


def fold(text: str) -> str:
    """Text as the matching sees it: lower case, no accents, words
    separated by one space ("Bêta-Lactamines" → "beta lactamines")."""
    text = text.replace("β", "beta ").replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _pattern(terms: Iterable[str]) -> re.Pattern:
    """Whole words, each with an optional final s or x (plurals)."""
    alternatives = sorted({r"\s".join(re.escape(w) + "[sx]?" for w in fold(t).split()) for t in terms}, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?![a-z0-9])")


_PATTERNS = {c.key: _pattern(c.terms) for c in _CLASSES}
_NOT_NSAID_PATTERN = _pattern(_NOT_NSAID)


def named_classes(allergy: str) -> set[str]:
    """The classes one allergy entry names itself ("amoxicilline" →
    {"penicillin"}; "bêta-lactamines" → {"beta-lactam"}), without the
    narrower classes they include."""
    text = fold(allergy)
    found = set()
    for key, pattern in _PATTERNS.items():
        seen = _NOT_NSAID_PATTERN.sub(" ", text) if key == "nsaid" else text
        if pattern.search(seen):
            found.add(key)
    return found


def allergy_classes(allergies: Iterable[str]) -> set[str]:
    """Every class a patient's allergies name, with the narrower classes
    the broad ones include ("bêta-lactamines" → beta-lactam, penicillin,
    cephalosporin).  Accents and case are ignored."""
    found: set[str] = set()
    for allergy in allergies:
        found |= named_classes(allergy)
    todo = list(found)
    while todo:
        for narrower in ALLERGY_CLASSES[todo.pop()].includes:
            if narrower not in found:
                found.add(narrower)
                todo.append(narrower)
    return found
