"""The dental formulary (``formulary.json``), typed and checked, and how a
dictated line names one of its drugs.

``load(path)`` reads the file and refuses it (``FormularyError``, naming the
entry and the field) when a number has no source, a source id is unknown, a
strength names an ingredient its drug lacks, a name (DCI, brand or alias,
once folded) belongs to two drugs, and so on.  ``FORMULARY`` is the shipped
file, loaded once; every lookup after that is pure.

Names are compared by identity only: ``find_exact`` returns a drug when the
words said are, once folded (``fold_name``), exactly one of its names.  A
close but different word ("prednisone" for "prednisolone") is never taken for
a drug: ``near_matches`` offers it as a suggestion ("Vouliez-vous dire … ?")
and nothing else.

This module imports nothing from the rest of chairside.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rapidfuzz import fuzz, process
from text_to_num import text2num

DEFAULT_PATH = Path(__file__).with_name("formulary.json")
SCHEMA = 2

# A dictated line may open with words before the drug's name ("bain de
# bouche à la chlorhexidine", "prescription de …"): a name may start within
# the first NAME_START_WINDOW words.
NAME_START_WINDOW = 6
# Near matches: a span of at most NEAR_MAX_WORDS words, at least
# NEAR_MIN_CHARS letters long (so that "pour", "par", "deux", "avril" never
# qualify), whose rapidfuzz ratio to a name of at least NEAR_MIN_CHARS
# letters is NEAR_THRESHOLD or more.  Measured on the formulary's names
# against every 1-3 word span of the test tables (dictation_fields.tsv,
# dictation_commands.tsv, the manifests) outside an exact name: the best
# ordinary words score 76.9 ("déclare" ~ Zeclar, "imprime" ~ Ixprim) and
# 75.0 ("profonde" ~ Profenid); the misheard names score 92 and more
# ("metronidazol" 96, "amoxicillin" 95.7, "paracetamole" 95.7).  80 keeps a
# margin on both sides; "érythromycine" (78.6 to clarithromycine) stays
# below it, and gets no suggestion.
NEAR_THRESHOLD = 80.0
NEAR_MIN_CHARS = 6
NEAR_MAX_WORDS = 3

UNITS = frozenset({"mg", "MUI", "%", "ppm"})
LEVELS = frozenset({"contraindication", "precaution"})
SCOPES = frozenset({"dental-use", "rcp"})
CLASSES = frozenset({
    "penicillin", "beta-lactam", "beta-lactamase-inhibitor", "macrolide", "lincosamide", "nitroimidazole",
    "synergistin", "tetracycline", "nsaid", "opioid", "analgesic", "corticosteroid", "antiseptic", "fluoride",
    "antifibrinolytic",
})
CONDITIONS = frozenset({
    "pregnancy", "breastfeeding", "anticoagulant", "antiplatelet", "renal-failure", "hepatic-failure", "heart-failure",
    "age", "allergy", "alcohol", "epilepsy", "peptic-ulcer", "thromboembolism", "infection", "live-vaccine",
    "cyp2d6-ultrarapid", "tonsillectomy",
})


class FormularyError(ValueError):
    """The formulary file is not acceptable; the message names the entry and the field."""


# --------------------------------------------------------------------------- names


def _fold_word(word: str) -> str:
    """One word folded: lowercase, no accents, no punctuation, and a final
    plural s/x dropped (words of 4+ letters; not after another s/x, so that
    folding twice changes nothing)."""
    text = unicodedata.normalize("NFKD", word.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c) and (c.isalnum()))
    if len(text) > 3 and text[-1] in "sx" and text[-2] not in "sx" and not text.isdigit():
        text = text[:-1]
    return text


def fold_name(text: str) -> str:
    """How names are compared: lowercase, no accents, no punctuation (hyphens,
    apostrophes and slashes become spaces), a final plural "s"/"x" removed
    from each word.  "Comprimés" → "comprime", "Dafalgan codéiné" →
    "dafalgan codeine", "amoxicilline/acide clavulanique" → "amoxicilline
    acide clavulanique"."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'")
    words = re.sub(r"[\W_]+", " ", text).split()
    return " ".join(w for w in (_fold_word(word) for word in words) if w)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: str
    date: str
    url: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Dose:
    """A daily amount in the ingredient's unit (or unit/kg for *_per_kg), with its source."""

    value: float
    source: str
    to: float | None = None  # a range: value … to
    scope: str | None = None  # on a maximum: "dental-use" or "rcp"
    note: str = ""


