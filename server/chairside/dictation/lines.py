"""Lines made by meaning, not by pauses (pure functions).

A dentist pauses mid-line: "Amoxicilline … un gramme, … un comprimé matin
et soir … pendant sept jours."  Each pause ends a final, but the four
fragments are one prescription line.  This module decides, for each
fragment, whether it **continues** the line being dictated or **begins** a
new one, from its words only:

- a fragment that names what opens a line of its document begins one: a
  drug (DCI or brand) in a prescription, a work type or the delivery in a
  lab order, a section heading ("Motif", "ITT", "Prochain rendez-vous", "Le
  patient déclare") in a certificate or report;
- a line that so far is only such an opener ("Amoxicilline", "Motif,",
  "Livraison", "Anesthésie para-apicale") takes the next fragment, unless
  that one opens a line itself;
- a fragment that begins with words that cannot begin a line on their own
  continues: numbers and strengths, "un comprimé", "pendant", "matin",
  "de la", "sur la", "et", "sans", "avec", "depuis", "hier", "réalisé",
  "teinte", a material after a work type, a product after "anesthésie"...;
- anything else begins a new line: when in doubt, two lines the dentist can
  see, never two things silently merged into one.

Explicit ends ("à la ligne", "ligne suivante", "point à la ligne"; "new
line", "next line") are found here too; commands and long silences are the
dictation's business (:mod:`.state`).  Fillers ("euh", "hum") are taken out
of fragments before anything else.
"""

from __future__ import annotations

import re

from .clinical import finding_or_care
from .commands import fold
from .lab import MATERIALS, WORK_TYPES
from ..record.draft import PrescriptionLine
from .prescription import find_drug

# Hesitations: never words of a document.  "ben", "bah", "et" only as a
# whole fragment ("Bain de bouche" is often heard "Ben de bouche"; a lone
# "euh" is often heard "Et ?").
_FILLER_WORDS = r"euh+|heu+|euhm|hum+|hmm+|mmh+|mmm+|uh+|um+|erm|ehm"  # not "mm": millimetres
_FILLER = re.compile(rf"(?<![\w'’-])(?:{_FILLER_WORDS})(?![\w'’-])[\s,.;:!?…]*", re.IGNORECASE)
_FILLER_ONLY = re.compile(rf"^[\s,.;:!?…]*(?:(?:{_FILLER_WORDS}|ben|bah|bon|hein|et|eh|ah|oh|hé)[\s,.;:!?…]*)+$", re.IGNORECASE)

# "à la ligne" and its kin, said at the end of a line (or alone).
_END_WORDS = {
    "fr": r"(?:point\s+|retour\s+)?(?:à|a)\s+la\s+ligne|ligne\s+suivante|nouvelle\s+ligne|point\s+final",
    "en": r"(?:full\s+stop\s+)?new\s+line|next\s+line|new\s+paragraph",
}
_END = {
    language: re.compile(rf"(?:^|(?<=[\s,.;:!?]))(?:{words})(?=[\s,.;:!?]|$)[\s,.;:!?]*", re.IGNORECASE)
    for language, words in _END_WORDS.items()
}

_NUMBER_WORDS = (r"\d+|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|quarante|"
                 r"cinquante|soixante|cent|cents|mille|demi|demie|one|two|three|four|five|six|seven|eight|nine|ten|half")
# Words that cannot begin a line of their own (folded), any document.
_CONTINUES = (
    r"de|du|des|d|a|au|aux|avec|sans|et|ou|puis|mais|sur|sous|dans|depuis|pendant|durant|pour|par|en|entre|vers|"
    r"apres|avant|jusqu|soit|environ|dont|qui|que|qu|il|elle|ils|elles|avoir|etre|ete|hier|avant hier|ce|cet|cette|"
    r"aujourd hui|demain|ce matin|ce soir|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|prochain|prochaine|"
    r"realisee?s?|effectuee?s?|faite?s?|posee?s?|envoyee?s?|donnee?s?|prevue?s?|prescrite?s?|refaite?s?|"
    r"gauche|droite|inferieure?|superieure?|mesiale?|distale?|vestibulaire|linguale|palatine|occlusale?|"
    r"matin|midi|soir|coucher|le matin|le midi|le soir|toutes les|tous les|fois|si|en cas|a prendre|prendre|"
    r"comprimes?|gelules?|sachets?|cuilleres?|ampoules?|mg|g|milligram+e?s?|gram+e?s?|a jeun|renouvelable|a renouveler|"
    r"of|with|without|and|or|then|on|in|at|for|since|during|from|to|per|times|twice|once|daily|every|"
    r"tablets?|capsules?|yesterday|today|this|tomorrow|next|done|given"
)
_CONTINUES_RE = re.compile(rf"^(?:\d|(?:{_CONTINUES}|{_NUMBER_WORDS})\b)")  # "400 mg", "300mg"

