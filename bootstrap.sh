#!/usr/bin/env bash
# Set up retention-sim on a fresh machine: find a Python >= 3.12, make .venv, install the package.
#   ./bootstrap.sh          install the package (runtime dependencies only)
#   ./bootstrap.sh test     install the package with the test extras, and Debian's chromium for the
#                           dashboard's browser tests (as root; otherwise it says how, and those tests skip)
# The machine's default python3 may be older (3.11 here), so we look for a newer one first,
# including interpreters that pyenv has installed but not activated.
set -euo pipefail
cd "$(dirname "$0")"

extra=""
[ "${1:-}" = "test" ] && extra="[test]"

ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
    local c
    for c in "${PYTHON:-}" python3.13 python3.12 python3; do
        [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && ok "$c" && { command -v "$c"; return; }
    done
    local root
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    for c in "$root"/versions/3.1[2-9]*/bin/python3; do
        [ -x "$c" ] && ok "$c" && { echo "$c"; return; }
    done
    return 1
}

if [ ! -x .venv/bin/python ] || ! ok .venv/bin/python; then
    py="$(find_python)" || { echo "bootstrap: retention-sim needs Python >= 3.12; none found (set PYTHON=/path/to/python3.12)" >&2; exit 1; }
    echo "bootstrap: creating .venv with $py" >&2
    rm -rf .venv
    "$py" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${extra}"

if [ -n "$extra" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: installing Debian's chromium for the dashboard's browser tests" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
            || echo "bootstrap: could not install chromium; the browser tests will be skipped" >&2
    else
        echo "bootstrap: no chromium, so the dashboard's browser tests will be skipped (install it with: sudo apt-get install chromium)" >&2
    fi
fi
