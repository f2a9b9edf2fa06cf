"""The Patients and Documents pages, and the Dictée page's patient search,
in Debian's Chromium driven by Playwright (one browser for the module): a
dentist finds, registers, rectifies, exports and erases a patient and works
with their validated documents; an assistant is not offered what the API
refuses them; the practice's documents are listed and filtered."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, pdf_text
from test_web import CHROMIUM, SHOTS, chromium_hearing, expect, log_in

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test installs it)")

SAID = "Paracétamol un gramme, un comprimé toutes les six heures si douleur, pendant trois jours."


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (no microphone needed)."""
    yield from chromium_hearing(None)


def signed_prescription(practice, patient_id: str) -> dict:
    """A prescription for the patient, typed over /v1/stream by the
    practice's dentist, read back and signed: its ``document.ready`` event."""
    from websockets.sync.client import connect

    with connect(practice.server.ws) as ws:
        ws.send(json.dumps({"type": "start", "language": "fr", "token": practice.tokens["dentist"],
                            "room": practice.rooms[0], "patient": patient_id}))
        for text in ("Nouvelle ordonnance.", SAID, "Valide.", "Oui."):
            ws.send(json.dumps({"type": "text", "text": text}))
        ws.send(json.dumps({"type": "stop"}))
        events = [json.loads(message) for message in ws]
    ready = [e for e in events if e["type"] == "document.ready" and e["status"] == "validated"]
    assert len(ready) == 1, [e for e in events if e["type"] in ("command", "warning", "error")]
    return ready[0]


@pytest.fixture(scope="module")
def durand_prescription(practice) -> dict:
    """A signed prescription of the practice's patient, Jeanne Durand."""
    return signed_prescription(practice, practice.patient["id"])


# The print frame's window, as the page reaches it, with print() counted rather than run.
STUB_PRINT = """() => {
  const real = Object.getOwnPropertyDescriptor(HTMLIFrameElement.prototype, "contentWindow");
  Object.defineProperty(HTMLIFrameElement.prototype, "contentWindow", { get() {
    const win = real.get.call(this);
    return this.classList.contains("print-frame") ? { focus() {}, print() { window.printed = (window.printed || 0) + 1; } } : win;
  } });
}"""


def untranslated(page, *scripts: str) -> list[str]:
    """The string keys a page uses (its data-t attributes, the t("…"),
    say("…") and counted(…, "…") of its scripts) that French or English lacks."""
    code = "\n".join((ROOT / "client_web" / "js" / name).read_text() for name in scripts)
    keys = set(re.findall(r'\b(?:t|say)\("(\w+)"', code))
    keys |= {f"{key}_{form}" for key in re.findall(r'counted\([^,()]+, "(\w+)"\)', code) for form in ("one", "many")}
    return page.evaluate("""(keys) => {
      const used = [...keys, ...[...document.querySelectorAll("[data-t]")].map((n) => n.dataset.t),
                    ...[...document.querySelectorAll("[data-t-placeholder]")].map((n) => n.dataset.tPlaceholder)];
      return [...new Set(used)].filter((k) => !(k in STRINGS.fr) || !(k in STRINGS.en)).sort();
    }""", sorted(keys))


def open_page(browser, practice, role: str, path: str):
    page = log_in(browser, practice, role)
    page.goto(practice.server.http + "/" + path)
    return page


