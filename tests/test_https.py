"""HTTPS on the practice's network (issue 16): the local certificate
authority, the plain-HTTP port that only redirects (and hands out the CA),
and a new PC that trusts the CA once, then dictates in Chromium over
``https://`` on the machine's non-loopback address."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, free_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from chairside import tls
from chairside.config import Settings
from chairside.serving import redirect_location

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "docs" / "screenshots"


def test_the_local_ca_is_created_once_and_the_server_certificate_renewed_when_needed(tmp_path):
    names, addresses = ["localhost", "cabinet-pc"], ["127.0.0.1", "192.168.1.20"]
    files, issued = tls.local_certificates(tmp_path, names, addresses)
    assert issued and files.ca == tmp_path / "ca.pem"
    assert oct((tmp_path / "ca-key.pem").stat().st_mode & 0o777) == "0o600"
    assert oct(files.key.stat().st_mode & 0o777) == "0o600"
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    chain = x509.load_pem_x509_certificates(files.cert.read_bytes())
    server = chain[0]
    assert chain[1] == ca and server.issuer == ca.subject
    server.verify_directly_issued_by(ca)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == set(names)
    assert {str(a) for a in san.get_values_for_type(x509.IPAddress)} == set(addresses)
    assert (server.not_valid_after_utc - server.not_valid_before_utc).days <= 398  # browsers refuse longer
    # nothing to do when nothing changed
    assert tls.local_certificates(tmp_path, names, addresses)[1] is False
    assert ca.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH])
    # a new address of the machine: issued again by the same CA
    files, issued = tls.local_certificates(tmp_path, names, [*addresses, "10.0.0.7"])
    assert issued and x509.load_pem_x509_certificate(files.ca.read_bytes()) == ca
    # a crash between writing the key and the certificate: they no longer go together, issued again
    other = tls.local_certificates(tmp_path / "other", ["localhost"], ["127.0.0.1"])[0]
    files.key.write_bytes(other.key.read_bytes())
    files, issued = tls.local_certificates(tmp_path, names, [*addresses, "10.0.0.7"])
    assert issued
    # 30 days before the end: issued again
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=370)
    files, issued = tls.local_certificates(tmp_path, names, [*addresses, "10.0.0.7"], now=later)
    renewed = x509.load_pem_x509_certificates(files.cert.read_bytes())[0]
    assert issued and renewed.not_valid_after_utc > later + dt.timedelta(days=300)
    assert tls.fingerprint(files.ca) == ":".join(f"{b:02X}" for b in ca.fingerprint(hashes.SHA256()))


def test_how_the_server_speaks(tmp_path):
    """HTTP on loopback or behind a trusted proxy; HTTPS beyond loopback
    (local CA) or with the practice's certificate, checked before start."""
    assert tls.plan(Settings(host="127.0.0.1", data_dir=str(tmp_path))) is None
    assert tls.plan(Settings(host="0.0.0.0", trusted_proxy="10.0.0.2", data_dir=str(tmp_path))) is None
    local = tls.plan(Settings(host="0.0.0.0", data_dir=str(tmp_path)))
    assert local is not None and local.ca == tmp_path / "tls" / "ca.pem"
    given = tls.plan(Settings(host="127.0.0.1", tls_cert=str(local.cert), tls_key=str(local.key)))
    assert given is not None and given.ca is None  # the practice's own: no CA to hand out
    with pytest.raises(tls.TlsError, match="go together"):
        tls.plan(Settings(host="0.0.0.0", tls_cert=str(local.cert)))
    with pytest.raises(tls.TlsError, match="no such file"):
        tls.plan(Settings(host="0.0.0.0", tls_cert=str(tmp_path / "missing.pem"), tls_key=str(local.key)))
    other = tls.local_certificates(tmp_path / "other", ["localhost"], ["127.0.0.1"])[0]
    with pytest.raises(tls.TlsError, match="cannot use the certificate"):
        tls.plan(Settings(host="0.0.0.0", tls_cert=str(local.cert), tls_key=str(other.key)))


