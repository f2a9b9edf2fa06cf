"""Rendering documents: a version's PDF made off the event loop (one render
thread), then kept by the store (:class:`chairside.store.documents.DocumentStore`),
once for a validated version."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

from .. import metrics
from ..record.context import DocumentContext
from ..record.draft import Draft
from ..record.kinds import document_number
from ..record.versions import DocumentVersion, Owner
from ..store.documents import DocumentStore
from .render import render_pdf

log = logging.getLogger(__name__)


class DocumentService:
    """Renders documents off the event loop (one at a time) and stores them."""

    def __init__(self, store: DocumentStore, timezone: str = "Europe/Paris") -> None:
        self.store = store
        self.tz = ZoneInfo(timezone)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")

    def now(self) -> datetime:
        return datetime.now(self.tz).replace(microsecond=0)

    async def issue(self, draft: Draft, ctx: DocumentContext, *, preview: bool, owner: Owner = Owner()) -> DocumentVersion:
        """Render and store a validated version (once: the stored one is
        returned if it exists) or a preview."""
        if not preview and (existing := await self.store.get(draft.id, draft.version)) is not None:
            return existing
        issued_at = self.now()
        started = time.perf_counter()
        pdf = await asyncio.get_running_loop().run_in_executor(
            self._executor, lambda: render_pdf(draft, ctx, issued_at, preview=preview))
        doc = DocumentVersion(
            id=draft.id, version=draft.version, kind=draft.kind, status="preview" if preview else "validated",
            number=document_number(draft.kind, draft.id, issued_at.date()), issued_at=issued_at, draft=draft,
            context=ctx.model_dump(mode="json"), pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
            render_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        metrics.DOCUMENT_RENDER.observe(doc.render_ms / 1000)
        try:
            await self.store.put(doc, owner)
        except ValueError:  # rendered meanwhile elsewhere (another replica): the first one stands
            existing = await self.store.get(doc.id, doc.version)
            assert existing is not None
            return existing
        log.info("document %s v%d %s rendered in %.0f ms", doc.number, doc.version, doc.status, doc.render_ms)
        return doc

    async def warm_up(self) -> None:
        from .render import warm_up

        await asyncio.get_running_loop().run_in_executor(self._executor, warm_up)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
