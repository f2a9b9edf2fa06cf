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
from datetime import date, datetime, time, timedelta

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
    "diagnosis": r"diagnosti(?:c|que)|diagnosis",
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

# Certificates: the declared facts are reported, not asserted.  Any verb in
# the passé composé after its subject goes to the conditional ("il a glissé"
# → "il aurait glissé", "elle s'est cognée" → "elle se serait cognée"), and
# a line that names nobody's word gets "Selon ses dires, " before it.
_SUBJECT = r"(?:il|elle|on|ils|elles|le patient|la patiente|l['’]enfant|le jeune|la jeune|lui|leur)"
_AUXILIARY = re.compile(
    rf"\b({_SUBJECT}\s+|l['’]|lui\s+|leur\s+)((?:ne\s+|n['’])?(?:(?:lui|leur|le|la|les|y|en|me|te|nous|vous)\s+|[lsmt]['’])?)"
    r"(a|ont|est|sont)\b", re.IGNORECASE)
_CONDITIONAL = {"a": "aurait", "ont": "auraient", "est": "serait", "sont": "seraient"}
_REPORTED = re.compile(r"\b(?:declare|dit|disent|rapporte|affirme|indique|explique|relate|raconte|signale|selon|d apres)\b")
_KEEP_CAPITAL = re.compile(r"^(?:Madame|Monsieur|Mme|M\.|Mlle|[A-Z]{2,}|[A-Z]\.)")

_ITT_WORDS = r"(?:ITT|I\.?\s?T\.?\s?T\.?|incapacit[ée] totale de travail)"
# "ITT inférieure à 8 jours", "ITT de moins de 8 jours", "ITT de 8 jours ou plus"
_ITT = re.compile(rf"\b{_ITT_WORDS}(?P<between>\D{{0,40}}?)(?P<days>\d+)\s*(?:jours?|j\b|days?)(?P<after>[^.;\d]{{0,20}})",
                  re.IGNORECASE)
# "moins de 8 jours d'ITT"
_DAYS_OF_ITT = re.compile(rf"(?P<between>[^.;\d]{{0,30}}?)(?P<days>\d+)\s*(?:jours?|j)\s+d['’e ]\s*{_ITT_WORDS}(?P<after>)",
                          re.IGNORECASE)
_NO_ITT = re.compile(r"\b(?:pas d['’]\s?|sans |aucune |néant )(?:ITT|I\.T\.T|incapacité)|\bITT\s*(?:nulle|néant|0)\b", re.IGNORECASE)
# The ITT's qualifier, from the folded words before the number (tried in
# this order: "inférieure ou égale à" before "inférieure à", "pas moins de"
# before "moins de"), then after it ("8 jours ou plus").
ITT_QUALIFIERS = ("exact", "less_than", "more_than", "at_least", "at_most")
_QUALIFIED_BEFORE = [
    ("at_most", r"inferieure? ou egale? a|au plus|au maximum|n excedant pas|n excede pas|ne depassant pas|ne depasse pas|"
                r"pas plus de|jusqu a|at most|up to|not exceeding"),
    ("at_least", r"superieure? ou egale? a|au moins|au minimum|pas moins de|at least"),
    ("less_than", r"inferieure? a|moins de|en dessous de|less than|under|below"),
    ("more_than", r"superieure? a|plus de|au dela de|excedant|more than|over|above"),
]
_QUALIFIED_AFTER = [("at_least", r"(?:ou|et) plus|au moins|au minimum|or more"), ("at_most", r"ou moins|au plus|au maximum|or less")]


def itt_qualifier(before: str, after: str = "") -> str:
    """ "exact", "less_than", "more_than", "at_least" or "at_most", from the
    words said around the ITT's number."""
    folded_before, folded_after = fold(before), fold(after)
    for qualifier, words in _QUALIFIED_BEFORE:
        if re.search(rf"\b(?:{words})$", folded_before) or re.search(rf"\b(?:{words})\b", folded_before):
            return qualifier
    for qualifier, words in _QUALIFIED_AFTER:
        if re.match(rf"(?:{words})\b", folded_after):
            return qualifier
    return "exact"


# The examination: "examiné ce jour à dix heures trente", "examiné le 28 novembre à 18 h".
_EXAMINED = re.compile(r"\b(?:examinee?s?|vue? en consultation|examined|seen)\b")
_TIME = re.compile(r"\b(?:a|at|vers)\s+(\d{1,2})\s*(?:h|heures?)\s*(\d{1,2})?\b|\b(?:a|at)\s+(midi|minuit)\b")
_DAY_MONTH = re.compile(r"\b(?:le\s+)?(\d{1,2}|1er|premier)\s+(janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|"
                        r"octobre|novembre|decembre)(?:\s+(\d{4}))?\b")
_MONTHS = ["janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre", "decembre"]
# Whom a minor came with: "accompagné de sa mère, Madame Durand", "en présence de son père".
_NAME = r"(?:Madame|Monsieur|Mme|M\.|Mrs|Mr)\s+(?-i:[A-ZÀ-Ý])[\w'’-]+(?:\s+(?-i:[A-ZÀ-Ý])[\w'’-]+)?"  # names said with capitals
_ACCOMPANIED = re.compile(
    r"\b(?:accompagn[ée]e?s?\s+(?:de|par)|en pr[ée]sence de|accompanied by)\s+"
    rf"(?P<who>(?:(?:sa|son|ses|leur|un|une|la|le|l['’]|his|her|their)\s*[\w'’-]+(?:\s+(?!et\b|qui\b|pour\b)[a-zà-ÿ'’-]+)?"
    rf"(?:,?\s+{_NAME})?)|{_NAME})", re.IGNORECASE)