def test_a_dentist_finds_registers_rectifies_exports_and_erases_a_patient(browser, practice):
    page = open_page(browser, practice, "dentist", "patients.html")
    rows = page.locator("#patients tr")
    # search by name (accents and case ignored, any order), by code, by birth date
    page.fill("#search", "JÉANNE durand")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("th a")).to_have_text("DURAND Jeanne")
    expect(page.locator("#found")).to_have_text("1 patient trouvé.")
    page.fill("#search", "07/03/1984")
    expect(rows.first.locator("th a")).to_have_text("DURAND Jeanne")
    expect(rows).to_have_count(1)
    page.fill("#search", "P-2026-0042")
    expect(rows.first.locator("td").nth(1)).to_have_text("P-2026-0042")

    # register a patient from the list (the patient form's dialog), keyboard first
    page.click("#new-patient")
    expect(page.locator("#pf-title")).to_have_text("Nouveau patient")
    expect(page.locator("#pf-last_name")).to_be_focused()
    page.keyboard.type("Lemoine")
    page.keyboard.press("Tab")
    page.keyboard.type("Hugo")
    page.select_option("#pf-sex", "M")
    page.fill("#pf-birth_date", "1975-02-11")
    page.fill("#pf-code", "P-2026-0901")
    page.fill("#pf-allergy", "latex")
    page.keyboard.press("Enter")
    page.check("#pf-antiplatelet")
    page.click("#pf-save")
    expect(page.locator("#patient-dialog")).to_be_hidden()
    # … and lands on their page: ?id=<id>, no patient data in the URL
    expect(page.locator("#p-name")).to_have_text("LEMOINE Hugo")
    expect(page.locator("#p-name")).to_be_focused()
    patient_id = page.url.split("?id=")[1]
    assert re.fullmatch(r"[0-9a-f]{32}", patient_id) and "Lemoine" not in page.url
    expect(page.locator("#p-notice")).to_have_text("Patient enregistré")
    expect(page.locator("#p-identity")).to_contain_text("11 févr. 1975")
    expect(page.locator("#p-facts")).to_contain_text("⚠ Allergies : latex")
    expect(page.locator("#p-facts")).to_contain_text("Antiagrégant")
    expect(page.locator("#p-documents")).to_contain_text("Aucun document validé.")

    # a prescription is dictated and signed for them: their page lists it and the session
    ready = signed_prescription(practice, patient_id)
    page.reload()
    document = page.locator(f"#p-documents tr[data-document='{ready['document_id']}']")
    expect(document.locator("th")).to_have_text(f"Ordonnance {ready['number']}")
    expect(document.locator("td").nth(0)).to_have_text("v1")
    expect(document.locator("td").nth(2)).to_have_text("Dr Claire Martin")
    expect(page.locator("#p-sessions tr")).to_have_count(1)
    expect(page.locator("#p-sessions tr td").nth(0)).to_have_text("Fauteuil 1")
    page.click("#p-sessions summary")
    expect(page.locator("#p-sessions .utterance-list")).to_contain_text("Paracétamol")

    # rectify: the first name was wrong; the signed document stays, re-issued on demand
    page.click("#p-edit")
    expect(page.locator("#pf-title")).to_have_text("Modifier le patient")
    page.fill("#pf-first_name", "Hugues")
    page.click("#pf-save")
    expect(page.locator("#p-name")).to_have_text("LEMOINE Hugues")
    expect(page.locator("#p-notice")).to_contain_text("réémettez ceux qui doivent porter la correction")
    assert "Hugo" in pdf_text(practice.get(ready["url"]).content)
    document.locator("button.reissue").click()
    expect(page.locator("#reissue-dialog")).to_be_visible()
    expect(page.locator("#reissue-explained")).to_contain_text("Une version 2 sera émise")
    page.click("#reissue-go")
    expect(page.locator("#p-notice")).to_have_text(re.compile(r"Ordonnance .* réémis : version 2\."))
    expect(document.locator("td").nth(0)).to_have_text("v2")
    latest = practice.get(f"/v1/documents/{ready['document_id']}.pdf")
    assert latest.headers["x-document-version"] == "2" and "Hugues" in pdf_text(latest.content)

    # the PDF: opened in a tab, saved, printed (from a hidden frame)
    with page.context.expect_page() as tab:
        document.locator("button.open").click()
    assert tab.value.url.startswith("blob:" + practice.server.http)
    tab.value.close()
    with page.expect_download() as saved:
        document.locator("button.download").click()
    assert saved.value.suggested_filename == f"{ready['number']}-v2.pdf"
    assert Path(saved.value.path()).read_bytes().startswith(b"%PDF-")
    # headless Chromium has no print preview (printing a PDF frame crashes its renderer): the frame's print() is counted instead
    page.evaluate(STUB_PRINT)
    document.locator("button.print").click()
    expect(page.locator("iframe.print-frame")).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function("() => window.printed === 1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "patient.png"), full_page=True)

    # right of access: the export downloads as a zip
    with page.expect_download() as exported:
        page.click("#p-export")
    assert exported.value.suggested_filename == "chairside-P-2026-0901.zip"
    with zipfile.ZipFile(exported.value.path()) as z:
        data = json.loads(z.read("patient.json"))
        assert data["patient"]["first_name"] == "Hugues" and len(data["documents"][0]["versions"]) == 2
        assert sum(name.startswith("pdf/") for name in z.namelist()) == 2
    expect(page.locator("#p-notice")).to_have_text("Dossier exporté : chairside-P-2026-0901.zip.")

    # erasure: explained first (what goes, what the law keeps), then the last name typed
    page.click("#p-erase")
    dialog = page.locator("#erase-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#erase-confirm")).to_be_focused()
    expect(dialog).to_contain_text("Effacé tout de suite")
    expect(dialog).to_contain_text("émis il y a moins de 20 ans")
    expect(dialog).to_contain_text("Pour ce patient : 1 document validé et 1 séance de dictée.")
    expect(page.locator("#erase-confirm-label")).to_have_text("Pour confirmer, tapez son nom de famille : LEMOINE")
    expect(page.locator("#erase-go")).to_be_disabled()
    page.keyboard.type("Lemoin")
    expect(page.locator("#erase-go")).to_be_disabled()
    page.screenshot(path=str(SHOTS / "patient-effacement.png"))
    page.keyboard.type("e")
    expect(page.locator("#erase-go")).to_be_enabled()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    # back on the list, told what went and what stays; the patient is gone from it
    assert page.url.endswith("/patients.html")
    expect(page.locator("#list-notice")).to_have_text(
        "Dossier de LEMOINE Hugues effacé. Supprimé : sa fiche, 1 séance de dictée, 4 énoncés transcrits."
        " Conservé : 1 document validé (durée de conservation : 20 ans).")
    expect(page.locator("#search")).to_be_focused()
    expect(rows.filter(has_text="DURAND Jeanne")).to_have_count(1)
    expect(rows.filter(has_text="LEMOINE")).to_have_count(0)
    page.keyboard.type("Lemoine")
    expect(page.locator("#found")).to_have_text("Aucun patient trouvé.")
    assert practice.get(f"/v1/patients/{patient_id}").status_code == 404
    assert practice.get(f"/v1/documents/{ready['document_id']}.pdf").status_code == 200  # the legal record stays
    for fictitious in ({"last_name": "Bernard", "first_name": "Lucie", "sex": "F", "birth_date": "1992-09-30", "allergies": ["pénicillines"],
                        "pregnancy_weeks": 18, "code": "P-2026-0902"},
                       {"last_name": "Nguyen", "first_name": "Minh", "sex": "M", "birth_date": "1958-12-01", "anticoagulant": True,
                        "renal_failure": "moderate", "code": "P-2026-0903"}):  # for the screenshot: a practice has more than one patient
        assert httpx.post(practice.server.http + "/v1/patients", headers=practice.headers("assistant"), json=fictitious).status_code == 201
    page.fill("#search", "")
    expect(rows.filter(has_text="NGUYEN Minh")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "patients.png"))
    assert untranslated(page, "common.js", "patient-form.js", "patients.js") == []
    assert page.problems == [], page.problems
    page.context.close()


