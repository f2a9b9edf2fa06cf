"""A prescription checked as a pharmacist would check it.

``check(lines, patient, today)`` gives, for each line, what the dentist must
look at before signing — never a change to what was said:
- the daily amount of each active ingredient (strength × units per intake ×
  intakes per day) against the adult maximum of the formulary (the
  product's own limit first);
- for a child (under 15 years, the age from which a prescription carries the
  weight) the child maxima per kg and per day, from the patient's weight — a
  child without a weight is warned that the dose cannot be checked; for an
  adult under 50 kg, the per-kg maximum the RCP gives for them (paracétamol);
- totals per active ingredient over all the lines (paracétamol from
  Dafalgan and Codoliprane), and an ingredient prescribed twice;
- the patient's allergies against the drug's therapeutic classes, and the
  formulary's cautions for pregnancy (from its week), breastfeeding,
  anticoagulant and antiplatelet treatments, renal and hepatic failure and
  age.

Every number comes from ``formulary.json``, where each has its source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ..record.allergies import ALLERGY_CLASSES, allergy_classes
from ..record.context import Patient
from ..record.draft import PrescriptionLine
from ..record.mentions import PEDIATRIC_AGE
from .formulary import FORMULARY, Drug

ADULT_LOW_WEIGHT_KG = 50  # adults under this weight get the per-kg maximum the RCP gives for them

# What each patient fact is called in the formulary's cautions, and the warning kind it gives.
_CONDITIONS = {"pregnancy": "pregnancy", "breastfeeding": "breastfeeding", "anticoagulant": "anticoagulant",
               "antiplatelet": "antiplatelet", "renal-failure": "renal", "hepatic-failure": "hepatic", "age": "age"}
CHECK_KINDS = frozenset({"dose_max", "dose_weight", "weight_unknown", "dose_total", "same_ingredient", "allergy",
                         *_CONDITIONS.values()})


@dataclass(frozen=True)
class Alert:
    kind: str
    message: str


def _amount(value: float, unit: str) -> str:
    if unit == "mg" and value >= 1000:
        return f"{value / 1000:g} g".replace(".", ",")
    return f"{value:g} {unit}".replace(".", ",")


def daily_amounts(line: PrescriptionLine) -> dict[str, float]:
    """Ingredient id → amount per day on this line (when strength and frequency are known)."""
    if not line.amounts or not line.intakes_per_day:
        return {}
    units = line.units_per_intake or 1.0
    return {ingredient: amount * units * line.intakes_per_day for ingredient, amount in line.amounts.items()}


@dataclass(frozen=True)
class _Limit:
    value: float
    kind: str  # dose_max | dose_weight
    why: str  # "maximum adulte", "maximum enfant 60 mg/kg/j × 20 kg" …


def _limits(drug: Drug | None, ingredient: str, age: int | None, weight: float | None) -> list[_Limit]:
    """The daily maxima of an ingredient for this patient: a product's own
    limit first when ``drug`` is given, else the ingredient's."""
    unit = FORMULARY.ingredient(ingredient).unit
    out = []
    if age is not None and age < PEDIATRIC_AGE:
        child = FORMULARY.dosing(ingredient, child=True)
        if child.max_daily_per_kg is not None and weight:
            per_kg = child.max_daily_per_kg.value
            out.append(_Limit(per_kg * weight, "dose_weight", f"le maximum enfant de {per_kg:g} {unit}/kg/j × {weight:g} kg"))
        if child.max_daily is not None:
            out.append(_Limit(child.max_daily.value, "dose_weight", "le maximum enfant"))
        return out
    adult = FORMULARY.max_daily(drug, ingredient) if drug is not None else FORMULARY.dosing(ingredient).max_daily
    if adult is not None:
        out.append(_Limit(adult.value, "dose_max", "la dose maximale adulte"))
    low = FORMULARY.dosing(ingredient).max_daily_per_kg_under_50kg
    if low is not None and weight and weight < ADULT_LOW_WEIGHT_KG:
        out.append(_Limit(low.value * weight, "dose_weight", f"le maximum de {low.value:g} {unit}/kg/j sous {ADULT_LOW_WEIGHT_KG} kg × {weight:g} kg"))
    return out


