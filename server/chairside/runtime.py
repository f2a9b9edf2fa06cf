"""Process-wide components, built once: the speech engine and the VAD model."""

from __future__ import annotations

import logging

from .asr import models
from .asr.engine import AsrEngine
from .audio.vad import SileroVad
from .config import Settings

log = logging.getLogger(__name__)


def load_engine(settings: Settings) -> tuple[AsrEngine, SileroVad, str]:
    """Verify (sha256) and load the configured model; ModelError if unusable."""
    model_dir = models.resolve(settings.model, settings.models_path)
    engine = AsrEngine(model_dir, compute_type=settings.compute_type, threads=settings.cpu_threads, workers=settings.decode_workers)
    log.info("speech model %s loaded from %s in %.2f s", settings.model, model_dir, engine.load_s)
    return engine, SileroVad.shared(), settings.model
