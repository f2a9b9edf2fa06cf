"""The web client's account pages in a real browser (Debian's Chromium,
headless, Playwright): the first start on a fresh server (setup.html), the
administration (admin.html), one's account and the forced change of a
temporary password (compte.html), and what a user sees when something is
wrong (an expired session, a lost connection, a busy server, a refused
microphone)."""

from __future__ import annotations

import re

import httpx
import pytest
from conftest import PASSWORD, bearer, create_practice, login, start_server, stop_server
from test_web import CHROMIUM, SHOTS, chromium_hearing, expect

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test installs it)")


@pytest.fixture(scope="module")
def chromium():
    """One browser for the module; each test opens its own contexts."""
    yield from chromium_hearing(None)


@pytest.fixture(scope="module")
def office(server):
    """A practice of its own on the shared server: its users are changed here."""
    return create_practice(server)


def new_page(browser, lang: str = "fr"):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 860})
    if lang != "fr":
        context.add_init_script(f"localStorage.setItem('chairside.lang', '{lang}')")
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return page


def sign_in(page, http: str, email: str, password: str = PASSWORD) -> None:
    page.goto(http + "/")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def unexpected(page) -> list[str]:
    """What the browser logged besides the refusals the test provoked."""
    return [p for p in page.problems if not re.search(r"status of (400|401|403)", p)]


def test_the_first_start_sets_up_the_practice_in_the_browser(chromium, tmp_path):
    """On a fresh server the login page sends the visitor to the setup page,
    filled with the keyboard alone; refusals (the browser's RPPS check, the
    server's phone check) are shown next to their field; the dentist is then
    logged in, and the setup page is gone."""
    server = start_server(tmp_path)
    try:
        assert httpx.get(server.http + "/v1/setup").json() == {"needed": True, "code_required": False, "local_ca": False}
        page = new_page(chromium)
        page.goto(server.http + "/")
        page.wait_for_url("**/setup.html")
        expect(page.locator("#setup-practice-name")).to_be_focused()
        expect(page.locator("#code-group")).to_be_hidden()  # on the server's machine, no setup code
        keyboard = page.keyboard
        for text in ["Cabinet dentaire du Parc", "3 allée des Tilleuls", "33000", "Bordeaux", "05 56 00 00 01", "contact@cabinet-parc.fr",
                     "Marc Gestion", "admin@cabinet-parc.fr", "une phrase de passe", "une phrase de passe",
                     "Dr Sophie Laurent", "sophie.laurent@cabinet-parc.fr", None, "12 34", "1010 1234 565",
                     "phrase du cabinet du parc", "phrase du cabinet du parc"]:
            if text is not None:  # None: the title keeps "Chirurgien-dentiste"
                keyboard.type(text)
            keyboard.press("Tab")
        expect(page.locator("#setup-rooms-0")).to_be_focused()
        expect(page.locator("#setup-rooms-0")).to_have_value("Fauteuil 1")
        keyboard.press("Tab")
        expect(page.locator("#add-room")).to_be_focused()
        keyboard.press("Enter")  # a second room, its name selected
        expect(page.locator("#setup-rooms-1")).to_be_focused()
        keyboard.type("Fauteuil 2 (fenêtre)")
        keyboard.press("Enter")  # submits
        # the RPPS's check digit is wrong: refused before anything is sent
        rpps = page.locator("#setup-dentist-rpps")
        expect(page.locator("#setup-dentist-rpps-error")).to_have_text(re.compile("clé de contrôle"))
        expect(rpps).to_have_attribute("aria-invalid", "true")
        expect(rpps).to_be_focused()
        assert httpx.get(server.http + "/v1/setup").json()["needed"] is True
        keyboard.press("Backspace")
        keyboard.type("4")  # corrected: its error goes
        expect(page.locator("#setup-dentist-rpps-error")).to_be_empty()
        expect(rpps).not_to_have_attribute("aria-invalid", "true")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "setup.png"), full_page=True)
        keyboard.press("Enter")
        # the server refuses the phone number: next to its field, in French
        phone = page.locator("#setup-dentist-phone")
        expect(page.locator("#setup-dentist-phone-error")).to_have_text(re.compile("Numéro de téléphone invalide"))
        expect(phone).to_be_focused()
        keyboard.press("Control+A")
        keyboard.type("06 12 34 56 78")
        keyboard.press("Enter")
        page.wait_for_url("**/dictee.html")
        expect(page.locator("header.bar .who")).to_have_text("Dr Sophie Laurent")
        expect(page.locator("#room option")).to_have_text(["Fauteuil 1", "Fauteuil 2 (fenêtre)"])

        # what the server keeps; the administrator's password is the one typed
        admin = bearer(login(server.http, "admin@cabinet-parc.fr", "une phrase de passe"))
        practice = httpx.get(server.http + "/v1/practice", headers=admin).json()
        assert (practice["name"], practice["street"], practice["postcode"], practice["city"], practice["phone"], practice["email"]) == (
            "Cabinet dentaire du Parc", "3 allée des Tilleuls", "33000", "Bordeaux", "+33 5 56 00 00 01", "contact@cabinet-parc.fr")
        users = {u["email"]: u for u in httpx.get(server.http + "/v1/users", headers=admin).json()}
        dentist = users["sophie.laurent@cabinet-parc.fr"]
        assert (dentist["role"], dentist["rpps"], dentist["phone"], dentist["title"], dentist["must_change_password"]) == (
            "dentist", "10101234564", "+33 6 12 34 56 78", "Chirurgien-dentiste", False)
        assert users["admin@cabinet-parc.fr"]["role"] == "admin"

        # set up once: the setup page now sends to the login page
        page.goto(server.http + "/setup.html")
        page.wait_for_url(re.compile(r"/index\.html$"))
        assert httpx.get(server.http + "/v1/setup").json() == {"needed": False, "code_required": False, "local_ca": False}
        assert unexpected(page) == [], page.problems
        page.context.close()
    finally:
        stop_server(server)


