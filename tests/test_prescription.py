"""Prescription lines parsed from dictation, checked against the formulary."""

import pytest

from chairside.dictation.prescription import parse_line


@pytest.mark.parametrize(
    "said,drug,strength,form,per_intake,per_day,days",
    [
        ("Amoxicilline un gramme, un comprimé matin et soir pendant sept jours.", "amoxicilline", "1 g", "comprimé", 1, 2, 7),
        ("Amoxiciline en grame, un comprimé matin et soir pendant sept jours", "amoxicilline", "1 g", "comprimé", 1, 2, 7),
        ("Paracétamol un gramme, un comprimé toutes les six heures si douleur.", "paracétamol", "1 g", "comprimé", 1, 4, None),
        ("Ibuprofène quatre cents milligrammes, un comprimé trois fois par jour au cours des repas pendant trois jours.", "ibuprofène", "400 mg", "comprimé", 1, 3, 3),
        ("Bain de bouche à la chlorhexidine zéro virgule douze pour cent, deux fois par jour pendant dix jours.", "chlorhexidine", "0,12 %", "bain de bouche", None, 2, 10),
        ("Clindamycine trois cents milligrammes, deux gélules matin et soir pendant une semaine", "clindamycine", "300 mg", "gélule", 2, 2, 7),
        ("Doliprane cinq cents milligrammes, deux comprimés matin midi et soir", "paracétamol", "500 mg", "comprimé", 2, 3, None),
        ("Augmentin un gramme, un sachet matin et soir pendant huit jours", "amoxicilline/acide clavulanique", "1 g", "sachet", 1, 2, 8),
    ],
)
def test_lines(said, drug, strength, form, per_intake, per_day, days):
    line = parse_line(said)
    assert line.in_formulary and line.drug == drug
    assert (line.strength, line.form, line.units_per_intake, line.intakes_per_day, line.duration_days) == (strength, form, per_intake, per_day, days)
    # a line without a duration or a number of boxes is not complete (R.5132-3): only that is said of it
    assert line.warning_kinds == ([] if days else ["no_duration"])


def test_notes_are_kept():
    line = parse_line("Paracétamol un gramme, un comprimé toutes les six heures si douleur, sans dépasser quatre grammes par jour.")
    assert line.notes == ["si douleur", "sans dépasser 4 g par jour"]


@pytest.mark.parametrize(
    "said,daily",
    [
        ("Ibuprofène quatre cents milligrammes, deux comprimés trois fois par jour", 2400),
        ("Paracétamol un gramme, un comprimé toutes les quatre heures", 6000),
    ],
)
def test_doses_above_the_usual_maximum_warn_and_change_nothing(said, daily):
    from chairside.dictation.safety import check
    from datetime import date

    line = parse_line(said + " pendant trois jours")
    assert line.daily_mg == daily and line.warnings == []  # the line alone: nothing to say
    alerts = check([line], None, date(2026, 11, 30))[0]  # the dose check
    assert [a.kind for a in alerts] == ["dose_max"] and "dépasse la dose maximale adulte" in alerts[0].message
    assert line.strength and line.units_per_intake  # as dictated


def test_an_unknown_drug_stays_free_text_with_a_warning():
    line = parse_line("Zorglub cent milligrammes, un comprimé par jour")
    assert not line.in_formulary and line.drug == "Zorglub"
    assert "n'est pas dans le formulaire" in line.warnings[0]
    assert line.strength == "100 mg"
