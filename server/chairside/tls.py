"""HTTPS on the practice's network: the practice's certificate, or a local
certificate authority of Chairside's own.

Browsers give the microphone only to ``https://`` pages (and to
``localhost``), and the practice's passwords, tokens and transcripts must
not cross its Wi-Fi in clear. So a server that listens beyond loopback
serves HTTPS:

- with the certificate and key the practice gives (``tls_cert`` /
  ``tls_key``), as they are; or else
- with a certificate of its own, issued by a **local certificate
  authority** created once in ``<data dir>/tls/``: ``ca.pem`` (the
  certificate that each PC of the practice trusts once, downloadable from
  the login page at ``/ca.pem``) and ``ca-key.pem`` (readable by the
  server's user only). The server's certificate names the machine (its host
  names, ``localhost`` and its addresses, plus ``tls_names``); it is issued
  again when a name is missing or less than 30 days are left, at start and
  once a day while the server runs, without a restart.

The CA issues no other CA (``pathlen 0``), and what it issues is for web
servers only (extended key usage ``serverAuth``); it lives ten years; server certificates live 397 days,
the longest that browsers accept.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

CA_DAYS = 3650
SERVER_DAYS = 397  # the longest browsers accept for a server certificate
RENEW_DAYS = 30  # issued again when fewer days than this are left


class TlsError(Exception):
    """The given certificate or key cannot be used: the message says why."""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # the server's certificate chain (PEM)
    key: Path
    ca: Path | None = None  # the local CA's certificate, when Chairside issued the server's


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a listen address) is reachable from this machine only."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def machine_names(host: str, extra: str = "") -> tuple[list[str], list[str]]:
    """The DNS names and IP addresses by which the practice's PCs may reach
    this machine: its host name (short, fully qualified and ``.local``),
    ``localhost``, its addresses (all of them when listening on every
    interface, else the listen address) and ``extra`` (comma-separated)."""
    names: set[str] = {"localhost"}
    addresses: set[str] = {"127.0.0.1", "::1"}
    hostname = socket.gethostname()
    for name in (hostname, socket.getfqdn(), f"{hostname.split('.')[0]}.local"):
        if name and not _is_ip(name):
            names.add(name.lower())
    if host in ("", "0.0.0.0", "::"):
        addresses.update(_own_addresses(hostname))
    elif _is_ip(host):
        addresses.add(host)
    else:
        names.add(host.lower())
    for item in (x.strip() for x in extra.split(",")):
        if item:
            (addresses if _is_ip(item) else names).add(item.lower())
    return sorted(names), sorted(addresses, key=lambda a: (":" in a, a))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _own_addresses(hostname: str) -> set[str]:
    found: set[str] = set()
    try:
        for *_, sockaddr in socket.getaddrinfo(hostname, None):
            found.add(sockaddr[0])
    except OSError:
        pass
    for family, probe in ((socket.AF_INET, "198.51.100.1"), (socket.AF_INET6, "2001:db8::1")):  # documentation ranges
        try:  # the address a packet would leave from (nothing is sent)
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                found.add(s.getsockname()[0])
        except OSError:
            pass
    return {a.split("%", 1)[0] for a in found}


# -- the local certificate authority ---------------------------------------------------


def local_certificates(directory: Path, names: list[str], addresses: list[str], *, now: dt.datetime | None = None) -> tuple[TlsFiles, bool]:
    """The local CA (created once) and a server certificate for ``names`` and
    ``addresses`` under ``directory``; issued again when it is missing, does
    not cover them all, or has fewer than 30 days left. Whether it was issued."""
    now = now or dt.datetime.now(dt.timezone.utc)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_cert, ca_key = _certificate_authority(directory, now)
    files = TlsFiles(cert=directory / "server.pem", key=directory / "server-key.pem", ca=directory / "ca.pem")
    if not _server_certificate_needed(files.cert, ca_cert, names, addresses, now):
        return files, False
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "chairside")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(files.key, _key_pem(key), private=True)
    _write(files.cert, cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM))
    log.info("tls: server certificate issued by the local CA for %s, until %s", ", ".join([*names, *addresses]),
             cert.not_valid_after_utc.date().isoformat())
    return files, True


def _certificate_authority(directory: Path, now: dt.datetime):
    cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        ca_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), ca_key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Chairside"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"Chairside CA {socket.gethostname()} {now:%Y-%m-%d}"),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, key_encipherment=False, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)  # web servers only
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    log.warning("tls: created a local certificate authority (%s): trust it once on each PC of the practice "
                "(download it from the login page, /ca.pem)", cert_path)
    return cert, key


def _server_certificate_needed(path: Path, ca_cert, names: list[str], addresses: list[str], now: dt.datetime) -> bool:
    if not path.exists() or not path.with_name("server-key.pem").exists():
        return True
    try:
        cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        key = serialization.load_pem_private_key(path.with_name("server-key.pem").read_bytes(), password=None)
    except (ValueError, TypeError, x509.ExtensionNotFound):
        return True
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        return True  # a crash between the two writes: the key and the certificate do not go together
    if cert.issuer != ca_cert.subject or cert.not_valid_after_utc - now < dt.timedelta(days=RENEW_DAYS):
        return True
    have_names = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    have_addresses = {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    return not (set(names) <= have_names and {str(ipaddress.ip_address(a)) for a in addresses} <= have_addresses)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Written whole or not at all (a new file renamed over the old one)."""
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# -- the server's TLS ---------------------------------------------------------------------


def check_given(cert: Path, key: Path) -> TlsFiles:
    """The practice's own certificate and key, checked before the server starts."""
    for path in (cert, key):
        if not path.is_file():
            raise TlsError(f"{path}: no such file")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, ValueError) as exc:
        raise TlsError(f"cannot use the certificate {cert} with the key {key}: {exc}") from exc
    return TlsFiles(cert=cert, key=key)


def expires(cert: Path) -> dt.datetime:
    return x509.load_pem_x509_certificates(cert.read_bytes())[0].not_valid_after_utc


def tls_directory(settings) -> Path:
    """Where the local CA and its server certificate live."""
    return settings.data_path / "tls"


def uses_https(settings) -> bool:
    """HTTPS with the practice's certificate, or beyond loopback unless a
    trusted proxy terminates TLS in front; plain HTTP otherwise."""
    return bool(settings.tls_cert or settings.tls_key) or not (is_loopback(settings.host) or settings.trusted_proxy)


def local_ca(settings) -> bool:
    """Whether the server's HTTPS certificate comes from its local CA."""
    return not settings.tls_cert and uses_https(settings) and (tls_directory(settings) / "ca.pem").is_file()


def plan(settings) -> TlsFiles | None:
    """How the server speaks (TlsError when the given files are unusable):
    the practice's certificate when given; plain HTTP on a loopback address
    or behind a trusted TLS-terminating proxy; else the local CA's."""
    if settings.tls_cert or settings.tls_key:
        if not (settings.tls_cert and settings.tls_key):
            raise TlsError("tls_cert and tls_key go together: give both (or neither)")
        return check_given(Path(settings.tls_cert), Path(settings.tls_key))
    if not uses_https(settings):
        return None
    return local_certificates(tls_directory(settings), *machine_names(settings.host, settings.tls_names))[0]


def fingerprint(cert: Path) -> str:
    """SHA-256 of the (first) certificate, as browsers and OSes show it: AB:CD:…"""
    digest = x509.load_pem_x509_certificates(cert.read_bytes())[0].fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)
