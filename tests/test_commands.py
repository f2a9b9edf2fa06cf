"""Voice command recognition on final utterances (pure text)."""

import pytest

from chairside.dictation.commands import CommandMatch, Hint, match


@pytest.mark.parametrize(
    "said,command",
    [
        ("Nouvelle ordonnance.", "new_prescription"),
        ("nouvelle ordonance", "new_prescription"),  # mis-heard
        ("NOUVELLE ORDONNANCE", "new_prescription"),
        ("New prescription.", "new_prescription"),
        ("Certificat médical initial.", "medical_certificate"),
        ("certificat medical", "medical_certificate"),  # no accents
        ("Fiche de laboratoire.", "lab_order"),
        ("bon labo", "lab_order"),
        ("lab order", "lab_order"),
        ("Compte rendu.", "clinical_report"),
        ("Compte-rendu", "clinical_report"),
        ("Efface ça.", "undo"),
        ("efface la dernière ligne", "undo"),
        ("Scratch that", "undo"),
        ("Annule", "undo"),
        ("Valide l'ordonnance.", "validate"),
        ("Valite l'ordonnance", "validate"),  # as Whisper base heard it
        ("Signe.", "validate"),
        ("Valide et imprime.", "validate_and_print"),
        ("Imprime.", "print"),
        ("imprimes", "print"),
        ("Pause dictée.", "pause"),
        ("Reprends.", "resume"),
        ("Abandonne.", "discard"),
        ("Qu'est-ce que je peux dire ?", "help"),
        ("what can I say", "help"),
    ],
)
def test_commands_are_recognised(said, command):
    result = match(said, "en" if said.lower().startswith(("new", "scratch", "lab", "what")) else "fr")
    assert isinstance(result, CommandMatch), result
    assert result.command == command
    assert 0.8 <= result.confidence <= 1.0


@pytest.mark.parametrize(
    "said",
    [
        "Je vais faire une nouvelle ordonnance demain.",  # said to the patient
        "Ouvrez bien grand, voilà, ça va piquer un peu.",
        "Amoxicilline un gramme, un comprimé matin et soir pendant sept jours.",
        "Il faudra valider l'ordonnance plus tard.",
        "Valide l'ordonnance du patient de ce matin pour la pharmacie",  # too much after the phrase
        "",
    ],
)
def test_dictation_is_not_a_command(said):
    assert not isinstance(match(said), CommandMatch)


def test_replace_takes_its_argument_as_said():
    result = match("Remplace l'amoxicilline par la clindamycine.")
    assert isinstance(result, CommandMatch) and result.command == "replace"
    assert result.argument == "l'amoxicilline par la clindamycine"


def test_a_near_miss_is_a_hint_not_a_command():
    result = match("nouvelle ord")
    assert isinstance(result, Hint) and result.command == "new_prescription"
    assert result.confidence < 0.8


def test_the_utterance_table():
    """tests/data/dictation_commands.tsv: commands as spoken and misheard,
    dictation and words said to the patient (which must never command)."""
    import csv
    from pathlib import Path

    rows = list(csv.DictReader(open(Path(__file__).parent / "data" / "dictation_commands.tsv"), delimiter="\t"))
    assert len(rows) >= 80
    wrong = []
    for row in rows:
        result = match(row["utterance"], row["language"])
        got = result.command if isinstance(result, CommandMatch) else "-"
        if got != row["expected"]:
            wrong.append((row["utterance"], row["expected"], got))
    assert wrong == []