# What opens a line, document by document (folded, at the fragment's start,
# an article allowed before the noun).
_ARTICLE = r"(?:(?:un|une|des|le|la|les|l|a|an|the)\s+)?"
_HEADINGS = (r"motif|consulte pour|vient pour|antecedents?|allergies?|traitement en cours|examen(?: clinique)?|"
             r"a l examen|diagnosti(?:c|que)|anesth?esie|prescriptions?|ordonnance|consignes?|conseils?|"
             r"prochain rendez vous|prochaine seance|prochain rdv|a revoir|itt|i t t|pas d itt|sans itt|"
             r"incapacite totale de travail|(?:le |la )?patiente? (?:declare|dit|rapporte|affirme|indique|explique)|"
             r"selon (?:ses|les) dires|reason for visit|medical history|examination|diagnosis|anaesthesia|anesthesia|"
             r"next appointment|instructions|the patient (?:states|says|reports)|observations?|remarques?|notes?")
_FINDINGS_AND_ACTS = (
    r"fractures?|fissures?|felures?|luxations?|expulsions?|mobilites?|plaies?|hematomes?|oedemes?|contusions?|"
    r"ecchymoses?|douleurs?|egression|intrusion|saignements?|lesions?|dermabrasions?|caries?|abces|tumefactions?|"
    r"extractions?|avulsions?|composites?|amalgames?|inlays?|onlays?|couronnes?|detartrage|surfacage|pulpotomie|"
    r"pulpectomie|devitalisation|traitement|obturation|sutures?|incision|drainage|curetage|scellement|radiographies?|"
    r"radio|panoramique|empreintes?|pose|depose|collage|contention|attelle|reimplantation|polissage|fluoration|biopsie|"
    r"pulpite|parodontite|gingivite|necrose|cellulite|pericoronarite|alveolite|desmodontite|granulome|kyste|"
    r"fracture|wound|swelling|extraction|filling|crown|scaling|splint|root canal"
)
_REPORT_OPENS = re.compile(rf"^{_ARTICLE}(?:{_HEADINGS})\b")
_REPORT_OPENS_WEAK = re.compile(rf"^{_ARTICLE}(?:{_FINDINGS_AND_ACTS})\b")
_ANAESTHESIA_DETAILS = re.compile(
    r"^(?:articaine|septanest|ubistesin|alphacaine|lidocaine|xylocaine|mepivacaine|scandonest|prilocaine|bupivacaine|"
    r"para apicale?|paraapicale?|infiltration|loco ?regionale?|tronculaire|intra ?ligamentaire|intra ?septale?|"
    r"intraosseuse|topique|adrenalinee?|avec adrenaline|sans vaso\w*|cartouches?|carpules?)\b")

_WORK = "|".join(said for said, _ in WORK_TYPES)
_LAB_OPENS = re.compile(rf"^{_ARTICLE}(?:{_WORK}s?|livraison|delivery|a livrer|pour le|empreintes?|envoi|joints?|"
                        rf"remarques?|notes?|observations?|commentaires?|modeles?|photos?|mordu|arc facial)\b")
_LAB_ITEM = re.compile(rf"^{_ARTICLE}(?:{_WORK}s?)\b")
_HISTORY = re.compile(rf"^{_ARTICLE}(?:antecedents?|allergies?|traitement en cours|medical history)\b")
_LAB_DETAILS = re.compile(rf"^(?:{'|'.join(said for said, _ in MATERIALS)}|teintes?|moignon|shade|stump|"
                          r"monolithique|stratifiee?|scelle|transvisse|vissee?|provisoire|definitive?|elements?)\b")


def without_fillers(text: str) -> str:
    """The fragment with its hesitations taken out ("" when it was only that)."""
    if _FILLER_ONLY.match(text):
        return ""
    out = _FILLER.sub("", text).strip()
    return out[:1].upper() + out[1:] if out and text.strip()[:1].isupper() else out