@dataclass(frozen=True)
class Dosing:
    usual_daily: Dose | None = None
    max_daily: Dose | None = None
    usual_daily_per_kg: Dose | None = None
    max_daily_per_kg: Dose | None = None
    max_daily_per_kg_under_50kg: Dose | None = None  # adults only


@dataclass(frozen=True)
class Caution:
    condition: str
    level: str  # "contraindication" | "precaution"
    text: str
    source: str
    note: str = ""
    from_weeks: float | None = None  # pregnancy, weeks of amenorrhoea
    from_trimester: int | None = None  # pregnancy
    under_months: float | None = None  # age (an age in years is stored in months)
    ingredient: str | None = None  # the ingredient it comes from; None for a drug's own caution
    drug_class: str | None = None  # set when it comes from a therapeutic class

    @property
    def under_years(self) -> float | None:
        return None if self.under_months is None else self.under_months / 12

    def applies_to_age(self, age_years: float) -> bool:
        return self.under_months is not None and age_years * 12 < self.under_months

    def applies_at_week(self, weeks: float) -> bool:
        """Pregnancy: does it apply at this many weeks of amenorrhoea?  A
        pregnancy caution without from_weeks/from_trimester applies throughout;
        trimesters start at 0, 15 and 29 weeks of amenorrhoea."""
        if self.from_weeks is not None:
            return weeks >= self.from_weeks
        if self.from_trimester is not None:
            return weeks >= {1: 0, 2: 15, 3: 29}[self.from_trimester]
        return True


@dataclass(frozen=True)
class Regulation:
    secure_prescription: bool
    source: str
    since: str = ""
    max_prescription_weeks: int | None = None


@dataclass(frozen=True)
class Ingredient:
    id: str
    name: str
    unit: str
    classes: tuple[str, ...]
    adult: Dosing = Dosing()
    child: Dosing = Dosing()
    cautions: tuple[Caution, ...] = ()
    regulation: Regulation | None = None
    note: str = ""


@dataclass(frozen=True)
class Strength:
    label: str  # as printed: "1 g/125 mg", "0,75 MUI/125 mg"
    amounts: Mapping[str, float]  # ingredient id → amount per unit, in the ingredient's unit
    source: str
    form: str | None = None
    brand: str | None = None

    def amount(self, ingredient: str) -> float | None:
        return self.amounts.get(ingredient)


@dataclass(frozen=True)
class Drug:
    id: str
    dci: str
    ingredients: tuple[str, ...]
    brands: tuple[str, ...]
    aliases: tuple[str, ...]
    forms: tuple[str, ...]
    strengths: tuple[Strength, ...]
    secure_prescription: bool = False
    limits: Mapping[str, Dose] = field(default_factory=lambda: MappingProxyType({}))  # ingredient id → this product's daily maximum
    cautions: tuple[Caution, ...] = ()
    note: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.dci, *self.brands, *self.aliases)

    @property
    def first_ingredient(self) -> str:
        return self.ingredients[0]


@dataclass(frozen=True)
class ExactMatch:
    drug: Drug
    start: int  # word indexes: words[start:end] name the drug
    end: int
    name: str  # the formulary's name that was said (DCI, brand or alias, as written in the file)
    kind: str  # "dci" | "brand" | "alias"

    @property
    def brand(self) -> str | None:
        return self.name if self.kind == "brand" else None


@dataclass(frozen=True)
class NearMatch:
    drug: Drug
    name: str  # the formulary's name the words are close to
    score: float  # rapidfuzz ratio, 0..100
    start: int
    end: int
    said: str  # the folded words


@dataclass(frozen=True)
class _Name:
    drug: Drug
    name: str
    kind: str


