"""A draft and its lines, typed.

The dictation builds drafts, the journal and the room log keep them as JSON
(:meth:`Draft.as_dict`), documents print them.  Each kind of document has
its kind of line; a draft read back from JSON (a resumed session, a stored
version) gets the line type of its kind.  What a line holds beyond its type
(a lab line's ``fields``, a certificate line's ``details``) is free-form
data the dictation fills and the documents print.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, computed_field, model_validator

from .ids import new_id
from .kinds import DraftKind

Status = Literal["draft", "validated", "discarded"]
ACCUMULATED = {"items_sent"}  # fields that later lines add to instead of replacing


class Line(BaseModel):
    """One dictated line: its text (numbers normalized), the FDI teeth it
    names, and what the practitioner must check about it."""

    # Tolerant on reading: a version stored by an older release still loads.
    model_config = ConfigDict(extra="ignore")

    text: str
    teeth: list[int] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def document_fields(self) -> dict:
        """The document-level fields this line gives (none by default)."""
        return {}


Substitution = Literal["MTE", "EFG", "CIF", "?"]  # "non substituable" and its reason ("?": none said)


class PrescriptionLine(Line):
    drug: str  # DCI from the formulary (said exactly: DCI, brand or alias), or the words as said
    in_formulary: bool
    drug_id: str = ""  # the formulary's id of the drug, when in_formulary
    brand: str = ""  # the brand said ("Doliprane"), printed beside the DCI
    suggestion: str = ""  # a formulary DCI close to a name that is not one ("Vouliez-vous dire … ?")
    strength_mg: float | None = None  # of the first active ingredient, per unit (its unit: mg, or MUI)
    strength: str = ""  # as written on the prescription: "1 g", "400 mg", "0,12 %"
    # Amount of each active ingredient per unit (formulary ids), for the dose
    # checks: from the strength said, or the product's only strength.
    amounts: dict[str, float] = Field(default_factory=dict)
    form: str = ""
    units_per_intake: float | None = None
    intakes_per_day: float | None = None
    duration_days: int | None = None
    boxes: int | None = None  # "deux boîtes"
    renewals: int | None = None  # "à renouveler deux fois"
    as_needed: str = ""  # "douleur" for "si douleur" / "en cas de douleur" (FHIR asNeeded)
    non_substitutable: Substitution | None = None
    apart: list[str] = Field(default_factory=list)  # words of the text printed on their own line ("non substituable MTE", renewals)
    secure: bool = False  # codeine or tramadol: an ordonnance sécurisée
    notes: list[str] = Field(default_factory=list)
    # What each warning is about ("dose_max", "allergy", …), one per warning,
    # "" for a warning of no kind: the checks replace their own on re-check.
    warning_kinds: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def daily_mg(self) -> float | None:
        """The daily dose; one unit per intake when the number is not said
        ("paracétamol 1 g toutes les 4 heures" is 1 g per intake)."""
        if self.strength_mg is None or self.intakes_per_day is None:
            return None
        return self.strength_mg * (self.units_per_intake or 1.0) * self.intakes_per_day


class LabLine(Line):
    """A lab-order line.  An order is a list of items (issue 13): each work
    type said begins one (``items``: teeth, work_type, material, shade,
    shade_guide, shade_cervical, shade_incisal, pillars, pontics, elements,
    notes); what is said before any work type (``lead``) goes on with the
    item before.  ``fields`` keeps the flat fields of earlier releases (the
    line's first item and the order's: delivery_date, items_sent,
    stump_shade); ``notes`` holds the words of the line that belong to no
    item.  :meth:`items_of` gives the order's items from its lines."""

    ITEM_KEYS: ClassVar[tuple[str, ...]] = ("teeth", "work_type", "material", "shade", "shade_guide", "shade_cervical",
                                            "shade_incisal", "pillars", "pontics", "elements")

    section: Literal["order", "notes"] = "notes"  # "order": it gave fields of the order, or goes on with an item
    fields: dict[str, Any] = Field(default_factory=dict)  # work_type, material, shade, teeth, delivery_date…
    lead: dict[str, Any] = Field(default_factory=dict)  # item fields said before any work type (they go on with the item before)
    items: list[dict[str, Any]] = Field(default_factory=list)  # the items this line begins
    notes: str = ""  # words of an order line that belong to no item (a note for the lab)

    @model_validator(mode="after")
    def _items_of_an_older_line(self) -> "LabLine":
        """A line stored before items existed: its fields make its item."""
        if not ({"lead", "items"} & self.model_fields_set) and self.fields:
            item = {k: self.fields[k] for k in self.ITEM_KEYS if k in self.fields}
            if "work_type" in item:
                self.items = [item]
            elif item:
                self.lead = item
        return self

    @property
    def document_fields(self) -> dict:
        return self.fields

    @classmethod
    def items_of(cls, lines: list[Line]) -> list[dict[str, Any]]:
        """The order's items, line after line: a line's lead goes on with
        the item before (teeth and notes added, other fields replaced), or
        is an item of its own when none came before."""
        items: list[dict[str, Any]] = []
        for line in lines:
            if not isinstance(line, LabLine):
                continue
            if line.lead:
                if not items:
                    items.append({})
                item = items[-1]
                for key, value in line.lead.items():
                    if key == "teeth":
                        item["teeth"] = list(dict.fromkeys([*item.get("teeth", []), *value]))
                    elif key == "notes" and item.get("notes"):
                        item["notes"] = f"{item['notes']}, {value}"
                    else:
                        item[key] = value
                if item.get("work_type") == "bridge" and len(item.get("teeth", [])) >= 3 and "teeth" in line.lead:
                    item["pillars"], item["pontics"] = [item["teeth"][0], item["teeth"][-1]], item["teeth"][1:-1]
            items += [dict(item) for item in line.items]
        return items


