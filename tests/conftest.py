"""Shared fixtures: recordings, the real model, real server processes."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Recording:
    path: Path
    language: str
    duration_s: float
    transcript: str


def recordings() -> dict[str, Recording]:
    with open(DATA / "manifest.tsv", newline="") as fh:
        return {
            row["file"]: Recording(DATA / row["file"], row["language"], float(row["duration_s"]), row["transcript"])
            for row in csv.DictReader(fh, delimiter="\t")
        }


@pytest.fixture(scope="session")
def corpus() -> dict[str, Recording]:
    return recordings()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"

    def health(self) -> dict:
        return httpx.get(self.http + "/v1/health", timeout=5).json()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(tmp: Path, **env_settings: str) -> ServerProcess:
    port = free_port()
    env = {**os.environ, "CHAIRSIDE_PORT": str(port), "CHAIRSIDE_HOST": "127.0.0.1"}
    env.update({f"CHAIRSIDE_{k.upper()}": str(v) for k, v in env_settings.items()})
    log_path = tmp / f"server-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "chairside.cli", "serve"], env=env, cwd=ROOT,
        stdout=open(log_path, "wb"), stderr=subprocess.STDOUT,
    )
    server = ServerProcess(process, port, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if server.health()["status"] == "ok":
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"server did not start:\n{server.log()}")


def stop_server(server: ServerProcess) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> ServerProcess:
    """The server as users run it, with default settings."""
    srv = start_server(tmp_path_factory.mktemp("server"))
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def strict_server(tmp_path_factory) -> ServerProcess:
    """A server with small limits, to test them quickly."""
    srv = start_server(
        tmp_path_factory.mktemp("strict"),
        idle_timeout_s="2", max_session_s="4", max_sessions="3", max_frame_bytes="65536",
    )
    yield srv
    stop_server(srv)