@dataclass(frozen=True)
class Formulary:
    sources: Mapping[str, Source]
    ingredients: Mapping[str, Ingredient]
    drugs: tuple[Drug, ...]
    class_cautions: tuple[tuple[str, Caution], ...]
    reviewed: str
    names: Mapping[str, _Name] = field(repr=False)  # folded name → drug

    # ---- identity

    def drug(self, drug_id: str) -> Drug:
        for drug in self.drugs:
            if drug.id == drug_id:
                return drug
        raise KeyError(drug_id)

    def by_name(self, name: str) -> Drug | None:
        """The drug a whole name is (exactly, once folded), if any."""
        entry = self.names.get(fold_name(name))
        return entry.drug if entry else None

    @cached_property
    def _max_name_words(self) -> int:
        return max(len(key.split()) for key in self.names)

    def find_exact(self, words: Sequence[str], window: int = NAME_START_WINDOW) -> ExactMatch | None:
        """The drug the words name, by an exact folded match of its DCI, a
        brand or an alias starting within the first ``window`` words: the
        earliest start, and there the longest name ("paracétamol codéine"
        before "paracétamol").  ``words`` are the line's words, one string
        each (folded or not: each is folded here)."""
        folded = [_fold_word(w) for w in words]
        longest = self._max_name_words
        for start in range(min(len(folded), window)):
            for length in range(min(longest, len(folded) - start), 0, -1):
                entry = self.names.get(" ".join(folded[start : start + length]))
                if entry is not None:
                    return ExactMatch(entry.drug, start, start + length, entry.name, entry.kind)
        return None

    def find_exact_in(self, text: str, window: int = NAME_START_WINDOW) -> ExactMatch | None:
        """``find_exact`` on a text; the span indexes words of ``fold_name(text)``."""
        return self.find_exact(fold_name(text).split(), window)

    def near_matches(self, words: Sequence[str], window: int = NAME_START_WINDOW, limit: int = 3) -> list[NearMatch]:
        """Spans of the first ``window`` words that are not a formulary name
        but are close to one (see NEAR_THRESHOLD), best first, one per drug.
        Spans overlapping an exact name and spans with digits are skipped.
        Only ever a suggestion: never use it to replace what was said."""
        folded = [_fold_word(w) for w in words]
        covered: set[int] = set()
        longest = self._max_name_words
        for start in range(min(len(folded), window)):
            for length in range(min(longest, len(folded) - start), 0, -1):
                if " ".join(folded[start : start + length]) in self.names:
                    covered.update(range(start, start + length))
        choices = {key: key for key in self.names if len(key.replace(" ", "")) >= NEAR_MIN_CHARS}
        best: dict[str, NearMatch] = {}
        for start in range(min(len(folded), window)):
            for length in range(1, NEAR_MAX_WORDS + 1):
                span = folded[start : start + length]
                if len(span) < length or covered.intersection(range(start, start + length)):
                    break
                if any(not w or any(c.isdigit() for c in w) for w in span):
                    break
                said = " ".join(span)
                if len(said.replace(" ", "")) < NEAR_MIN_CHARS or said in self.names:
                    continue
                for key, score, _ in process.extract(said, choices, scorer=fuzz.ratio, score_cutoff=NEAR_THRESHOLD, limit=None):
                    entry = self.names[key]
                    match = NearMatch(entry.drug, entry.name, round(score, 1), start, start + length, said)
                    held = best.get(entry.drug.id)
                    if held is None or (match.score, -(match.end - match.start)) > (held.score, -(held.end - held.start)):
                        best[entry.drug.id] = match
        return sorted(best.values(), key=lambda m: (-m.score, m.start))[:limit]

    # ---- strengths and doses

    def strength_for(self, drug: Drug, said: float | int | str) -> Strength | None:
        """The strength of ``drug`` whose amount of its first ingredient is
        ``said`` (a number, digits, or French words: "mille", "quatre cents"),
        in that ingredient's unit (mg for most) — a strength said without its
        unit ("Doliprane mille").  None when no strength has that amount."""
        amount = _number(said)
        if amount is None:
            return None
        first = drug.first_ingredient
        for strength in drug.strengths:
            value = strength.amount(first)
            if value is not None and math.isclose(value, amount, rel_tol=0, abs_tol=1e-9):
                return strength
        return None

    def ingredient(self, ingredient_id: str) -> Ingredient:
        return self.ingredients[ingredient_id]

    def dosing(self, ingredient_id: str, child: bool = False) -> Dosing:
        ingredient = self.ingredients[ingredient_id]
        return ingredient.child if child else ingredient.adult

    def max_daily(self, drug: Drug, ingredient_id: str) -> Dose | None:
        """The adult daily maximum of an ingredient in this drug: the
        product's own limit when it has one (Ixprim: 8 tablets a day), else
        the ingredient's."""
        if ingredient_id not in drug.ingredients:
            raise KeyError(f"{drug.dci} has no ingredient {ingredient_id!r}")
        return drug.limits.get(ingredient_id) or self.ingredients[ingredient_id].adult.max_daily

    def cautions(self, drug: Drug, condition: str | None = None, level: str | None = None) -> tuple[Caution, ...]:
        """Every caution of a drug: its own, its ingredients' and their
        therapeutic classes' (``Caution.ingredient`` / ``drug_class`` say
        where each comes from), optionally of one condition or level."""
        found = list(drug.cautions)
        for ingredient_id in drug.ingredients:
            ingredient = self.ingredients[ingredient_id]
            found.extend(ingredient.cautions)
            for drug_class, caution in self.class_cautions:
                if drug_class in ingredient.classes:
                    found.append(replace(caution, ingredient=ingredient_id))
        return tuple(
            c for c in found if (condition is None or c.condition == condition) and (level is None or c.level == level)
        )

    def contraindications(self, drug: Drug, condition: str | None = None) -> tuple[Caution, ...]:
        return self.cautions(drug, condition, "contraindication")

    def secure_prescription(self, drug: Drug) -> Regulation | None:
        """The regulation that makes a drug need a secure prescription, if any."""
        for ingredient_id in drug.ingredients:
            regulation = self.ingredients[ingredient_id].regulation
            if regulation is not None and regulation.secure_prescription:
                return regulation
        return None


