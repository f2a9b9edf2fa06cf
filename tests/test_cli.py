"""``chairside transcribe`` runs the server's pipeline on any audio file."""

import subprocess
import sys
from pathlib import Path

from chairside.evaluation import wer

ROOT = Path(__file__).resolve().parents[1]


def transcribe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chairside.cli", "transcribe", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_transcribe_an_ogg_opus_file(corpus):
    rec = corpus["fr_fleurs_000.wav"]
    result = transcribe(str(rec.path.with_name("fr_fleurs_000.original.ogg")))
    assert result.returncode == 0, result.stderr
    finals = [line.split(") ", 1)[1] for line in result.stdout.splitlines() if "FINAL" in line]
    assert wer([rec.transcript], [" ".join(finals)], "fr") < 0.3
    assert "speech_start" in result.stdout and "closed:" in result.stdout


def test_transcribe_in_real_time_prints_partials_first(corpus):
    result = transcribe(str(corpus["dental_02.wav"].path), "--realtime", "--json")
    assert result.returncode == 0, result.stderr
    import json

    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "ready" and types[-1] == "closed"
    assert "partial" in types and types.index("partial") < types.index("final")
    # at real-time pace, the final cannot come before its audio was played
    final = next(e for e in events if e["type"] == "final")
    assert final["wall"] >= final["end"] - 0.5


def test_missing_file():
    result = transcribe("/nonexistent.wav")
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_serve_says_plainly_when_the_database_is_unreachable():
    import os

    env = {**os.environ, "DATABASE_URL": "postgresql://chairside:s3cret@127.0.0.1:1/chairside", "CHAIRSIDE_PORT": "1"}
    result = subprocess.run([sys.executable, "-m", "chairside.cli", "serve"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot connect to PostgreSQL at postgresql://chairside:***@127.0.0.1:1/chairside")
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr


def test_serve_says_plainly_when_the_ice_servers_setting_is_malformed():
    import os

    env = {**os.environ, "CHAIRSIDE_WEBRTC_ICE_SERVERS": "stun:stun.example:3478", "CHAIRSIDE_PORT": "1"}
    result = subprocess.run([sys.executable, "-m", "chairside.cli", "serve"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: CHAIRSIDE_WEBRTC_ICE_SERVERS is not a JSON list")