def split_ends(text: str, language: str) -> list[tuple[str, bool]]:
    """The text cut at each "à la ligne": (piece, ends the line) pairs.
    "Paracétamol … trois jours, à la ligne" → [("Paracétamol … trois jours", True)]."""
    pattern = _END.get(language, _END["fr"])
    pieces: list[tuple[str, bool]] = []
    rest = text
    while (m := pattern.search(rest)) is not None:
        pieces.append((rest[: m.start()].strip(" ,;:"), True))
        rest = rest[m.end():]
    if rest.strip(" ,.;:!?"):
        pieces.append((rest.strip(), False))
    return pieces


def sentences(text: str) -> list[str]:
    """A final cut into its sentences: each is a fragment of its own."""
    parts = re.split(r"(?<=[.!?…])\s+(?=\S)", text.strip())
    return [p for p in (part.strip() for part in parts) if p.strip(" ,.;:!?…")]


def clauses(kind: str, sentence: str) -> list[str]:
    """A sentence of a ``kind`` document cut where, after a comma, words
    begin a line of their own: two lines said in one breath ("… pendant
    trois jours, ibuprofène 400 mg, …"; "… de la 12, ITT de six jours")
    are two lines, as they are when a pause parts them.  Only before what
    opens a line (a drug after a line that says more than a drug's name; a
    work type; a heading; in a certificate or report, a finding or an act
    after a heading's line, or care after a finding in a certificate): a
    comma before anything else stays inside the line."""
    parts = re.split(r"(?<=[,;])\s+", sentence.strip())
    out = [parts[0]]
    for part in parts[1:]:
        if _begins_within(kind, out[-1], part):
            out[-1] = out[-1].rstrip(" ,;")
            out.append(part)
        else:
            out[-1] = f"{out[-1]} {part}"
    return out


def _begins_within(kind: str, before: str, clause: str) -> bool:
    """Do the words after a comma begin a line, ``before`` being what the
    sentence said since its last line began?"""
    if opens_line(kind, clause):
        if kind == "prescription":  # "Amoxicilline, acide clavulanique": one drug
            folded = fold(before)
            return _name_part(folded) != folded.strip()
        if kind == "lab_order":  # a new item; "…, livraison jeudi" is said of the order, in the same breath
            return bool(_LAB_ITEM.match(fold(clause)))
        return True
    if kind in ("prescription", "lab_order") or continues(kind, before, clause):
        return False
    # A finding or an act after a heading's line begins its own ("Le patient
    # déclare …, fracture de la 12"), as does care after a finding in a
    # certificate ("Expulsion de la 11, réimplantation et contention
    # réalisées"); acts and findings after each other stay one line
    # ("Extraction de la 48, suture …", "Luxation de la 22, mobilité de la
    # 21"), as do a history heading's treatments ("Antécédents : …, traitement par …").
    folded, clause_folded = fold(before), fold(clause)
    if not _REPORT_OPENS_WEAK.match(clause_folded):
        return False
    if kind == "medical_certificate" and (said := finding_or_care(clause_folded)) and finding_or_care(folded) not in (None, said):
        return True
    return bool(_REPORT_OPENS.match(folded) and not _HISTORY.match(folded))


def opens_line(kind: str, fragment: str) -> bool:
    """Does this fragment begin a line of its own in a ``kind`` document?"""
    folded = fold(fragment)
    if kind == "prescription":
        return find_drug(_name_part(folded)) is not None
    if kind == "lab_order":
        return bool(_LAB_OPENS.match(folded))
    return bool(_REPORT_OPENS.match(folded))


def continues(kind: str, line: str, fragment: str) -> bool:
    """Does ``fragment`` go on with the open ``line`` (both as said)?"""
    if opens_line(kind, fragment):
        return False
    folded = fold(fragment)
    if _only_an_opener(kind, fold(line)):  # "Amoxicilline", "Motif,", "Livraison": what follows completes it
        return True
    if kind not in ("prescription", "lab_order") and _REPORT_OPENS_WEAK.match(folded):
        return False  # "Fracture de la 21" after a complete line: a finding of its own
    if _CONTINUES_RE.match(folded):
        return True
    if kind == "lab_order":
        return bool(_LAB_DETAILS.match(folded))
    if kind == "clinical_report" and re.match(r"^anesth?esie\b", fold(line)):
        return bool(_ANAESTHESIA_DETAILS.match(folded))
    return False


