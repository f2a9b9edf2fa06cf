"""The web client in a real browser: Debian's Chromium, headless, driven by
Playwright, its fake microphone playing a real recording.  A dentist logs
in and dictates on the Dictée page while an assistant watches the room on
the Écran page, in a second browser context; over WebRTC, and over the
WebSocket when WebRTC is blocked."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import httpx
import pytest
from conftest import FIX_DURATION, PASSWORD, ROOT

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test installs it)")


@pytest.fixture
def browser(corpus):
    """A browser of its own for each test: its fake microphone plays the
    recording once, from the start."""
    recording = corpus["dental_s1.wav"].path  # "Nouvelle ordonnance. Amoxicilline un gramme … Valide l'ordonnance. Imprime."
    yield from chromium_hearing(recording)


def chromium_hearing(recording: Path | None):
    """Headless Chromium whose fake microphone plays ``recording`` (a WAV)
    once; None: a browser with no microphone, for pages that need none."""
    from playwright.sync_api import sync_playwright

    args = [] if recording is None else [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={recording}%noloop", "--autoplay-policy=no-user-gesture-required"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        yield browser
        browser.close()


def log_in(browser, practice, role: str, origin: str | None = None, **context):
    page = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 860}, **context).new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto((origin or practice.server.http) + "/")
    page.fill("#email", practice.emails[role])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"(dictee|ecran)\.html"))
    page.problems = problems
    return page


def watch(browser, practice, room: str, shot: str | None = None):
    screen = log_in(browser, practice, "assistant")
    if shot:  # the rooms list, where an assistant lands
        screen.wait_for_selector(".rooms .card")
        SHOTS.mkdir(parents=True, exist_ok=True)
        screen.screenshot(path=str(SHOTS / shot))
    screen.goto(practice.server.http + f"/ecran.html#room={room}")
    screen.wait_for_selector("#connection:text('connecté')")
    return screen


def dictate(page, practice, room: str) -> None:
    page.select_option("#room", room)
    page.select_option("#patient", practice.patient["id"])
    page.click("#start")
    page.wait_for_selector("#recording.on", timeout=15_000)


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_login_refuses_a_wrong_password(browser, practice):
    page = browser.new_context().new_page()
    page.goto(practice.server.http + "/")
    page.fill("#email", practice.emails["dentist"])
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    page.wait_for_selector("#error:text('incorrect')")
    assert page.url.endswith("/")
    page.context.close()


def test_dictation_page_and_assistant_screen_over_webrtc(browser, practice):
    room = practice.rooms[0]
    screen = watch(browser, practice, room, shot="ecran-fauteuils.png")
    page = log_in(browser, practice, "dentist")
    assert page.url.endswith("dictee.html")
    dictate(page, practice, room)
    page.wait_for_selector("#transport:text('WebRTC')")
    # the recording's words, live on both pages
    expect(page.locator("#transcript")).to_contain_text(re.compile("amoxicilline", re.I), timeout=40_000)
    expect(screen.locator("#transcript")).to_contain_text(re.compile("amoxicilline", re.I), timeout=20_000)
    page.wait_for_selector("#feedback:text('Ordonnance')")
    # a typed correction reaches the draft, on both pages
    page.fill("#type-text", "Paracétamol un gramme, un comprimé toutes les six heures si douleur pendant trois jours.")
    page.press("#type-text", "Enter")
    page.wait_for_selector("#draft li:text('Paracétamol 1 g')")
    screen.wait_for_selector("#drafts li:text('Paracétamol 1 g')")
    # the recording says "Valide l'ordonnance. Imprime." in its last seconds: refused while a line lacks its duration
    page.wait_for_timeout(6000)
    page.fill("#type-text", FIX_DURATION)
    page.press("#type-text", "Enter")
    # a drug name close to the formulary's is asked about; the page's button accepts it, never the page alone
    page.fill("#type-text", "Prednisolon vingt milligrammes, un comprimé le matin pendant trois jours.")
    page.press("#type-text", "Enter")
    page.wait_for_selector("#draft li:text('Prednisolon 20 mg') button.accept")
    page.click("#draft li button.accept")
    page.wait_for_selector("#draft li:text('prednisolone 20 mg')")
    screen.wait_for_selector("#drafts li:text('prednisolone 20 mg')")
    page.fill("#type-text", "Valide.")
    page.press("#type-text", "Enter")
    # issue 13: the lines to be signed are read back on both pages; "oui" signs
    page.wait_for_selector("#readback .prompt:text('Dites « oui » pour signer')")
    screen.wait_for_selector("#readback li:text('prednisolone 20 mg')")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dictee-relecture.png"))
    assert page.locator("#documents li button.download").count() == 0  # nothing signed yet
    page.fill("#type-text", "Oui.")
    page.press("#type-text", "Enter")
    page.wait_for_selector("#readback", state="hidden")
    page.wait_for_selector("#documents li button.download")
    screen.wait_for_selector("#documents li button.primary")
    with page.expect_download() as download:
        page.click("#documents li button.download")
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dictee.png"))
    screen.screenshot(path=str(SHOTS / "ecran.png"))
    page.click("#stop")
    page.wait_for_selector("#start:not(.hidden)", timeout=20_000)
    assert not page.problems and not screen.problems, (page.problems, screen.problems)
    page.context.close()
    screen.context.close()


def test_websocket_fallback_when_webrtc_is_blocked(browser, practice):
    room = practice.rooms[1]
    screen = watch(browser, practice, room)
    page = log_in(browser, practice, "dentist")
    page.add_init_script("delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;")
    page.reload()
    dictate(page, practice, room)
    page.wait_for_selector("#transport:text('WebSocket')")
    expect(page.locator("#transcript")).to_contain_text(re.compile("ordonnance", re.I), timeout=40_000)
    expect(screen.locator("#transcript")).to_contain_text(re.compile("ordonnance", re.I), timeout=20_000)
    page.click("#stop")
    page.wait_for_selector("#start:not(.hidden)", timeout=20_000)
    page.context.close()
    screen.context.close()


def test_push_to_talk_and_preview(browser, practice):
    """In push-to-talk mode nothing is heard until F9 is held (a foot pedal);
    the preview button renders the open draft."""
    page = log_in(browser, practice, "dentist")
    page.check("input[value=push-to-talk]")
    page.select_option("#room", practice.rooms[1])
    page.click("#start")
    page.wait_for_selector("#recording.on.held")
    expect(page.locator("#recording-label")).to_have_text("Micro en attente")
    page.wait_for_timeout(4000)  # the recording plays, the microphone is held: no words
    assert page.inner_text("#transcript").strip() == ""
    page.keyboard.down("F9")
    page.wait_for_selector("#recording.on:not(.held)")
    expect(page.locator("#recording-label")).to_have_text("Enregistrement")
    expect(page.locator("#transcript")).to_contain_text(re.compile(r"\w{4,}"), timeout=30_000)
    page.keyboard.up("F9")
    page.wait_for_selector("#recording.on.held")
    page.fill("#type-text", "Nouvelle ordonnance.")
    page.press("#type-text", "Enter")
    page.fill("#type-text", "Amoxicilline un gramme matin et soir pendant sept jours.")
    page.press("#type-text", "Enter")
    page.wait_for_selector("#draft li:text('Amoxicilline 1 g')")
    page.click("#preview")
    expect(page.locator("#documents li")).to_contain_text("Aperçu", timeout=15_000)
    page.click("#stop")
    page.wait_for_selector("#start:not(.hidden)", timeout=20_000)
    page.context.close()


def test_the_patient_form_registers_and_rectifies_a_patient(browser, practice):
    """On the Dictée page the dentist registers a patient allergic to
    penicillin through the patient form (keyboard first), sees the allergy in
    the selector, then rectifies the patient; the API's refusals are shown
    next to their field."""
    page = log_in(browser, practice, "dentist")
    page.wait_for_selector(f"#patient option[value='{practice.patient['id']}']", state="attached")
    dialog = page.locator("#patient-dialog")
    page.click("#new-patient")
    expect(dialog).to_be_visible()
    expect(page.locator("#pf-title")).to_have_text("Nouveau patient")
    expect(page.locator("#pf-last_name")).to_be_focused()
    page.keyboard.type("Fontaine")
    page.keyboard.press("Tab")
    page.keyboard.type("Élodie")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # the sex: "Femme"
    page.fill("#pf-birth_date", "1991-06-14")
    page.fill("#pf-weight_kg", "61.5")
    page.fill("#pf-code", "P-2026-0900")
    suggestions = page.eval_on_selector_all("#pf-allergy-suggestions option", "options => options.map(o => o.value)")
    assert "pénicillines" in suggestions and "latex" in suggestions, suggestions
    page.focus("#pf-allergy")
    page.keyboard.type("pénicillines")
    page.keyboard.press("Enter")  # adds it, does not submit
    page.keyboard.type("latex (gants)")
    page.click("#pf-add-allergy")
    expect(page.locator("#pf-allergies li")).to_have_text(["pénicillines×", "latex (gants)×"])
    page.fill("#pf-pregnancy_weeks", "22")
    page.check("#pf-anticoagulant")
    page.select_option("#pf-renal_failure", "moderate")
    expect(page.locator("#pf-sex")).to_have_value("F")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "patient-form.png"))
    page.keyboard.press("Tab")
    page.click("#pf-save")
    expect(dialog).to_be_hidden()
    chosen = page.locator("#patient option:checked")
    expect(chosen).to_have_text("FONTAINE Élodie (P-2026-0900) — ⚠ Allergies : pénicillines, latex (gants)")
    expect(page.locator("#patient-facts")).to_contain_text("Enceinte (22 SA)")
    expect(page.locator("#patient-facts")).to_contain_text("Anticoagulant")
    expect(page.locator("#patient-facts")).to_contain_text("Insuffisance rénale modérée")
    expect(page.locator("#feedback")).to_have_text("Patient enregistré")
    (created,) = practice.get("/v1/patients", params={"q": "P-2026-0900"}).json()
    assert (created["sex"], created["birth_date"], created["weight_kg"], created["pregnancy_weeks"], created["renal_failure"]) == (
        "F", "1991-06-14", 61.5, 22, "moderate")
    assert created["allergies"] == ["pénicillines", "latex (gants)"] and created["allergy_classes"] == ["latex", "penicillin"]
    assert created["anticoagulant"] is True and created["antiplatelet"] is False and created["breastfeeding"] is False

    # rectification: a pregnancy for sex M is refused next to the pregnancy field
    page.click("#edit-patient")
    expect(page.locator("#pf-title")).to_have_text("Modifier le patient")
    expect(page.locator("#pf-allergies li")).to_have_count(2)
    expect(page.locator("#pf-weight_kg")).to_have_value("61.5")
    page.select_option("#pf-sex", "M")
    page.click("#pf-save")
    expect(page.locator("#pf-pregnancy_weeks-error")).to_contain_text("Une grossesse ne peut pas être enregistrée pour le sexe « Homme »")
    expect(page.locator("#pf-pregnancy_weeks")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pf-pregnancy_weeks")).to_be_focused()
    # a code in use: next to the code field
    page.select_option("#pf-sex", "F")
    page.fill("#pf-code", practice.patient["code"])
    page.click("#pf-save")
    expect(page.locator("#pf-code-error")).to_have_text("Ce code est déjà celui d'un autre patient du cabinet.")
    expect(page.locator("#pf-pregnancy_weeks-error")).to_be_hidden()
    # corrected; an allergy taken out with the keyboard
    page.fill("#pf-code", "P-2026-0900")
    page.focus("#pf-allergies li:nth-child(2) button")
    page.keyboard.press("Enter")
    expect(page.locator("#pf-allergies li")).to_have_text(["pénicillines×"])
    expect(page.locator("#pf-allergy")).to_be_focused()
    page.click("#pf-save")
    expect(dialog).to_be_hidden()
    expect(page.locator("#patient option:checked")).to_have_text("FONTAINE Élodie (P-2026-0900) — ⚠ Allergies : pénicillines")
    assert practice.get(f"/v1/patients/{created['id']}").json()["allergies"] == ["pénicillines"]
    # Escape closes the form, nothing is saved
    page.click("#new-patient")
    page.keyboard.type("Personne")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#new-patient")).to_be_focused()
    assert not practice.get("/v1/patients", params={"q": "Personne"}).json()
    # the browser logs the refusals' 400s; nothing else went wrong
    assert [p for p in page.problems if "status of 400" not in p] == [], page.problems
    page.context.close()


def test_pages_are_served_with_a_strict_policy(server):
    response = httpx.get(server.http + "/dictee.html")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    for page in ("index.html", "dictee.html", "ecran.html"):
        html = (ROOT / "client_web" / page).read_text()
        assert "http://" not in html and "https://" not in html and "<script>" not in html and "style=" not in html, page


class CuttableLink:
    """A TCP relay in front of the server, in a thread: the network between a
    browser and Chairside, which the test can cut (open connections reset,
    new ones refused) and restore."""

    def __init__(self, port: int) -> None:
        import asyncio
        import threading

        from conftest import free_port

        self.upstream, self.port, self.up = port, free_port(), True
        self.loop = asyncio.new_event_loop()
        self.writers: set = set()
        started = threading.Event()

        async def serve() -> None:
            self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
            started.set()

        self.thread = threading.Thread(target=lambda: (self.loop.run_until_complete(serve()), self.loop.run_forever()), daemon=True)
        self.thread.start()
        started.wait(10)

    async def _relay(self, reader, writer) -> None:
        import asyncio

        if not self.up:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        self.writers |= {writer, up_writer}

        async def pipe(src, dst) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        def abort() -> None:
            self.up = False
            for w in self.writers:
                w.transport.abort()
            self.writers.clear()

        self.loop.call_soon_threadsafe(abort)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        import asyncio

        async def shut() -> None:
            self.server.close()
            for w in self.writers:
                w.transport.abort()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(shut(), self.loop)
        self.thread.join(10)


def test_the_screen_reconnects_and_catches_up_after_a_network_cut(browser, practice):
    """The assistant's screen loses the network while the dentist goes on;
    back online, it reconnects by itself and shows what it missed, once."""
    import asyncio
    import json
    import threading

    import websockets

    room = practice.rooms[1]
    link = CuttableLink(practice.server.port)
    screen = log_in(browser, practice, "assistant", origin=f"http://127.0.0.1:{link.port}")
    screen.goto(f"http://127.0.0.1:{link.port}/ecran.html#room={room}")
    screen.wait_for_selector("#connection:text('connecté')")
    typed = ["Nouvelle ordonnance.", "Amoxicilline un gramme matin et soir pendant sept jours.",
             "Paracétamol un gramme si douleur.", "Ibuprofène quatre cents milligrammes trois fois par jour."]
    cut, resume = threading.Event(), threading.Event()

    async def dentist():
        async with websockets.connect(practice.server.ws) as ws:  # the dentist's own link stays up
            await ws.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "room": room, "patient": practice.patient["id"]}))
            for i, text in enumerate(typed):
                if i == 2:
                    cut.set()  # the screen is cut off for the last two lines
                    await asyncio.to_thread(resume.wait, 30)
                await ws.send(json.dumps({"type": "text", "text": text}))
                await asyncio.sleep(0.5)
            await ws.send(json.dumps({"type": "stop"}))
            async for _ in ws:
                pass

    thread = threading.Thread(target=lambda: asyncio.run(dentist()))
    thread.start()
    try:
        cut.wait(30)
        expect(screen.locator("#transcript")).to_contain_text("Amoxicilline", timeout=20_000)
        link.cut()
        expect(screen.locator("#connection")).to_contain_text("reconnexion", timeout=20_000)
        resume.set()
        screen.wait_for_timeout(2500)  # the last lines are dictated meanwhile
        link.restore()
        expect(screen.locator("#connection")).to_have_text("connecté", timeout=30_000)
        expect(screen.locator("#transcript")).to_contain_text("Ibuprofène", timeout=20_000)
        expect(screen.locator("#drafts li")).to_have_count(3, timeout=20_000)
    finally:
        resume.set()
        thread.join(30)
        link.close()
    text = screen.inner_text("#transcript")
    assert text.count("Paracétamol") == 1 and text.count("Amoxicilline") == 1  # caught up once, nothing twice
    screen.context.close()


@pytest.fixture(scope="module")
def short_tokens(tmp_path_factory):
    """A server whose tokens last 8 s (and whose sockets check them twice a second)."""
    from conftest import create_practice, start_server, stop_server

    server = start_server(tmp_path_factory.mktemp("web-short-tokens"), token_ttl_s="8", token_check_s="0.5")
    yield create_practice(server)
    stop_server(server)


def test_the_pages_renew_their_token_on_open_connections(browser, short_tokens):
    """Issue 15: the pages refresh their token before it ends and send the
    fresh one on their open connections ({"type": "token"}); a dictation and
    a screen stay open for several lifetimes of a token (8 s here) and still
    carry the dictation at the end."""
    practice = short_tokens
    room = practice.rooms[0]
    screen = watch(browser, practice, room)
    page = log_in(browser, practice, "dentist")
    dictate(page, practice, room)
    expect(page.locator("#transcript")).to_contain_text(re.compile("amoxicilline", re.I), timeout=40_000)
    page.wait_for_timeout(10_000)  # more than a lifetime more (the dictation already took several)
    page.fill("#type-text", "Paracétamol un gramme, un comprimé toutes les six heures si douleur pendant trois jours.")
    page.press("#type-text", "Enter")
    page.wait_for_selector("#draft li:text('Paracétamol 1 g')")
    screen.wait_for_selector("#drafts li:text('Paracétamol 1 g')")
    assert page.locator("#problem:not(.hidden)").count() == 0 and screen.locator("#problem:not(.hidden)").count() == 0
    assert screen.url.endswith(f"ecran.html#room={room}")  # not sent back to the login page
    page.click("#stop")
    page.wait_for_selector("#start:not(.hidden)", timeout=20_000)
    assert not page.problems and not screen.problems, (page.problems, screen.problems)
    log = practice.server.log()
    assert "token_expired" not in log and "/v1/auth/refresh" in log, log[-3000:]
    page.context.close()
    screen.context.close()


@pytest.fixture
def paused_browser(tmp_path):
    """A browser whose fake microphone plays a dictation with pauses:
    "Nouvelle ordonnance. Ibuprofène … deux cents milligrammes, … deux
    comprimés … trois fois par jour … pendant quatre jours." (2 s of silence
    after the drug's name)."""
    import av
    import numpy as np

    wav = tmp_path / "pauses_p08.wav"
    with av.open(str(ROOT / "tests" / "data" / "pauses" / "pauses_p08.ogg")) as source:
        frames = list(source.decode(audio=0))  # mono; Opus decodes at 48 kHz
    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    with wave.open(str(wav), "wb") as out:  # Chromium's fake microphone plays WAV only
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(frames[0].sample_rate)
        out.writeframes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())
    yield from chromium_hearing(wav)