def examined_at(folded: str, today: date) -> str | None:
    """When the patient was examined, as said: an ISO date and time
    ("2026-11-28T18:00"), or an ISO date when no time was said."""
    if not _EXAMINED.search(folded):
        return None
    day: date | None = None
    if m := _DAY_MONTH.search(folded):
        number = 1 if m[1] in ("1er", "premier") else int(m[1])
        year = int(m[3]) if m[3] else today.year
        try:
            day = date(year, _MONTHS.index(m[2]) + 1, number)
        except ValueError:
            day = None
        if day is not None and not m[3] and day > today:
            day = day.replace(year=year - 1)  # "le 28 décembre" said in January
    if day is None:
        day = _days_ago(folded, today) or (today if re.search(r"\bce jour\b|\bce (?:matin|soir|midi)\b", folded) else None)
    when = _TIME.search(folded)
    if when is None:
        return day.isoformat() if day else None
    if when[3]:
        hour, minute = (12, 0) if when[3] == "midi" else (0, 0)
    else:
        hour, minute = int(when[1]), int(when[2] or 0)
        if re.search(rf"{when[1]}\s*(?:h|heures?)\s*et demie", folded):
            minute = 30
        elif re.search(rf"{when[1]}\s*(?:h|heures?)\s*et quart", folded):
            minute = 15
    if hour > 23 or minute > 59:
        return day.isoformat() if day else None
    return datetime.combine(day or today, time(hour, minute)).isoformat(timespec="minutes")


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
    """Declared circumstances in reported speech, whatever the verb: what the
    patient says, not what the practitioner saw ("le patient a glissé" →
    "Selon ses dires, le patient aurait glissé")."""

    def conditional(m: re.Match) -> str:
        pronouns, verb = m[2], _CONDITIONAL[m[3].lower()]
        if re.fullmatch(r"s['’]", pronouns, re.IGNORECASE):
            pronouns = "se "
        return f"{m[1]}{pronouns}{verb}"

    text = _AUXILIARY.sub(conditional, text)
    if _REPORTED.search(fold(text)):
        return text
    if not _KEEP_CAPITAL.match(text):
        text = text[:1].lower() + text[1:]
    return f"Selon ses dires, {text}"


def _without_heading(text: str, section: str | None) -> str:
    """"Motif : douleur sur la 36" → "douleur sur la 36" (the section title says it)."""
    if section not in ("motive", "history", "examination", "diagnosis", "instructions"):
        return ""
    m = re.match(r"^\s*(?:motif|ant[ée]c[ée]dents?|examen(?: clinique)?|diagnosti(?:c|que)|consignes?|reason for visit|"
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


# Certificates: what a line begins with files it first.  A finding said
# first is a finding even when the cause follows ("Fracture de la 21 suite à
# une chute"); findings come only from the findings' words.
_CERTIFICATE_OPENS = [
    (r"circonstances?|(?:le |la )?patiente? (?:declare|dit|rapporte|affirme|indique|explique|relate|raconte)|"
     r"selon (?:ses|les) dires|d apres (?:le |la )?patiente?", "circumstances"),
    (r"constatations?|on (?:constate|note|observe)|je (?:constate|note|observe)|a l examen|examen|(?:(?:il|elle|(?:le |la )?patiente?) )?presente", "findings"),
    (r"soins?(?: realises?)?|traitement", "care"),
    (r"reserves?|sous reserve", "reservations"),
    (rf"(?:{_FINDINGS})", "findings"),
]


def finding_or_care(folded: str) -> str | None:
    """ "findings" or "care" for a certificate's line of either (folded), by its words."""
    return _by_words(folded, [(_FINDINGS, "findings"), (_CARE, "care")])


def parse_certificate_line(dictated: str, today: date, language: str = "fr", previous: str | None = None) -> dict:
    """One line of an initial medical certificate: its section, its text as
    it will be printed, document fields (ITT and its qualifier, date of the
    facts, time of the examination, who accompanied the patient) and details.
    ``previous``: the section of the line before, which a line with no
    section words of its own goes on with when it was the circumstances."""
    text = spoken_numbers(dictated.strip(), language).strip()
    folded = fold(text)
    fields: dict = {}
    counted = alpha2digit(text, language, threshold=0)  # "de deux jours" → "de 2 jours"
    section: str | None = None
    if m := (_ITT.search(counted) or _DAYS_OF_ITT.search(counted)):
        fields["itt_days"] = int(m["days"])
        fields["itt_qualifier"] = itt_qualifier(m["between"], m["after"])
        section = "itt"
    elif _NO_ITT.search(text):
        fields["itt_days"] = 0
        fields["itt_qualifier"] = "exact"
        section = "itt"
    if section is None:
        if (when := examined_at(folded, today)) is not None:
            fields["examined_at"] = when
        if m := _ACCOMPANIED.search(text):
            fields["accompanied_by"] = m["who"].strip(" ,")
        section = _by_words(folded, [(rf"^(?:{words})\b", name) for words, name in _CERTIFICATE_OPENS])
    if section is None:
        section = _classify(folded, CERTIFICATE_SECTIONS)
    if section is None and fields:
        section = "statement"  # the examination's time, who came with the patient: printed in the opening sentence
    if section is None:
        section = finding_or_care(folded)
    if section is None and (_AUXILIARY.search(text) or _days_ago(folded, today) is not None):
        section = "circumstances"  # what happened to the patient, told in the past ("il a glissé hier soir")
    if section is None:
        section = "circumstances" if previous == "circumstances" else "observations"
    if section == "circumstances":
        heading = re.match(r"^\s*circonstances?(?: d[ée]clar[ée]es?)?\s*[:,.-]?\s*", text, re.IGNORECASE)
        if heading and text[heading.end():].strip():  # the section's title says it
            text = text[heading.end():]
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