def test_an_assistant_is_not_offered_what_the_api_refuses(browser, practice):
    """No erase, export or re-issue for an assistant; should a page offer one
    anyway, the server's refusal is said in a sentence."""
    page = open_page(browser, practice, "assistant", f"patients.html?id={practice.patient['id']}")
    expect(page.locator("#p-name")).to_have_text("DURAND Jeanne")
    expect(page.locator("header nav a.active")).to_have_text("Patients")
    expect(page.locator("#p-edit")).to_be_visible()
    assert page.locator("#p-erase, #p-export, button.reissue").count() == 0
    # a page that believed its user a dentist: the server says no, and the page says so
    page.evaluate("() => sessionStorage.setItem('chairside.user', JSON.stringify({...JSON.parse(sessionStorage.getItem('chairside.user')), role: 'dentist'}))")
    page.reload()
    page.click("#p-erase")
    page.fill("#erase-confirm", "durand")
    page.click("#erase-go")
    expect(page.locator("#erase-error")).to_have_text("Le serveur a refusé : votre rôle ne le permet pas (demandez-le au chirurgien-dentiste).")
    expect(page.locator("#erase-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#erase-dialog")).to_be_hidden()
    expect(page.locator("#p-erase")).to_be_focused()
    assert practice.get(f"/v1/patients/{practice.patient['id']}").status_code == 200
    assert [p for p in page.problems if "status of 403" not in p] == [], page.problems
    page.context.close()


