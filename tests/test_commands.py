"""Voice command recognition on final utterances (pure text)."""

import pytest

from chairside.dictation.commands import SAFETY_CLASS, CommandMatch, Hint, match


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
        ("Signe.", "validate"),
        ("Valide et imprime.", "validate_and_print"),
        ("Imprime.", "print"),
        ("Efface tout.", "erase_all"),
        ("Efface la ligne deux.", "remove_line"),
        ("Relis l'ordonnance.", "read_back"),
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
        "Valider ça avec le labo.",
        "Il faut valider.",
        "Efface le tableau.",
        "Réalisé.",  # "Pulpotomie" … "réalisé": a report's word, not "relis" misheard
        "Réalisées.",
        "Effectué.",  # not "efface"
        "",
    ],
)
def test_dictation_is_not_a_command(said):
    assert not isinstance(match(said), CommandMatch)


@pytest.mark.parametrize(
    "said,command",
    [
        ("Valite l'ordonnance", "validate"),  # as Whisper base heard it: asked about, not signed
        ("imprimes", "print"),
        ("Validez.", "validate"),
        ("Efface toute.", "erase_all"),
        ("Abandon.", "discard"),
    ],
)
def test_a_near_miss_of_a_safety_command_is_only_a_hint(said, command):
    result = match(said)
    assert isinstance(result, Hint) and result.command == command


def test_safety_commands_need_their_own_words_in_the_session_language():
    assert not isinstance(match("Sign.", "fr"), CommandMatch)
    assert not isinstance(match("Valide.", "en"), CommandMatch)
    assert match("Valide le certificat, s'il te plaît.").command == "validate"
    assert match("Efface la ligne douze.").argument == "12"
    assert not isinstance(match("Supprimer la ligne fixe du dossier."), CommandMatch)
    assert SAFETY_CLASS == {"validate", "validate_and_print", "print", "discard", "erase_all"}


def test_replace_takes_its_argument_as_said():
    result = match("Remplace l'amoxicilline par la clindamycine.")
    assert isinstance(result, CommandMatch) and result.command == "replace"
    assert result.argument == "l'amoxicilline par la clindamycine"


def test_a_near_miss_is_a_hint_not_a_command():
    result = match("nouvelle ord")
    assert isinstance(result, Hint) and result.command == "new_prescription"
    assert result.confidence < 0.8


def _table() -> list[dict]:
    import csv
    from pathlib import Path

    return list(csv.DictReader(open(Path(__file__).parent / "data" / "dictation_commands.tsv"), delimiter="\t"))


def test_the_utterance_table():
    """tests/data/dictation_commands.tsv: commands as spoken, near misses of
    safety-class commands, everyday phrases that begin like a command, talk
    to the patient and dictation (which must never command)."""
    rows = _table()
    assert len(rows) >= 300
    wrong = []
    for row in rows:
        result = match(row["utterance"], row["language"])
        got = result.command if isinstance(result, CommandMatch) else "-"
        if got != row["expected"]:
            wrong.append((row["utterance"], row["expected"], got))
    assert wrong == []


def test_command_safety_numbers():
    """Issue 13's two numbers (docs/benchmarks.md): no safety-class action
    from anything that is not that command, and at least 95 % of the real
    commands recognised; near misses of safety commands hinted."""
    rows = _table()
    not_commands = [r for r in rows if r["expected"] == "-"]
    acted = [r["utterance"] for r in not_commands
             if isinstance(m := match(r["utterance"], r["language"]), CommandMatch) and m.command in SAFETY_CLASS]
    commands = [r for r in rows if r["expected"] != "-"]
    recognised = [r for r in commands
                  if isinstance(m := match(r["utterance"], r["language"]), CommandMatch) and m.command == r["expected"]]
    near = [r for r in rows if r["hint"]]
    hinted = [r for r in near if isinstance(m := match(r["utterance"], r["language"]), Hint) and m.command == r["hint"]]
    assert len(not_commands) >= 150 and len(commands) >= 150 and len(near) >= 40
    assert acted == []
    assert len(recognised) / len(commands) >= 0.95
    assert len(hinted) / len(near) >= 0.9
    print(f"safety actions from non-commands: {len(acted)}/{len(not_commands)}; commands recognised: "
          f"{len(recognised)}/{len(commands)}; near misses hinted: {len(hinted)}/{len(near)}")


def test_what_is_no_content_does_not_become_a_prescription_line():
    """Issue 13: in a prescription with a line being dictated, talk to the
    patient, everyday phrases that begin like a command and the other
    documents' dictation leave the draft as it was (a noun phrase that
    prescribes nothing is held and warned about, not written); the
    prescription's own dictation still makes or extends its lines (measured
    on the command table; docs/benchmarks.md)."""
    from chairside.dictation.state import Dictation
    from factories import context

    def changes(row: dict) -> bool:
        d = Dictation(language=row["language"], context=context())
        fr = row["language"] == "fr"
        d.handle("Nouvelle ordonnance." if fr else "New prescription.")
        d.handle("Amoxicilline un gramme, un comprimé matin et soir pendant six jours" if fr
                 else "Amoxicillin one gram twice a day for six days")
        before = [line.text for line in d.draft.lines]
        d.handle(row["utterance"])
        return d.draft is None or [line.text for line in d.draft.lines] != before

    rows = _table()
    by = {c: [r for r in rows if r["category"] == c] for c in ("patient", "everyday")}
    ours = [r for r in rows if r["note"] == "document: prescription"]
    others = [r for r in rows if r["note"].startswith("document: ") and r["note"] != "document: prescription"]
    talk = sum(changes(r) for r in by["patient"])
    everyday = sum(changes(r) for r in by["everyday"])
    dictation = sum(changes(r) for r in ours)
    elsewhere = sum(changes(r) for r in others)
    assert talk == 0, talk
    assert everyday == 0, everyday
    assert dictation == len(ours) >= 10
    assert elsewhere <= 3, elsewhere  # "Le patient déclare … hier soir" reads as a posology ("soir"), warned as no drug
    print(f"in a prescription: patient talk that changed the draft {talk}/{len(by['patient'])}, "
          f"everyday phrases {everyday}/{len(by['everyday'])}, its dictation kept {dictation}/{len(ours)}, "
          f"other documents' dictation that changed it {elsewhere}/{len(others)}")
