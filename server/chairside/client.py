"""A small client for ``/v1/stream`` (used by the benchmark and the tests).

It streams a recording as a real client would: PCM frames of ``frame_ms`` at
real-time pace (or as fast as possible), and records every event with the
wall-clock time it arrived and the audio time that had been sent by then.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import websockets

from .audio import SAMPLE_RATE
from .audio.pcm import decode_file


@dataclass
class Received:
    wall: float  # seconds since the first audio frame was sent
    sent_audio: float  # seconds of audio sent by then
    event: dict[str, Any]


@dataclass
class StreamResult:
    events: list[Received] = field(default_factory=list)
    close_code: int | None = None
    audio_seconds: float = 0.0

    def of(self, kind: str) -> list[Received]:
        return [r for r in self.events if r.event["type"] == kind]

    @property
    def text(self) -> str:
        return " ".join(r.event["text"] for r in self.of("final") if r.event["text"])


def load_audio(path: str | Path) -> np.ndarray:
    """A recording as 16 kHz mono float32."""
    return np.concatenate(list(decode_file(path, chunk_s=1.0)))


def to_pcm(audio: np.ndarray, encoding: str = "pcm_s16le", channels: int = 1) -> bytes:
    if channels > 1:
        audio = np.repeat(audio[:, None], channels, axis=1).reshape(-1)
    if encoding == "pcm_s16le":
        return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    return audio.astype("<f4").tobytes()


async def stream_pcm(
    url: str,
    pcm: bytes,
    *,
    sample_rate: int = SAMPLE_RATE,
    encoding: str = "pcm_s16le",
    channels: int = 1,
    language: str = "fr",
    vocabulary: list[str] | None = None,
    realtime: bool = True,
    frame_ms: int = 20,
    trailing_silence_s: float = 0.0,
    token: str | None = None,
    start: dict[str, Any] | None = None,
) -> StreamResult:
    """Stream ``pcm`` as a dentist's client: ``token`` from ``POST
    /v1/auth/login``; ``start``: more fields of the start message (room,
    patient, lab)."""
    bytes_per_second = sample_rate * channels * (2 if encoding == "pcm_s16le" else 4)
    frame = max(1, bytes_per_second * frame_ms // 1000)
    frame -= frame % (channels * (2 if encoding == "pcm_s16le" else 4))
    if trailing_silence_s:
        pcm += bytes(int(bytes_per_second * trailing_silence_s) // frame * frame)
    result = StreamResult()
    async with websockets.connect(url, max_size=None) as ws:
        message = {"type": "start", "language": language, "sample_rate": sample_rate, "encoding": encoding, "channels": channels,
                   "token": token, **(start or {})}
        if vocabulary is not None:  # None: the server's default vocabulary
            message["vocabulary"] = vocabulary
        await ws.send(json.dumps(message))
        ready = json.loads(await ws.recv())
        t0 = time.perf_counter()
        sent = 0

        async def receive() -> None:
            async for message in ws:
                result.events.append(Received(time.perf_counter() - t0, sent / bytes_per_second, json.loads(message)))

        receiver = asyncio.create_task(receive())
        result.events.append(Received(0.0, 0.0, ready))
        for offset in range(0, len(pcm), frame):
            await ws.send(pcm[offset : offset + frame])
            sent = offset + len(pcm[offset : offset + frame])
            if realtime:
                await asyncio.sleep(max(0.0, t0 + sent / bytes_per_second - time.perf_counter()))
        await ws.send(json.dumps({"type": "stop"}))
        await receiver
        result.close_code = ws.close_code
        result.audio_seconds = sent / bytes_per_second
    return result


async def stream_file(url: str, path: str | Path, **kwargs: Any) -> StreamResult:
    return await stream_pcm(url, to_pcm(load_audio(path)), **kwargs)
