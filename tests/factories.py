"""Test data shared by several test modules: a practice's complete context."""

from chairside.record.context import DocumentContext

# A fictitious practice; the RPPS carries a valid Luhn check digit.
CONTEXT = {
    "practitioner": {"name": "Dr Claire Martin", "title": "Chirurgien-dentiste", "rpps": "10101234564",
                     "email": "dr.martin@cabinet-republique.fr"},
    "clinic": {"name": "Cabinet dentaire de la République",
               "address": {"street": "12 rue de la République", "postcode": "69002", "city": "Lyon"},
               "phone": "04 78 00 00 01", "email": "contact@cabinet-republique.fr"},
    "patient": {"last_name": "Durand", "first_name": "Jeanne", "sex": "F", "birth_date": "1984-03-07",
                "weight_kg": 62, "code": "P-2026-0042"},
    "lab": {"name": "Laboratoire Prothèse Rhône", "address": {"street": "5 quai Perrache", "postcode": "69002", "city": "Lyon"},
            "phone": "04 72 00 00 02"},
}


def context(**overrides) -> DocumentContext:
    data = {**CONTEXT, **overrides}
    return DocumentContext.model_validate(data)
