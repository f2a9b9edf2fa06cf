#!/usr/bin/env python3
"""Render one sample of each document type, as dictated, for a visual check.

Writes ``docs/documents/<kind>.pdf`` and ``<kind>.png`` (first page, via
Debian's ``pdftoppm``), from a fictitious practice and patient
(``tests/factories.py``).  Run after changing a template or the CSS, look at
the PNGs, commit them:

    .venv/bin/python scripts/render_samples.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "tests"))

from chairside.dictation.state import Dictation  # noqa: E402
from chairside.documents.render import render_pdf  # noqa: E402
from factories import context  # noqa: E402
from test_documents import SCRIPTS  # noqa: E402

OUT = ROOT / "docs" / "documents"
EXTRA = {  # a fuller dictation than the tests' for the pictures
    # a non-substitutable line with its reason, and a secure-prescription drug (tramadol)
    "prescription": ["Ibuprofène quatre cents milligrammes, un comprimé trois fois par jour au cours des repas pendant trois jours, "
                     "non substituable C I F.",
                     "Bain de bouche à la chlorhexidine zéro virgule douze pour cent, deux fois par jour pendant dix jours.",
                     "Tramadol cinquante milligrammes, une gélule toutes les six heures en cas de douleur pendant trois jours."],
    # the examination's time said, and an ITT qualified as said ("inférieure à huit jours")
    "medical_certificate": ["Patient examiné ce jour à neuf heures cinquante.", "Mobilité de la vingt et un, plaie de la lèvre supérieure.",
                            "Risque de nécrose pulpaire, réserves sur le pronostic.", "ITT inférieure à huit jours."],
    # several items: half shade, teeth without an article, collar and incisal shades, words kept as notes
    "lab_order": ["Moignon ND trois.", "Onlay céramique sur quarante-six, teinte A trois et demi, limite en congé.",
                  "Bridge céramo-métallique de vingt-quatre à vingt-six, alliage non précieux, teinte A deux au collet, A un en incisal.",
                  "Couronne métal sur la quarante-sept, vissée sur implant."],
    "clinical_report": ["Antécédents : allergie à la pénicilline.", "Péricoronarite de la quarante-huit.",
                        "Clindamycine trois cents milligrammes, deux gélules deux fois par jour pendant sept jours."],
}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    issued = datetime(2026, 11, 29, 10, 15, tzinfo=ZoneInfo("Europe/Paris"))
    for kind, script in SCRIPTS.items():
        d = Dictation(today=issued.date(), context=context())
        for utterance in [*script, *EXTRA[kind]]:
            d.handle(utterance)
        outcomes = d.handle("Valide.")
        outcome = outcomes[-1]
        if any(o.kind == "readback" for o in outcomes):  # read back first (issue 13): signed on "oui"
            outcome = d.handle("Oui.")[-1]
        if outcome.kind != "document":
            print(f"{kind}: not validated: {outcome.message}", file=sys.stderr)
            return 1
        pdf = OUT / f"{kind}.pdf"
        pdf.write_bytes(render_pdf(d.draft, d.context, issued))
        if shutil.which("pdftoppm"):
            subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf), str(OUT / kind)], check=True)
        print(f"{pdf.relative_to(ROOT)} ({pdf.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