def test_a_line_dictated_with_pauses_grows_on_both_pages(paused_browser, practice):
    """The dentist pauses mid-line: the draft shows one line, marked as being
    dictated, that grows with each fragment; the assistant's screen shows the
    same; the next command closes it."""
    room = practice.rooms[0]
    screen = watch(paused_browser, practice, room)
    page = log_in(paused_browser, practice, "dentist")
    dictate(page, practice, room)
    growing = page.locator("#draft li.open")
    expect(growing).to_contain_text(re.compile(r"ibuprof[eè]ne", re.I), timeout=40_000)
    expect(screen.locator("#drafts li.open")).to_contain_text(re.compile(r"ibuprof[eè]ne", re.I), timeout=20_000)
    expect(growing).to_contain_text(re.compile(r"4 jours"), timeout=40_000)  # the last fragment, after four pauses
    expect(screen.locator("#drafts li.open")).to_contain_text(re.compile(r"4 jours"), timeout=20_000)
    assert page.locator("#draft li").count() == 1 and screen.locator("#drafts li").count() == 1
    line = page.inner_text("#draft li.open")
    assert re.search(r"200 mg", line) and re.search(r"3 fois par jour", line), line
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dictee-pauses.png"))
    page.fill("#type-text", "Aperçu.")  # a command closes the line
    page.press("#type-text", "Enter")
    page.wait_for_selector("#draft li:not(.open)")
    screen.wait_for_selector("#drafts li:not(.open)")
    assert page.locator("#draft li.open").count() == 0
    page.click("#stop")
    page.wait_for_selector("#start:not(.hidden)", timeout=20_000)
    assert not page.problems and not screen.problems, (page.problems, screen.problems)
    page.context.close()
    screen.context.close()


