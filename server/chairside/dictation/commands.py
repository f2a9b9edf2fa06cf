"""Voice commands: is this final utterance a command, and which one?

Commands come in two safety classes (issue 13):

- **Safety class** (:data:`SAFETY_CLASS`: validate/sign, validate and print,
  print, discard, erase all): they change a document's legal state or lose
  work, so they run only on their own words.  The whole utterance, folded
  (case, accents, punctuation), must be one of the accepted phrasings of the
  session's language (:data:`SAFETY_PHRASES`): a verb phrase ("valide",
  "signe", "valide et imprime", "efface tout"), optionally the document's
  name ("valide l'ordonnance", "valide le certificat") and optionally a
  polite ending ("s'il te plaît", "merci").  Nothing else is accepted: no
  fuzzy match, no other words, no other language.  A fuzzy near miss of an
  accepted phrasing ("valite l'ordonnance", "validez") gives a hint, never
  the action.
- **Other commands** (open a document, undo, replace, pause, resume,
  preview, read back, help): an utterance that is, or starts with, a
  command phrase, tolerating recognition variants (a fuzzy ratio over the
  phrase's words); a near miss is returned as a hint, never executed.
  "Efface la ligne N" / "supprime la ligne N" is recognised by its form.

The same words inside running dictation ("je vais faire une nouvelle
ordonnance demain", "il faut valider") are not commands.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from .normalize import spoken_numbers

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
    ("preview", False, {"fr": ["aperçu", "aperçu du document", "montre le document"], "en": ["preview", "show the document"]}),
    ("pause", False, {"fr": ["pause dictée", "pause"], "en": ["pause dictation", "pause"]}),
    ("resume", False, {"fr": ["reprends", "reprends la dictée"], "en": ["resume", "resume dictation"]}),
    ("read_back", False, {"fr": ["relis", "relis le document", "relis l'ordonnance", "lis l'ordonnance", "lis le document",
                                 "relis le certificat", "relis la fiche", "relis le compte rendu"],
                          "en": ["read back", "read it back", "read the document", "read the prescription"]}),
    ("help", False, {"fr": ["qu'est-ce que je peux dire"], "en": ["what can i say"]}),
]

# -- the safety class: accepted phrasings only ------------------------------------

SAFETY_CLASS = frozenset({"validate", "validate_and_print", "print", "discard", "erase_all"})
# command -> language -> (verb phrases, may the document's name follow?)
_SAFETY_VERBS: dict[str, dict[str, tuple[list[str], bool]]] = {
    "validate": {"fr": (["valide", "valider", "signe", "signer"], True),
                 "en": (["sign", "validate", "finalize"], True)},
    "validate_and_print": {"fr": (["valide et imprime", "valider et imprimer", "signe et imprime", "signer et imprimer"], True),
                           "en": (["sign and print", "validate and print"], True)},
    "print": {"fr": (["imprime", "imprimer"], True), "en": (["print"], True)},
    "discard": {"fr": (["abandonne", "abandonner", "ferme", "fermer"], True), "en": (["discard", "close"], True)},
    "erase_all": {"fr": (["efface tout", "supprime tout", "efface toutes les lignes", "supprime toutes les lignes"], False),
                  "en": (["erase all", "erase everything", "delete everything", "clear all", "delete all lines"], False)},
}
_DOCUMENT_NAMES = {
    "fr": ["l'ordonnance", "la prescription", "le certificat", "le certificat médical", "la fiche", "la fiche de labo",
           "la fiche de laboratoire", "le bon labo", "le compte rendu", "le document", "ça"],
    "en": ["it", "that", "the prescription", "the certificate", "the medical certificate", "the lab order", "the report",
           "the document"],
}
# Measured on tests/data/dictation_commands.tsv: with these endings no
# everyday phrase becomes a safety-class command (docs/benchmarks.md).
_POLITE = {"fr": ["s'il te plaît", "s'il vous plaît", "merci"], "en": ["please", "thanks", "thank you"]}


def _safety_phrases() -> dict[str, dict[str, tuple[str, str]]]:
    """language -> folded accepted phrasing -> (command, the verb phrase as shown)."""
    table: dict[str, dict[str, tuple[str, str]]] = {}
    for command, by_language in _SAFETY_VERBS.items():
        for language, (verbs, with_name) in by_language.items():
            names = [""] + (_DOCUMENT_NAMES[language] if with_name else [])
            for verb in verbs:
                for name in names:
                    for polite in ["", *_POLITE[language]]:
                        table.setdefault(language, {})[fold(f"{verb} {name} {polite}")] = (command, verb)
    return table


# A whole utterance this close to an accepted phrasing is hinted, never run;
# 85: no everyday phrase of the table hinted, 39 of its 42 near misses are
# (docs/benchmarks.md, "Issue 13").
SAFETY_HINT_THRESHOLD = 85
# "efface la ligne 2", "supprime la ligne deux", "delete line 3": by form, not fuzzily
_REMOVE_LINE = {
    "fr": re.compile(r"^(?:efface|effacer|supprime|supprimer|enleve|retire) (?:la )?ligne (?:numero )?(\w+(?: \w+){0,2})$"),
    "en": re.compile(r"^(?:delete|remove|erase|scratch) line (?:number )?(\w+(?: \w+){0,2})$"),
}

_ORDINALS = {"un": 1, "une": 1, "premiere": 1, "first": 1, "one": 1, "deux": 2, "deuxieme": 2, "second": 2, "two": 2,
             "troisieme": 3, "third": 3, "three": 3, "quatrieme": 4, "four": 4, "cinquieme": 5, "five": 5,
             "six": 6, "sixieme": 6, "sept": 7, "seven": 7, "huit": 8, "eight": 8, "neuf": 9, "nine": 9, "dix": 10, "ten": 10}


def line_number(said: str, language: str = "fr") -> int | None:
    """ "2", "deux", "douze", "deuxième" → the number; None when it is none."""
    said = fold(said)
    digits = spoken_numbers(said, language).strip()
    number = _ORDINALS.get(said) or (int(digits) if digits.isdigit() else None)
    return number if number and number < 1000 else None


# What may follow a one-word phrase ("annule ça", "efface ça"): "efface le
# tableau" is no command.
_ONE_WORD_TAILS = {"ca", "cela", "ceci", "that", "it", "this"}

# Fuzzy ratio (0-100) from which a phrase of the other commands is taken.
# Measured on tests/data/dictation_commands.tsv (100 utterances then, misheard
# variants and dictation that starts like a command): no error from 65 to
# 84; 80 keeps a margin on both sides (docs/benchmarks.md).  The table has
# 361 utterances since issue 13, still without an error at 80.
MATCH_THRESHOLD = 80
HINT_THRESHOLD = 65  # from here to MATCH_THRESHOLD: a near miss, hinted
MAX_TAIL_WORDS = 2  # words allowed after a command without argument ("efface la dernière ligne")
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


SAFETY_PHRASES = _safety_phrases()


def match(utterance: str, language: str = "fr") -> CommandMatch | Hint | None:
    """The command an utterance gives, a hint for a near miss, or None."""
    folded = fold(utterance)
    language = language if language in SAFETY_PHRASES else "fr"
    if folded in SAFETY_PHRASES[language]:  # the safety class: its own words only
        command, verb = SAFETY_PHRASES[language][folded]
        return CommandMatch(command, verb, 1.0, "")
    removal = _REMOVE_LINE[language].match(folded)
    if removal and (number := line_number(removal[1], language)) is not None:
        return CommandMatch("remove_line", "efface la ligne" if language == "fr" else "delete line", 1.0, str(number))
    words = _POLITE_TAIL.sub("", " " + folded).split()
    if not words:
        return None
    near = _near_safety(" ".join(words), language)
    found = _fuzzy(utterance, words, language)
    if near is not None and (found is None or near.confidence * 100 > fuzz.ratio(" ".join(words), fold(found.phrase))):
        return near  # closer to a safety-class phrasing than to anything else: never run
    return found


def _near_safety(folded: str, language: str) -> Hint | None:
    """A near miss of an accepted safety-class phrasing (the whole utterance)."""
    best: tuple[float, str, str] | None = None
    for phrase, (command, verb) in SAFETY_PHRASES[language].items():
        score = fuzz.ratio(folded, phrase)
        if best is None or score > best[0]:
            best = (score, command, verb)
    if best is None or best[0] < SAFETY_HINT_THRESHOLD:
        return None
    return Hint(best[1], best[2], round(best[0] / 100, 3))


def _fuzzy(utterance: str, words: list[str], language: str) -> CommandMatch | Hint | None:
    """The other commands: a phrase at the start of the utterance, fuzzily."""
    best: tuple[bool, float, int, tuple] | None = None
    for entry in _PHRASES:
        command, takes_argument, phrase_language, phrase, phrase_words = entry
        n = len(phrase_words)
        if len(words) < n:
            continue
        tail = words[n:]
        if tail and not takes_argument and len(tail) > MAX_TAIL_WORDS:
            continue
        if tail and not takes_argument and n == 1 and " ".join(tail) not in _ONE_WORD_TAILS:
            continue
        if takes_argument and not _SEPARATORS.intersection(tail):
            continue  # "remplace X par Y": without "par" it is dictation
        if n == 1 and abs(len(words[0]) - len(phrase_words[0])) > 1 and not words[0].startswith(phrase_words[0]):
            continue  # "réalisé" is no "relis" misheard, nor "effectué" an "efface" ("relisez" is "relis")
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
