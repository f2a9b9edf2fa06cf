"""The dictation state: final utterances in, outcomes out (pure, no I/O).

Feed every final utterance (spoken or typed) to :meth:`Dictation.handle`; it
recognizes commands, keeps the open draft (:class:`~chairside.record.draft.Draft`)
and says what happened as typed outcomes (:mod:`.outcomes`), which the
session turns into protocol events.  Prescriptions are parsed into
structured lines; lab orders gather their fields (work, material, shade,
teeth, delivery, items sent); certificates and reports file each line under
a section (circumstances, findings, ITT; anaesthesia, acts, next
appointment...).  Validation checks the document's legal mentions against
the session's context, then reads the document back and signs only on
"oui" (issue 13); the session has the documents rendered.  Commands that
sign or lose work run only on their accepted phrasings (:mod:`.commands`);
talk to the patient makes no line (:mod:`.lines`).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from ..record.context import DocumentContext
from ..record.draft import CertificateLine, Draft, LabLine, Line, PrescriptionLine, ReportLine
from ..record.kinds import KINDS, DraftKind
from ..record.mentions import missing
from .clinical import parse_certificate_line, parse_report_line
from .commands import SAFETY_CLASS, CommandMatch, Hint, fold, line_number, match
from .lab import read_lab_line
from .lines import clauses, continues, control, conversation, join, prescribes, sentences, split_ends, talk, without_fillers
from .normalize import find_teeth, spoken_numbers
from .outcomes import CommandDone, DocumentAsked, DraftChanged, HintGiven, Ignored, Outcome, ReadBack, Warned
from .prescription import NEAR_DRUG, NO_DURATION, NO_STRENGTH, parse_line
from .safety import CHECK_KINDS, check

OPENS: dict[str, DraftKind] = {
    "new_prescription": "prescription",
    "lab_order": "lab_order",
    "medical_certificate": "medical_certificate",
    "clinical_report": "clinical_report",
}
MESSAGES = {
    "fr": {
        "opened": "{title} ouvert{e}", "paused": "Dictée en pause : dites « reprends »", "resumed": "Dictée reprise",
        "not_paused": "La dictée n'était pas en pause", "ignored": "dictée en pause",
        "no_document": "Aucun document ouvert : dites « nouvelle ordonnance »", "nothing_to_undo": "Rien à effacer",
        "line_removed": "Ligne effacée", "fragment_removed": "« {fragment} » effacé",
        "line_ended": "Ligne terminée", "no_open_line": "Aucune ligne en cours", "confirm_discard": "Abandonner le document ? Dites « oui » pour confirmer",
        "discarded": "{title} abandonné{e}", "validated": "{title} validé{e}, version {version}", "print": "Impression demandée",
        "replace_how": "Dites « remplace X par Y »", "replaced": "« {old} » remplacé par « {new} »",
        "not_found": "« {old} » introuvable dans le document", "tooth_fixed": "Dent {wrong} corrigée en {right}",
        "tooth_absent": "La dent {wrong} n'apparaît pas dans le document", "hint": "Vouliez-vous dire « {phrase} » ?",
        "bad_tooth": "{tooth} n'est pas un numéro de dent FDI valide",
        "cannot_validate": "Impossible de valider : il manque {missing}",
        "not_validated": "Document non validé : dites « valide et imprime »", "preview": "Aperçu demandé",
        "suggest": "« {said} » n'est pas dans le formulaire. Vouliez-vous dire « {drug} » ? Dites « oui » pour corriger",
        "accepted": "« {said} » corrigé en « {drug} »", "no_suggestion": "Pas de suggestion sur la ligne {number}",
        "readback_sign": "{title}, version {version} : {count}. Dites « oui » pour signer",
        "readback_sign_print": "{title}, version {version} : {count}. Dites « oui » pour signer et imprimer",
        "readback": "{title}, version {version} : {count}", "lines": "{n} ligne{s}",
        "cancelled_validate": "Validation annulée : le document reste un brouillon", "cancelled_erase_all": "Rien n'a été effacé",
        "cancelled_discard": "Le document est gardé",
        "no_such_line": "Il n'y a pas de ligne {number} : le document a {count}", "line_n_removed": "Ligne {number} effacée",
        "confirm_erase_all": "Effacer {count} ? Dites « oui » pour confirmer", "erased_all": "Toutes les lignes effacées ({count})",
        "bad_line_number": "Quelle ligne ? Dites « efface la ligne 2 »",
        "control": "Pas dicté. Pour mettre la dictée en pause, dites « pause dictée »", "not_content": "pas dicté",
        "say_alone": "« {phrase} » n'est pris que dit seul : redites-le",
        "no_drug": "« {said} » : aucun médicament reconnu, rien n'est ajouté à l'ordonnance. "
                   "Dictez le médicament avec son dosage ou sa posologie",
        "bare_number": "« {said} » seul : rien n'est ajouté. Dites « sur la {said} » pour une dent, « teinte … » pour une teinte",
    },
    "en": {
        "opened": "{title} opened", "paused": "Dictation paused: say “resume”", "resumed": "Dictation resumed",
        "not_paused": "Dictation was not paused", "ignored": "dictation paused",
        "no_document": "No open document: say “new prescription”", "nothing_to_undo": "Nothing to scratch",
        "line_removed": "Line removed", "fragment_removed": "“{fragment}” removed",
        "line_ended": "Line ended", "no_open_line": "No line being dictated", "confirm_discard": "Discard the document? Say “yes” to confirm",
        "discarded": "{title} discarded", "validated": "{title} signed, version {version}", "print": "Printing requested",
        "replace_how": "Say “replace X with Y”", "replaced": "“{old}” replaced with “{new}”",
        "not_found": "“{old}” is not in the document", "tooth_fixed": "Tooth {wrong} corrected to {right}",
        "tooth_absent": "Tooth {wrong} is not in the document", "hint": "Did you mean “{phrase}”?",
        "bad_tooth": "{tooth} is not a valid FDI tooth number",
        "cannot_validate": "Cannot sign: missing {missing}",
        "not_validated": "The document is not signed: say “sign and print”", "preview": "Preview requested",
        "suggest": "“{said}” is not in the formulary. Did you mean “{drug}”? Say “yes” to correct it",
        "accepted": "“{said}” corrected to “{drug}”", "no_suggestion": "No suggestion on line {number}",
        "readback_sign": "{title}, version {version}: {count}. Say “yes” to sign",
        "readback_sign_print": "{title}, version {version}: {count}. Say “yes” to sign and print",
        "readback": "{title}, version {version}: {count}", "lines": "{n} line{s}",
        "cancelled_validate": "Signing cancelled: the document stays a draft", "cancelled_erase_all": "Nothing was erased",
        "cancelled_discard": "The document is kept",
        "no_such_line": "There is no line {number}: the document has {count}", "line_n_removed": "Line {number} removed",
        "confirm_erase_all": "Erase {count}? Say “yes” to confirm", "erased_all": "All lines erased ({count})",
        "bad_line_number": "Which line? Say “delete line 2”",
        "control": "Not dictated. To pause the dictation, say “pause dictation”", "not_content": "not dictated",
        "say_alone": "“{phrase}” is only taken on its own: say it again",
        "no_drug": "“{said}”: no drug recognised, nothing added to the prescription. Dictate the drug with its strength or dosage",
        "bare_number": "“{said}” alone: nothing added. Say “on {said}” for a tooth, “shade …” for a shade",
    },
}
CONFIRM = {"oui", "oui oui", "oui confirme", "confirme", "je confirme", "oui je confirme", "oui signe", "oui merci",
           "oui s il te plait", "yes", "yes please", "confirm", "yes confirm"}
# After a question ("Dites « oui » pour signer"), these only say no; anything
# else also cancels, and is then handled as any utterance.
REFUSE = {"non", "non merci", "annule", "annuler", "pas maintenant", "attends", "no", "cancel", "not now", "wait"}

# Warnings of the open line held back while it grows: what is often said
# after a pause (the strength after the drug, the duration last).  The line
# shows them; a strength still missing is given when the line closes, a
# duration is asked for at validation.
SAID_LATER = frozenset({NO_DURATION, NO_STRENGTH})

# A lab order's fragment that is only a number, said after a pause.
_BARE_NUMBER = re.compile(r"\W*(\d{1,2})\W*")

_CORRECTION = re.compile(r"^\W*non\W+(?:pas\s+)?(?:la\s+)?(\d{2})\W+(?:mais\s+)?la\s+(\d{2})\b", re.IGNORECASE)


class Dictation:
    def __init__(self, language: str = "fr", today: date | None = None, context: DocumentContext | None = None,
                 started_at: datetime | None = None, readback: bool = True) -> None:
        self.language = language
        # True: "valide" reads the document back and waits for "oui"; False
        # (CHAIRSIDE_SIGN_WITHOUT_READBACK): an exact validate phrase signs at once
        self.readback = readback
        self.today = today or (started_at.date() if started_at else date.today())  # relative dates ("jeudi prochain") count from it
        # When the dictation began: a certificate's examination time unless one is said.
        self.started_at = (started_at or datetime.combine(self.today, datetime.now().time())).replace(second=0, microsecond=0)
        self.context = context or DocumentContext()
        self.draft: Draft | None = None
        self.paused = False
        self._pending: str | None = None  # what a "oui" now confirms: validate, validate_and_print, discard, erase_all
        self._fragments: list[str] = []  # what was said of the open line, fragment by fragment
        self._warned: set[str] = set()  # warnings already given for the open line
        self._suggested: int | None = None  # the line whose drug suggestion a "oui" accepts
        self._held: str | None = None  # words that prescribe nothing yet, waiting for a dose or posology

    # -- entry point -------------------------------------------------------------

    def restore(self, draft: Draft | None) -> None:
        """Resume with the draft a session had (its last ``draft.updated``)."""
        self.draft = None
        self._forget_open_line()
        if draft is not None and draft.status in ("draft", "validated"):
            self.draft = draft.snapshot(open_line=None)  # its fragments are gone: the next words begin a line

    def handle(self, text: str) -> list[Outcome]:
        """One final utterance (spoken or typed): what it did."""
        text = without_fillers(text)
        if not text.strip(" ,.;:!?…"):
            return []  # a hesitation ("euh") is no dictation
        if self.paused:
            result = match(text, self.language)
            if isinstance(result, CommandMatch) and result.command == "resume":
                self.paused = False
                return [self._command(result, self._say("resumed"))]
            return [Ignored(self._say("ignored"))]
        suggested, self._suggested = self._suggested, None
        if suggested is not None and fold(text) in CONFIRM:
            return self.accept_suggestion(suggested)
        outcomes: list[Outcome] = []
        pending, self._pending = self._pending, None
        if pending is not None:  # a question was asked: "oui" confirms, anything else cancels
            if fold(text) in CONFIRM:
                return self._confirmed(pending)
            key = "cancelled_validate" if pending.startswith("validate") else f"cancelled_{pending}"
            outcomes.append(CommandDone(self._say(key), "cancel", 1.0))
            if fold(text) in REFUSE:
                return outcomes
        for piece, ends_line in split_ends(text, self.language):  # "… pendant sept jours, à la ligne"
            outcomes += self._piece(piece)
            if ends_line:
                outcomes += self._end_line_said()
        return outcomes

    def _confirmed(self, pending: str) -> list[Outcome]:
        """ "oui" after a question: do what was asked."""
        confirmed = CommandMatch(pending, "oui", 1.0, "")
        if pending == "discard":
            kind = self.draft.kind if self.draft else None
            if self.draft is None:
                return [CommandDone(self._say_of("discarded", kind), "discard", 1.0)]
            gone = DraftChanged(self._title(self.draft.kind), self.draft.snapshot(status="discarded", open_line=None), {"op": "discard"})
            self.draft = None  # screens and the journal learn that it is gone
            self._forget_open_line()
            return [CommandDone(self._say_of("discarded", kind), "discard", 1.0), gone]
        if self.draft is None:
            return [self._command(confirmed, self._say("no_document"))]
        if pending == "erase_all":
            count = len(self.draft.lines)
            self.draft.lines = []
            self.draft.open_line = None
            self._forget_open_line()
            self._new_version_if_validated()
            return [self._command(confirmed, self._say("erased_all", count=count)), self._updated({"op": "clear", "removed": count})]
        return self._validate(confirmed, then_print=pending == "validate_and_print", confirmed=True)

    def end_line(self) -> list[Outcome]:
        """Close the open line (a long silence, "à la ligne", a command): the
        next words begin a new one.  The update, then what the line still lacks."""
        self._held = None
        if self.draft is None or self.draft.open_line is None:
            return []
        index = self.draft.open_line
        late = self._late_warnings()
        self.draft.open_line = None
        self._forget_open_line()
        return [self._updated({"op": "close_line", "index": index}), *late]

    def _piece(self, text: str) -> list[Outcome]:
        if not text.strip(" ,.;:!?…"):
            return []
        said = sentences(text)
        if len(said) > 1 and isinstance(first := match(said[0], self.language), CommandMatch) and first.command in OPENS:
            # "Nouvelle ordonnance. Amoxicilline …" in one breath: a document
            # opened, then its first words (only opening may share an utterance)
            self.end_line()  # the new document's update says it all
            return self._on_command(first) + self._piece(" ".join(said[1:]))
        if len(said) > 1:
            return self._sentences(said)
        return self._piece_alone(text)

    def _piece_alone(self, text: str) -> list[Outcome]:
        """A command, a near miss, or dictation (no safety-class sentence
        among several)."""
        result = match(text, self.language)
        if isinstance(result, CommandMatch):
            # A command ends the line being dictated, except the corrections,
            # which act on it: "efface ça" takes back its last fragment.
            closed = [] if result.command in ("undo", "replace") else self.end_line()
            lacking = [o for o in closed if isinstance(o, Warned)]  # said before the command's answer ("Dites oui …")
            done = self._on_command(result)
            if any(isinstance(o, DraftChanged) for o in done):
                closed = []  # its own update carries the draft with the line closed
            return lacking + done + [o for o in closed if not isinstance(o, Warned)]  # what was done, then the line it closed
        if isinstance(result, Hint) and result.command in SAFETY_CLASS:
            # a near miss of a command that signs or loses work: asked about, never run nor written down
            return [HintGiven(self._say("hint", phrase=result.phrase), result.command, result.confidence)]
        if control(text, self.language):  # "arrête l'enregistrement": no command, no line
            return [HintGiven(self._say("control"), "pause", 1.0)]
        outcomes: list[Outcome] = [HintGiven(self._say("hint", phrase=result.phrase), result.command, result.confidence)] if isinstance(result, Hint) else []
        return outcomes + self._dictate(text)

    def _sentences(self, said: list[str]) -> list[Outcome]:
        """Several sentences in one breath: one that is exactly a safety-class
        command ("… pendant sept jours. Valide.") runs only when it comes
        last; before other words ("Valide l'ordonnance. Imprime.") it is
        asked again, never run nor written down."""
        found = [(i, m) for i, s in enumerate(said) if isinstance(m := match(s, self.language), CommandMatch) and m.command in SAFETY_CLASS]
        if not found:
            return self._piece_alone(" ".join(said))
        outcomes: list[Outcome] = []
        start = 0
        for i, m in found:
            if i > start:
                outcomes += self._piece(" ".join(said[start:i]))
            if i == len(said) - 1:
                outcomes += self._piece(said[i])
            else:
                outcomes.append(HintGiven(self._say("say_alone", phrase=m.phrase), m.command, m.confidence))
            start = i + 1
        if start < len(said):
            outcomes += self._piece(" ".join(said[start:]))
        return outcomes

    def _end_line_said(self) -> list[Outcome]:
        """ "à la ligne": the open line is complete."""
        closed = self.end_line()
        return [CommandDone(self._say("line_ended" if closed else "no_open_line"), "end_line", 1.0), *closed]

    # -- commands ------------------------------------------------------------------

    def _on_command(self, m: CommandMatch) -> list[Outcome]:
        if m.command in OPENS:
            self.draft = Draft(kind=OPENS[m.command])
            self._forget_open_line()
            return [self._command(m, self._say_of("opened", self.draft.kind)),
                    self._updated({"op": "open"})]
        if m.command == "pause":
            self.paused = True
            return [self._command(m, self._say("paused"))]
        if m.command == "resume":
            return [self._command(m, self._say("not_paused"))]
        if m.command == "help":
            return [self._command(m, help_text(self.language))]
        if self.draft is None:
            return [self._command(m, self._say("no_document"))]
        if m.command == "undo":
            return self._undo_last(m)
        if m.command == "replace":
            return self._replace(m)
        if m.command == "discard":
            self._pending = "discard"
            return [self._command(m, self._say("confirm_discard"))]
        if m.command == "erase_all":
            if not self.draft.lines:
                return [self._command(m, self._say("nothing_to_undo"))]
            self._pending = "erase_all"
            return [self._command(m, self._say("confirm_erase_all", count=self._count(len(self.draft.lines))))]
        if m.command == "remove_line":
            return self._remove_line(m)
        if m.command == "read_back":
            return [self._read_back(None)]
        if m.command in ("validate", "validate_and_print"):
            return self._validate(m, then_print=m.command == "validate_and_print")
        if m.command == "print":
            if self.draft.status != "validated":
                return [self._command(m, self._say("not_validated"))]
            return [self._command(m, self._say("print")), self._document(print_it=True)]
        if m.command == "preview":
            return [self._command(m, self._say("preview")), self._document(preview=True)]
        return [self._command(m, m.phrase)]

    def _validate(self, m: CommandMatch, then_print: bool, confirmed: bool = False) -> list[Outcome]:
        """Mentions first; then, unless confirmed (or readback is off), the
        document read back and a "oui" awaited; then a version frozen."""
        assert self.draft is not None
        lacking = missing(self.draft, self.context, self.today)
        if lacking:
            return [self._command(m, self._say("cannot_validate", missing=", ".join(lacking)))]
        if self.draft.status == "validated":  # said twice: the same version, nothing new to freeze
            outcomes = [self._command(m, self._say_of("validated", self.draft.kind, version=self.draft.version))]
            return outcomes + ([self._document(print_it=True)] if then_print else [])
        if self.readback and not confirmed:
            self._pending = m.command
            return [self._read_back(m.command)]
        self.draft.status = "validated"
        return [self._command(m, self._say_of("validated", self.draft.kind, version=self.draft.version)),
                self._updated({"op": "validate"}), self._document(print_it=then_print)]

    def _read_back(self, pending: str | None) -> ReadBack:
        """The open document's lines, numbered; ``pending``: what "oui" will do."""
        assert self.draft is not None
        key = {"validate": "readback_sign", "validate_and_print": "readback_sign_print"}.get(pending or "", "readback")
        message = self._say(key, title=self._title(self.draft.kind), version=self.draft.version, count=self._count(len(self.draft.lines)))
        return ReadBack(message, self.draft.kind, self._title(self.draft.kind), self.draft.version,
                        tuple(line.text for line in self.draft.lines), pending)

    def _count(self, n: int) -> str:
        return self._say("lines", n=n, s="s" if n > 1 else "")

    def _remove_line(self, m: CommandMatch) -> list[Outcome]:
        """ "Efface la ligne N": line N (1-based) goes, whichever it is."""
        assert self.draft is not None
        number = line_number(m.argument, self.language)
        if number is None:
            return [HintGiven(self._say("bad_line_number"), "remove_line", m.confidence)]
        index = number - 1
        if not 0 <= index < len(self.draft.lines):
            return [self._command(m, self._say("no_such_line", number=number, count=self._count(len(self.draft.lines))))]
        removed = self.draft.lines.pop(index)
        if self.draft.open_line == index:
            self.draft.open_line = None
            self._forget_open_line()
        elif self.draft.open_line is not None and self.draft.open_line > index:
            self.draft.open_line -= 1
        self._new_version_if_validated()
        return [self._command(m, self._say("line_n_removed", number=number)),
                self._updated({"op": "remove_line", "index": index, "line": removed.model_dump(mode="json")})]

    def preview(self) -> list[Outcome]:
        """A preview of the open draft, asked for outside dictation."""
        if self.draft is None:
            return [Warned(self._say("no_document"))]
        return [self._document(preview=True)]

    def _undo_last(self, m: CommandMatch) -> list[Outcome]:
        """ "Efface ça" takes back what was last said: the last fragment of
        the open line (the whole line when it has only one), else the last line."""
        assert self.draft is not None
        if not self.draft.lines:
            return [self._command(m, self._say("nothing_to_undo"))]
        if self.draft.open_line is not None and len(self._fragments) > 1:
            fragment = self._fragments.pop()
            index = self.draft.open_line
            self.draft.lines[index] = line = self._line(self._open_text(), index)
            self._warned = set(line.warnings)
            return [self._command(m, self._say("fragment_removed", fragment=fragment.strip(" ,.;:"))),
                    self._updated({"op": "remove_fragment", "index": index, "fragment": fragment, "line": line.model_dump(mode="json")})]
        removed = self.draft.lines.pop()
        if self.draft.open_line is not None:
            self.draft.open_line = None
            self._forget_open_line()
        self._new_version_if_validated()
        return [self._command(m, self._say("line_removed")), self._updated({"op": "remove_line", "index": len(self.draft.lines), "line": removed.model_dump(mode="json")})]

    def _replace(self, m: CommandMatch) -> list[Outcome]:
        assert self.draft is not None
        parts = re.split(r"\s+(?:par|with|by)\s+", m.argument, maxsplit=1)
        if len(parts) != 2:
            return [HintGiven(self._say("replace_how"), "replace", m.confidence)]
        old, new = (re.sub(r"^(?:l'|le |la |les |the )", "", p.strip(), flags=re.IGNORECASE) for p in parts)
        for index in range(len(self.draft.lines) - 1, -1, -1):
            line = self.draft.lines[index]
            if fold(old) in fold(line.text) or fold(old) == fold(getattr(line, "drug", "")):
                text = re.sub(re.escape(old), new, line.text, count=1, flags=re.IGNORECASE)
                if fold(old) not in fold(line.text):  # matched the drug, not the words said
                    text = f"{new} {line.text.split(' ', 1)[-1]}"
                return self._rewrite(index, text, self._command(m, self._say("replaced", old=old, new=new)))
        return [self._command(m, self._say("not_found", old=old))]

    # -- dictation -------------------------------------------------------------------

    def _dictate(self, text: str) -> list[Outcome]:
        if self.draft is None or not text.strip():
            return []
        correction = _CORRECTION.match(spoken_numbers(text, self.language))
        if correction:
            return self._correct_tooth(int(correction[1]), int(correction[2]))
        outcomes: list[Outcome] = []
        for fragment in (clause for sentence in sentences(text) for clause in clauses(self.draft.kind, sentence)):
            if talk(fragment, self.language):  # "ouvrez grand", "merci": the transcript keeps it, not the document
                outcomes.append(Ignored(self._say("not_content")))
                continue
            outcomes += self._fragment(fragment)
        return outcomes

    def _fragment(self, fragment: str) -> list[Outcome]:
        """One fragment of dictation: it goes on with the open line, or begins a new one."""
        assert self.draft is not None
        index = self.draft.open_line
        if conversation(self.draft.kind, fragment):  # "ça va ?", "il faut bien manger": no line, nor part of one
            return [Ignored(self._say("not_content"))]
        if self.draft.kind == "lab_order" and (bare := _BARE_NUMBER.fullmatch(spoken_numbers(fragment, self.language))):
            # "sur la 46" … "23": a tooth, or a shade misheard ("teinte A3")?  Neither is guessed.
            return [Warned(self._say("bare_number", said=bare[1]))]
        held, self._held = self._held, None
        if held is not None and continues(self.draft.kind, held, fragment):
            fragment, extends = join(held, fragment), False  # "Lamaline" … "deux gélules trois fois par jour": one new line
        else:
            extends = index is not None and continues(self.draft.kind, self._open_text(), fragment)
        late: list[Outcome] = []
        if index is not None and extends:
            self._fragments.append(fragment)
            self.draft.lines[index] = line = self._line(self._open_text(), index)
            change = {"op": "extend_line", "index": index, "fragment": fragment, "line": line.model_dump(mode="json")}
        else:
            if self.draft.kind == "prescription" and not prescribes(parse_line(fragment)):
                # "Validation du devis": nothing prescribed; held for a dose or posology that may follow
                self._held = fragment
                return [Warned(self._say("no_drug", said=fragment.strip(" .,;:")))]
            late = self._late_warnings()  # of the line this one closes
            self._fragments, self._warned = [fragment], set()
            line = self._line(self._open_text())
            self.draft.lines.append(line)
            self.draft.open_line = index = len(self.draft.lines) - 1
            change = {"op": "add_line", "index": index, "line": line.model_dump(mode="json")}
        self._new_version_if_validated()
        return [*late, self._updated(change), *self._news(index, line)]

    def _news(self, index: int, line: Line) -> list[Outcome]:
        """The warnings of the open line not yet given; a drug name close to
        the formulary's is asked about ("Vouliez-vous dire … ?"), and the
        next "oui" accepts it."""
        kinds = getattr(line, "warning_kinds", [])
        out: list[Outcome] = []
        for i, warning in enumerate(line.warnings):
            if warning in self._warned or (i < len(kinds) and kinds[i] in SAID_LATER):
                continue  # shown on the line; given when the line closes still without it (or at validation)
            self._warned.add(warning)
            if i < len(kinds) and kinds[i] == NEAR_DRUG and isinstance(line, PrescriptionLine):
                self._suggested = index
                out.append(HintGiven(self._say("suggest", said=line.drug, drug=line.suggestion), "accept_suggestion", 1.0))
            else:
                out.append(Warned(warning))
        return out

    def _late_warnings(self) -> list[Outcome]:
        """What the open line, about to close, still lacks of what is often
        said after a pause (its strength), and was not given yet: "Amoxicilline."
        … "un gramme" is a whole line, not a line without its dose."""
        index = self.draft.open_line if self.draft is not None else None
        if index is None or not 0 <= index < len(self.draft.lines):
            return []
        line = self.draft.lines[index]
        late = [w for w, k in zip(line.warnings, getattr(line, "warning_kinds", [])) if k == NO_STRENGTH and w not in self._warned]
        self._warned.update(late)
        return [Warned(w) for w in late]

    def accept_suggestion(self, index: int) -> list[Outcome]:
        """The dentist accepts the formulary drug suggested for line ``index``
        (0-based): the name heard is replaced by it, and the line re-read."""
        lines = self.draft.lines if self.draft is not None else []
        line = lines[index] if 0 <= index < len(lines) else None
        if not isinstance(line, PrescriptionLine) or not line.suggestion:
            return [Warned(self._say("no_suggestion", number=index + 1))]
        said, drug = line.drug, line.suggestion
        text = re.sub(re.escape(said), drug, line.text, count=1, flags=re.IGNORECASE) if said.lower() in line.text.lower() else f"{drug} {line.text}"
        return self._rewrite(index, text, CommandDone(self._say("accepted", said=said, drug=drug), "accept_suggestion", 1.0))

    def _recheck(self) -> None:
        """Check the prescription's lines again (patient, doses across lines):
        each line's checks replace those it had."""
        if self.draft is None or self.draft.kind != "prescription":
            return
        lines = [line for line in self.draft.lines if isinstance(line, PrescriptionLine)]
        for line, alerts in zip(lines, check(lines, self.context.patient, self.today)):
            kept = [(w, k) for w, k in zip(line.warnings, line.warning_kinds + [""] * len(line.warnings)) if k not in CHECK_KINDS]
            kept += [(a.message, a.kind) for a in alerts]
            line.warnings, line.warning_kinds = [w for w, _ in kept], [k for _, k in kept]

    def _open_text(self) -> str:
        text = ""
        for fragment in self._fragments:
            text = join(text, fragment)
        return text.rstrip(" ,;:")  # "Amoxicilline un gramme," said before a pause

    def _forget_open_line(self) -> None:
        self._fragments, self._warned, self._held = [], set(), None

    def _correct_tooth(self, wrong: int, right: int) -> list[Outcome]:
        assert self.draft is not None
        for index in range(len(self.draft.lines) - 1, -1, -1):
            line = self.draft.lines[index]
            if wrong in line.teeth:
                text = re.sub(rf"\b{wrong}\b", str(right), line.text, count=1)
                return self._rewrite(index, text, CommandDone(self._say("tooth_fixed", wrong=wrong, right=right), "correct_tooth", 1.0))
        return [Warned(self._say("tooth_absent", wrong=wrong))]

    def _rewrite(self, index: int, text: str, done: Outcome) -> list[Outcome]:
        """Replace line ``index`` by ``text`` re-read: what was done, the
        update, and the new line's warnings."""
        assert self.draft is not None
        self.draft.lines[index] = line = self._line(text, index)
        if index == self.draft.open_line:  # the open line goes on from its corrected text
            self._fragments, self._warned = [text], set(line.warnings)
        self._new_version_if_validated()
        updated = self._updated({"op": "replace_line", "index": index, "line": line.model_dump(mode="json")})
        return [done, updated, *self._warnings(line)]

    def _line(self, text: str, index: int | None = None) -> Line:
        """A draft line of the draft's kind from dictated text, to be line
        ``index`` of the draft (None: a new line at its end)."""
        assert self.draft is not None
        normalized = spoken_numbers(text.strip(), self.language).strip()
        found = find_teeth(normalized)
        teeth = [t.number for t in found]
        warnings = [self._say("bad_tooth", tooth=t.number) for t in found if not t.valid]
        if self.draft.kind == "prescription":
            line: Line = parse_line(text)
            line.teeth, line.warnings = teeth, warnings + line.warnings
            line.warning_kinds = [""] * len(warnings) + line.warning_kinds
        elif self.draft.kind == "lab_order":
            reading = read_lab_line(text, self.today, self.language)
            bad = [self._say("bad_tooth", tooth=n) for n in dict.fromkeys(reading.invalid_teeth)]
            line = LabLine(text=normalized, teeth=reading.teeth, fields=reading.fields, lead=reading.lead, items=reading.items,
                           notes=reading.notes if (reading.fields or reading.continues) else "",
                           section="order" if (reading.fields or reading.continues) else "notes", warnings=bad)
        elif self.draft.kind == "medical_certificate":
            before = self.draft.lines[:index] if index is not None else self.draft.lines
            previous = getattr(before[-1], "section", None) if before else None
            line = CertificateLine(teeth=teeth, warnings=warnings,
                                   **parse_certificate_line(text, self.today, self.language, previous=previous))
            # the examination's default time: when the draft's dictation began (kept by a resumed session)
            line.fields["dictation_started_at"] = (self.draft.fields.get("dictation_started_at")
                                                   or self.started_at.isoformat(timespec="minutes"))
        else:
            line = ReportLine(teeth=teeth, warnings=warnings, **parse_report_line(text, self.today, self.language))
        return line

    # -- helpers ------------------------------------------------------------------------

    def _document(self, *, preview: bool = False, print_it: bool = False) -> DocumentAsked:
        assert self.draft is not None
        return DocumentAsked(self._title(self.draft.kind), self.draft.snapshot(), preview=preview, print=print_it)

    def _warnings(self, line: Line) -> list[Outcome]:
        return [Warned(w) for w in line.warnings]

    def _new_version_if_validated(self) -> None:
        """A change to a validated document starts its next version."""
        if self.draft is not None and self.draft.status == "validated":
            self.draft.status = "draft"
            self.draft.version += 1

    def _updated(self, change: dict) -> DraftChanged:
        assert self.draft is not None
        self._recheck()
        index = change.get("index")
        if "line" in change and isinstance(index, int) and change.get("op") != "remove_line" and index < len(self.draft.lines):
            change = {**change, "line": self.draft.lines[index].model_dump(mode="json")}  # with its checks
        return DraftChanged(self._title(self.draft.kind), self.draft.snapshot(), change)

    def _command(self, m: CommandMatch, did: str) -> CommandDone:
        return CommandDone(did, m.command, m.confidence)

    def _say(self, key: str, **values: object) -> str:
        return MESSAGES[self.language if self.language in MESSAGES else "fr"][key].format(**values)

    def _say_of(self, key: str, kind: str | None, **values: object) -> str:
        """A message about a document: its title, and French agreement with it
        ("Ordonnance validée", "Compte rendu validé")."""
        e = "e" if kind is not None and KINDS[kind].feminine else ""
        return self._say(key, title=self._title(kind), e=e, **values)

    def _title(self, kind: str | None) -> str:
        return KINDS[kind].name(self.language) if kind else ""


def help_text(language: str) -> str:
    if language == "en":
        return ("Say: “new prescription”, “medical certificate”, “lab order”, “clinical report”, “scratch that”, "
                "“delete line 2”, “erase all”, “replace X with Y”, “read back”, “sign” then “yes”, “print”, “sign and print”, "
                "“preview”, “pause” … “resume”, “discard”.")
    return ("Dites : « nouvelle ordonnance », « certificat médical », « fiche de laboratoire », « compte rendu », "
            "« efface ça », « efface la ligne 2 », « efface tout », « remplace X par Y », « relis », « valide » puis « oui », "
            "« imprime », « valide et imprime », « aperçu », « pause dictée » … « reprends », « abandonne ».")
