"""Phrases Whisper is known to invent out of silence or noise.

They come from the subtitles it was trained on.  A decoded segment that is one
of them (or contains an Amara.org credit) is dropped before anyone sees it.
"""

from __future__ import annotations

from ..text import normalize_for_scoring

PHRASES = {
    normalize_for_scoring(p)
    for p in (
        "Sous-titres réalisés par la communauté d'Amara.org",
        "Sous-titres réalisés para la communauté d'Amara.org",
        "Sous-titrage Société Radio-Canada",
        "Sous-titrage ST' 501",
        "Sous-titrage FR",
        "Merci d'avoir regardé",
        "Merci d'avoir regardé cette vidéo",
        "Merci d'avoir regardé cette vidéo !",
        "Abonnez-vous",
        "N'oubliez pas de vous abonner",
        "Thanks for watching",
        "Thanks for watching!",
        "Thank you for watching",
        "Thank you for watching!",
        "Please subscribe",
        "Subtitles by the Amara.org community",
        "Transcription by ESO. Translation by —",
    )
}
MARKERS = ("amara org", "sous titrage", "sous titres realises", "sous titres réalisés")


def is_hallucination(text: str) -> bool:
    norm = normalize_for_scoring(text)
    if not norm:
        return False
    return norm in PHRASES or any(marker in norm for marker in MARKERS)