def test_the_documents_page_lists_and_filters_the_practice_s_documents(browser, practice, durand_prescription):
    ready = durand_prescription
    page = open_page(browser, practice, "dentist", "documents.html")
    row = page.locator(f"#documents tr[data-document='{ready['document_id']}']")
    expect(row.locator("th")).to_have_text(f"Ordonnance {ready['number']}")
    expect(row.locator("td").nth(0)).to_have_text("DURAND Jeanne")
    expect(row.locator("td").nth(2)).to_have_text("Dr Claire Martin")
    # its versions, asked for
    row.locator("summary").click()
    expect(row.locator(".versions li")).to_have_count(1)
    expect(row.locator(".versions li")).to_contain_text("v1")
    # the kind filter: another kind hides it, its own shows it
    page.select_option("#kind", "medical_certificate")
    expect(row).to_have_count(0)
    page.select_option("#kind", "prescription")
    expect(row).to_have_count(1)
    assert page.locator("#documents tr").evaluate_all("rows => rows.every(r => r.dataset.kind === 'prescription')")
    # dates: from tomorrow hides it
    page.fill("#to", "2000-01-01")
    page.dispatch_event("#to", "change")
    expect(row).to_have_count(0)
    page.click("#reset")
    expect(row).to_have_count(1)
    # the patient, found by typing: one match is chosen at once
    page.fill("#patient-search", "durand")
    expect(page.locator("#patient-filter")).to_have_value(practice.patient["id"])
    expect(page.locator("#documents tr[data-document]")).not_to_have_count(0)
    names = page.locator("#documents tr[data-document] td:nth-child(2)").all_inner_texts()
    assert set(names) == {"DURAND Jeanne"}, names
    # the FHIR Bundle, downloaded
    with page.expect_download() as fhir:
        row.locator("button.fhir").first.click()
    bundle = json.loads(Path(fhir.value.path()).read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "document"
    page.click("#reset")
    expect(page.locator("#patient-filter")).to_have_value("")
    expect(page.locator("#patient-search")).to_have_value("")
    expect(page.locator("#found")).to_have_text(re.compile(r"^\d+ documents?$"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "documents.png"))
    assert untranslated(page, "common.js", "documents.js") == []
    # an erased patient's kept documents are listed: looking them up answers 404, which the browser logs
    assert [p for p in page.problems if "status of 404" not in p] == [], page.problems
    page.context.close()


def test_the_dictation_page_finds_a_patient_as_one_types(browser, practice):
    """Choosing a patient is one step: typing narrows the selector and a
    single match is chosen; Enter takes the first."""
    page = log_in(browser, practice, "dentist")
    page.wait_for_selector(f"#patient option[value='{practice.patient['id']}']", state="attached")
    page.focus("#patient-search")
    page.keyboard.type("durand jea")
    expect(page.locator("#patient")).to_have_value(practice.patient["id"])
    expect(page.locator("#patient-found")).to_have_text("1 patient trouvé.")
    expect(page.locator("#patient-facts .fact").first).to_be_visible()
    expect(page.locator("#edit-patient")).to_be_enabled()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("section.controls").screenshot(path=str(SHOTS / "dictee-recherche-patient.png"))
    page.keyboard.press("Enter")
    expect(page.locator("#patient")).to_be_focused()
    expect(page.locator("#patient")).to_have_value(practice.patient["id"])
    page.fill("#patient-search", "personne de ce nom")
    expect(page.locator("#patient")).to_have_value("")
    expect(page.locator("#patient-found")).to_have_text("Aucun patient trouvé.")
    page.focus("#patient-search")
    page.keyboard.press("Escape")
    expect(page.locator("#patient-search")).to_have_value("")
    assert page.locator("#patient option").count() >= 2
    page.keyboard.press("Enter")  # an empty search chooses nobody
    expect(page.locator("#patient")).to_have_value("")
    assert untranslated(page, "dictee.js") == []
    assert page.problems == [], page.problems
    page.context.close()


def test_the_new_pages_keep_the_strict_policy():
    for name in ("patients.html", "documents.html"):
        html = (ROOT / "client_web" / name).read_text()
        assert "http://" not in html and "https://" not in html and "<script>" not in html and "style=" not in html, name
        assert not re.search(r"\son\w+=", html), name
