"""The document kinds, in one table: what each is called, printed as, and
numbered with, and the sections its lines are filed under."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DraftKind = Literal["prescription", "lab_order", "medical_certificate", "clinical_report"]

CERTIFICATE_SECTIONS = ("circumstances", "findings", "care", "reservations", "itt", "observations")
REPORT_SECTIONS = ("motive", "history", "examination", "diagnosis", "anaesthesia", "acts", "prescriptions",
                   "instructions", "next_appointment", "observations")

SECTION_TITLES = {
    "circumstances": "Circonstances déclarées", "findings": "Constatations", "care": "Soins réalisés",
    "reservations": "Réserves", "itt": "Incapacité totale de travail", "observations": "Observations",
    "motive": "Motif de consultation", "history": "Antécédents", "examination": "Examen clinique",
    "diagnosis": "Diagnostic", "anaesthesia": "Anesthésie", "acts": "Actes réalisés", "prescriptions": "Prescriptions",
    "instructions": "Consignes", "next_appointment": "Prochain rendez-vous",
}


@dataclass(frozen=True)
class Kind:
    """One kind of document.  ``title`` is printed on it and listed by the
    API; ``names`` are what the dictation calls it in its messages, by
    language ("Compte rendu ouvert"), and ``feminine`` gives French agreement
    ("Ordonnance validée", "Compte rendu validé")."""

    kind: DraftKind
    title: str
    prefix: str  # of the printed number: "ORD-20261129-1A2B3C4D"
    names: dict[str, str]
    feminine: bool
    sections: tuple[str, ...] = ()  # where lines are filed (certificates and reports)

    def name(self, language: str) -> str:
        return self.names.get(language, self.names["fr"])


KINDS: dict[str, Kind] = {k.kind: k for k in (
    Kind("prescription", "Ordonnance", "ORD", {"fr": "Ordonnance", "en": "Prescription"}, feminine=True),
    Kind("lab_order", "Fiche de laboratoire", "LAB", {"fr": "Fiche de laboratoire", "en": "Lab order"}, feminine=True),
    Kind("medical_certificate", "Certificat médical initial", "CMI",
         {"fr": "Certificat médical initial", "en": "Medical certificate"}, feminine=False, sections=CERTIFICATE_SECTIONS),
    Kind("clinical_report", "Compte rendu de consultation", "CR", {"fr": "Compte rendu", "en": "Clinical report"},
         feminine=False, sections=REPORT_SECTIONS),
)}


def title(kind: str) -> str:
    """The printed title of a kind of document."""
    return KINDS[kind].title


def document_number(kind: str, document_id: str, issued) -> str:
    """The number printed on a document: type, date, first 8 hex digits of
    its id ("ORD-20261129-1A2B3C4D"); the QR code carries the whole id."""
    return f"{KINDS[kind].prefix}-{issued:%Y%m%d}-{document_id[:8].upper()}"
