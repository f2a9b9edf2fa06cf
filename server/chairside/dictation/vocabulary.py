"""The recognizer's default vocabulary: command phrases and common dental
terms, given to Whisper as its prompt when a session sends none.

Whisper base hears "Efface ça." as "et façant" with no prompt and right
with one; on the synthetic dental recordings the prompt lowers the WER (see
docs/benchmarks.md for the measured effect, on general speech too).  A
session that sends its own ``vocabulary`` (an empty list included) uses
that instead.
"""

from __future__ import annotations

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


def default_vocabulary(language: str) -> list[str]:
    return list(DEFAULT_VOCABULARY.get(language, []))