def ingredient_amounts(strength: Strength) -> dict[str, float]:
    """Ingredient id → amount per unit of a strength (in each ingredient's unit)."""
    return dict(strength.amounts)


def _number(said: float | int | str) -> float | None:
    if isinstance(said, bool):
        return None
    if isinstance(said, (int, float)):
        return float(said)
    text = said.strip()
    try:
        return float(text.replace(",", ".").replace(" ", ""))
    except ValueError:
        pass
    try:
        return float(text2num(text.lower(), "fr"))
    except ValueError:
        return None


# --------------------------------------------------------------------------- loading


def load(path: str | Path = DEFAULT_PATH) -> Formulary:
    """Read and check a formulary file; ``FormularyError`` says what is wrong and where."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise FormularyError(f"{path}: cannot be read as JSON: {e}") from e
    return _Loader(raw, str(path)).build()


_TOP = {"schema", "title", "reviewed", "updated", "conventions", "sources", "class_cautions", "ingredients", "drugs"}
_SOURCE = {"id", "title", "publisher", "date", "url", "note"}
_DOSE = {"value", "to", "scope", "source", "note"}
_ADULT = {"usual_daily", "max_daily", "usual_daily_per_kg", "max_daily_per_kg", "max_daily_per_kg_under_50kg"}
_CHILD = {"usual_daily", "max_daily", "usual_daily_per_kg", "max_daily_per_kg"}
_CAUTION = {"condition", "level", "text", "source", "note", "from_weeks", "from_trimester", "under_years", "under_months"}
_INGREDIENT = {"id", "name", "unit", "classes", "adult", "child", "cautions", "regulation", "note"}
_REGULATION = {"secure_prescription", "since", "max_prescription_weeks", "source"}
_DRUG = {"id", "dci", "ingredients", "brands", "aliases", "forms", "strengths", "secure_prescription", "limits", "cautions", "note"}
_STRENGTH = {"label", "amounts", "source", "form", "brand"}
_LIMIT = {"ingredient", "max_daily"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Loader:
    def __init__(self, raw: Any, origin: str):
        self.raw = raw
        self.origin = origin
        self.sources: dict[str, Source] = {}

    def fail(self, where: str, message: str) -> None:
        raise FormularyError(f"{self.origin}: {where}: {message}")

    # -- generic checks

    def keys(self, obj: Any, allowed: set[str], where: str, required: Iterable[str] = ()) -> dict:
        if not isinstance(obj, dict):
            self.fail(where, "must be an object")
        for key in obj:
            if key not in allowed:
                self.fail(where, f"unknown field {key!r}")
        for key in required:
            if key not in obj:
                self.fail(where, f"missing field {key!r}")
        return obj

    def text(self, obj: dict, key: str, where: str, required: bool = True) -> str:
        value = obj.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{where}.{key}", "must be a non-empty string")
        return value

    def texts(self, obj: dict, key: str, where: str, non_empty: bool = False) -> tuple[str, ...]:
        value = obj.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f"{where}.{key}", "must be a list of non-empty strings")
        if non_empty and not value:
            self.fail(f"{where}.{key}", "must not be empty")
        return tuple(value)

    def source(self, obj: dict, where: str) -> str:
        if "source" not in obj:
            self.fail(where, "a number without a source (add \"source\": an id of the sources table)")
        source = obj["source"]
        if source not in self.sources:
            self.fail(f"{where}.source", f"unknown source id {source!r}")
        return source

    def sourced_numbers(self, node: Any, where: str, covered: bool = False) -> None:
        """Every number in the node has a "source" beside it (or, in a
        strength's amounts, on the strength)."""
        if isinstance(node, dict):
            has_numbers = any(_is_number(v) for v in node.values())
            if has_numbers and not covered:
                self.source(node, where)
            for key, value in node.items():
                if not _is_number(value):  # numbers here were checked just above
                    self.sourced_numbers(value, f"{where}.{key}", covered=key == "amounts" and "source" in node)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                self.sourced_numbers(item, f"{where}[{i}]")
        elif _is_number(node) and not covered:
            self.fail(where, "a number without a source")

    # -- pieces

    def dose(self, obj: Any, where: str, maximum: bool = False) -> Dose | None:
        if obj is None:
            return None
        self.keys(obj, _DOSE, where, required=("value", "source"))
        source = self.source(obj, where)
        value, to = obj["value"], obj.get("to")
        if not _is_number(value) or value < 0:
            self.fail(f"{where}.value", "must be a number ≥ 0")
        if to is not None and (not _is_number(to) or to < value):
            self.fail(f"{where}.to", "must be a number ≥ value")
        scope = obj.get("scope")
        if maximum and scope is None:
            self.fail(f"{where}.scope", "a maximum says whether it is \"dental-use\" or \"rcp\"")
        if scope is not None and scope not in SCOPES:
            self.fail(f"{where}.scope", f"must be one of {sorted(SCOPES)}")
        note = obj.get("note", "")
        if not isinstance(note, str):
            self.fail(f"{where}.note", "must be a string")
        return Dose(float(value), source, None if to is None else float(to), scope, note)

    def dosing(self, obj: Any, where: str, allowed: set[str], adult: bool) -> Dosing:
        if obj is None:
            return Dosing()
        self.keys(obj, allowed, where)
        doses = {key: self.dose(obj.get(key), f"{where}.{key}", maximum=adult and key == "max_daily") for key in allowed}
        return Dosing(**doses)

    def caution(self, obj: Any, where: str) -> Caution:
        self.keys(obj, _CAUTION, where, required=("condition", "level", "text", "source"))
        source = self.source(obj, where)
        condition, level = obj["condition"], obj["level"]
        if condition not in CONDITIONS:
            self.fail(f"{where}.condition", f"unknown condition {condition!r} (known: {', '.join(sorted(CONDITIONS))})")
        if level not in LEVELS:
            self.fail(f"{where}.level", "must be \"contraindication\" or \"precaution\"")
        for key in ("from_weeks", "from_trimester", "under_years", "under_months"):
            if key in obj and (not _is_number(obj[key]) or obj[key] <= 0):
                self.fail(f"{where}.{key}", "must be a positive number")
        if ("from_weeks" in obj or "from_trimester" in obj) and condition != "pregnancy":
            self.fail(where, "from_weeks/from_trimester belong to a pregnancy caution")
        if obj.get("from_trimester") not in (None, 1, 2, 3):
            self.fail(f"{where}.from_trimester", "must be 1, 2 or 3")
        if "under_years" in obj and "under_months" in obj:
            self.fail(where, "give under_years or under_months, not both")
        if condition == "age" and "under_years" not in obj and "under_months" not in obj:
            self.fail(where, "an age caution needs under_years or under_months")
        under_months = obj["under_years"] * 12 if "under_years" in obj else obj.get("under_months")
        return Caution(
            condition, level, self.text(obj, "text", where), source, obj.get("note", ""),
            from_weeks=obj.get("from_weeks"), from_trimester=obj.get("from_trimester"),
            under_months=None if under_months is None else float(under_months),
        )

    def cautions(self, items: Any, where: str, ingredient: str | None = None) -> tuple[Caution, ...]:
        if items is None:
            return ()
        if not isinstance(items, list):
            self.fail(where, "must be a list")
        return tuple(replace(self.caution(c, f"{where}[{i}]"), ingredient=ingredient) for i, c in enumerate(items))

    # -- sections

    def build(self) -> Formulary:
        raw = self.keys(self.raw, _TOP, "file", required=("schema", "reviewed", "sources", "ingredients", "drugs"))
        if raw["schema"] != SCHEMA:
            self.fail("schema", f"expected {SCHEMA}, found {raw['schema']!r}")
        reviewed = self.text(raw, "reviewed", "file")

        for i, obj in enumerate(raw["sources"]):
            where = f"sources[{i}]"
            self.keys(obj, _SOURCE, where, required=("id", "title", "publisher", "date"))
            source_id = self.text(obj, "id", where)
            where = f"source {source_id!r}"
            if source_id in self.sources:
                self.fail(where, "duplicate source id")
            url = obj.get("url")
            if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
                self.fail(f"{where}.url", "must be an http(s) address")
            self.sources[source_id] = Source(
                source_id, self.text(obj, "title", where), self.text(obj, "publisher", where), self.text(obj, "date", where),
                url, obj.get("note", ""),
            )

        class_cautions = []
        for i, obj in enumerate(raw.get("class_cautions", [])):
            where = f"class_cautions[{i}]"
            if not isinstance(obj, dict):
                self.fail(where, "must be an object")
            rest = {k: v for k, v in obj.items() if k != "class"}
            drug_class = obj.get("class")
            if drug_class not in CLASSES:
                self.fail(f"{where}.class", f"unknown class {drug_class!r}")
            self.sourced_numbers(rest, where)
            class_cautions.append((drug_class, replace(self.caution(rest, where), drug_class=drug_class)))

        ingredients: dict[str, Ingredient] = {}
        for i, obj in enumerate(raw["ingredients"]):
            self.keys(obj, _INGREDIENT, f"ingredients[{i}]", required=("id", "name", "unit", "classes"))
            ingredient_id = self.text(obj, "id", f"ingredients[{i}]")
            where = f"ingredient {ingredient_id!r}"
            if ingredient_id in ingredients:
                self.fail(where, "duplicate ingredient id")
            self.sourced_numbers(obj, where)
            if obj["unit"] not in UNITS:
                self.fail(f"{where}.unit", f"must be one of {sorted(UNITS)}")
            classes = self.texts(obj, "classes", where, non_empty=True)
            for drug_class in classes:
                if drug_class not in CLASSES:
                    self.fail(f"{where}.classes", f"unknown class {drug_class!r}")
            regulation = None
            if "regulation" in obj:
                reg = self.keys(obj["regulation"], _REGULATION, f"{where}.regulation", required=("secure_prescription", "source"))
                if not isinstance(reg["secure_prescription"], bool):
                    self.fail(f"{where}.regulation.secure_prescription", "must be true or false")
                weeks = reg.get("max_prescription_weeks")
                if weeks is not None and (not isinstance(weeks, int) or isinstance(weeks, bool) or weeks <= 0):
                    self.fail(f"{where}.regulation.max_prescription_weeks", "must be a positive whole number")
                regulation = Regulation(reg["secure_prescription"], self.source(reg, f"{where}.regulation"), reg.get("since", ""), weeks)
            ingredients[ingredient_id] = Ingredient(
                ingredient_id, self.text(obj, "name", where), obj["unit"], classes,
                self.dosing(obj.get("adult"), f"{where}.adult", _ADULT, adult=True),
                self.dosing(obj.get("child"), f"{where}.child", _CHILD, adult=False),
                self.cautions(obj.get("cautions"), f"{where}.cautions", ingredient=ingredient_id),
                regulation, obj.get("note", ""),
            )

        drugs: list[Drug] = []
        names: dict[str, _Name] = {}
        for i, obj in enumerate(raw["drugs"]):
            self.keys(obj, _DRUG, f"drugs[{i}]", required=("id", "dci", "ingredients", "brands", "aliases", "forms", "strengths"))
            drug_id = self.text(obj, "id", f"drugs[{i}]")
            where = f"drug {drug_id!r}"
            if any(d.id == drug_id for d in drugs):
                self.fail(where, "duplicate drug id")
            self.sourced_numbers(obj, where)
            dci = self.text(obj, "dci", where)
            parts = self.texts(obj, "ingredients", where, non_empty=True)
            for part in parts:
                if part not in ingredients:
                    self.fail(f"{where}.ingredients", f"unknown ingredient {part!r}")
            brands, aliases = self.texts(obj, "brands", where), self.texts(obj, "aliases", where)
            forms = self.texts(obj, "forms", where, non_empty=True)
            strengths = []
            for j, s in enumerate(obj["strengths"]):
                at = f"{where}.strengths[{j}]"
                self.keys(s, _STRENGTH, at, required=("label", "amounts", "source"))
                amounts = s["amounts"]
                if not isinstance(amounts, dict):
                    self.fail(f"{at}.amounts", "must be an object: ingredient id → amount")
                for part, amount in amounts.items():
                    if part not in parts:
                        self.fail(f"{at}.amounts", f"unknown ingredient {part!r} (the drug's ingredients: {', '.join(parts)})")
                    if not _is_number(amount) or amount <= 0:
                        self.fail(f"{at}.amounts.{part}", "must be a positive number")
                for part in parts:
                    if part not in amounts:
                        self.fail(f"{at}.amounts", f"no amount of {part!r}")
                form, brand = s.get("form"), s.get("brand")
                if form is not None and form not in forms:
                    self.fail(f"{at}.form", f"{form!r} is not one of the drug's forms")
                if brand is not None and brand not in brands:
                    self.fail(f"{at}.brand", f"{brand!r} is not one of the drug's brands")
                strengths.append(Strength(
                    self.text(s, "label", at), MappingProxyType({k: float(v) for k, v in amounts.items()}),
                    self.source(s, at), form, brand,
                ))
            limits: dict[str, Dose] = {}
            for j, limit in enumerate(obj.get("limits", [])):
                at = f"{where}.limits[{j}]"
                self.keys(limit, _LIMIT, at, required=("ingredient", "max_daily"))
                if limit["ingredient"] not in parts:
                    self.fail(f"{at}.ingredient", f"{limit['ingredient']!r} is not an ingredient of this drug")
                limits[limit["ingredient"]] = self.dose(limit["max_daily"], f"{at}.max_daily", maximum=True)
            secure = obj.get("secure_prescription", False)
            if not isinstance(secure, bool):
                self.fail(f"{where}.secure_prescription", "must be true or false")
            regulated = [p for p in parts if ingredients[p].regulation and ingredients[p].regulation.secure_prescription]
            if secure != bool(regulated):
                self.fail(f"{where}.secure_prescription",
                          f"must be {str(bool(regulated)).lower()}: " + (f"{', '.join(regulated)} need a secure prescription"
                                                                          if regulated else "no ingredient needs one"))
            drug = Drug(
                drug_id, dci, parts, brands, aliases, forms, tuple(strengths), secure, MappingProxyType(limits),
                self.cautions(obj.get("cautions"), f"{where}.cautions"), obj.get("note", ""),
            )
            drugs.append(drug)
            for kind, written in [("dci", dci), *(("brand", b) for b in brands), *(("alias", a) for a in aliases)]:
                key = fold_name(written)
                if not key:
                    self.fail(f"{where}", f"the name {written!r} folds to nothing")
                held = names.get(key)
                if held is not None and held.drug.id != drug_id:
                    self.fail(f"{where}", f"the name {written!r} (folded {key!r}) already names drug {held.drug.id!r}")
                if held is None or (kind == "brand" and held.kind != "brand"):
                    names[key] = _Name(drug, written, kind)
        return Formulary(
            MappingProxyType(self.sources), MappingProxyType(ingredients), tuple(drugs), tuple(class_cautions), reviewed,
            MappingProxyType(names),
        )


# --------------------------------------------------------------------------- the shipped file

FORMULARY: Formulary = load()


def find_exact(words: Sequence[str], window: int = NAME_START_WINDOW) -> ExactMatch | None:
    return FORMULARY.find_exact(words, window)


def near_matches(words: Sequence[str], window: int = NAME_START_WINDOW, limit: int = 3) -> list[NearMatch]:
    return FORMULARY.near_matches(words, window, limit)


def strength_for(drug: Drug, said: float | int | str) -> Strength | None:
    return FORMULARY.strength_for(drug, said)
