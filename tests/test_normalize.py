"""Normalization of dental dictation: numbers, units, FDI teeth, surfaces."""

import pytest

from chairside.dictation.normalize import find_surfaces, find_teeth, is_fdi_tooth, spoken_numbers


@pytest.mark.parametrize(
    "said,written",
    [
        ("Amoxicilline un gramme, pendant sept jours", "Amoxicilline 1 g, pendant 7 jours"),
        ("chlorhexidine zéro virgule douze pour cent", "chlorhexidine 0,12 %"),
        ("Ibuprofène quatre cents milligrammes", "Ibuprofène 400 mg"),
        ("paracétamol 1 gramme", "paracétamol 1 g"),
        ("quatre-vingt-cinq", "85"),
        ("soixante-quinze", "75"),
        ("septante-cinq", "75"),
        ("nonante", "90"),
        ("vingt et un", "21"),
        ("cinq millilitres", "5 ml"),
        ("amoxicillin five hundred milligrams", "amoxicillin 500 mg"),
    ],
)
def test_spoken_numbers_and_units(said, written):
    language = "en" if "amoxicillin " in said else "fr"
    assert spoken_numbers(said, language) == written


def teeth(said: str, language: str = "fr") -> list[tuple[int, bool]]:
    return [(t.number, t.valid) for t in find_teeth(spoken_numbers(said, language))]


@pytest.mark.parametrize(
    "said,expected",
    [
        ("Couronne zircone sur la trente-six", [(36, True)]),
        ("la trois six", [(36, True)]),
        ("dent numéro quarante-six", [(46, True)]),
        ("Inlay-core sur la vingt et un", [(21, True)]),
        ("Bridge trois éléments de quatorze à seize", [(14, True), (15, True), (16, True)]),
        ("de la onze à la treize", [(11, True), (12, True), (13, True)]),
        ("non, pas la trente-six, la quarante-six", [(36, True), (46, True)]),
        ("extraction de la quarante-huit", [(48, True)]),
        ("la quatre-vingt-cinq", [(85, True)]),
        ("la dix-neuf", [(19, False)]),
        ("dent numéro quarante-neuf", [(49, False)]),
        ("la cinquante-six", [(56, False)]),
        ("tooth number thirty six", [(36, True)]),
        ("paracétamol un gramme trois fois par jour", []),
    ],
)
def test_teeth_in_fdi_notation(said, expected):
    language = "en" if said.startswith("tooth") else "fr"
    assert teeth(said, language) == expected


def test_fdi_numbering():
    assert all(is_fdi_tooth(n) for n in (11, 18, 21, 28, 31, 38, 41, 48, 51, 55, 61, 75, 85))
    assert not any(is_fdi_tooth(n) for n in (10, 19, 29, 49, 50, 56, 86, 91, 9, 100))


@pytest.mark.parametrize(
    "said,surfaces",
    [
        ("Composite MOD sur la 26", "MOD"),
        ("obturation mésio-occlusale", "MO"),
        ("cavité occluso-distale", "OD"),
        ("face vestibulaire et linguale", "VL"),
        ("face palatine", "P"),
        ("carie profonde", None),
    ],
)
def test_surfaces(said, surfaces):
    assert find_surfaces(said) == surfaces


from datetime import date  # noqa: E402

from chairside.dictation.normalize import relative_date  # noqa: E402

SATURDAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    "said,expected",
    [
        ("livraison jeudi prochain", date(2026, 12, 3)),
        ("samedi prochain", date(2026, 12, 5)),  # today is a Saturday: the next one
        ("prochain rendez-vous dans quinze jours", date(2026, 12, 12)),
        ("dans huit jours", date(2026, 12, 5)),
        ("dans trois semaines", date(2026, 12, 19)),
        ("dans un mois", date(2026, 12, 28)),
        ("demain", date(2026, 11, 29)),
        ("après-demain", date(2026, 11, 30)),
        ("couronne zircone sur la 36", None),
    ],
)
def test_relative_dates_from_the_session_date(said, expected):
    assert relative_date(said, SATURDAY) == expected


def test_relative_dates_in_english_and_month_ends():
    assert relative_date("next thursday", SATURDAY, "en") == date(2026, 12, 3)
    assert relative_date("in two weeks", SATURDAY, "en") == date(2026, 12, 12)
    assert relative_date("dans un mois", date(2027, 1, 31)) == date(2027, 2, 28)
