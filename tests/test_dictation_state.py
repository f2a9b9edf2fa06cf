"""The dictation state machine on plain text: commands drive drafts."""

from factories import context

from chairside.dictation.state import Dictation
from chairside.record.draft import Draft


def run(d: Dictation, *utterances: str) -> list:
    out = []
    for u in utterances:
        out += d.handle(u)
    return out


def kinds(outcomes) -> list[str]:
    return [o.kind for o in outcomes]


def test_words_said_to_the_patient_open_nothing():
    d = Dictation()
    assert run(d, "Je vais faire une nouvelle ordonnance demain.", "Ouvrez bien grand.") == []
    assert d.draft is None


def test_a_prescription_from_opening_to_validation():
    d = Dictation(context=context())
    opened = d.handle("Nouvelle ordonnance.")
    assert kinds(opened) == ["command", "draft_updated"] and opened[0].message == "Ordonnance ouverte"
    added = d.handle("Amoxicilline un gramme, un comprimé matin et soir pendant sept jours.")
    line = added[0].draft.lines[0]
    assert added[0].change["op"] == "add_line"
    assert (line.drug, line.strength, line.intakes_per_day, line.duration_days) == ("amoxicilline", "1 g", 2.0, 7)
    asked = d.handle("Valide et imprime.")  # read back first, signed on "oui"
    assert kinds(asked) == ["readback", "draft_updated"] and asked[0].pending == "validate_and_print"
    assert asked[0].lines == ("Amoxicilline 1 g, un comprimé matin et soir pendant 7 jours",) and d.draft.status == "draft"
    validated = d.handle("Oui.")
    assert kinds(validated) == ["command", "draft_updated", "document"]
    assert validated[-1].print and not validated[-1].preview
    assert d.draft.status == "validated" and d.draft.version == 1
    printed = d.handle("Imprime.")
    assert kinds(printed) == ["command", "document"] and printed[-1].print and printed[-1].draft.version == 1


def test_scratch_that_removes_the_last_line():
    d = Dictation()
    run(d, "Nouvelle ordonnance.", "Amoxicilline un gramme, un comprimé matin et soir.", "Paracétamol un gramme si douleur.")
    out = d.handle("Efface ça.")
    assert out[0].message == "Ligne effacée"
    assert [l.drug for l in d.draft.lines] == ["amoxicilline"]


def test_replace_a_drug():
    d = Dictation()
    run(d, "Nouvelle ordonnance.", "Amoxicilline un gramme, un comprimé matin et soir pendant sept jours.")
    out = d.handle("Remplace l'amoxicilline par la clindamycine.")
    assert out[1].change["op"] == "replace_line"
    assert d.draft.lines[0].drug == "clindamycine" and d.draft.lines[0].duration_days == 7


def test_overdose_warns_and_keeps_the_line_as_dictated():
    d = Dictation()
    out = run(d, "Nouvelle ordonnance.", "Ibuprofène quatre cents milligrammes, deux comprimés trois fois par jour")
    warnings = [o for o in out if o.kind == "warning"]
    assert len(warnings) == 1 and "2,4 g par jour dépasse la dose maximale adulte (1,2 g par jour)" in warnings[0].message
    assert d.draft.lines[0].units_per_intake == 2.0


def test_tooth_correction_and_invalid_teeth_on_a_lab_order():
    d = Dictation()
    run(d, "Fiche de laboratoire.", "Couronne zircone sur la trente-six, teinte A deux.")
    out = d.handle("Non, pas la trente-six, la quarante-six.")
    assert out[0].message == "Dent 36 corrigée en 46"
    assert d.draft.lines[0].teeth == [46]
    out = d.handle("Inlay-core sur la dix-neuf")
    assert [o.message for o in out if o.kind == "warning"] == ["19 n'est pas un numéro de dent FDI valide"]


