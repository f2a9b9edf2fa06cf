"""The model catalogue: install, verify, and clear errors for bad models."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chairside.asr import models
from chairside.config import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed() -> Path:
    settings = Settings.from_env()
    return models.resolve(settings.model, settings.models_path)


def chairside(*args: str, env_dir: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chairside.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_catalogue_lists_every_file_with_its_sha256():
    catalogue = models.load_catalogue()
    base = catalogue["base"]
    assert base.spec["default"] and base.source_kind == "pypi"
    assert set(base.files) == {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"}
    for meta in base.files.values():
        assert len(meta["sha256"]) == 64 and meta["size"] > 0
        for part in meta["parts"]:
            assert part["package"] in base.spec["source"]["packages"]
    assert [p["path"].rsplit("/", 1)[-1] for p in base.files["model.bin"]["parts"]] == ["model.bin.part1", "model.bin.part2"]


def test_installed_model_verifies(installed):
    assert models.verify("base", installed.parent) == []
    result = chairside("models", "verify", "base", "--models-dir", str(installed.parent))
    assert result.returncode == 0 and "every file verified" in result.stdout


def test_install_is_a_no_op_when_intact(installed):
    messages = []
    models.install("base", installed.parent, log=messages.append)
    assert messages == [f"base: already installed and verified in {installed}"]


@pytest.fixture
def copy_of_model(installed, tmp_path) -> Path:
    target = tmp_path / "models" / "base"
    target.mkdir(parents=True)
    for f in installed.iterdir():
        (target / f.name).symlink_to(f) if f.name == "model.bin" else shutil.copy(f, target / f.name)
    return target


def test_missing_file_is_named_with_the_fix(copy_of_model):
    (copy_of_model / "tokenizer.json").unlink()
    problems = models.verify("base", copy_of_model.parent)
    assert len(problems) == 1
    assert "tokenizer.json is missing" in problems[0] and "chairside models install base" in problems[0]


def test_partial_file_is_detected(copy_of_model):
    model_bin = copy_of_model / "model.bin"
    data = model_bin.read_bytes()
    model_bin.unlink()
    model_bin.write_bytes(data[: len(data) // 2])
    problems = models.verify("base", copy_of_model.parent)
    assert "model.bin" in problems[0] and "partial or corrupted" in problems[0]


def test_corrupted_file_is_detected(copy_of_model):
    config = copy_of_model / "config.json"
    text = config.read_text()
    config.write_text(text.replace("5", "6", 1))  # same size, other content
    problems = models.verify("base", copy_of_model.parent)
    assert "config.json fails its sha256 check" in problems[0]


def test_commands_refuse_a_corrupted_model_with_a_clear_message(copy_of_model):
    (copy_of_model / "vocabulary.json").write_text("{}")
    result = chairside("transcribe", str(ROOT / "tests/data/fr_fleurs_000.wav"), "--models-dir", str(copy_of_model.parent))
    assert result.returncode == 2
    assert "vocabulary.json" in result.stderr and "chairside models install base" in result.stderr
    assert "Traceback" not in result.stderr


def test_not_installed_model(tmp_path):
    problems = models.verify("base", tmp_path)
    assert problems == [f"model 'base' is not installed in {tmp_path / 'base'}; run `chairside models install base`"]


def test_a_path_to_any_ctranslate2_directory_works(installed, tmp_path):
    assert models.resolve(str(installed), tmp_path) == installed
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(models.ModelError, match="model.bin is missing"):
        models.resolve(str(empty), tmp_path)


def test_garbage_weights_give_an_error_not_a_crash(installed, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copy(installed / name, bad / name)
    (bad / "model.bin").write_bytes((installed / "model.bin").read_bytes()[:1_000_000])
    result = chairside("transcribe", str(ROOT / "tests/data/fr_fleurs_000.wav"), "--model", str(bad))
    assert result.returncode == 2
    assert "cannot load the speech model" in result.stderr and "Traceback" not in result.stderr


def test_unknown_model_name():
    result = chairside("models", "verify", "huge-v9")
    assert result.returncode == 1 and "unknown model 'huge-v9'" in result.stderr


def test_models_list():
    result = chairside("models", "list")
    assert result.returncode == 0
    assert "base (default)" in result.stdout and "small" in result.stdout


def test_serve_refuses_to_start_on_a_missing_model(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "chairside.cli", "serve", "--models-dir", str(tmp_path), "--port", "0"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert result.returncode == 2
    assert "run `chairside models install base`" in result.stderr and "Traceback" not in result.stderr
