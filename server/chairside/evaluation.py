"""Scoring recognition against reference transcripts (tests, benchmarks).

Both sides are normalized the same way: numbers written as digits (text2num),
lowercase, NFKC, straight apostrophes, punctuation removed.  Needs the ``dev``
extra (jiwer, text2num).
"""

from __future__ import annotations

from .text import normalize_for_scoring


def normalize(text: str, language: str) -> str:
    from text_to_num import alpha2digit

    text = text.replace("’", "'").lower()
    try:
        text = alpha2digit(text, language if language in ("fr", "en") else "fr")
    except Exception:  # text2num rejects some inputs; score them unconverted
        pass
    return normalize_for_scoring(text)


def wer(references: list[str], hypotheses: list[str], language: str) -> float:
    """Corpus word error rate (total edits / total reference words)."""
    import jiwer

    refs = [normalize(r, language) for r in references]
    hyps = [normalize(h, language) for h in hypotheses]
    pairs = [(r, h) for r, h in zip(refs, hyps) if r]
    if not pairs:
        return 0.0
    return jiwer.wer([r for r, _ in pairs], [h for _, h in pairs])