def test_pause_ignores_everything_but_resume():
    d = Dictation()
    run(d, "Nouvelle ordonnance.", "Pause dictée.")
    assert kinds(d.handle("Amoxicilline un gramme")) == ["ignored"]
    assert d.draft.lines == []
    assert d.handle("Reprends.")[0].command == "resume"
    assert kinds(d.handle("Amoxicilline un gramme")) == ["draft_updated"]


def test_discard_asks_for_confirmation():
    d = Dictation()
    run(d, "Nouvelle ordonnance.", "Amoxicilline un gramme.")
    assert "confirmer" in d.handle("Abandonne.")[0].message
    d.handle("Paracétamol un gramme.")  # not a confirmation: the draft stays, the line is added
    assert d.draft is not None and len(d.draft.lines) == 2
    d.handle("Abandonne.")
    said, gone = d.handle("Oui.")
    assert d.draft is None and said.command == "discard"
    assert gone.kind == "draft_updated" and gone.draft.status == "discarded" and gone.change == {"op": "discard"}


def test_a_resumed_dictation_goes_on_with_its_draft():
    d = Dictation()
    run(d, "Nouvelle ordonnance.", "Amoxicilline un gramme.")
    resumed = Dictation()
    resumed.restore(Draft.model_validate(d.draft.as_dict()))  # as the journal gives it back
    resumed.handle("Paracétamol un gramme.")
    assert [line.drug for line in resumed.draft.lines] == ["amoxicilline", "paracétamol"]
    assert resumed.draft.id == d.draft.id
    resumed.restore(d.draft.snapshot(status="discarded"))
    assert resumed.draft is None


def test_a_change_after_validation_makes_a_new_version():
    d = Dictation(context=context())
    run(d, "Nouvelle ordonnance.", "Amoxicilline un gramme, pendant six jours.", "Valide.", "Oui.")
    assert d.draft.status == "validated"
    d.handle("Paracétamol un gramme.")
    assert (d.draft.status, d.draft.version) == ("draft", 2)


def test_help_and_commands_without_a_document():
    d = Dictation()
    assert "nouvelle ordonnance" in d.handle("Qu'est-ce que je peux dire ?")[0].message
    assert "Aucun document ouvert" in d.handle("Valide.")[0].message
    hint = d.handle("nouvelle ord")
    assert hint[0].kind == "hint" and hint[0].command == "new_prescription"


def test_english_commands():
    d = Dictation("en")
    out = run(d, "New prescription.", "Scratch that.")
    assert out[0].message == "Prescription opened" and out[-1].message == "Nothing to scratch"


def test_a_lab_order_gathers_its_fields_and_follows_corrections():
    from datetime import date

    d = Dictation(today=date(2026, 11, 28))
    run(d, "Fiche de laboratoire.", "Couronne zircone sur la trente-six, teinte A deux, livraison jeudi prochain.")
    fields = d.draft.as_dict()["fields"]
    assert fields == {"work_type": "couronne", "material": "zircone", "shade": "A2", "shade_guide": "VITA classical",
                      "teeth": [36], "delivery_date": "2026-12-03"}
    d.handle("Non, pas la trente-six, la quarante-six.")
    assert d.draft.as_dict()["fields"]["teeth"] == [46]
    d.handle("Bridge trois éléments céramo-métallique de quatorze à seize, teinte A trois.")
    fields = d.draft.as_dict()["fields"]
    assert (fields["pillars"], fields["pontics"], fields["shade"]) == ([14, 16], [15], "A3")
    d.handle("Efface ça.")
    assert d.draft.as_dict()["fields"]["shade"] == "A2"  # back to the first line's


def test_print_needs_a_validated_document_and_preview_does_not():
    d = Dictation(context=context())
    run(d, "Nouvelle ordonnance.", "Amoxicilline un gramme matin et soir.")
    printed = d.handle("Imprime.")
    assert kinds(printed) == ["command", "draft_updated"] and "non validé" in printed[0].message
    assert printed[1].change == {"op": "close_line", "index": 0}  # any command ends the line being dictated
    preview = d.handle("Aperçu.")
    assert kinds(preview) == ["command", "document"] and preview[-1].preview and d.draft.status == "draft"
    assert kinds(d.preview()) == ["document"]
    assert Dictation().preview()[0].kind == "warning"  # no document open


