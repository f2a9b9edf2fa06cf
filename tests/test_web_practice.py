"""A new practice, from `scripts/serve` to a signed prescription, with the
browser only (issue 14's "done when"): on a fresh server the setup page
creates the practice and its dentist; the dentist registers a patient from
the Dictée page, dictates with the microphone (Chromium's fake microphone
plays a real recording: a prescription, « Valide l'ordonnance », then
« Oui »), the read-back is signed, the PDF downloads with the practice's,
the dentist's and the patient's mentions; the patient's page lists the
document; the patient's file is exported, then erased."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, pdf_text, start_server, stop_server
from test_web import CHROMIUM, SHOTS, chromium_hearing, expect

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test installs it)")

RPPS = "10101234564"


@pytest.fixture
def fresh(tmp_path):
    server = start_server(tmp_path)
    yield server
    stop_server(server)


@pytest.fixture
def browser():
    """Its fake microphone dictates a prescription, says « Valide
    l'ordonnance », then « Oui » (tests/data/validate_oui.wav)."""
    yield from chromium_hearing(ROOT / "tests" / "data" / "validate_oui.wav")


def test_a_new_practice_signs_a_prescription_for_a_new_patient_with_the_browser_only(fresh, browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 860}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))

    # 1. the first start: the login page sends to the setup page; filled with the keyboard
    page.goto(fresh.http + "/")
    page.wait_for_url("**/setup.html")
    expect(page.locator("#setup-practice-name")).to_be_focused()
    for text in ["Cabinet dentaire des Tilleuls", "3 allée des Tilleuls", "33000", "Bordeaux", "05 56 00 00 01",
                 "contact@cabinet-tilleuls.fr", "Marc Gestion", "admin@cabinet-tilleuls.fr", "une phrase de passe",
                 "une phrase de passe", "Dr Sophie Laurent", "sophie.laurent@cabinet-tilleuls.fr", None, "06 12 34 56 78",
                 RPPS, "phrase du cabinet des tilleuls", "phrase du cabinet des tilleuls"]:
        if text is not None:  # the title keeps "Chirurgien-dentiste"
            page.keyboard.type(text)
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # in the first room's name: submits
    page.wait_for_url("**/dictee.html")  # the dentist, logged in
    expect(page.locator("header.bar .who")).to_have_text("Dr Sophie Laurent")

    # 2. a new patient, registered without leaving the dictation, is the one chosen
    page.click("#new-patient")
    expect(page.locator("#pf-last_name")).to_be_focused()
    page.keyboard.type("Fontaine")
    page.keyboard.press("Tab")
    page.keyboard.type("Élodie")
    page.select_option("#pf-sex", "F")
    page.fill("#pf-birth_date", "1991-06-14")
    page.fill("#pf-weight_kg", "61")
    page.click("#pf-save")
    expect(page.locator("#patient-dialog")).to_be_hidden()
    expect(page.locator("#patient option:checked")).to_contain_text("FONTAINE Élodie")

    # 3. dictated with the microphone; read back; « Oui » signs it
    page.click("#start")
    page.wait_for_selector("#recording.on", timeout=15_000)
    expect(page.locator("#readback")).to_contain_text(re.compile(r"amoxicilline", re.I), timeout=40_000)
    download = page.locator("#documents li button.download")
    download.wait_for(timeout=40_000)
    page.click("#stop")
    page.wait_for_selector("#start:not(.hidden)", timeout=20_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "premier-document.png"))

    # 4. the signed PDF: the practice, its dentist, the patient, the drug
    with page.expect_download() as saved:
        download.click()
    text = " ".join(pdf_text(Path(saved.value.path()).read_bytes()).replace("\u00a0", " ").replace("\u202f", " ").split())
    for said in ("Cabinet dentaire des Tilleuls", "Dr Sophie Laurent", RPPS, "FONTAINE", "Élodie", "14 juin 1991"):
        assert said in text, (said, text)
    assert re.search(r"amoxicilline", text, re.I) and "APERÇU" not in text

    # 5. the patient's page lists it; the file is exported (right of access), then erased
    page.goto(fresh.http + "/patients.html")
    page.fill("#search", "Fontaine")
    page.locator("#patients tr th a", has_text="FONTAINE Élodie").click()
    expect(page.locator("#p-name")).to_have_text("FONTAINE Élodie")
    expect(page.locator("#p-documents")).to_contain_text("Ordonnance")
    with page.expect_download() as exported:
        page.click("#p-export")
    with zipfile.ZipFile(exported.value.path()) as z:
        data = json.loads(z.read("patient.json"))
        assert data["patient"]["last_name"] == "Fontaine" and len(data["documents"]) == 1
        assert any(name.startswith("pdf/") for name in z.namelist())
    page.click("#p-erase")
    expect(page.locator("#erase-dialog")).to_contain_text("émis il y a moins de 20 ans")  # the retention rule, before confirming
    page.fill("#erase-confirm", "Fontaine")
    page.click("#erase-go")
    expect(page.locator("#list-notice")).to_contain_text("Dossier de FONTAINE Élodie effacé")
    expect(page.locator("#patients tr", has_text="FONTAINE")).to_have_count(0)
    assert problems == [], problems
    context.close()
