"""The documents' typeface, trimmed once so that a PDF renders in ~0.07 s.

WeasyPrint subsets every font it embeds, and reading the large OpenType
layout tables of a full font is most of a PDF's cost on the clinic mini-PC:
with Inter, 1.1 s a PDF through fontTools, 0.17 s through HarfBuzz's subsetter
(Debian's ``libharfbuzz-subset0``, which the bootstrap installs).  So the
typeface (Inter from Debian's ``fonts-inter``, else DejaVu Sans) is trimmed
once to what a French practice writes (Latin-1 and Latin Extended-A,
punctuation, € and a few signs) with kerning only, cached under the user's
cache directory and given to WeasyPrint as inline ``@font-face`` data: 0.07 s
and 25 KB a PDF (docs/benchmarks.md).  A character outside these ranges
still prints, from a system fallback font.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir

log = logging.getLogger(__name__)

FAMILY = "Chairside Sans"
# Latin-1 and Latin Extended-A (French, and the names of most European
# patients), combining accents, typographic punctuation, €, ™, №, arrows,
# − ≠ ≤ ≥.  Other characters print from a fallback font.
UNICODES = "U+0020-017F,U+0300-036F,U+2010-2027,U+202F,U+2030-203A,U+20AC,U+2116,U+2122,U+2190-2193,U+2212,U+2260,U+2264-2265"
# (weight, style) → fontconfig pattern of the source face, by family tried in order
FACES = [(400, "normal"), (400, "italic"), (600, "normal"), (700, "normal"), (800, "normal")]
SOURCES = ["Inter", "DejaVu Sans"]
TRIM_VERSION = "2"  # change to rebuild cached fonts


@dataclass(frozen=True)
class Face:
    weight: int
    style: str
    path: Path


def _match(family: str, weight: int, style: str) -> Path | None:
    """The file fontconfig gives for a family at a weight (None if it would
    substitute another family)."""
    slant = "italic" if style == "italic" else "roman"
    fc_weight = {400: "regular", 600: "semibold", 700: "bold", 800: "extrabold"}[weight]
    try:
        out = subprocess.run(["fc-match", "-f", "%{family}\n%{file}", f"{family}:weight={fc_weight}:slant={slant}"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families, _, file = out.partition("\n")
    if family.lower() not in families.lower() or not file:
        return None
    return Path(file)


def _trim(source: Path, target: Path) -> None:
    from fontTools import subset

    options = subset.Options()
    options.layout_features = ["kern"]
    options.name_IDs = ["*"]  # keep the licence and copyright records
    options.notdef_outline = True
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=subset.parse_unicodes(UNICODES))
    subsetter.subset(font)
    tmp = target.with_suffix(".tmp")
    subset.save_font(font, str(tmp), options)
    tmp.replace(target)


def trimmed_faces(cache_dir: Path | None = None) -> list[Face]:
    """The trimmed faces of the first available family (cached)."""
    cache = cache_dir or Path(user_cache_dir("chairside")) / "fonts"
    for family in SOURCES:
        sources = [(w, s, _match(family, w, s)) for w, s in FACES]
        if any(p is None for _, _, p in sources):
            continue
        cache.mkdir(parents=True, exist_ok=True)
        faces = []
        for weight, style, path in sources:
            assert path is not None
            stat = path.stat()
            key = hashlib.sha256(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{UNICODES}|{TRIM_VERSION}".encode()).hexdigest()[:16]
            target = cache / f"{path.stem}-{key}{path.suffix}"
            if not target.exists():
                _trim(path, target)
            faces.append(Face(weight, style, target))
        return faces
    log.warning("documents: neither Inter nor DejaVu Sans is installed (apt-get install fonts-inter); "
                "PDFs use fontconfig's default font and render slower")
    return []


def font_face_css(faces: list[Face]) -> str:
    rules = []
    for face in faces:
        data = base64.b64encode(face.path.read_bytes()).decode("ascii")
        mime = "font/otf" if face.path.suffix == ".otf" else "font/ttf"
        rules.append(f'@font-face {{ font-family: "{FAMILY}"; font-weight: {face.weight}; font-style: {face.style}; '
                     f"src: url(data:{mime};base64,{data}); }}")
    return "\n".join(rules)