def test_the_admin_runs_the_accounts_and_a_temporary_password_is_changed_at_the_first_login(chromium, office):
    http = office.server.http
    page = new_page(chromium)
    sign_in(page, http, office.emails["admin"])
    page.wait_for_url("**/admin.html")
    expect(page.locator("#pr-name")).to_have_value("Cabinet dentaire de la République")
    # the practice's details; its phone as the server keeps it
    page.fill("#pr-street", "14 rue de la République")
    page.fill("#pr-phone", "04 78 00 00 02")
    page.click("#practice-save")
    expect(page.locator("#pr-phone")).to_have_value("+33 4 78 00 00 02")
    expect(page.locator("#practice-saved")).to_have_text("Enregistré.")
    details = office.get("/v1/practice").json()
    assert (details["street"], details["phone"]) == ("14 rue de la République", "+33 4 78 00 00 02")

    # oneself: no role to change, no button to disable
    me = page.locator("tr", has_text="Paul Admin")
    expect(me).to_contain_text("(vous)")
    assert me.locator("select").count() == 0 and me.locator("button").count() == 0

    # an assistant added with a temporary password; the RPPS field is only a dentist's
    expect(page.locator("#nu-rpps")).to_be_hidden()
    page.fill("#nu-name", "Inès Moreau")
    email = f"ines.{office.clinic_id[:6]}@cabinet-republique.fr"
    page.fill("#nu-email", email)
    page.select_option("#nu-role", "dentist")
    expect(page.locator("#nu-rpps")).to_be_visible()
    page.select_option("#nu-role", "assistant")
    expect(page.locator("#nu-password-hint")).to_contain_text("devra le changer à sa première connexion")
    page.click("#nu-generate")
    temporary = page.input_value("#nu-password")
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", temporary), temporary
    page.click("#user-add-save")
    expect(page.locator("#user-add-saved")).to_contain_text("Compte créé pour Inès Moreau")
    new_row = page.locator("tr", has_text="Inès Moreau")
    expect(new_row.locator(".badge")).to_have_text("Mot de passe temporaire")
    expect(new_row.locator("select")).to_have_value("assistant")

    # a role changed, then that user disabled (with the keyboard)
    lea = page.locator("tr", has_text="Léa Petit")
    lea.locator("select").select_option("admin")
    expect(page.locator("#users-saved")).to_have_text("Rôle changé : Léa Petit est maintenant administrateur.")
    toggle = lea.locator("button")
    expect(toggle).to_have_text("Désactiver")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(lea.locator(".badge")).to_have_text("Désactivé")
    expect(lea.locator("button")).to_have_text("Réactiver")
    expect(lea.locator("button")).to_be_focused()
    # a room renamed, another added
    page.fill("#room-new", "Fauteuil 3")
    page.press("#room-new", "Enter")
    expect(page.locator("#room-list input")).to_have_count(3)
    first_room = page.locator("#room-list input").first
    first_room.fill("Fauteuil 1 (porte)")
    first_room.press("Enter")
    expect(page.locator("#rooms-saved")).to_have_text("Fauteuil renommé.")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "admin.png"), full_page=True)

    users = {u["name"]: u for u in office.get("/v1/users", role="admin").json()}
    assert users["Léa Petit"]["role"] == "admin" and users["Léa Petit"]["disabled"] is True
    assert users["Inès Moreau"]["role"] == "assistant" and users["Inès Moreau"]["must_change_password"] is True
    assert httpx.post(http + "/v1/auth/login", json={"email": office.emails["assistant"], "password": PASSWORD}).status_code == 401
    assert {r["name"] for r in office.get("/v1/rooms").json()} == {"Fauteuil 1 (porte)", "Fauteuil 2", "Fauteuil 3"}
    assert unexpected(page) == [], page.problems

    # the assistant's first login: the password change only, even when another page is asked for
    ines = new_page(chromium)
    sign_in(ines, http, email, temporary)
    ines.wait_for_url("**/compte.html?first=1")
    expect(ines.locator("#first-why")).to_contain_text("mot de passe temporaire")
    expect(ines.locator("#profile")).to_be_hidden()
    expect(ines.locator("header.bar nav")).to_be_hidden()
    ines.goto(http + "/ecran.html")
    ines.wait_for_url("**/compte.html?first=1")
    expect(ines.locator("#pw-current")).to_be_focused()
    ines.keyboard.type(temporary)
    ines.keyboard.press("Tab")
    ines.keyboard.type("court")
    ines.keyboard.press("Enter")
    expect(ines.locator("#pw-new-error")).to_have_text("12 caractères au moins.")
    ines.fill("#pw-new", "le cabinet de la République")
    ines.fill("#pw-new2", "le cabinet de la République")
    ines.press("#pw-new2", "Enter")
    ines.wait_for_url("**/ecran.html")
    expect(ines.locator("header.bar .who")).to_have_text("Inès Moreau")
    expect(ines.locator(".rooms .card")).to_have_count(3)
    token = httpx.post(http + "/v1/auth/login", json={"email": email, "password": "le cabinet de la République"}).json()
    assert token["user"]["must_change_password"] is False
    assert unexpected(ines) == [], ines.problems
    ines.context.close()
    page.context.close()


