"""Drafts to A4 PDFs: HTML templates + print CSS, rendered by WeasyPrint.

:func:`render_pdf` takes a draft (:class:`~chairside.record.draft.Draft`), the session's
context and the issue time, and returns the PDF.  Everything printed comes
from there: nothing is fetched (no network, no external resources); the QR
code is an inline SVG of the document's id.  A preview carries a watermark
and "à compléter" where a mention is still missing.
"""

from __future__ import annotations

import re
import threading
import uuid
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import jinja2
import segno
from markupsafe import Markup, escape
from num2words import num2words

from ..record.context import DocumentContext
from ..record.draft import CertificateLine, Draft, LabLine, PrescriptionLine, ReportLine
from ..record.kinds import KINDS, SECTION_TITLES, document_number, title
from ..record.mentions import SHADELESS_MATERIALS, SHADELESS_WORK
from .fonts import font_face_css, trimmed_faces

TEMPLATES = Path(__file__).with_name("templates")
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]
SEXES = {"F": "Féminin", "M": "Masculin", "X": "Non précisé"}


def fr_date(day: date) -> str:
    return f"{'1er' if day.day == 1 else day.day}\u00a0{MONTHS[day.month - 1]} {day.year}"


def document_urn(document_id: str) -> str:
    return uuid.UUID(hex=document_id).urn


_ITT_AS_SAID = {"exact": "est fixée à", "less_than": "est inférieure à", "more_than": "est supérieure à",
                "at_least": "est supérieure ou égale à", "at_most": "est inférieure ou égale à"}
MAJORITY = 18  # under this age a certificate says who came with the patient


def itt_in_words(days: int, qualifier: str = "exact") -> str:
    """The ITT as said ("inférieure à", "supérieure à"…: the eight-day
    threshold has legal weight), in letters and figures, with its réserve."""
    if days == 0 and qualifier in ("exact", "at_most"):
        return "Pas d'incapacité totale de travail (ITT : néant), sous réserve de complications."
    unit = "jour" if days == 1 else "jours"
    said = _ITT_AS_SAID.get(qualifier, _ITT_AS_SAID["exact"])
    return (f"L'incapacité totale de travail (ITT) {said} {num2words(days, lang='fr')} ({days}) {unit}, "
            "sous réserve de complications.")


def _clock(moment: datetime) -> str:
    return f"{moment.hour}\u00a0h\u00a0{moment:%M}"  # "9 h 40", as French prints it


def examination(fields: dict) -> tuple[date | None, str]:
    """When the patient was examined: the date and time said ("examiné le 28
    novembre à 18 h"), else when the dictation began; never the validation's
    time.  A date said without a time takes the dictation's time when it is
    the same day, else none."""
    started = datetime.fromisoformat(fields["dictation_started_at"]) if fields.get("dictation_started_at") else None
    said = fields.get("examined_at")
    if said and "T" in said:
        moment = datetime.fromisoformat(said)
        return moment.date(), _clock(moment)
    if said:
        day = date.fromisoformat(said)
        return day, _clock(started) if started and started.date() == day else ""
    if started:
        return started.date(), _clock(started)
    return None, ""


def examination_moment(fields: dict) -> str | None:
    """The examination as a FHIR dateTime: the date and time (with the
    server's UTC offset: the dictation's clock is local) or the date alone."""
    started = datetime.fromisoformat(fields["dictation_started_at"]) if fields.get("dictation_started_at") else None
    said = fields.get("examined_at")
    if said and "T" in said:
        return datetime.fromisoformat(said).astimezone().isoformat(timespec="seconds")
    if said:
        return started.astimezone().isoformat(timespec="seconds") if started and started.date().isoformat() == said else said
    return started.astimezone().isoformat(timespec="seconds") if started else None


def _missing(what: str) -> Markup:
    return Markup('<span class="missing">') + escape(what) + Markup("</span>")


def _qr(content: str) -> str:
    return segno.make(content, error="m").svg_data_uri(border=0, dark="#111827")