def test_a_certificate_files_its_lines_and_agrees_in_gender():
    from datetime import date, datetime

    d = Dictation(today=date(2026, 11, 29), context=context(), started_at=datetime(2026, 11, 29, 9, 40))
    opened = d.handle("Certificat médical initial.")
    assert opened[0].message == "Certificat médical initial ouvert"
    run(d, "Il a reçu un coup de poing hier soir.", "Fracture coronaire de la onze.", "ITT de trois jours.")
    sections = [line.section for line in d.draft.lines]
    assert sections == ["circumstances", "findings", "itt"]
    assert d.draft.lines[0].text == "Selon ses dires, il aurait reçu un coup de poing hier soir."
    assert d.draft.as_dict()["fields"] == {"facts_date": "2026-11-28", "dictation_started_at": "2026-11-29T09:40",
                                           "itt_days": 3, "itt_qualifier": "exact"}
    assert d.handle("Valide le certificat.")[0].kind == "readback"
    assert d.handle("Oui.")[0].message == "Certificat médical initial validé, version 1"


def test_a_report_keeps_the_last_next_appointment():
    from datetime import date

    d = Dictation(today=date(2026, 11, 29), context=context())
    run(d, "Compte rendu.", "Prochain rendez-vous dans huit jours.", "Prochain rendez-vous dans quinze jours pour dépose des fils.")
    assert d.draft.as_dict()["fields"]["next_appointment"] == "2026-12-13"
    d.handle("Efface ça.")
    assert d.draft.as_dict()["fields"] == {"next_appointment": "2026-12-06"}


# -- issue 13: command safety classes -------------------------------------------------

def prescription(*lines: str, **options) -> Dictation:
    d = Dictation(context=context(), **options)
    run(d, "Nouvelle ordonnance.", *lines)
    return d


AMOX = "Amoxicilline un gramme, un comprimé matin et soir pendant sept jours."
PARA = "Paracétamol un gramme si douleur pendant trois jours."


def test_validate_reads_back_and_signs_on_oui():
    d = prescription(AMOX, PARA)
    asked = d.handle("Valide l'ordonnance.")
    readback = asked[0]
    assert readback.kind == "readback" and readback.pending == "validate" and readback.version == 1
    assert readback.document_kind == "prescription" and len(readback.lines) == 2
    assert readback.lines[1].startswith("Paracétamol 1 g")
    assert readback.message == "Ordonnance, version 1 : 2 lignes. Dites « oui » pour signer"
    assert d.draft.status == "draft"  # nothing signed yet
    signed = d.handle("Oui.")
    assert kinds(signed) == ["command", "draft_updated", "document"]
    assert signed[0].command == "validate" and signed[1].change == {"op": "validate"} and not signed[2].print
    assert d.draft.status == "validated"


def test_anything_but_oui_cancels_the_validation_and_says_so():
    d = prescription(AMOX)
    d.handle("Valide.")
    said = d.handle("Non.")
    assert kinds(said) == ["command"] and said[0].command == "cancel" and "annulée" in said[0].message
    assert d.draft.status == "draft"
    assert kinds(d.handle("Oui.")) == ["ignored"]  # nothing waits any more: "oui" is no line either
    d.handle("Valide et imprime.")
    out = d.handle(PARA)  # cancels, then is dictated
    assert out[0].command == "cancel" and out[1].change["op"] == "add_line"
    assert d.draft.status == "draft" and len(d.draft.lines) == 2


def test_validate_and_print_signs_and_prints_on_confirme():
    d = prescription(AMOX)
    assert d.handle("Valide et imprime.")[0].pending == "validate_and_print"
    signed = d.handle("Confirme.")
    assert kinds(signed) == ["command", "draft_updated", "document"] and signed[-1].print


