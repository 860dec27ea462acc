#!/usr/bin/env bash
# Creates $REPO/.venv with the Python packages the integration tests need:
#   pyftpdlib    a real FTP server that, unlike the embedded libunftp target, has EPRT
#   pyopenssl    what pyftpdlib's TLS_FTPHandler needs (FTPD_TLS in scripts/targets/ftpd)
#   hdrhistogram an independent decoder, to check our serialized HDR histograms
#
# Test binaries call this concurrently (cargo runs them in parallel), so the
# work happens under flock, and a stamp file that records the package versions
# makes every later call a fast no-op. Bumping a version below reinstalls.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.ftpload-pyenv-stamp"
LOCK_DIR="$REPO/target"
LOCK="$LOCK_DIR/.pyenv.lock"
PACKAGES=(pyftpdlib==2.2.0 pyopenssl==26.4.0 hdrhistogram==0.10.8)
WANT="${PACKAGES[*]}"
# pip's own retries and timeouts bound each download; this bounds waiting for
# another process that holds the lock while it installs.
LOCK_WAIT_SECS=600

die() {
    echo "setup-pyenv: $*" >&2
    exit 1
}

is_done() {
    [[ -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]
}

is_done && exit 0

mkdir -p "$LOCK_DIR"
exec 9>"$LOCK"
flock -w "$LOCK_WAIT_SECS" 9 || die "waited ${LOCK_WAIT_SECS}s for $LOCK; is another setup stuck?"

# Another process may have finished while we waited for the lock.
is_done && exit 0

rm -f "$STAMP"
command -v python3 >/dev/null || die "python3 not found on PATH"

# A venv left half-made by an interrupted run has no working pip: start over.
if ! { [[ -x "$PY" ]] && "$PY" -m pip --version >/dev/null 2>&1; }; then
    python3 -m venv --clear "$VENV" || die "python3 -m venv $VENV failed"
fi

LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
if ! "$PY" -m pip install --disable-pip-version-check --no-input "${PACKAGES[@]}" >"$LOG" 2>&1; then
    cat "$LOG" >&2
    die "pip install ${WANT} into $VENV failed (output above)"
fi

"$PY" -c 'import pyftpdlib, OpenSSL.SSL, hdrh.histogram' >"$LOG" 2>&1 || {
    cat "$LOG" >&2
    die "packages installed but do not import (output above)"
}

printf '%s\n' "$WANT" >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
