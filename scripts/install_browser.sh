#!/usr/bin/env bash
# Install Debian's chromium for the web page's browser test (tests/web/test_browser.py).
#
# Idempotent and quiet: does nothing when /usr/bin/chromium already exists. Needs root (CI runs
# as root on Debian) or sudo; never downloads a browser build of its own (no `playwright install`).
# Exits 0 without installing when apt-get is missing (not Debian): the test then skips locally
# and fails under CI=true with a clear message.
set -euo pipefail

BROWSER=/usr/bin/chromium

if [ -x "$BROWSER" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: apt-get not found; install chromium yourself ($BROWSER)" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_browser.sh: not root and no sudo; cannot install chromium" >&2
        exit 0
    fi
fi

echo "install_browser.sh: installing chromium with apt-get (one time)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
test -x "$BROWSER"
