"""What each document type must carry before it can be signed.

French rules for a dental practice (Code de la santé publique R.5132-3 for
prescriptions; the usual form of an initial medical certificate; what a
prosthesis lab needs).  :func:`missing` lists, in words for the
practitioner, whatever the draft or the session's context lacks; an empty
list means the document may be validated.  A preview is always possible.
"""

from __future__ import annotations

from datetime import date

from .context import DocumentContext
from .draft import CertificateLine, Draft, LabLine, PrescriptionLine

SHADELESS_WORK = {"gouttière", "stellite"}  # no tooth shade to give
SHADELESS_MATERIALS = {"métal", "titane"}
PEDIATRIC_AGE = 15  # under this age the weight is printed on a prescription (doses depend on it)


def _prescriber(ctx: DocumentContext) -> list[str]:
    p, c = ctx.practitioner, ctx.clinic
    out = []
    if not p.name:
        out.append("nom du praticien")
    if not p.title:
        out.append("qualité du praticien")
    if not p.rpps:
        out.append("numéro RPPS")
    if not c.address.complete:
        out.append("adresse professionnelle (rue, code postal, ville)")
    if not (c.phone or p.phone):
        out.append("téléphone")
    if not (c.email or p.email):
        out.append("adresse e-mail")
    return out


def _patient(ctx: DocumentContext, *, sex: bool = True) -> list[str]:
    pt = ctx.patient
    out = []
    if not (pt.last_name and pt.first_name):
        out.append("nom et prénom du patient")
    if sex and not pt.sex:
        out.append("sexe du patient")
    if not pt.birth_date:
        out.append("date de naissance du patient")
    return out


def missing(draft: Draft, ctx: DocumentContext, today: date) -> list[str]:
    """The mentions a document still lacks (empty: it can be validated)."""
    kind = draft.kind
    fields = draft.fields
    lines = draft.lines
    sections = {line.section for line in lines if isinstance(line, CertificateLine)}
    if kind == "prescription":
        out = _prescriber(ctx) + _patient(ctx)
        age = ctx.patient.age_on(today)
        if age is not None and age < PEDIATRIC_AGE and not ctx.patient.weight_kg:
            out.append(f"poids du patient (moins de {PEDIATRIC_AGE} ans)")
        if not lines:
            out.append("au moins une ligne de prescription")
        for number, line in enumerate(lines, start=1):
            if not isinstance(line, PrescriptionLine):
                continue
            # R.5132-3: the duration of the treatment, or the number of boxes
            if line.duration_days is None and line.boxes is None:
                out.append(f"durée ou nombre de boîtes de la ligne {number} ({line.drug})")
            if line.non_substitutable == "?":  # the reason is part of the mention (MTE, EFG, CIF)
                out.append(f"justification du « non substituable » de la ligne {number} (MTE, EFG ou CIF)")
        return out
    if kind == "medical_certificate":
        out = _prescriber(ctx) + _patient(ctx)
        if "circumstances" not in sections:
            out.append("circonstances déclarées")
        if "findings" not in sections:
            out.append("constatations")
        if "itt_days" not in fields:
            out.append("durée de l'ITT")
        # the examination's date: said, or the start of the dictation (a
        # draft the dictation made always has it); never the validation's
        if not (fields.get("examined_at") or fields.get("dictation_started_at")):
            out.append("date de l'examen")
        return out
    if kind == "lab_order":
        p = ctx.practitioner
        out = [] if p.name else ["nom du praticien"]
        if not (ctx.clinic.address.complete and (ctx.clinic.phone or p.phone)):
            out.append("adresse et téléphone du cabinet")
        if not ctx.patient.code:
            out.append("code patient")
        if not ctx.lab.name:
            out.append("laboratoire")
        items = LabLine.items_of(lines)
        if not items:  # what a first item needs
            out += ["dents (FDI)", "type de travail", "matériau", "teinte"]
        for number, item in enumerate(items, start=1):
            shadeless = item.get("work_type") in SHADELESS_WORK or item.get("material") in SHADELESS_MATERIALS
            lacks = [label for key, label in (("teeth", "dents (FDI)"), ("work_type", "type de travail"), ("material", "matériau"))
                     if not item.get(key)]
            if not shadeless and not any(item.get(k) for k in ("shade", "shade_cervical", "shade_incisal")):
                lacks.append("teinte")
            if lacks:
                named = " ".join(filter(None, [item.get("work_type"), ", ".join(map(str, item.get("teeth", [])))]))
                where = f"élément {number}{f' ({named})' if named else ''}" if len(items) > 1 else ""
                out += [f"{label} de l'{where}" if where else label for label in lacks]
        if not fields.get("delivery_date"):
            out.append("date de livraison")
        return out
    if kind == "clinical_report":
        out = _prescriber(ctx) + _patient(ctx, sex=False)
        if not lines:
            out.append("au moins une ligne")
        return out
    raise ValueError(f"unknown document kind {kind!r}")