def _teeth(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


_LEADING_DRUG = re.compile(r"^.*?\d+(?:[.,]\d+)?\s*(?:mg|g|µg|%)(?=\W|$)[\s,;:.-]*", re.IGNORECASE)


def _prescription_lines(draft: Draft) -> list[dict]:
    out = []
    for line in draft.lines:
        assert isinstance(line, PrescriptionLine)
        if line.in_formulary:
            name = line.drug[:1].upper() + line.drug[1:]
            if line.strength:
                name += f" {line.strength}"
            if line.form:
                name += f", {line.form}"
            # what follows the drug and its strength, as dictated: the posology
            posology = _LEADING_DRUG.sub("", line.text, count=1) if line.strength else line.text
            if posology == line.text and posology.lower().startswith(line.drug.split("/")[0][:5].lower()):
                posology = posology.split(" ", 1)[1] if " " in posology else ""
        else:
            name, posology = line.text, ""
        for words in line.apart:  # printed on their own ("Non substituable (MTE)" before the name)
            posology = posology.replace(words, "")
        posology = re.sub(r"\s*,(\s*,)+", ",", re.sub(r"\s{2,}", " ", posology))
        out.append({"name": name, "posology": posology.strip(" ,;.") + ("." if posology.strip(" ,;.") else ""),
                    "brand": line.brand, "substitution": _substitution(line),
                    "in_letters": _in_letters(line) if line.secure else "", "renewals": _renewals(line)})
    return out


def _substitution(line: PrescriptionLine) -> str:
    """ "Non substituable (MTE)", printed before the drug's name as the rule requires."""
    if line.non_substitutable is None:
        return ""
    return "Non substituable" + ("" if line.non_substitutable == "?" else f" ({line.non_substitutable})")


def _renewals(line: PrescriptionLine) -> str:
    if not line.renewals:
        return ""
    times = "une" if line.renewals == 1 else num2words(line.renewals, lang="fr")
    return f"À renouveler {times} ({line.renewals}) fois."


_FEMININE = ("gélule", "dose", "ampoule", "cuillère", "pulvérisation", "boîte", "unité", "fois")


def _words(value: float, noun: str = "") -> str:
    """A number in French words, agreeing with the noun that follows ("une gélule", "un comprimé")."""
    feminine = noun.startswith(_FEMININE)
    if value == 0.5:
        return "une demie" if feminine else "un demi"
    if value == 1:
        return "une" if feminine else "un"
    return num2words(int(value) if float(value).is_integer() else value, lang="fr")


_UNIT_WORDS = {"mg": "milligrammes", "MUI": "millions d'unités internationales", "%": "pour cent", "ppm": "parties par million"}


def _in_letters(line: PrescriptionLine) -> str:
    """Dose, posology and duration written in letters (an ordonnance
    sécurisée): what was said and understood, nothing more."""
    parts = []
    if line.strength_mg is not None and line.strength:
        unit = line.strength.split()[-1]
        amount = line.strength_mg if unit not in ("g", "µg") else float(line.strength.split()[0].replace(",", "."))
        unit_words = _UNIT_WORDS.get(unit, {"g": "grammes", "µg": "microgrammes"}.get(unit, unit))
        if amount <= 1 and unit_words.endswith("mes"):  # "un gramme", "un demi-milligramme"
            unit_words = unit_words[:-1]
        parts.append(f"dosage : {_words(amount)} {unit_words}")
    if line.units_per_intake is not None:
        form = line.form or "unité"
        plural = "s" if line.units_per_intake > 1 and not form.endswith("s") else ""
        parts.append(f"{_words(line.units_per_intake, form)} {form}{plural} par prise")
    if line.intakes_per_day is not None:
        parts.append(f"{_words(line.intakes_per_day, 'fois')} fois par jour")
    if line.duration_days is not None:
        parts.append(f"pendant {_words(line.duration_days)} jour{'s' if line.duration_days > 1 else ''}")
    if line.boxes is not None:
        parts.append(f"{_words(line.boxes, 'boîte')} boîte{'s' if line.boxes > 1 else ''}")
    text = ", ".join(parts)
    return text[:1].upper() + text[1:] + "." if text else ""


def _sections(draft: Draft, skip: tuple[str, ...] = ()) -> list[dict]:
    """A certificate's or a report's lines under their sections, in the kind's order."""
    grouped: dict[str, list[dict]] = {}
    for line in draft.lines:
        assert isinstance(line, CertificateLine)
        section = line.section
        if section in skip:
            continue
        details = line.details
        extra = ", ".join(str(details[k]) for k in ("product", "concentration") if details.get(k))
        if details.get("cartridges"):
            extra += f"{', ' if extra else ''}{details['cartridges']} cartouche{'s' if details['cartridges'] != 1 else ''}"
        if line.document_fields.get("next_appointment"):
            extra = fr_date(date.fromisoformat(line.document_fields["next_appointment"]))
        text = (line.body if isinstance(line, ReportLine) else "") or line.text
        if section == "anaesthesia" and details.get("product"):  # the structured form reads better than "au 100000ème"
            text, extra = ", ".join(filter(None, [details.get("technique", "").capitalize(), extra])), ""
        grouped.setdefault(section, []).append({"text": text, "teeth": _teeth(details.get("teeth") or []), "extra": extra})
    return [{"title": SECTION_TITLES[s], "lines": grouped[s]} for s in KINDS[draft.kind].sections if s in grouped]


def _shade(item: dict) -> str:
    """"A2 (VITA classical)", with the collar and incisal edge when said."""
    shade = item.get("shade", "")
    if shade and item.get("shade_guide"):
        shade += f" ({item['shade_guide']})"
    parts = [shade] if shade else []
    if item.get("shade_cervical"):
        parts.append(f"collet {item['shade_cervical']}")
    if item.get("shade_incisal"):
        parts.append(f"incisal {item['shade_incisal']}")
    return ", ".join(parts)


def _lab_items(draft: Draft) -> list[dict]:
    """The order's items as printed: teeth (pillars and pontics of a
    bridge), work, material, shade, notes."""
    out = []
    for item in LabLine.items_of(draft.lines):
        teeth = _teeth(item.get("teeth", []))
        if item.get("pillars"):
            teeth += f" (piliers {_teeth(item['pillars'])}; intermédiaires {_teeth(item.get('pontics', [])) or 'aucun'})"
        work = item.get("work_type", "")
        if work and item.get("elements"):
            work += f" {item['elements']} éléments"
        shadeless = item.get("work_type") in SHADELESS_WORK or item.get("material") in SHADELESS_MATERIALS
        out.append({"teeth": teeth, "work": work, "material": item.get("material", ""),
                    "shade": _shade(item) or ("—" if shadeless else ""), "notes": item.get("notes", "")})
    return out


def _lab_order(fields: dict, issued: date) -> list[tuple[str, str]]:
    """The order's own fields (its items are in :func:`_lab_items`)."""
    delivery = fr_date(date.fromisoformat(fields["delivery_date"])) if fields.get("delivery_date") else ""
    return [
        ("Livraison souhaitée", delivery), ("Teinte du moignon", fields.get("stump_shade", "—")),
        ("Éléments envoyés", ", ".join(fields.get("items_sent", [])) or "—"),
    ]


def view(draft: Draft, ctx: DocumentContext, issued_at: datetime, *, preview: bool) -> dict:
    """Everything a template prints, formatted."""
    kind = draft.kind
    issued = issued_at.date()
    pt = ctx.patient
    age = pt.age_on(issued)
    fields = draft.fields
    data = {
        "title": title(kind), "kind": kind, "preview": preview, "version": draft.version,
        "number": document_number(kind, draft.id, issued), "qr": _qr(f"{document_urn(draft.id)};v={draft.version}"),
        "practitioner": ctx.practitioner, "clinic": ctx.clinic, "patient": pt, "lab": ctx.lab,
        "phone": ctx.clinic.phone or ctx.practitioner.phone, "email": ctx.clinic.email or ctx.practitioner.email,
        "issued_date": fr_date(issued), "issued_time": f"{issued_at:%H}\u00a0h\u00a0{issued_at:%M}",
        "validated_at": None if preview else f"{fr_date(issued)} à {issued_at:%H}\u00a0h\u00a0{issued_at:%M}",
        "patient_name": pt.full_name if pt.last_name else "", "sex": SEXES.get(pt.sex or "", ""),
        "birth": f"{fr_date(pt.birth_date)} ({age} ans)" if pt.birth_date else "",
        "weight": f"{pt.weight_kg:g} kg" if pt.weight_kg and kind == "prescription" else "",  # where relevant
        "civility": {"F": "Madame", "M": "Monsieur"}.get(pt.sex or "", "Madame, Monsieur"),
        "born": {"F": "née", "M": "né"}.get(pt.sex or "", "né(e)"),
        "missing": _missing,
    }
    if kind == "prescription":
        data["lines"] = _prescription_lines(draft)
        data["secure"] = draft.secure
    elif kind == "medical_certificate":
        data["sections"] = _sections(draft, skip=("itt", "statement"))
        data["itt"] = itt_in_words(fields["itt_days"], fields.get("itt_qualifier", "exact")) if "itt_days" in fields else ""
        day, clock = examination(fields)
        data["examined_date"], data["examined_time"] = (fr_date(day) if day else ""), clock
        data["accompanied_by"] = fields.get("accompanied_by", "")
        examined_age = pt.age_on(day or issued)
        data["minor"] = examined_age is not None and examined_age < MAJORITY
        data["accompanied"] = {"F": "accompagnée", "M": "accompagné"}.get(pt.sex or "", "accompagné(e)")
        facts = fields.get("facts_date")
        data["facts_date"] = fr_date(date.fromisoformat(facts)) if facts else ""
    elif kind == "clinical_report":
        data["sections"] = _sections(draft)
    elif kind == "lab_order":
        data["order"] = _lab_order(fields, issued)
        data["items"] = _lab_items(draft)
        data["age"] = f"{age} ans" if age is not None else ""
        data["notes"] = [line.text if line.section == "notes" else line.notes
                         for line in draft.lines if isinstance(line, LabLine) and (line.section == "notes" or line.notes)]
        a = ctx.lab.address
        data["lab_address"] = f"{a.street}, {a.postcode} {a.city}, {a.country}" if a and a.complete else ""
    # What the practitioner must check before signing, listed on a preview only.
    data["checks"] = [(n, w) for n, line in enumerate(draft.lines, start=1) for w in line.warnings] if preview else []
    return data


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(draft: Draft, ctx: DocumentContext, issued_at: datetime, *, preview: bool = False) -> str:
    return _environment().get_template(f"{draft.kind}.html").render(**view(draft, ctx, issued_at, preview=preview))


_weasy_lock = threading.Lock()  # WeasyPrint is not documented as thread-safe: one render at a time


@lru_cache(maxsize=1)
def _styles():
    """The font configuration and the stylesheet (with the trimmed typeface), built once."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = font_face_css(trimmed_faces()) + "\n" + (TEMPLATES / "print.css").read_text()
    return fonts, weasyprint.CSS(string=css, font_config=fonts, url_fetcher=_fetcher())


def render_pdf(draft: Draft, ctx: DocumentContext, issued_at: datetime, *, preview: bool = False) -> bytes:
    """The document as PDF bytes (one A4 page or more)."""
    import weasyprint

    html = render_html(draft, ctx, issued_at, preview=preview)
    with _weasy_lock:
        fonts, stylesheet = _styles()
        document = weasyprint.HTML(string=html, base_url=str(TEMPLATES), url_fetcher=_fetcher())
        return document.write_pdf(stylesheets=[stylesheet], font_config=fonts)


@lru_cache(maxsize=1)
def _fetcher():
    """Documents load nothing from anywhere: only inline data (the QR code)."""
    import weasyprint

    return weasyprint.URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)


def warm_up() -> None:
    """Load WeasyPrint, fonts and the stylesheet once (the first render is slower)."""
    render_pdf(Draft(kind="prescription"), DocumentContext(), datetime(2026, 1, 1), preview=True)
