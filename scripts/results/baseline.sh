#!/usr/bin/env bash
# Runs scenarios/active-vs-passive.toml against the embedded target and each
# real server (started through scripts/targets/ftpd), one after the other, and
# writes results/baseline/<target>.json, machine.txt and table.md.
#   scripts/results/baseline.sh [DURATION]      # default: the scenario's 60s
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-}
out=results/baseline
ftpd=scripts/targets/ftpd
mkdir -p "$out"

cargo build --release --quiet
bin=target/release/ftpload
extra=()
[[ -n $duration ]] && extra=(--duration "$duration")

"$ftpd" install all >/dev/null
"$ftpd" fixture >/dev/null
"$ftpd" start all >/dev/null

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
    echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
    echo "kernel: $(uname -r)"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "ftpload: $("$bin" --version)"
    for s in vsftpd pure-ftpd proftpd pyftpdlib; do
        echo "$s: $(sed -n 's/^banner=//p' "target/ftpd/$s/state")"
    done
} >"$out/machine.txt"

"$bin" run scenarios/active-vs-passive.toml --mode passive,epsv,active -q \
    --out "$out/embedded.json" "${extra[@]}" || true
for s in vsftpd pure-ftpd proftpd pyftpdlib; do
    FTPLOAD_PASSWORD=ftppass "$bin" run scenarios/active-vs-passive.toml -q \
        --target "$("$ftpd" url "$s")" --out "$out/$s.json" "${extra[@]}" || true
done
"$bin" report "$out"/embedded.json "$out"/vsftpd.json "$out"/pure-ftpd.json \
    "$out"/proftpd.json "$out"/pyftpdlib.json >"$out/table.md"
cat "$out/table.md"
