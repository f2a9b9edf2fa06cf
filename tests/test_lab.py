"""Lab-order details from dictation."""

from datetime import date

import pytest

from chairside.dictation.lab import parse_lab_line

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    "said,expected",
    [
        ("Couronne zircone sur la trente-six, teinte A deux, livraison jeudi prochain.",
         {"work_type": "couronne", "material": "zircone", "shade": "A2", "shade_guide": "VITA classical", "teeth": [36], "delivery_date": "2026-12-03"}),
        ("Bridge trois éléments céramo-métallique de quatorze à seize, teinte A trois.",
         {"work_type": "bridge", "material": "céramo-métallique", "shade": "A3", "shade_guide": "VITA classical",
          "teeth": [14, 15, 16], "pillars": [14, 16], "pontics": [15], "elements": 3}),
        ("Inlay-core sur la vingt et un.", {"work_type": "inlay-core", "teeth": [21]}),
        ("Facette emax sur la onze, teinte deux M deux, moignon ND trois",
         {"work_type": "facette", "material": "disilicate de lithium", "shade": "2M2", "shade_guide": "VITA 3D-Master", "stump_shade": "ND3", "teeth": [11]}),
        ("teinte A trois virgule cinq", {"shade": "A3.5", "shade_guide": "VITA classical"}),
        # the letter A written as the preposition it sounds like, after "teinte" only
        ("Couronne zircone sur la 36, teinte à deux.", {"work_type": "couronne", "material": "zircone", "shade": "A2",
                                                       "shade_guide": "VITA classical", "teeth": [36]}),
        ("Onlay composite sur la 26, teinte à 3", {"work_type": "onlay", "material": "composite", "shade": "A3",
                                                    "shade_guide": "VITA classical", "teeth": [26]}),
        ("Bridge de la 14 à la 16", {"work_type": "bridge", "teeth": [14, 15, 16], "pillars": [14, 16], "pontics": [15]}),
        ("Gouttière de bruxisme en PMMA", {"work_type": "gouttière", "material": "PMMA"}),
        ("Couronne zircon sur la 36", {"work_type": "couronne", "material": "zircone", "teeth": [36]}),  # "zircone" is said "zircon"
        ("Couronne sur la dix-neuf", {"work_type": "couronne"}),  # 19 is no tooth: flagged by the dictation, not taken
    ],
)
def test_lab_lines(said, expected):
    assert parse_lab_line(said, TODAY) == expected
