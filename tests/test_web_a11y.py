"""Accessibility basics of every page, checked by axe-core (the engine
axe-playwright-python ships) in Debian's Chromium: every control labelled,
contrast, landmarks, ARIA used right.  Each page is checked as its user
sees it, in French; the pages before login in English too (the pages share
their markup whatever the language: the suite's time goes elsewhere)."""

from __future__ import annotations

import json

import pytest
from conftest import PASSWORD
from test_web import CHROMIUM, chromium_hearing

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test installs it)")

PAGES = {  # role → the pages it has, and what shows they are drawn
    None: [("index.html", "#email"), ("setup.html", "#setup-practice-name"), ("certificat.html", "#help-fr")],
    "dentist": [("dictee.html", "#patient option"), ("patients.html", "#patients tr"), ("patients.html?id={patient}", "#p-name"),
                ("documents.html", "#documents-count, table"),
                ("ecran.html", ".rooms .card"), ("compte.html", "#profile-name, input")],
    "admin": [("admin.html", "#users tr, table")],
}


@pytest.fixture(scope="module")
def chromium():
    """One browser for the module; each test opens its own contexts."""
    yield from chromium_hearing(None)


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page).response
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in results["violations"]]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_page_passes_axe_core(chromium, practice, lang):
    found: dict[str, list[str]] = {}
    for role, pages in PAGES.items():
        if lang != "fr" and role is not None:
            continue
        context = chromium.new_context(locale="fr-FR", viewport={"width": 1366, "height": 860})
        context.add_init_script(f"localStorage.setItem('chairside.lang', '{lang}')")
        page = context.new_page()
        if role is not None:
            page.goto(practice.server.http + "/")
            page.fill("#email", practice.emails[role])
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"**/{pages[0][0]}")
        for path, drawn in pages:
            if path == "setup.html":  # as an empty store shows it, from another machine (the code's field too)
                page.route("**/v1/setup", lambda route: route.fulfill(
                    status=200, content_type="application/json", body=json.dumps({"needed": True, "code_required": True, "local_ca": False})))
            page.goto(f"{practice.server.http}/{path.format(patient=practice.patient['id'])}")
            page.wait_for_selector(drawn, state="attached")
            page.wait_for_load_state("networkidle")
            if found_here := violations(page):
                found[f"{path} ({role or 'anyone'}, {lang})"] = found_here
        context.close()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)