@pytest.fixture
def validating_browser():
    """A browser whose fake microphone dictates a prescription, says « Valide
    l'ordonnance », then, after a pause, « Oui » (tests/data/validate_oui.wav)."""
    yield from chromium_hearing(ROOT / "tests" / "data" / "validate_oui.wav")


def test_a_spoken_validation_is_read_back_and_signed_on_a_spoken_yes(validating_browser, practice):
    """Issue 13: signing by voice reads back what will be signed, on the
    Dictée page and the assistant's screen, and only the dentist's « oui »
    signs it."""
    room = practice.rooms[0]
    screen = watch(validating_browser, practice, room)
    page = log_in(validating_browser, practice, "dentist")
    dictate(page, practice, room)
    readback = page.locator("#readback")
    expect(readback).to_contain_text(re.compile(r"amoxicilline", re.I), timeout=40_000)  # read back, not yet signed
    expect(screen.locator("#readback")).to_contain_text(re.compile(r"amoxicilline", re.I), timeout=20_000)
    assert page.locator("#documents li button.download").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dictee-relecture-voix.png"))
    page.wait_for_selector("#documents li button.download", timeout=40_000)  # « Oui » signed it
    screen.wait_for_selector("#documents li button.primary", timeout=20_000)
    expect(page.locator("#draft")).to_contain_text(re.compile(r"valid"), timeout=10_000)
    page.click("#stop")
    page.wait_for_selector("#start:not(.hidden)", timeout=20_000)
    assert not page.problems and not screen.problems, (page.problems, screen.problems)
    page.context.close()
    screen.context.close()