def test_missing_mentions_refuse_before_any_readback():
    d = prescription("Amoxicilline un gramme, un comprimé matin et soir.")  # no duration
    out = d.handle("Valide.")
    assert kinds(out) == ["command", "draft_updated"] and out[0].message.startswith("Impossible de valider")
    assert kinds(d.handle("Oui.")) == ["ignored"] and d.draft.status == "draft"


def test_the_setting_signs_at_once_without_readback():
    d = prescription(AMOX, readback=False)
    assert kinds(d.handle("Valide.")) == ["command", "draft_updated", "document"] and d.draft.status == "validated"


def test_a_near_miss_of_validate_is_a_hint_and_no_line():
    d = prescription(AMOX)
    out = d.handle("Valite l'ordonnance.")
    assert kinds(out) == ["hint"] and out[0].message == "Vouliez-vous dire « valide » ?"
    assert d.draft.status == "draft" and len(d.draft.lines) == 1


def test_erase_line_n():
    d = prescription(AMOX, PARA, "Ibuprofène quatre cents milligrammes, un comprimé trois fois par jour pendant trois jours.")
    out = d.handle("Efface la ligne deux.")
    assert out[0].message == "Ligne 2 effacée" and out[1].change["op"] == "remove_line" and out[1].change["index"] == 1
    assert [line.drug for line in d.draft.lines] == ["amoxicilline", "ibuprofène"]
    out = d.handle("Supprime la ligne 5.")
    assert out[0].message == "Il n'y a pas de ligne 5 : le document a 2 lignes" and len(d.draft.lines) == 2
    d.handle("Efface la ligne 1.")
    assert [line.drug for line in d.draft.lines] == ["ibuprofène"]


def test_erase_all_asks_then_empties_the_open_document():
    d = prescription(AMOX, PARA)
    asked = d.handle("Efface tout.")
    assert asked[0].command == "erase_all" and "Effacer 2 lignes ?" in asked[0].message and len(d.draft.lines) == 2
    done = d.handle("Oui.")
    assert kinds(done) == ["command", "draft_updated"] and done[1].change == {"op": "clear", "removed": 2}
    assert d.draft is not None and d.draft.lines == [] and d.draft.open_line is None
    d.handle(AMOX)
    d.handle("Efface tout.")
    kept = d.handle("Non.")
    assert kept[0].message == "Rien n'a été effacé" and len(d.draft.lines) == 1


def test_relis_reads_back_with_nothing_pending():
    d = prescription(AMOX)
    out = d.handle("Relis.")
    assert out[0].kind == "readback" and out[0].pending is None and out[0].message == "Ordonnance, version 1 : 1 ligne"
    assert kinds(d.handle(PARA))[0] == "draft_updated"  # dictation goes on: nothing was cancelled


def test_talk_to_the_patient_is_no_line():
    d = prescription(AMOX)
    for said in ("Ouvrez grand.", "Ça va ?", "Merci, au revoir.", "Vous prenez des médicaments en ce moment ?",
                 "Il faut bien manger après.", "Oui.", "D'accord."):
        assert kinds(d.handle(said)) == ["ignored"], said
    for said in ("Arrête l'enregistrement.", "On arrête."):
        out = d.handle(said)
        assert kinds(out) == ["hint"] and "pause dictée" in out[0].message
    assert len(d.draft.lines) == 1
    # the fragments of a real line still continue it
    d.handle("Paracétamol un gramme,")
    d.handle("un comprimé matin et soir")
    d.handle("pendant sept jours.")
    assert len(d.draft.lines) == 2 and d.draft.lines[1].duration_days == 7


def test_a_drug_suggestion_is_still_accepted_by_oui():
    d = prescription("Prednisolon vingt milligrammes, un comprimé le matin pendant trois jours.")
    d.handle("Oui.")
    assert d.draft.lines[0].drug == "prednisolone"