def join(line: str, fragment: str) -> str:
    """The line with one more fragment: the line's closing period dropped,
    the fragment's capital lowered unless it is an acronym or a name said
    mid-line ("ITT" stays, "Un gramme" becomes "un gramme")."""
    head = line.rstrip()
    if not head:  # a line begins with a capital
        tail = fragment.strip()
        return tail[:1].upper() + tail[1:]
    if head.endswith((".", "…")) and not head.endswith(".."):
        head = head[:-1].rstrip()
    tail = fragment.strip()
    if len(tail) > 1 and tail[0].isupper() and tail[1].islower() and find_drug(tail.split()[0]) is None:
        tail = tail[0].lower() + tail[1:]
    return f"{head} {tail}"


_NOT_A_NAME = re.compile(rf"^(?:{_NUMBER_WORDS}|comprimes?|gelules?|sachets?|cuilleres?|ampoules?|g|mg|grammes?|milligrammes?|"
                         r"pendant|durant|matin|midi|soir|fois|toutes?|tous|si|par|au|aux|en|avant|apres)$")


def _name_part(folded: str) -> str:
    """The words that may name a drug: those before the first number
    ("un comprimé matin et soir" names nothing; "bain de bouche à la
    chlorhexidine" names chlorhexidine)."""
    words = re.sub(r"^(?:un|une|le|la|les|l|du|des|de la|a|an|the)\s+", "", folded).split()
    for i, word in enumerate(words):
        if _NOT_A_NAME.match(word):
            return " ".join(words[:i])
    return " ".join(words)


def _only_an_opener(kind: str, folded_line: str) -> bool:
    """Is the line so far only what opens it ("amoxicilline", "motif",
    "anesthesie para apicale", "couronne", "livraison")?"""
    words = folded_line.split()
    if not words:
        return False
    if kind == "prescription":  # a drug's name alone takes only what continues it ("Zyrtec" after it is a new line)
        return False
    if kind == "lab_order":
        m = _LAB_OPENS.match(folded_line)
        rest = folded_line[m.end():].strip() if m else folded_line
        return m is not None and (not rest or bool(re.fullmatch(rf"(?:{'|'.join(s for s, _ in MATERIALS)})", rest)))
    m = _REPORT_OPENS.match(folded_line)
    if m is None:
        return False
    rest = folded_line[m.end():].strip()
    return not rest or bool(_ANAESTHESIA_DETAILS.fullmatch(rest)) or rest in ("clinique", "initial", "pulpaire")


# -- not content (issue 13): talk to the patient, control phrases ---------------
#
# Three rules, on the folded fragment, before it is added to a document:
# 1. a few whole utterances that are never dictation ("oui", "non", "ok",
#    "merci", "voilà", "très bien"), and what begins like talk to the patient
#    ("ouvrez", "ça va", "ne bougez pas", "au revoir", "open wide" …): any
#    document;
# 2. a fragment that does not begin a line (in a prescription: names no
#    drug) and is a question ("?"), or, in a prescription, begins like
#    conversation ("je", "on va", "vous", "il faut", "pensez à" …): neither
#    a line nor part of the open one;
# 3. control phrases ("arrête l'enregistrement", "on arrête", "stop"): not
#    content either; the dictation answers them with a hint (:func:`control`).
_TALK_WHOLE = re.compile(
    r"^(?:oui|non|ok|okay|d accord|merci(?: beaucoup)?|voila|tres bien|parfait|super|allez|pardon|"
    r"yes|no|thanks|thank you|all right|good|great|perfect)(?: (?:merci|docteur|madame|monsieur))?$")
_TALK_START = {
    "fr": re.compile(
        r"^(?:ouvrez|ouvre|fermez|refermez|serrez|mordez|tournez|penchez|levez|baissez|rincez|crachez|respirez|"
        r"detendez vous|ne bougez|bougez pas|ca va|vous allez bien|tu vas bien|ca fait mal|vous avez mal|tu as mal|"
        r"voila|tres bien|c est fini|c est termine|on a fini|on a termine|on y va|on continue|au revoir|bonjour|"
        r"bonsoir|a bientot|a la semaine prochaine|a tout a l heure|excusez moi|ne vous inquietez pas|installez vous|"
        r"asseyez vous|bonne journee|bonne soiree|bon courage|merci|signez|revenez|rappelez|on refera|on se revoit)\b"),
    "en": re.compile(
        r"^(?:open wide|open your mouth|open a bit|close your mouth|bite down|turn your head|rinse|spit|relax|breathe|"
        r"how are you|are you ok|are you alright|does it hurt|thank you|thanks|goodbye|bye|hello|hi|see you|"
        r"all right|well done|almost done|we are done|don t move|hold still)\b"),
}
_TALK_PRESCRIPTION = re.compile(
    r"^(?:je|j|on|nous|vous|tu|il faut|il faudra|il ne faut|pensez|n oubliez|attendez|"
    r"i|we|you|let s|don t forget|remember)\b")
