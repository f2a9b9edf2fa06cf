"""The house rules, read from the source (scripts/structure.py): the record
model imports nobody, packages import each other without cycles, and SQL
lives in store/ only."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("structure", ROOT / "scripts" / "structure.py")
structure = importlib.util.module_from_spec(_spec)
sys.modules["structure"] = structure  # its dataclasses look their module up
_spec.loader.exec_module(structure)
SHAPE = structure.read()


def test_no_package_imports_another_that_imports_it_back():
    assert SHAPE.cycles() == []


def test_the_record_model_imports_no_other_package():
    assert SHAPE.edges["record"] == set()


def test_the_store_imports_only_the_record_and_the_settings():
    assert SHAPE.edges["store"] <= {"record", "config"}


def test_the_pure_layers_know_no_sockets_sql_or_wire():
    assert SHAPE.edges["dictation"] <= {"record"}
    assert not SHAPE.edges["documents"] & {"transport", "session", "rooms", "dictation", "events", "http"}


def test_every_sql_statement_is_in_store():
    assert SHAPE.sql_outside_store() == []
    assert len(SHAPE.sql) > 50  # the rule reads them: it would pass vacuously if it read none