_OPEN = {  # each document of the table's dictation rows, opened with a line being dictated
    ("prescription", "fr"): ("Nouvelle ordonnance.", "Amoxicilline un gramme"),
    ("prescription", "en"): ("New prescription.", "Amoxicillin one gram"),
    ("lab_order", "fr"): ("Fiche de laboratoire.", "Couronne céramique sur la quarante-six"),
    ("lab_order", "en"): ("Lab order.", "Crown on forty-six"),
    ("medical_certificate", "fr"): ("Certificat médical initial.", "Le patient déclare être tombé dans l'escalier"),
    ("clinical_report", "fr"): ("Compte rendu de consultation.", "Motif, douleur sur la quarante-six"),
    ("clinical_report", "en"): ("Consultation report.", "Reason for visit, pain on forty-six"),
}


def test_the_table_s_talk_stays_out_of_a_prescription_and_its_dictation_goes_in():
    """Measured on tests/data/dictation_commands.tsv (docs/benchmarks.md):
    words to the patient said while a prescription line is open change no
    line; each dictation row, said in the document it belongs to (its
    note), makes or extends a line there."""
    import csv
    from pathlib import Path

    rows = list(csv.DictReader(open(Path(__file__).parent / "data" / "dictation_commands.tsv"), delimiter="\t"))
    changed: dict[str, list[bool]] = {"patient": [], "dictation": []}
    for row in rows:
        if row["category"] not in changed or row["utterance"].startswith("Non, pas la"):  # a tooth correction
            continue
        kind = row["note"].removeprefix("document: ").split(";")[0] if row["category"] == "dictation" else "prescription"
        d = Dictation(row["language"], context=context())
        run(d, *_OPEN[(kind, row["language"])])
        before = [line.text for line in d.draft.lines]
        d.handle(row["utterance"])
        changed[row["category"]].append([line.text for line in d.draft.lines] != before)
    assert all(changed["dictation"]) and len(changed["dictation"]) >= 30
    assert sum(changed["patient"]) == 0 and len(changed["patient"]) >= 50


def test_a_safety_command_among_other_sentences_runs_only_when_it_comes_last():
    d = prescription("Amoxicilline un gramme, un comprimé matin et soir.")
    out = d.handle("Pendant sept jours. Valide.")  # the line completed, then read back
    assert [o.kind for o in out] == ["draft_updated", "readback", "draft_updated"] and out[0].change["op"] == "extend_line"
    assert d.handle("Oui.")[0].command == "validate"
    d = prescription(AMOX)
    out = d.handle("Valide l'ordonnance. Imprime.")  # as Whisper joins them: asked again, nothing signed, no line
    assert out[0].kind == "hint" and out[0].message == "« valide » n'est pris que dit seul : redites-le"
    assert out[1].message == "Document non validé : dites « valide et imprime »"
    assert d.draft.status == "draft" and len(d.draft.lines) == 1


def test_a_noun_phrase_that_prescribes_nothing_is_held_and_warned_not_written():
    """Issue 13: "Validation du devis" in a prescription names no drug and
    says no dose: no line, a warning; a drug the formulary lacks said alone
    and its posology after a pause still make one line."""
    d = prescription(AMOX)
    out = d.handle("Validation du devis.")
    assert [o.kind for o in out] == ["warning"]
    assert out[0].message.startswith("« Validation du devis » : aucun médicament reconnu")
    assert len(d.draft.lines) == 1
    d.handle("Lamaline.")
    assert len(d.draft.lines) == 1
    d.handle("Deux gélules trois fois par jour si douleur.")
    assert [line.text for line in d.draft.lines][1] == "Lamaline deux gélules 3 fois par jour si douleur"
    assert d.draft.lines[1].drug == "Lamaline" and not d.draft.lines[1].in_formulary
    d.handle("Reprise de carie.")
    d.end_line()  # a long silence: what was held is dropped
    d.handle("Un comprimé par jour.")  # a posology alone is a line of its own, seen and not merged
    assert [line.text for line in d.draft.lines][2:] == ["Un comprimé par jour"]
    d.handle("Brosse à dents chirurgicale souple.")  # a care item is prescribed without a dose
    assert d.draft.lines[-1].text.startswith("Brosse à dents chirurgicale")