def _allergy_tags(drug: Drug) -> set[str]:
    """The allergy classes a drug belongs to: its ingredients' therapeutic
    classes and the ingredients themselves; an NSAID also for an aspirin
    allergy (cross-reactivity: the NSAIDs' RCPs contra-indicate them after
    asthma or allergy set off by aspirin)."""
    tags: set[str] = set()
    for ingredient_id in drug.ingredients:
        classes = set(FORMULARY.ingredient(ingredient_id).classes)
        tags |= classes | {ingredient_id}
        if "nsaid" in classes:
            tags.add("aspirin")
    return tags


def _patient_alerts(drug: Drug, patient: Patient, age: int | None) -> list[Alert]:
    out = []
    for key in sorted(allergy_classes(patient.allergies) & _allergy_tags(drug)):
        out.append(Alert("allergy", f"{drug.dci} : patient avec {ALLERGY_CLASSES[key].allergy_fr}"))
    facts = {"pregnancy": patient.pregnancy_weeks is not None, "breastfeeding": patient.breastfeeding,
             "anticoagulant": patient.anticoagulant, "antiplatelet": patient.antiplatelet,
             "renal-failure": patient.renal_failure is not None, "hepatic-failure": patient.hepatic_failure is not None,
             "age": age is not None}
    for condition, kind in _CONDITIONS.items():
        if not facts[condition]:
            continue
        for caution in FORMULARY.cautions(drug, condition):
            if condition == "pregnancy" and not caution.applies_at_week(patient.pregnancy_weeks or 0):
                continue
            if condition == "age" and not (age is not None and caution.applies_to_age(age)):
                continue
            level = "contre-indication" if caution.level == "contraindication" else "précaution"
            out.append(Alert(kind, f"{drug.dci} — {level} : {caution.text}"))
    return out


def check(lines: Sequence[PrescriptionLine], patient: Patient | None, today: date) -> list[list[Alert]]:
    """What each line must be checked for, given the patient and the lines before it."""
    patient = patient or Patient()
    age = patient.age_on(today)
    weight = patient.weight_kg
    totals: dict[str, float] = {}
    seen: dict[str, list[int]] = {}  # ingredient → lines (1-based) that prescribe it
    out: list[list[Alert]] = []
    for number, line in enumerate(lines, start=1):
        alerts: list[Alert] = []
        drug = FORMULARY.drug(line.drug_id) if line.drug_id else None
        if drug is None:
            out.append(alerts)
            continue
        daily = daily_amounts(line)
        for ingredient in drug.ingredients:
            info = FORMULARY.ingredient(ingredient)
            if ingredient in seen:
                where = ", ".join(str(n) for n in seen[ingredient])
                alerts.append(Alert("same_ingredient", f"{info.name} déjà prescrit (ligne {where}) : vérifier la dose totale"))
            limits = _limits(drug, ingredient, age, weight)
            if ingredient in daily:
                for limit in limits:
                    if daily[ingredient] > limit.value:
                        alerts.append(Alert(limit.kind, f"{info.name} : {_amount(daily[ingredient], info.unit)} par jour dépasse "
                                                        f"{limit.why} ({_amount(limit.value, info.unit)} par jour)"))
                if ingredient in seen:  # the total, against the ingredient's own maxima (not one product's)
                    before, after = totals.get(ingredient, 0.0), totals.get(ingredient, 0.0) + daily[ingredient]
                    for limit in _limits(None, ingredient, age, weight):
                        if before <= limit.value < after:
                            alerts.append(Alert("dose_total", f"{info.name} : {_amount(after, info.unit)} par jour au total sur "
                                                              f"l'ordonnance dépasse {limit.why} ({_amount(limit.value, info.unit)})"))
                totals[ingredient] = totals.get(ingredient, 0.0) + daily[ingredient]
            seen.setdefault(ingredient, []).append(number)
        if age is not None and age < PEDIATRIC_AGE and not weight and any(
                FORMULARY.dosing(i, child=True).max_daily_per_kg is not None for i in drug.ingredients):
            alerts.append(Alert("weight_unknown", f"{drug.dci} : poids de l'enfant inconnu — la dose ne peut pas être vérifiée"))
        alerts += _patient_alerts(drug, patient, age)
        out.append(list(dict.fromkeys(alerts)))
    return out
