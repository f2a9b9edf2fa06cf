#!/usr/bin/env python3
"""Dictation with natural pauses, against its twin without: the yardstick of
issue 11.

Each recording of ``../shared/audio/pauses/`` (a dental dictation whose
speaker stops 0.4–0.9 s mid-line, sometimes after an "euh") has a twin
``…n.wav`` with the same words and no mid-line pause; ``--audio
tests/data/pauses`` runs the 32 of ``tests/data`` (0.4–2 s pauses, made by
``scripts/synth_pauses.py``).  Both are streamed
through ``/v1/stream`` of a real server process at real-time pace, in a
practice with a patient, and scored:

- draft right: the session's last draft has what ``manifest.tsv`` expects
  (kind, number of lines, drugs and durations in order, teeth, work type,
  material, shade, ITT);
- word error rate of the finals against the transcript, numbers normalized
  the same way on both sides, fillers ("euh", "hum", "ben") left out of the
  reference: a filler is no word of the dictation;
- filler-made words: words of the finals where the transcript has a filler
  (insertions at its place in the alignment), and filler words written out;
- VAD speech_end → final, per utterance.

Run with the project's venv:

    .venv/bin/python scripts/bench_pauses.py --json docs/bench_pauses.json

``--offline`` is for quick iteration: the real ``Listener`` (VAD, streaming
recognition) runs in this process, faster than real time and partials off;
the finals are scored (WER paused vs twins, filler-made words) and each is
dictated as it comes, the prompt following the draft as in a session, for
the drafts (no latencies).  Finals do not depend on partials or timing, so this
gives the finals of the real-time run; the real-time mode stays the
reference for recorded numbers.  ``--offline --french`` also scores the 12
French recordings of ``tests/data`` (bench_stream.py's set) the same way.
``--offline --phrases S`` measures issue 11's other design, the utterance
kept open across pauses shorter than S (see :func:`phrase_dictation`).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_dictation import session  # noqa: E402  (one dictation through /v1/stream at real-time pace)
from chairside.evaluation import normalize  # noqa: E402
from conftest import create_practice, start_server, stop_server  # noqa: E402
from pauses import draft_problems, listen  # noqa: E402  (the tests' draft check and in-process listener)

PAUSES = ROOT.parent / "shared" / "audio" / "pauses"
FILLERS = {"euh", "heu", "hum", "hmm", "ben", "bah"}


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 3)


def last_draft(received: list[tuple[float, dict]]) -> dict | None:
    drafts = [e["draft"] for _, e in received if e["type"] == "draft.updated"]
    return drafts[-1] if drafts else None


def words(text: str) -> list[str]:
    return normalize(text, "fr").split()


def score(reference: str, hypothesis: str) -> dict:
    """Word errors against the reference without its fillers, and the words
    the hypothesis has where the reference has a filler."""
    import jiwer

    ref_all = words(reference)
    ref = [w for w in ref_all if w not in FILLERS]
    filler_gaps = set()  # positions in ``ref`` before which a filler was said
    kept = 0
    for w in ref_all:
        if w in FILLERS:
            filler_gaps.add(kept)
        else:
            kept += 1
    hyp = words(hypothesis)
    out = jiwer.process_words(" ".join(ref), " ".join(hyp) or "∅")
    made = {i for i, w in enumerate(hyp) if w in FILLERS}  # written out, wherever
    for chunk in out.alignments[0]:
        if chunk.type == "insert" and chunk.ref_start_idx in filler_gaps:  # words where the filler was
            made.update(range(chunk.hyp_start_idx, chunk.hyp_end_idx))
    errors = out.substitutions + out.deletions + out.insertions
    return {"reference_words": len(ref), "errors": errors, "filler_made_words": len(made)}


def final_latencies(received: list[tuple[float, dict]]) -> list[float]:
    ends = {e["utterance"]: t for t, e in received if e["type"] == "vad" and e["event"] == "speech_end"}
    return [t - ends[e["utterance"]] for t, e in received
            if e["type"] == "final" and e.get("end_of_utterance", True) and e["utterance"] in ends]


def run_one(practice, folder: Path, row: dict) -> dict:
    received = asyncio.run(session(practice, [folder / row["file"]]))  # the recording, 1 s of silence, stop
    finals = [e["text"] for _, e in received if e["type"] == "final" and e["text"]]
    problems = draft_problems(last_draft(received), json.loads(row["expect"]))
    return {"file": row["file"], "finals": finals, "draft_right": not problems, "draft_problems": problems,
            **score(row["transcript"], " ".join(finals)), "final_after_vad_s": final_latencies(received),
            "warnings": [e["message"] for _, e in received if e["type"] == "warning"]}


def manifest(folder: Path) -> list[dict]:
    """The rows of ``folder``/manifest.tsv (file, transcript, expected draft, …)."""
    with open(folder / "manifest.tsv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def twin_of(name: str) -> str:
    """pauses_s1.wav → pauses_s1n.wav (the same words without mid-line pauses)."""
    stem, _, ext = name.rpartition(".")
    return f"{stem}n.{ext}"


def totals(results: list[dict]) -> dict:
    latencies = [x for r in results for x in r["final_after_vad_s"]]
    ref_words = sum(r["reference_words"] for r in results)
    return {"recordings": len(results), "drafts_right": sum(r["draft_right"] for r in results),
            "wer": round(sum(r["errors"] for r in results) / ref_words, 4) if ref_words else None,
            "filler_made_words": sum(r["filler_made_words"] for r in results),
            "final_after_vad_p50_s": pct(latencies, 0.5), "final_after_vad_p95_s": pct(latencies, 0.95)}


async def offline_dictation(engine, vad, settings, path: Path) -> tuple[list[str], dict | None]:
    """A recording (then 1 s of silence) through a real Listener, as fast as
    it decodes, each final dictated as it comes (the prompt follows the
    draft, as in a session): the finals and the last draft (offline: no long
    silence closes a line, as none does within these recordings)."""
    from chairside.client import load_audio
    from chairside.dictation.state import Dictation

    collected = await listen(engine, vad, settings, load_audio(path), Dictation("fr"))
    draft = collected.dictation.draft
    return [f.text for f in collected.finals if f.text], draft.model_dump(mode="json") if draft is not None else None


async def phrase_dictation(engine, vad, settings, path: Path, join_s: float) -> tuple[list[str], dict | None]:
    """The other design of issue 11, the utterance kept open across short
    pauses, as its finals would read: the recording goes through the real
    Listener (as :func:`offline_dictation`) for its fragments; consecutive
    fragments less than ``join_s`` apart (between the VAD's padded bounds), neither of them a voice command, make
    one phrase, whose audio (pauses included) is decoded whole, as its final
    would be at the long pause (beam search, the open document's prompt, no
    context before).  Commands keep their own final.  The phrases are then
    dictated in order."""
    from chairside.asr.engine import FINAL, DecodeRequest
    from chairside.asr.streaming import drop_fillers
    from chairside.audio import SAMPLE_RATE
    from chairside.client import load_audio
    from chairside.dictation.commands import CommandMatch, match
    from chairside.dictation.state import Dictation
    from chairside.dictation.vocabulary import draft_vocabulary

    audio = load_audio(path)
    fragments = [f for f in (await listen(engine, vad, settings, audio, Dictation("fr"))).finals if f.text]
    dictation, texts, phrase = Dictation("fr"), [], []

    def is_command(text: str) -> bool:
        return isinstance(match(text, "fr"), CommandMatch)

    async def close() -> None:
        if not phrase:
            return
        if len(phrase) == 1:
            text = phrase[0].text
        else:  # the phrase heard whole, as one open utterance's final
            kind = dictation.draft.kind if dictation.draft is not None else None
            span = audio[int(phrase[0].start * SAMPLE_RATE) : int(phrase[-1].end * SAMPLE_RATE)]  # the VAD's padded bounds
            decoded = await engine.decode(DecodeRequest(
                audio=span, language="fr", vocabulary=", ".join(draft_vocabulary("fr", kind)) + ".",
                beam_size=settings.final_beam_size, word_timestamps=True, priority=FINAL))
            text = " ".join(w.word for w in drop_fillers(decoded.words))
        phrase.clear()
        texts.append(text)
        dictation.handle(text)

    for fragment in fragments:
        if is_command(fragment.text):
            await close()
            phrase.append(fragment)
            await close()
        else:
            if phrase and fragment.start - phrase[-1].end >= join_s:
                await close()
            phrase.append(fragment)
    await close()
    draft = dictation.draft
    return texts, draft.model_dump(mode="json") if draft is not None else None


def run_offline(folder: Path, paused: list[dict], twins: dict, french: bool, phrases_s: float = 0.0) -> dict:
    from chairside.config import Settings
    from chairside.evaluation import wer
    from chairside.runtime import load_engine

    settings = Settings.from_env(partial_interval_s=1000.0)

    async def run() -> dict:
        engine, vad, _ = load_engine(settings)
        await engine.start()
        try:
            out = {"paused": [], "twins": []}
            for kind, rows in (("paused", paused), ("twins", [twins[twin_of(r["file"])] for r in paused])):
                for row in rows:
                    if phrases_s > 0:
                        finals, draft = await phrase_dictation(engine, vad, settings, folder / row["file"], phrases_s)
                    else:
                        finals, draft = await offline_dictation(engine, vad, settings, folder / row["file"])
                    problems = draft_problems(draft, json.loads(row["expect"]))
                    out[kind].append({"file": row["file"], "finals": finals, "draft_right": not problems,
                                      "draft_problems": problems, **score(row["transcript"], " ".join(finals))})
            if french:
                from conftest import recordings

                refs, hyps = [], []
                for name, rec in recordings().items():
                    if rec.language == "fr" and not name.startswith(("noise", "silence")):
                        hyps.append(" ".join((await offline_dictation(engine, vad, settings, rec.path))[0]))
                        refs.append(rec.transcript)
                out["french_wer"] = round(wer(refs, hyps, "fr"), 4)
                out["french_recordings"] = len(refs)
            return out
        finally:
            await engine.close()

    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio", type=Path, default=PAUSES, help="a folder with manifest.tsv, paused recordings and their …n twins")
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--offline", action="store_true", help="in-process listener, faster than real time, finals only")
    parser.add_argument("--french", action="store_true", help="with --offline: also the French recordings of tests/data")
    parser.add_argument("--phrases", type=float, default=0.0, metavar="S",
                        help="with --offline: the utterance kept open across pauses shorter than S seconds, "
                             "its final decoded whole at the end (issue 11's other design)")
    args = parser.parse_args()
    rows = manifest(args.audio)
    twins = {r["file"]: r for r in rows if re.search(r"n\.(?:wav|ogg)$", r["file"])}
    paused = [r for r in rows if r["file"] not in twins and twin_of(r["file"]) in twins]

    if args.offline:
        results = run_offline(args.audio, paused, twins, args.french, args.phrases)
        report = {kind: {"wer": round(sum(r["errors"] for r in results[kind]) / sum(r["reference_words"] for r in results[kind]), 4),
                         "filler_made_words": sum(r["filler_made_words"] for r in results[kind]),
                         "drafts_right": sum(r["draft_right"] for r in results[kind])} for kind in ("paused", "twins")}
        report["wer_ratio_paused_to_twins"] = round(report["paused"]["wer"] / report["twins"]["wer"], 3)
        if args.french:
            report["french_wer"] = results["french_wer"]
        if args.json:
            args.json.write_text(json.dumps({**report, "recordings": results}, indent=1, ensure_ascii=False) + "\n")
        print(json.dumps(report))
        for r in results["paused"] + results["twins"]:
            print(f"\n{r['file']}: {r['errors']} errors, {r['filler_made_words']} filler-made, draft "
                  f"{'right' if r['draft_right'] else 'WRONG ' + '; '.join(r['draft_problems'])}")
            for text in r["finals"]:
                print(f"   {text}")
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="bench-pauses-"))
    server = start_server(tmp, token_ttl_s=4 * 3600)  # the whole run on one login (64 recordings take ~17 min)
    practice = create_practice(server)
    try:
        results = {"paused": [run_one(practice, args.audio, r) for r in paused],
                   "twins": [run_one(practice, args.audio, twins[twin_of(r["file"])]) for r in paused]}
    finally:
        stop_server(server)
    report = {"paused": totals(results["paused"]), "twins": totals(results["twins"]), "recordings": results}
    p, t = report["paused"], report["twins"]
    report["wer_ratio_paused_to_twins"] = round(p["wer"] / t["wer"], 3) if p["wer"] is not None and t["wer"] else None
    print("| | paused | twins |\n| --- | --- | --- |")
    for key in ("drafts_right", "wer", "filler_made_words", "final_after_vad_p50_s", "final_after_vad_p95_s"):
        print(f"| {key} | {p[key]} | {t[key]} |")
    print(f"| WER ratio paused / twins | {report['wer_ratio_paused_to_twins']} | |")
    for r in results["paused"] + results["twins"]:
        print(f"\n{r['file']}: {'right' if r['draft_right'] else 'WRONG ' + '; '.join(r['draft_problems'])}")
        for text in r["finals"]:
            print(f"   {text}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