class CertificateLine(Line):
    section: str = "observations"  # one of the kind's sections (record.kinds)
    fields: dict[str, Any] = Field(default_factory=dict)  # itt_days, facts_date, next_appointment…
    details: dict[str, Any] = Field(default_factory=dict)  # teeth, surfaces, anaesthesia product…

    @property
    def document_fields(self) -> dict:
        return self.fields


class ReportLine(CertificateLine):
    body: str = ""  # the text without its section heading ("Diagnostic : pulpite" → "Pulpite")


LINE_TYPES: dict[str, type[Line]] = {
    "prescription": PrescriptionLine,
    "lab_order": LabLine,
    "medical_certificate": CertificateLine,
    "clinical_report": ReportLine,
}


class Draft(BaseModel):
    """A document being dictated: its lines, and the version it will be
    validated as.  ``fields`` (derived from the lines) is in its JSON."""

    model_config = ConfigDict(extra="ignore")

    kind: DraftKind
    id: str = Field(default_factory=new_id)
    version: int = 1
    status: Status = "draft"
    lines: list[SerializeAsAny[Line]] = Field(default_factory=list)
    # The line still being dictated (the next fragments may add to it), or
    # None: a line grows across pauses until another begins, "à la ligne",
    # a command or a long silence closes it (docs/dictation.md).
    open_line: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _lines_of_its_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") in LINE_TYPES:
            line_type = LINE_TYPES[data["kind"]]
            data = {**data, "lines": [line if isinstance(line, line_type) else line_type.model_validate(
                line.model_dump() if isinstance(line, Line) else line) for line in data.get("lines", [])]}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def secure(self) -> bool:
        """A prescription with a line that needs an ordonnance sécurisée."""
        return any(getattr(line, "secure", False) for line in self.lines)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fields(self) -> dict:
        """The document's fields: those of its lines, later lines winning
        (derived, so a removed or corrected line never leaves stale values)."""
        merged: dict = {}
        for line in self.lines:
            for key, value in line.document_fields.items():
                if key in ACCUMULATED:
                    merged[key] = list(dict.fromkeys([*merged.get(key, []), *value]))
                else:
                    merged[key] = value
        return merged

    def as_dict(self) -> dict:
        """The draft as JSON data (journal, room log, documents)."""
        return self.model_dump(mode="json")

    def snapshot(self, **changes: Any) -> "Draft":
        """A copy as it stands now (events carry it while the draft goes on)."""
        return self.model_copy(update=changes, deep=True)