def test_redirects_keep_the_host_and_path_and_never_echo_a_forged_host():
    assert redirect_location("cabinet-pc:8080", "/patients.html?q=1", 8000) == "https://cabinet-pc:8000/patients.html?q=1"
    assert redirect_location("192.168.1.20", "/", 8443) == "https://192.168.1.20:8443/"
    assert redirect_location("[fd00::2]:8080", "/x", 8000) == "https://[fd00::2]:8000/x"
    assert redirect_location("cabinet-pc", "*", 8000) == "https://cabinet-pc:8000/"
    assert redirect_location("evil.example/phish?", "/", 8000) is None
    assert redirect_location("", "/", 8000) is None


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def machine_address() -> str | None:
    """This machine's non-loopback IPv4 address, if it has one."""
    import ipaddress

    found = [a for a in tls._own_addresses(os.uname().nodename) if ":" not in a and not ipaddress.ip_address(a).is_loopback]
    return found[0] if found else None


def network_env(tmp: Path, redirect: int) -> tuple[str, dict]:
    """The machine's network address (or a skip), and the environment of a
    server listening there, so speaking HTTPS with its local CA in ``tmp``."""
    address = machine_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to listen on")
    env = {**os.environ, "CHAIRSIDE_HOST": address, "CHAIRSIDE_PORT": str(free_port()), "CHAIRSIDE_HTTP_REDIRECT_PORT": str(redirect),
           "CHAIRSIDE_DATA_DIR": str(tmp), "CHAIRSIDE_MODELS_DIR": str(Settings.from_env().models_path)}
    env.pop("DATABASE_URL", None)
    return address, env


