"""The paused dictations of tests/data/pauses (scripts/synth_pauses.py): each
has its twin, its expected draft, and audio as long as the manifest says.
They are the yardstick of scripts/bench_pauses.py (docs/benchmarks.md)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from chairside.audio import SAMPLE_RATE
from chairside.client import load_audio

PAUSES = Path(__file__).resolve().parent / "data" / "pauses"
EXPECT_KEYS = {"kind", "lines", "drugs", "durations", "teeth", "work_type", "material", "shade", "itt_days"}


def rows() -> list[dict]:
    with open(PAUSES / "manifest.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_every_paused_dictation_has_its_twin_and_says_what_its_source_says():
    manifest = rows()
    with open(PAUSES / "source.tsv", newline="") as fh:
        source = {r["id"]: r for r in csv.DictReader(fh, delimiter="\t")}
    twins = {r["twin_of"]: r for r in manifest if r["twin_of"]}
    paused = [r for r in manifest if not r["twin_of"]]
    assert len(paused) == len(source) >= 30 and set(twins) == {r["file"] for r in paused}
    for r in paused:
        said = " ".join(re.sub(r"\[p[0-9.]+\]|//[0-9.]*", " ", source[r["file"][7:-4]]["text"]).split())
        assert r["transcript"] == twins[r["file"]]["transcript"] == said
        assert r["expect"] == twins[r["file"]]["expect"]
        expect = json.loads(r["expect"])
        assert set(expect) <= EXPECT_KEYS and expect["kind"] in ("prescription", "lab_order", "medical_certificate", "clinical_report")
    kinds = Counter(json.loads(r["expect"])["kind"] for r in paused)
    assert min(kinds.values()) >= 5, kinds
    pauses = [float(p) for r in source.values() for p in re.findall(r"\[p([0-9.]+)\]", r["text"])]
    assert min(pauses) <= 0.4 and max(pauses) >= 2.0
    assert sum("euh" in r["text"].lower() for r in source.values()) >= 5


@pytest.mark.parametrize("row", rows(), ids=lambda r: r["file"])
def test_the_audio_is_as_long_as_the_manifest_says(row):
    audio = load_audio(PAUSES / row["file"])
    assert audio.size / SAMPLE_RATE == pytest.approx(float(row["duration_s"]), abs=0.05)
    assert 0.05 < float(abs(audio).max()) <= 1.0
