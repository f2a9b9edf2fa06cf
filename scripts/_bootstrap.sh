# Sourced by scripts/serve and scripts/test: make .venv, install the project
# (pinned by requirements.lock) and the speech model.  Idempotent; a second
# run only checks stamps and the model's sha256 (about a second).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXTRAS="${BOOTSTRAP_EXTRAS:-}"  # "dev" for the test tools

find_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 or newer is needed (apt-get install python3)" >&2
    return 1
}

apt_install() {
    # Debian packages the project needs; only when missing, only as root.
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "error: missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
        return 1
    fi
    echo "installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# WeasyPrint (documents) needs Pango, HarfBuzz's subsetter (fast font
# embedding) and fonts; Inter is the documents' typeface.
apt_install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-inter fonts-dejavu-core
# The tests also run against Debian's own PostgreSQL server (started by the
# tests in a temporary directory), beside the embedded one, and drive the web
# client in Debian's Chromium (Playwright uses it; it downloads no browser),
# which trusts the local CA of the HTTPS test through NSS's certutil, and
# run docker/Caddyfile in Debian's Caddy in front of two replicas.
if [ "$EXTRAS" = "dev" ]; then
    apt_install postgresql chromium libnss3-tools caddy
fi

if [ ! -x .venv/bin/python ]; then
    PY="$(find_python)"
    if ! "$PY" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        apt_install "python3-venv"
        "$PY" -m venv .venv
    fi
fi

spec="${EXTRAS:+.[$EXTRAS]}"
spec="${spec:-.}"
stamp=".venv/.installed-$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)-${EXTRAS:-base}"
if [ ! -f "$stamp" ]; then
    echo "installing Chairside and its dependencies into .venv ..." >&2
    pip_quiet() {  # pip, without this machine's notes about absent local mirrors
        .venv/bin/python -m pip --quiet --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2)
    }
    pip_quiet install --upgrade pip
    pip_quiet install -c requirements.lock -e "$spec"
    touch "$stamp"
fi

# The default speech model (a catalogue name; a path is used as it is).
model="${CHAIRSIDE_MODEL:-base}"
case "$model" in
    */*|.*) ;;
    *) .venv/bin/chairside models install "$model" ;;
esac
