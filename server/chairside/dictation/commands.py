"""Voice commands: is this final utterance a command, and which one?

An utterance is a command when it is, or starts with, a command phrase
("valide", "valide l'ordonnance", "remplace X par Y"); the same words inside
running dictation ("je vais faire une nouvelle ordonnance demain") are not.
Matching tolerates recognition variants: case, accents, punctuation and
small mis-hearings (a fuzzy ratio over the phrase's words).  A near miss is
returned as a hint, never executed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

# (command, takes_argument, {language: phrases}).  Longer phrases first is
# not needed: the longest good match wins.
COMMANDS: list[tuple[str, bool, dict[str, list[str]]]] = [
    ("new_prescription", False, {"fr": ["nouvelle ordonnance"], "en": ["new prescription"]}),
    ("medical_certificate", False, {"fr": ["certificat médical initial", "certificat médical", "certificat initial"],
                                    "en": ["initial medical certificate", "medical certificate"]}),
    ("lab_order", False, {"fr": ["fiche de laboratoire", "fiche laboratoire", "fiche de labo", "fiche labo", "bon labo", "bon de laboratoire"],
                          "en": ["lab order", "laboratory order", "lab sheet"]}),
    ("clinical_report", False, {"fr": ["compte rendu"], "en": ["clinical report", "consultation report"]}),
    ("undo", False, {"fr": ["efface ça", "efface la dernière ligne", "efface", "annule"],
                     "en": ["scratch that", "delete the last line", "undo"]}),
    ("replace", True, {"fr": ["remplace"], "en": ["replace"]}),
    ("validate_and_print", False, {"fr": ["valide et imprime", "signe et imprime"], "en": ["sign and print", "validate and print"]}),
    # the usual objects are part of the phrases: a longer phrase tolerates a
    # mis-heard letter ("valite l'ordonnance") that a one-word phrase cannot
    ("validate", False, {"fr": ["valide", "signe", "valide l'ordonnance", "valide le certificat", "valide la fiche",
                                "valide le compte rendu", "valide le document"],
                         "en": ["sign", "finalize", "validate", "sign the prescription", "sign the document"]}),
    ("print", False, {"fr": ["imprime"], "en": ["print"]}),
    ("preview", False, {"fr": ["aperçu", "aperçu du document", "montre le document"], "en": ["preview", "show the document"]}),
    ("pause", False, {"fr": ["pause dictée", "pause"], "en": ["pause dictation", "pause"]}),
    ("resume", False, {"fr": ["reprends", "reprends la dictée"], "en": ["resume", "resume dictation"]}),
    ("discard", False, {"fr": ["abandonne", "ferme"], "en": ["discard", "close"]}),
    ("help", False, {"fr": ["qu'est-ce que je peux dire"], "en": ["what can i say"]}),
]

# Fuzzy ratio (0-100) from which a phrase is taken.  Measured on the table
# tests/data/dictation_commands.tsv (100 utterances, misheard variants and
# dictation that starts like a command): no error from 65 to 84; 80 keeps a
# margin on both sides (docs/benchmarks.md).
MATCH_THRESHOLD = 80
HINT_THRESHOLD = 65  # from here to MATCH_THRESHOLD: a near miss, hinted
MAX_TAIL_WORDS = 2  # words allowed after a command without argument ("valide l'ordonnance")
# A one-word phrase followed by more words must be heard almost exactly:
# "Imprimante en panne" and "Pauses régulières" are dictation, not commands.
ONE_WORD_WITH_TAIL_THRESHOLD = 95


@dataclass(frozen=True)
class CommandMatch:
    command: str
    phrase: str
    confidence: float  # 0..1
    argument: str  # what follows the phrase (for commands with an argument), as said


@dataclass(frozen=True)
class Hint:
    command: str
    phrase: str
    confidence: float


def fold(text: str) -> str:
    """Lowercase, no accents, no punctuation: how phrases are compared."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("’", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


_PHRASES = [
    (command, takes_argument, language, phrase, fold(phrase).split())
    for command, takes_argument, by_language in COMMANDS
    for language, phrases in by_language.items()
    for phrase in phrases
]


_SEPARATORS = {"par", "with", "by"}  # "remplace X par Y", "replace X with Y"
# Politeness at the end of a command is not part of it.
_POLITE_TAIL = re.compile(r"(?: s il (?:te|vous) plait| merci| please| thanks?(?: you)?)+$")


def match(utterance: str, language: str = "fr") -> CommandMatch | Hint | None:
    """The command an utterance gives, a hint for a near miss, or None."""
    words = _POLITE_TAIL.sub("", " " + fold(utterance)).split()
    if not words:
        return None
    best: tuple[bool, float, int, tuple] | None = None
    for entry in _PHRASES:
        command, takes_argument, phrase_language, phrase, phrase_words = entry
        n = len(phrase_words)
        if len(words) < n:
            continue
        tail = words[n:]
        if tail and not takes_argument and len(tail) > MAX_TAIL_WORDS:
            continue
        if takes_argument and not _SEPARATORS.intersection(tail):
            continue  # "remplace X par Y": without "par" it is dictation
        score = fuzz.ratio(" ".join(words[:n]), " ".join(phrase_words))
        if phrase_language != language:
            score -= 5  # the other language's phrases count, a little less
        required = ONE_WORD_WITH_TAIL_THRESHOLD if n == 1 and tail and not takes_argument else MATCH_THRESHOLD
        key = (score >= required, score, n, entry)
        if best is None or key[:3] > best[:3]:
            best = key
    if best is None:
        return None
    passes, score, n, (command, takes_argument, _, phrase, _) = best
    if passes:
        return CommandMatch(command, phrase, round(score / 100, 3), _argument(utterance, n) if takes_argument else "")
    one_word_with_tail = len(phrase.split()) == 1 and len(words) > 1 and not takes_argument
    if score >= HINT_THRESHOLD and not one_word_with_tail:  # "Pas d'ITT" is no near miss of "pause"
        return Hint(command, phrase, round(score / 100, 3))
    return None


def _argument(utterance: str, phrase_words: int) -> str:
    """The utterance after its first ``phrase_words`` words, as said."""
    spoken = utterance.split()
    return " ".join(spoken[phrase_words:]).strip(" .,;:!?")
