"""The recognizer's default vocabulary: command phrases and common dental
terms, given to Whisper as its prompt when a session sends none, and, while
a document is being dictated, the words that document's parser reads.

Whisper base hears "Efface ça." as "et façant" with no prompt and right
with one; on the synthetic dental recordings the prompt lowers the WER (see
docs/benchmarks.md for the measured effect, on general speech too).  A
session that sends its own ``vocabulary`` (an empty list included) uses
that instead, whatever is being dictated.

The terms of a document kind are not a list of what the tests say: they
are what the parsers of that kind understand (the formulary's drugs, the
lab order's work types and materials, the certificate's and report's
section words), so that the recognizer expects the words the draft can
use.  A prompt only biases the decoder; what it makes of the audio
is still checked like any final (unknown drugs are warned, guesses are
asked).
"""

from __future__ import annotations

from functools import cache

from ..record.kinds import DraftKind
from .formulary import FORMULARY

DEFAULT_VOCABULARY = {
    "fr": [
        "nouvelle ordonnance", "efface ça", "remplace", "valide", "imprime", "fiche de laboratoire",
        "certificat médical initial", "compte rendu", "amoxicilline", "paracétamol", "ibuprofène", "clindamycine",
        "chlorhexidine", "métronidazole", "comprimé", "couronne", "zircone", "teinte", "articaïne", "ITT",
    ],
    # An English prompt of the same kind raised the English WER from 0.144 to
    # 0.24 on general speech (docs/benchmarks.md): none by default.
    "en": [],
}

# The commands kept in the prompt while a document is open (the others of
# the default vocabulary give way to the document's own words).
COMMANDS = {"fr": ["nouvelle ordonnance", "efface ça", "remplace", "valide", "imprime", "à la ligne"], "en": []}

# What each kind's parser reads, beyond drug names (prescription.py,
# lab.py, clinical.py): forms and posology, work types and materials,
# section words.  No list of values where a wrong one would mean something
# else: "teinte A1, A2, A3 …" made "teinte A3" come out "D2, A3", and
# "pulpite réversible ou irréversible" turned a said "irréversible" into
# "réversible" (docs/benchmarks.md).
KIND_TERMS: dict[str, dict[str, list[str]]] = {
    "fr": {
        "prescription": ["comprimé", "gélule", "sachet", "bain de bouche",
                         # 7 days: the length of the curative antibiotic schedules of the ANSM's 2011
                         # recommendations for dental practice (formulary.json's source
                         # ansm-2011-antibiotiques-bucco-dentaire); other durations said are read
                         # as said on the 64 paused recordings (docs/benchmarks.md)
                         "un comprimé matin et soir pendant sept jours"],
        "lab_order": ["couronne", "bridge", "inlay", "onlay", "facette", "inlay-core", "céramo-métallique", "zircone",
                      "céramique", "disilicate de lithium", "composite", "métal", "teinte",
                      "empreinte optique", "livraison"],
        "medical_certificate": ["le patient déclare", "fracture coronaire", "luxation", "exposition pulpaire",
                                "ITT de", "pas d'ITT", "sous réserve de complications"],
        "clinical_report": ["motif", "diagnostic", "pulpite", "pulpotomie", "pulpectomie", "anesthésie",
                            "articaïne", "cartouche", "composite", "prochain rendez-vous"],
    },
    "en": {},
}


def default_vocabulary(language: str) -> list[str]:
    return list(DEFAULT_VOCABULARY.get(language, []))


@cache
def _drug_names() -> tuple[str, ...]:
    """The formulary's drugs as said: each active ingredient (its DCI) once,
    and the brand of each combination, which is said instead of its
    ingredients ("Augmentin", "Rodogyl").  All brands would not fit: the
    prompt holds 223 tokens, the text said before included."""
    names: list[str] = []
    for drug in FORMULARY.drugs:
        for ingredient in drug.ingredients:
            if (name := FORMULARY.ingredient(ingredient).name) not in names:
                names.append(name)
        if len(drug.ingredients) > 1 and drug.brands:
            names.append(drug.brands[0])
    return tuple(names)


def draft_vocabulary(language: str, kind: DraftKind | None) -> list[str]:
    """The default prompt while a document of ``kind`` is dictated (None:
    none is open, the default vocabulary)."""
    terms = KIND_TERMS.get(language, {}).get(kind or "")
    if not terms:
        return default_vocabulary(language)
    if kind == "prescription":
        terms = [*_drug_names(), *terms]
    return [*COMMANDS.get(language, []), *terms]
