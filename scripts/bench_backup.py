#!/usr/bin/env python3
"""Backup and restore of a store with N signed documents (issue 16's target:
1 000 documents backed up and restored in under a minute, PDFs byte for byte).

Fills an embedded PostgreSQL in a temporary data directory with N validated
prescriptions rendered by the real DocumentService, then times
``backup.backup`` (pg_dump, encrypted) and ``backup.restore`` (pg_restore
into a new, empty data directory) plus the restore's checks, and compares
every PDF of the two stores:

    .venv/bin/python scripts/bench_backup.py --documents 1000 --json docs/bench_backup.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "tests"))

from chairside import backup  # noqa: E402
from chairside.config import Settings  # noqa: E402
from chairside.dictation.state import Dictation  # noqa: E402
from chairside.documents.service import DocumentService  # noqa: E402
from chairside.store import backups  # noqa: E402
from chairside.store.db import open_database, start_embedded  # noqa: E402
from chairside.store.documents import DocumentStore  # noqa: E402
from factories import context  # noqa: E402

PASSPHRASE = "benchmark passphrase, long enough"
LINES = ["Nouvelle ordonnance.", "Amoxicilline un gramme, un comprimé matin et soir pendant sept jours.",
         "Paracétamol un gramme, un comprimé toutes les six heures si douleur, pendant trois jours.", "Valide.", "Oui."]


async def fill(data: Path, n: int) -> float:
    database = await open_database(Settings(data_dir=str(data)))
    service = DocumentService(DocumentStore(database.pool), "Europe/Paris")
    issued = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    started = time.perf_counter()
    try:
        for i in range(n):
            d = Dictation(today=issued.date(), context=context())
            for line in LINES:
                d.handle(line)
            await service.issue(d.draft, d.context, preview=False)
            if (i + 1) % 100 == 0:
                print(f"  {i + 1} documents", flush=True)
    finally:
        service.close()
        await database.close()
    return time.perf_counter() - started


async def pdfs(data: Path) -> dict[tuple[str, int], bytes]:
    database = await open_database(Settings(data_dir=str(data)))
    try:
        rows = await database.pool.fetch("SELECT document_id, version, pdf FROM document_versions")
        return {(r["document_id"], r["version"]): bytes(r["pdf"]) for r in rows}
    finally:
        await database.close()


async def checked(data: Path) -> dict:
    database = await open_database(Settings(data_dir=str(data)))
    try:
        return await backups.check_restored(database.pool)
    finally:
        await database.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--json")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    source, target, file = tmp / "source", tmp / "target", tmp / "store.backup"
    print(f"rendering {args.documents} signed prescriptions into {source} …", flush=True)
    fill_s = asyncio.run(fill(source, args.documents))
    pg = start_embedded(source)
    try:
        started = time.perf_counter()
        done = backup.backup(pg.get_uri(), file, PASSPHRASE)
        backup_s = time.perf_counter() - started
    finally:
        pg.cleanup()
    pg = start_embedded(target)
    try:
        started = time.perf_counter()
        backup.restore(file, pg.get_uri(), PASSPHRASE)
        restore_s = time.perf_counter() - started
    finally:
        pg.cleanup()
    started = time.perf_counter()
    report = asyncio.run(checked(target))  # migrations (none to apply) and the checks, as `chairside restore` does
    check_s = time.perf_counter() - started
    before, after = asyncio.run(pdfs(source)), asyncio.run(pdfs(target))
    identical = before == after
    result = {
        "documents": args.documents, "fill_s": round(fill_s, 1), "backup_s": round(backup_s, 2), "backup_mb": round(done.size / 1e6, 2),
        "restore_s": round(restore_s, 2), "restore_checks_s": round(check_s, 2),
        "backup_and_restore_s": round(backup_s + restore_s + check_s, 2), "pdfs_identical": identical,
        "pdfs": len(after), "documents_damaged": len(report["documents_damaged"]), "audit_problems": report["audit_problems"],
    }
    for key, value in result.items():
        print(f"| {key} | {value} |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if identical and not report["documents_damaged"] else 1


if __name__ == "__main__":
    sys.exit(main())
