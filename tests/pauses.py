"""What a paused dictation's draft should be: the manifest's expectations
of tests/data/pauses (and ../shared/audio/pauses), checked the same way by
the tests and by scripts/bench_pauses.py."""

from __future__ import annotations


def draft_problems(draft: dict | None, expect: dict) -> list[str]:
    """What the draft lacks of what is expected (empty: right)."""
    if draft is None:
        return ["no draft"]
    problems = []
    fields, lines = draft.get("fields", {}), draft["lines"]
    teeth = sorted({t for line in lines for t in line.get("teeth", [])} | set(fields.get("teeth", [])))
    got = {"kind": draft["kind"], "lines": len(lines), "drugs": [line.get("drug") for line in lines], "teeth": teeth,
           "durations": [line.get("duration_days") for line in lines], "work_type": fields.get("work_type"),
           "material": fields.get("material"), "shade": fields.get("shade"), "itt_days": fields.get("itt_days")}
    for key, value in expect.items():
        if got[key] != value:
            problems.append(f"{key}: {got[key]!r} (expected {value!r})")
    return problems
