"""Initial medical certificates and consultation reports from dictated lines.

Each dictated line is filed under one section of its document (a
certificate's circumstances, findings, care, reservations, ITT; a report's
motif, history, examination, diagnosis, anaesthesia, acts, prescriptions,
instructions, next appointment) by the words it uses, and gives the details
that section needs: teeth and surfaces, the ITT in days, the anaesthetic's
product, concentration and cartridges, the next appointment's date.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from text_to_num import alpha2digit

from ..record.kinds import CERTIFICATE_SECTIONS, REPORT_SECTIONS
from .commands import fold
from .normalize import find_surfaces, find_teeth, relative_date, spoken_numbers
from .prescription import find_drug


# Folded words that file a line under a section, tried in this order.  A
# heading said first ("diagnostic : ...", "motif ...") wins over the rest.
_HEADINGS = {
    "motive": r"motif|consulte pour|vient pour|se presente pour|reason for",
    "history": r"antecedents?|allergi\w*|traitement en cours|medical history|history",
    "examination": r"examen|a l examen|on examination|examination",
    "diagnosis": r"diagnostic|diagnosis",
    "anaesthesia": r"anesth?esie|anaesthesia|anesthesia",  # "anestésie": the h is silent, often not written
    "prescriptions": r"prescription|prescrit|ordonnance",
    "instructions": r"consignes?|conseils?|instructions?|recommandations?",
    "next_appointment": r"prochain rendez vous|prochaine seance|prochain rdv|next appointment|a revoir|revoir dans|controle dans",
    "itt": r"itt|i t t|incapacite totale de travail",
    "reservations": r"sous reserve|reserves?|sequelles?|pronostic",
    "circumstances": r"(?:le |la )?patient e? (?:declare|dit|rapporte|affirme|indique|explique)|selon (?:ses|les) dires|aurait|victime|agression|agresse|coup de poing|coup de pied|chute|tombee?s?|accident|rixe|the patient (?:states|says|reports)",
}
_ACTS = (r"extraction|avulsion|composite|amalgame|inlay|onlay|couronne|detartrage|surfacage|pulpotomie|pulpectomie|"
         r"devitalisation|traitement (?:endodontique|canalaire|de racine)|obturation|suture|incision|drainage|curetage|"
         r"scellement|radiographie|radio|panoramique|retro alveolaire|empreinte|pose|depose|collage|contention|attelle|"
         r"reimplantation|reimplante|polissage|fluoration|biopsie|filling|extracted|crown|scaling|splint|root canal")
_FINDINGS = (r"fracture|fissure|felure|luxation|expulsion|mobilite|mobile|plaie|hematome|oedeme|contusion|ecchymose|"
             r"douleur|exposition pulpaire|egression|intrusion|ingression|avulsee|saignement|lesion|dermabrasion|"
             r"carie|abces|tumefaction|swelling|wound|bruise|mobility")
_CARE = r"soins?|realise|radiographie|contention|attelle|suture|reimplant|prescription|traitement|care given|treated"
_DIAGNOSES = r"pulpite|parodontite|gingivite|necrose|abces|cellulite|pericoronarite|alveolite|desmodontite|granulome|kyste"

# Certificates: the declared facts are reported, not asserted.
_ASSERTED = [
    (r"\b(il|elle|le patient|la patiente) a été\b", r"\1 aurait été"),
    (r"\b(il|elle|le patient|la patiente) a (reçu|subi|chuté|pris)\b", r"\1 aurait \2"),
    (r"\b(il|elle|le patient|la patiente) s'est\b", r"\1 se serait"),
    (r"\b(il|elle|le patient|la patiente) est (tombée?|tombé)\b", r"\1 serait \2"),
]
_REPORTED = re.compile(r"\b(déclare|dit|rapporte|affirme|indique|explique|selon|aurait|serait|se serait)\b", re.IGNORECASE)

_ITT = re.compile(r"\b(?:ITT|I\.?\s?T\.?\s?T\.?|incapacité totale de travail)\b\D{0,30}?(\d+)\s*(?:jours?|j\b|days?)", re.IGNORECASE)
_NO_ITT = re.compile(r"\b(?:pas d'|sans |aucune |néant )(?:ITT|incapacité)|\bITT\s*(?:nulle|néant|0)\b", re.IGNORECASE)

ANAESTHETICS = [  # (said, folded → written)
    ("articaine", "articaïne"), ("septanest", "articaïne (Septanest)"), ("ubistesin", "articaïne (Ubistesin)"),
    ("alphacaine", "articaïne (Alphacaïne)"), ("lidocaine", "lidocaïne"), ("xylocaine", "lidocaïne (Xylocaïne)"),
    ("mepivacaine", "mépivacaïne"), ("scandonest", "mépivacaïne (Scandonest)"), ("prilocaine", "prilocaïne"),
    ("bupivacaine", "bupivacaïne"),
]
TECHNIQUES = [
    ("para apical", "para-apicale"), ("paraapical", "para-apicale"), ("infiltration", "para-apicale"),
    ("loco regional", "locorégionale"), ("locoregional", "locorégionale"), ("tronculaire", "locorégionale (tronculaire)"),
    ("intraligamentaire", "intraligamentaire"), ("intra ligamentaire", "intraligamentaire"),
    ("intraseptal", "intraseptale"), ("intra septal", "intraseptale"), ("intraosseuse", "intraosseuse"),
    ("topique", "topique"), ("de contact", "de contact"),
]
# "adrénalinée au cent millième" (after number normalization: "au 100000ème")
_ADRENALINE = re.compile(r"\b(?:adr[ée]nalin[ée]e?|[ée]pin[ée]phrin[ée]e?)\b\D{0,12}?(?:au|à|1/)\s*(\d{5,6})\s*(?:ème|e|millième)?", re.IGNORECASE)
_CARTRIDGES = re.compile(r"\b(\d+(?:[.,]5)?)\s*(?:cartouches?|carpules?|cartridges?)\b", re.IGNORECASE)


def as_declared(text: str) -> str:
    """Declared circumstances in reported wording: what the patient says,
    not what the practitioner saw ("le patient a reçu" → "le patient aurait reçu")."""
    if _REPORTED.search(text):
        return text
    for pattern, repl in _ASSERTED:
        text = re.sub(pattern, repl, text, flags=re.IGNORECASE)
    if _REPORTED.search(text):
        return text
    return f"Selon ses dires : {text[:1].lower()}{text[1:]}"


def _without_heading(text: str, section: str | None) -> str:
    """"Motif : douleur sur la 36" → "douleur sur la 36" (the section title says it)."""
    if section not in ("motive", "history", "examination", "diagnosis", "instructions"):
        return ""
    m = re.match(r"^\s*(?:motif|ant[ée]c[ée]dents?|examen(?: clinique)?|diagnostic|consignes?|reason for visit|"
                 r"medical history|examination|diagnosis|instructions?)\s*(?:[:,-]\s*|\s+)", text, re.IGNORECASE)
    if not m or not text[m.end():].strip():
        return ""
    rest = text[m.end():]
    return rest[:1].upper() + rest[1:]


def _classify(folded: str, allowed: tuple[str, ...]) -> str | None:
    for section, words in _HEADINGS.items():
        if section in allowed and re.match(rf"(?:{words})\b", folded):
            return section
    for section, words in _HEADINGS.items():
        if section in allowed and re.search(rf"\b(?:{words})\b", folded):
            return section
    return None


def _by_words(folded: str, rules: list[tuple[str, str]]) -> str | None:
    """The section of the first rule whose words the line uses."""
    return next((section for words, section in rules if re.search(rf"\b(?:{words})", folded)), None)


def _teeth_and_surfaces(text: str) -> dict:
    details: dict = {}
    teeth = [t.number for t in find_teeth(text) if t.valid]
    if teeth:
        details["teeth"] = teeth
        if surfaces := find_surfaces(text):
            details["surfaces"] = surfaces
    return details


def _days_ago(folded: str, today: date) -> date | None:
    if re.search(r"\bavant hier\b|\bday before yesterday\b", folded):
        return today - timedelta(days=2)
    if re.search(r"\bhier\b|\byesterday\b", folded):
        return today - timedelta(days=1)
    if re.search(r"\bce (?:matin|soir|midi)\b|aujourd hui|\btoday\b|\bthis (?:morning|evening)\b", folded):
        return today
    return None


def parse_certificate_line(dictated: str, today: date, language: str = "fr") -> dict:
    """One line of an initial medical certificate: its section, its text as
    it will be printed, document fields (ITT, date of the facts) and details."""
    text = spoken_numbers(dictated.strip(), language).strip()
    folded = fold(text)
    section = _classify(folded, CERTIFICATE_SECTIONS)
    fields: dict = {}
    counted = alpha2digit(text, language, threshold=0)  # "de deux jours" → "de 2 jours"
    if m := _ITT.search(counted):
        fields["itt_days"] = int(m[1])
        section = "itt"
    elif _NO_ITT.search(text):
        fields["itt_days"] = 0
        section = "itt"
    if section is None:
        section = _by_words(folded, [(_FINDINGS, "findings"), (_CARE, "care")]) or "observations"
    if section == "circumstances":
        text = as_declared(text)
        if (when := _days_ago(folded, today)) is not None:
            fields["facts_date"] = when.isoformat()
    if section == "itt" and "reserve" in folded:
        fields["itt_reservation"] = True
    return {"section": section, "text": text, "fields": fields, "details": _teeth_and_surfaces(text)}


def parse_report_line(dictated: str, today: date, language: str = "fr") -> dict:
    """One line of a consultation report: its section, details and fields."""
    text = spoken_numbers(dictated.strip(), language).strip()
    folded = fold(text)
    counted = alpha2digit(text, language, threshold=0)  # "deux cartouches" → "2 cartouches"
    section = _classify(folded, REPORT_SECTIONS)
    details = _teeth_and_surfaces(text)
    fields: dict = {}
    if section in (None, "anaesthesia") and any(re.search(rf"\b{said}\b", folded) for said, _ in ANAESTHETICS):
        section = "anaesthesia"
    if section is None and find_drug(text) is not None:
        section = "prescriptions"
    if section is None:
        section = (_by_words(folded, [(_ACTS, "acts"), (_DIAGNOSES, "diagnosis"), (_FINDINGS, "examination")])
                   or ("examination" if details else "observations"))
    if section == "anaesthesia":
        for said, written in ANAESTHETICS:
            if re.search(rf"\b{said}\b", folded):
                details["product"] = written
                break
        for said, written in TECHNIQUES:
            if said in folded:
                details["technique"] = written
                break
        if m := _ADRENALINE.search(counted):
            details["concentration"] = f"adrénaline 1/{int(m[1]):,}".replace(",", "\u202f")
        elif re.search(r"sans (?:vaso|adrenaline)|without (?:epinephrine|adrenaline)", folded):
            details["concentration"] = "sans vasoconstricteur"
        if m := _CARTRIDGES.search(counted):
            details["cartridges"] = float(m[1].replace(",", ".")) if "," in m[1] or "." in m[1] else int(m[1])
    elif section == "acts":
        act = re.search(rf"\b(?:{_ACTS})\w*", folded)
        if act:
            details["act"] = act[0]
    elif section == "prescriptions":
        if (drug := find_drug(text)) is not None:
            details["drug"] = drug
    elif section == "next_appointment":
        if (when := relative_date(text, today, language)) is not None:
            fields["next_appointment"] = when.isoformat()
        purpose = re.search(r"\b(?:pour|for)\s+(.+?)[.\s]*$", text, re.IGNORECASE)
        if purpose:
            fields["next_appointment_purpose"] = purpose[1]
    return {"section": section, "text": text, "body": _without_heading(text, section), "fields": fields, "details": details}
