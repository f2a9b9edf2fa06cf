"""The patient's safety facts in the record model: the allergy classes
recognised in free text (French and English, accents and case ignored),
and the checks of the Patient's new fields."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chairside.record.allergies import ALLERGY_CLASSES, allergy_classes, fold, named_classes
from chairside.record.context import DocumentContext, Patient


@pytest.mark.parametrize("written, classes", [
    ("Pénicilline", {"penicillin"}),
    ("PENICILLINES", {"penicillin"}),
    ("allergie à la péni", {"penicillin"}),
    ("amoxicilline (urticaire en 2019)", {"penicillin"}),
    ("Augmentin", {"penicillin"}),
    ("penicillin", {"penicillin"}),
    ("bêta-lactamines", {"beta-lactam", "penicillin", "cephalosporin"}),
    ("Betalactamines", {"beta-lactam", "penicillin", "cephalosporin"}),
    ("β-lactamines", {"beta-lactam", "penicillin", "cephalosporin"}),
    ("céphalosporines", {"cephalosporin"}),
    ("Macrolides", {"macrolide"}),
    ("clarithromycine", {"macrolide"}),
    ("clindamycine", {"lincosamide"}),
    ("AINS", {"nsaid", "aspirin"}),
    ("anti-inflammatoires", {"nsaid", "aspirin"}),
    ("anti-inflammatoires non stéroïdiens", {"nsaid", "aspirin"}),
    ("NSAIDs", {"nsaid", "aspirin"}),
    ("ibuprofène", {"nsaid", "aspirin"}),
    ("anti-inflammatoires stéroïdiens", set()),  # corticosteroids are no NSAIDs
    ("Aspirine", {"aspirin"}),
    ("acide acétylsalicylique", {"aspirin"}),
    ("codéine", {"codeine"}),
    ("opioïdes", {"opioid", "codeine"}),
    ("tramadol", {"opioid", "codeine"}),  # an opioid allergy covers codeine
    ("Codoliprane", {"codeine", "paracetamol"}),
    ("paracétamol", {"paracetamol"}),
    ("sulfamides", {"sulfonamide"}),
    ("chlorhexidine", {"chlorhexidine"}),
    ("produits iodés", {"iodine"}),
    ("Bétadine", {"iodine"}),
    ("latex (gants)", {"latex"}),
    ("anesthésiques locaux", {"local-anaesthetic"}),
    ("Lidocaïne", {"local-anaesthetic"}),
    ("local anesthetics", {"local-anaesthetic"}),
    ("pollens", set()),
    ("arachide", set()),
    ("ainsi de suite", set()),  # "AINS" is a whole word only
    ("", set()),
])
def test_known_classes_are_recognised_in_free_text(written, classes):
    assert allergy_classes([written]) == classes


def test_classes_of_several_allergies_add_up_and_broad_ones_include_narrow_ones():
    assert allergy_classes(["Pénicilline", "latex", "fraises"]) == {"penicillin", "latex"}
    assert allergy_classes([]) == set()
    assert named_classes("bêta-lactamines") == {"beta-lactam"}  # what the entry itself names
    assert allergy_classes(["bêta-lactamines"]) >= {"penicillin", "cephalosporin"}
    assert "cephalosporin" not in allergy_classes(["pénicilline"])  # the reverse does not hold


def test_the_vocabulary_is_consistent():
    for key, c in ALLERGY_CLASSES.items():
        assert c.key == key and c.fr and c.en and c.allergy_fr.startswith("allergie") and c.terms
        assert set(c.includes) <= set(ALLERGY_CLASSES)
        assert key in named_classes(c.fr) or key in named_classes(c.en), key  # the labels themselves are recognised
    assert set(ALLERGY_CLASSES) >= {"penicillin", "beta-lactam", "cephalosporin", "macrolide", "lincosamide", "nsaid", "aspirin",
                                    "codeine", "opioid", "paracetamol", "sulfonamide", "chlorhexidine", "iodine", "latex",
                                    "local-anaesthetic"}
    assert fold("Bêta-Lactamines  ŒDÈME") == "beta lactamines oedeme"


def test_patient_safety_fields_and_their_checks():
    p = Patient(last_name="Durand", first_name="Jeanne", sex="F", allergies=[" Pénicilline ", "pénicilline", "Latex"],
                pregnancy_weeks=20, breastfeeding=False, anticoagulant=True, antiplatelet=False,
                renal_failure="moderate", hepatic_failure=None)
    assert p.allergies == ["Pénicilline", "Latex"]  # trimmed, the same one once
    assert p.allergy_classes == {"penicillin", "latex"}
    assert Patient(allergies=None).allergies == [] and Patient().pregnancy_weeks is None and not Patient().anticoagulant
    # what a prescription checker reads: the documents' context carries the patient whole
    ctx = DocumentContext.model_validate({"patient": p.model_dump(mode="json")})
    assert ctx.patient.allergy_classes == {"penicillin", "latex"} and ctx.patient.renal_failure == "moderate"


@pytest.mark.parametrize("fields, where", [
    ({"sex": "M", "pregnancy_weeks": 12}, "pregnancy_weeks"),
    ({"pregnancy_weeks": 46}, "pregnancy_weeks"),
    ({"pregnancy_weeks": -1}, "pregnancy_weeks"),
    ({"pregnancy_weeks": 12.5}, "pregnancy_weeks"),
    ({"allergies": ["x" * 101]}, "allergies"),
    ({"allergies": [f"allergie {i}" for i in range(31)]}, "allergies"),
    ({"allergies": ["  "]}, "allergies"),
    ({"allergies": "pénicilline"}, "allergies"),
    ({"renal_failure": "mild"}, "renal_failure"),
    ({"hepatic_failure": "sévère"}, "hepatic_failure"),
    ({"anticoagulant": "peut-être"}, "anticoagulant"),
])
def test_bad_safety_fields_are_refused_with_the_field_named(fields, where):
    with pytest.raises(ValidationError) as refused:
        Patient(**fields)
    assert refused.value.errors()[0]["loc"][0] == where


def test_a_pregnancy_is_possible_for_sex_f_x_or_unknown():
    for sex in ("F", "X", None):
        assert Patient(sex=sex, pregnancy_weeks=0).pregnancy_weeks == 0