def test_a_dentist_edits_their_profile(chromium, office):
    page = new_page(chromium)
    sign_in(page, office.server.http, office.emails["dentist"])
    page.wait_for_url("**/dictee.html")
    page.click("header.bar .who")
    page.wait_for_url("**/compte.html")
    expect(page.locator("#facts")).to_contain_text("Chirurgien-dentiste")
    expect(page.locator("#me-rpps")).to_have_value("10101234564")
    expect(page.locator("#me-title")).to_have_value("Chirurgien-dentiste")
    # a wrong RPPS is refused in the browser, a wrong phone by the server: each next to its field
    page.fill("#me-rpps", "10101234565")
    page.click("#profile-save")
    expect(page.locator("#me-rpps-error")).to_contain_text("clé de contrôle")
    page.fill("#me-rpps", "10101234564")
    page.fill("#me-phone", "12")
    page.click("#profile-save")
    expect(page.locator("#me-phone-error")).to_have_text(re.compile("Numéro de téléphone invalide"))
    expect(page.locator("#me-phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#me-phone")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("06 98 76 54 32")
    page.keyboard.press("Enter")
    expect(page.locator("#profile-saved")).to_have_text("Enregistré.")
    expect(page.locator("#me-phone")).to_have_value("+33 6 98 76 54 32")
    expect(page.locator("#me-phone-error")).to_be_empty()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "account.png"), full_page=True)
    assert office.get("/v1/me").json()["phone"] == "+33 6 98 76 54 32"
    # a wrong current password, next to its field
    page.fill("#pw-current", "pas le bon mot de passe")
    page.fill("#pw-new", "un autre mot de passe")
    page.fill("#pw-new2", "un autre mot de passe")
    page.click("#password-save")
    expect(page.locator("#pw-current-error")).to_have_text("Mot de passe actuel incorrect.")
    assert unexpected(page) == [], page.problems
    page.context.close()


