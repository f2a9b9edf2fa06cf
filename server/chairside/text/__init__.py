"""Text helpers shared by recognition, dictation and evaluation."""

from __future__ import annotations

import re
import unicodedata

_EDGE_PUNCT = "\"'“”«»‘’.,;:!?…()[]{}¿¡-–—"
_NON_WORD = re.compile(r"[^\w'\s-]")


def word_key(word: str) -> str:
    """What two spellings of one recognised word have in common: case and
    surrounding punctuation ignored (used to compare hypotheses)."""
    return unicodedata.normalize("NFKC", word).strip(_EDGE_PUNCT + " ").casefold().replace("’", "'")


def strip_trailing_punctuation(word: str) -> str:
    stripped = word.rstrip(_EDGE_PUNCT)
    return stripped or word


def normalize_for_scoring(text: str) -> str:
    """Lowercase, NFKC, straight apostrophes, no punctuation, hyphens as spaces."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    text = _NON_WORD.sub(" ", text).replace("-", " ").replace("_", " ")
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())
