#!/usr/bin/env bash
# Makes results/exhaustion/: scenarios/passive-exhaustion.toml against the
# embedded target and each real server, every one with the same 8-port passive
# range, and scenarios/active-exhaustion.toml against the embedded target;
# then README's table (table.py). About 2 minutes; run as root from anywhere.
#
# The real servers run as a second set of harness instances (their own
# FTPD_HOME, control port 2141, one at a time), sharing the default home's
# packages and served files, so the default instances on 2121-2124 are left
# alone. Needs: scripts/targets/ftpd install all && scripts/targets/ftpd fixture
set -euo pipefail
cd "$(dirname "$0")/../.."
out=results/exhaustion
range=18500-18507
port=2141
ftpd=scripts/targets/ftpd
export FTPD_HOME=$PWD/target/ftpd-exhaustion-results
export FTPD_PKGS=$PWD/target/ftpd/pkgs FTPD_ROOT=$PWD/target/ftpd/root

cargo build --release --quiet
bin=target/release/ftpload
trap '"$ftpd" stop all >/dev/null || true' EXIT
"$ftpd" stop all >/dev/null

# Exit code 1 (failures recorded) is the point of these runs.
run() { timeout 120 "$bin" run "$@" -q || (($? == 1)); }

run scenarios/passive-exhaustion.toml --out "$out/passive-embedded.json"
for s in vsftpd pure-ftpd proftpd pyftpdlib; do
    "$ftpd" start "$s" --port "$port" --passive "$range" >/dev/null
    FTPLOAD_PASSWORD=ftppass run scenarios/passive-exhaustion.toml \
        --target "ftp://ftpuser@127.0.0.1:$port" --passive-range "$range" \
        --out "$out/passive-$s.json"
    "$ftpd" stop "$s" >/dev/null
done
run scenarios/active-exhaustion.toml --out "$out/active-embedded.json"

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
    echo "kernel: $(uname -r)"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "ftpload: $("$bin" --version)"
    echo "ephemeral ports: $(tr '\t' - </proc/sys/net/ipv4/ip_local_port_range)"
} >"$out/machine.txt"
python3 scripts/results/exhaustion_table.py "$out" >"$out/table.md"
cat "$out/table.md"
