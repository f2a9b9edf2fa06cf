"""Who a document is from and for: practitioner, practice, patient, lab.

Built from the store for each session (the dentist, their practice, the
patient; the lab from the ``start`` message: ``store/patients.py``).  Every part is optional when a session starts; what a document legally needs
is checked when it is validated (:mod:`chairside.record.mentions`), so a
dictation can begin before the patient file is complete.  What is given is
checked at once: an RPPS has 11 digits, a phone number is a real French or
international number (written +33 …), an e-mail has an @.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

import phonenumbers
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from .allergies import allergy_classes, fold


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def international_phone(value: str | None) -> str | None:
    """A phone number in international form ("01 23 45 67 89" → "+33 1 23 45 67 89")."""
    if value is None or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {value!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid phone number: {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not _EMAIL.match(value.strip()):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value.strip()


def luhn_valid(digits: str) -> bool:
    """The Luhn check that RPPS numbers carry in their last digit."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


Phone = Annotated[str | None, BeforeValidator(international_phone)]
Email = Annotated[str | None, BeforeValidator(_email)]


class Address(_Part):
    street: str = Field("", max_length=200)
    postcode: str = Field("", max_length=16)
    city: str = Field("", max_length=100)
    country: str = Field("France", max_length=60)

    @property
    def complete(self) -> bool:
        return bool(self.street and self.postcode and self.city and self.country)


class Practitioner(_Part):
    name: str = Field("", max_length=120)  # "Dr Claire Martin"
    title: str = Field("Chirurgien-dentiste", max_length=80)  # the qualité printed under the name
    specialty: str = Field("", max_length=120)  # e.g. "Spécialiste qualifié en orthopédie dento-faciale"
    rpps: str = Field("", max_length=11)
    email: Email = None
    phone: Phone = None

    @field_validator("rpps")
    @classmethod
    def _rpps(cls, value: str) -> str:
        value = value.replace(" ", "")
        if value and not re.fullmatch(r"\d{11}", value):
            raise ValueError("an RPPS number has 11 digits")
        if value and not luhn_valid(value):
            raise ValueError("not a valid RPPS number (its check digit is wrong)")
        return value



class Clinic(_Part):
    name: str = Field("", max_length=160)
    address: Address = Field(default_factory=Address)
    phone: Phone = None
    email: Email = None



MAX_ALLERGIES = 30
Allergy = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Failure = Literal["moderate", "severe"]


def _no_allergies_is_empty(value):
    return [] if value is None else value


class Patient(_Part):
    """Who a document is for, and what a prescriber must check of them.

    The safety facts (``allergies`` … ``hepatic_failure``) are never
    printed; they are here so that a prescription can be checked against
    the patient (``allergy_classes`` for the allergies' known classes).
    ``False`` / ``None`` / ``[]`` mean "not recorded", which is not the
    same as "known not to be": the form asks, the record cannot tell.
    """

    last_name: str = Field("", max_length=100)
    first_name: str = Field("", max_length=100)
    sex: Literal["F", "M", "X"] | None = None
    birth_date: date | None = None
    weight_kg: float | None = Field(None, gt=0, le=400)
    code: str = Field("", max_length=40)  # the practice's patient code, what a lab order carries
    # free text, one allergy an entry ("pénicilline", "latex"); known classes: record/allergies.py
    allergies: Annotated[list[Allergy], BeforeValidator(_no_allergies_is_empty)] = Field(default_factory=list, max_length=MAX_ALLERGIES)
    pregnancy_weeks: int | None = Field(None, ge=0, le=45)  # weeks of amenorrhoea (semaines d'aménorrhée); None: not pregnant
    breastfeeding: bool = False
    anticoagulant: bool = False  # an anticoagulant treatment in progress (AVK, AOD, héparine)
    antiplatelet: bool = False  # an antiplatelet treatment in progress (aspirine à dose antiagrégante, clopidogrel…)
    renal_failure: Failure | None = None  # insuffisance rénale
    hepatic_failure: Failure | None = None  # insuffisance hépatique

    @field_validator("allergies")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        """The same allergy written twice (case, accents) is kept once, as first written."""
        seen: set[str] = set()
        return [a for a in value if not (fold(a) in seen or seen.add(fold(a)))]

    @field_validator("pregnancy_weeks")
    @classmethod
    def _not_for_sex_m(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("sex") == "M":
            raise ValueError("a patient of sex M cannot be pregnant: leave pregnancy_weeks empty or correct the sex")
        return value

    @property
    def allergy_classes(self) -> set[str]:
        """The known classes the allergies name (``record.allergies``), e.g. {"penicillin"}."""
        return allergy_classes(self.allergies)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name.upper()) if p)

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


class Lab(_Part):
    name: str = Field("", max_length=160)
    address: Address | None = None
    phone: Phone = None
    email: Email = None



class DocumentContext(_Part):
    practitioner: Practitioner = Field(default_factory=Practitioner)
    clinic: Clinic = Field(default_factory=Clinic)
    patient: Patient = Field(default_factory=Patient)
    lab: Lab = Field(default_factory=Lab)