def test_what_a_user_sees_when_something_is_wrong(chromium, office):
    """An expired (here: invalid) token, a lost connection, a busy server, a
    refused or missing microphone: a banner says what to do, in the page's
    language."""
    http = office.server.http
    for lang, sentence in (("fr", "Votre session a expiré : reconnectez-vous."), ("en", "Your session has expired: sign in again.")):
        page = new_page(chromium, lang)
        page.goto(http + "/")
        page.evaluate("""() => { sessionStorage.setItem('chairside.token', 'not-a-token');
          sessionStorage.setItem('chairside.user', JSON.stringify({id: 'x', role: 'assistant', name: 'Personne'})); }""")
        page.goto(http + "/ecran.html")
        page.wait_for_url("**/index.html?expired=1")
        expect(page.get_by_role("alert").filter(has_text=sentence)).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('chairside.token')") is None
        page.context.close()

    page = new_page(chromium)
    sign_in(page, http, office.emails["dentist"])
    page.wait_for_url("**/dictee.html")
    banner = page.locator("#problem")
    page.route("**/v1/patients", lambda route: route.abort("connectionreset"))
    page.reload()
    expect(banner).to_have_text(re.compile("Connexion au serveur perdue : vérifiez le réseau, puis réessayez."))
    page.unroute("**/v1/patients")
    page.route("**/v1/rooms", lambda route: route.fulfill(status=503, headers={"Retry-After": "7"}, json={
        "error": {"code": "busy", "message": "busy"}}))
    page.reload()
    expect(banner).to_have_text(re.compile("Le serveur est occupé : réessayez dans 7 secondes."))
    page.unroute("**/v1/rooms")
    for name, sentence in (("NotAllowedError", "Micro refusé : autorisez le micro pour ce site"), ("NotFoundError", "Aucun micro trouvé : branchez-en un")):
        page.add_init_script(f"""navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("no", "{name}"));""")
        page.reload()
        page.wait_for_selector("#room option", state="attached")
        page.click("#start")
        expect(banner).to_contain_text(sentence)
        expect(page.locator("#start")).to_be_enabled()
    page.click("#problem .close")
    expect(banner).to_be_hidden()
    page.context.close()


def test_the_account_pages_keep_to_the_policy():
    """Nothing from another origin, no inline script or style, no inline handler."""
    from conftest import ROOT

    for page in ("setup.html", "compte.html", "admin.html"):
        html = (ROOT / "client_web" / page).read_text()
        assert "http://" not in html and "https://" not in html and "<script>" not in html and "style=" not in html, page
        assert not re.search(r"\son[a-z]+=", html), page