# In a prescription, what begins with the verbs of the office (print, sign,
# validate, close, erase …) and is no command is no prescription line either:
# "Imprimer la facture pour madame", "Valide ton ticket de parking",
# "Signe le consentement", "Supprimer les sucres rapides" (measured on the
# everyday phrases of tests/data/dictation_commands.tsv).
_OFFICE_VERBS = re.compile(  # verb forms only: "Validité de l'ordonnance", "Signes cliniques", "Fermeture" are content
    r"^(?:n )?(?:(?:imprim|valid|sign|ferm|effac|supprim|abandonn)(?:e|er|ez|ons)|reli(?:s|re|sez)|lis|lisez|lire|"
    r"rempli(?:s|r|ssez)|print|sign|validate|close|discard|erase|delete|clear|read)\b")
_CONTROL = {
    "fr": re.compile(r"^(?:on )?(?:arrete|arretez|arreter|stop|stoppe|coupe|coupez)"
                     r"(?: (?:l enregistrement|la dictee|le micro|d enregistrer|tout|la|ici|ca))?$"),
    "en": re.compile(r"^(?:stop|stop recording|stop the recording|stop dictation|stop it|turn off the (?:mic|microphone))$"),
}


def control(fragment: str, language: str) -> bool:
    """A control phrase that is no command ("arrête l'enregistrement", "on arrête", "stop")."""
    return bool(_CONTROL.get(language, _CONTROL["fr"]).match(fold(fragment)))


def talk(fragment: str, language: str) -> bool:
    """Rule 1: words to the patient (or "oui", "merci"), in any document."""
    folded = fold(fragment)
    return bool(_TALK_WHOLE.match(folded) or _TALK_START.get(language, _TALK_START["fr"]).match(folded))


def conversation(kind: str, fragment: str) -> bool:
    """Rule 2 (a fragment that does not begin a line): a question, in any
    document; in a prescription, what names no drug and begins like
    conversation or with a verb of the office.  Checked before the open
    line is extended."""
    if opens_line(kind, fragment):
        return False
    if fragment.rstrip().endswith("?"):
        return True
    folded = fold(fragment)
    return kind == "prescription" and bool(_TALK_PRESCRIPTION.match(folded) or _OFFICE_VERBS.match(folded))


# -- what a prescription line is (issue 13) -------------------------------------
#
# A new line of a prescription must be something prescribed: a drug of the
# formulary (or a name close to one, asked about), or words with what a
# prescription says of a drug the formulary lacks (a strength, a number of
# units per intake, a frequency, a duration, boxes, renewals, "si douleur",
# "non substituable"), or a care item or advice a dentist prescribes.  A
# noun phrase with none of it ("Validation du devis", "Reprise de carie",
# "L'imprimante n'a plus de papier") is held, not written: the dentist is
# told, and if the next fragment gives it a dose or a posology ("Lamaline …
# deux gélules trois fois par jour") the two make the line.
_CARE_ITEMS = re.compile(
    r"^(?:(?:un|une|des|le|la|les|l|du|de la)\s+)?(?:brosses? a dents?|brossettes?|fil dentaire|hydropulseur|jet dentaire|"
    r"dentifrices?|gel|gouttieres?|compresses?|poche de glace|vessie de glace|glace|cire|bains? de bouche|"
    r"alimentation|eviter|ne pas|pas de|arret du tabac|repos|validite|toothbrush|dental floss|toothpaste|ice pack|soft diet|avoid|no)\b")


def prescribes(line: PrescriptionLine) -> bool:
    """Is this parsed line something prescribed (a drug, known or not, with
    what a prescription says of it; a care item; advice)?"""
    # a posology without a name ("pendant sept jours" after "à la ligne") is
    # kept as a line the dentist sees, as any fragment that says how to take
    return bool(line.in_formulary or line.suggestion or line.strength or line.units_per_intake or line.intakes_per_day
                or line.duration_days or line.boxes or line.renewals or line.as_needed or line.non_substitutable
                or _CARE_ITEMS.match(fold(line.text)))