@contextlib.contextmanager
def serving(tmp: Path, address: str, env: dict):
    """``chairside serve`` with ``env`` until it answers over HTTPS (its CA
    trusted); its log's path. Stopped on leaving."""
    log_path = tmp / "server.log"
    process = subprocess.Popen([sys.executable, "-m", "chairside.cli", "serve"], env=env, cwd=ROOT,
                               stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
    try:
        ca, deadline = tmp / "tls" / "ca.pem", time.monotonic() + 90
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if ca.exists() and httpx.get(f"https://{address}:{env['CHAIRSIDE_PORT']}/v1/health", verify=trusting(ca),
                                             timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        yield log_path
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def network_server(tmp_path_factory):
    """A server as a practice runs it for its PCs: listening on the
    machine's network address, so HTTPS with its local CA."""
    tmp = tmp_path_factory.mktemp("https")
    redirect = free_port()
    address, env = network_env(tmp, redirect)
    demo = subprocess.run([sys.executable, "-m", "chairside.cli", "admin", "create-demo"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    login = re.search(r"dentist\s+(\S+)\s+(\S+)", demo.stdout)
    with serving(tmp, address, env) as log_path:
        yield {"address": address, "port": int(env["CHAIRSIDE_PORT"]), "redirect": redirect, "ca": tmp / "tls" / "ca.pem",
               "log": log_path, "email": login.group(1), "password": login.group(2)}


def test_plain_http_only_redirects_and_hands_out_the_ca(network_server):
    s = network_server
    base = f"http://{s['address']}:{s['redirect']}"
    moved = httpx.get(base + "/dictee.html?x=1")
    assert moved.status_code == 308 and moved.headers["location"] == f"https://{s['address']}:{s['port']}/dictee.html?x=1"
    ca = httpx.get(base + "/ca.pem")
    assert ca.status_code == 200 and ca.content == s["ca"].read_bytes()
    assert httpx.get(base + "/", headers={"Host": "evil.example/x"}).status_code == 400
    with pytest.raises(httpx.HTTPError):  # the API itself is not served in clear
        httpx.get(f"http://{s['address']}:{s['port']}/v1/health", timeout=5)
    secure = httpx.get(f"https://{s['address']}:{s['port']}/", verify=trusting(s["ca"]))
    assert secure.headers["strict-transport-security"] == "max-age=31536000"
    # X-Forwarded-For is believed from loopback and a declared proxy only: not from this PC
    httpx.get(f"https://{s['address']}:{s['port']}/forwarded-check", headers={"X-Forwarded-For": "10.9.9.9"},
              verify=trusting(s["ca"]))
    time.sleep(0.2)
    logged = [line for line in s["log"].read_text().splitlines() if "/forwarded-check" in line]
    assert logged and s["address"] in logged[0] and "10.9.9.9" not in logged[0], logged
    assert f"SHA-256 {tls.fingerprint(s['ca'])}" in s["log"].read_text()  # what the instructions compare with


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test installs it)")
def test_a_new_pc_trusts_the_ca_once_then_dictates_over_https(network_server, corpus, tmp_path):
    """The practice's PC: fetches the CA over plain HTTP, trusts it in its
    NSS store (what the instructions say for Chrome on Linux), types the
    plain-HTTP address, lands on the HTTPS login page with no warning, and
    dictates with its microphone (a secure context)."""
    from playwright.sync_api import expect, sync_playwright

    s = network_server
    home = tmp_path / "home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    ca = tmp_path / "chairside-ca.pem"
    ca.write_bytes(httpx.get(f"http://{s['address']}:{s['redirect']}/ca.pem").content)
    assert tls.fingerprint(ca) == tls.fingerprint(s["ca"])
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-t", "C,,", "-n", "chairside", "-i", str(ca)], check=True, capture_output=True)
    recording = corpus["dental_s1.wav"].path
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, env={**os.environ, "HOME": str(home)}, args=[
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={recording}%noloop", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_context(locale="fr-FR").new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"http://{s['address']}:{s['redirect']}/")  # as typed; no certificate warning may stop it
        assert page.url == f"https://{s['address']}:{s['port']}/"
        assert page.evaluate("window.isSecureContext")
        assert httpx.get(page.url + "v1/setup", verify=trusting(ca)).json()["local_ca"] is True
        page.wait_for_selector("#certificate-link:not(.hidden)")
        page.fill("#email", s["email"])
        page.fill("#password", s["password"])
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"dictee\.html"))
        for select, text in (("#room", "Fauteuil 1"), ("#patient", "Démo")):
            option = page.locator(f"{select} option", has_text=text).first
            option.wait_for(state="attached")
            page.select_option(select, option.get_attribute("value"))
        page.click("#start")
        page.wait_for_selector("#recording.on", timeout=15_000)
        expect(page.locator("#transcript")).to_contain_text(re.compile("amoxicilline", re.I), timeout=40_000)
        page.click("#stop")
        page.wait_for_selector("#start:not(.hidden)", timeout=20_000)
        help_page = page.context.new_page()
        help_page.goto(f"https://{s['address']}:{s['port']}/certificat.html")
        expect(help_page.locator("#address-fr")).to_have_text(f"https://{s['address']}:{s['port']}/")
        expect(help_page.locator("#help-fr .ca-http-url")).to_have_text(f"http://{s['address']}:{s['redirect']}/ca.pem")
        SHOTS.mkdir(parents=True, exist_ok=True)
        help_page.screenshot(path=str(SHOTS / "certificat.png"), full_page=True)
        assert not problems, problems
        browser.close()


def test_a_taken_redirect_port_leaves_https_serving(tmp_path):
    """The plain-HTTP port is a convenience: when another program holds it,
    the server says so in its log and serves HTTPS all the same."""
    import socket

    holder = socket.socket()
    try:
        address, env = network_env(tmp_path, 0)
        holder.bind((address, 0))
        holder.listen()
        env["CHAIRSIDE_HTTP_REDIRECT_PORT"] = str(holder.getsockname()[1])
        with serving(tmp_path, address, env) as log_path:  # answers over HTTPS
            assert "cannot be opened" in log_path.read_text()
    finally:
        holder.close()
