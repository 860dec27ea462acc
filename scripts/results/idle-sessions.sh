#!/usr/bin/env bash
# Makes results/scale/: scenarios/idle-50k.toml, 50,000 logged-in sessions
# held at once for a minute against the embedded target, and machine.txt.
# About 2 minutes; run as root from anywhere.
#
#   scripts/results/idle-sessions.sh
#
# Environment:
#   RESULTS_DIR  where to write (default results/scale)
#   SERVERS      `ftpload serve` processes sharing port 2300 (default 7)
#   SHARDS       generator processes, --local-shards (default 3)
#
# One process holds at most 20,000 open files here (not raisable). The
# embedded target holds two per session (the socket and its own handle on
# the served directory), so it runs as SERVERS processes on one port
# (SO_REUSEPORT: the kernel spreads connections over them; 7 leave room for
# an uneven spread), and the generator, one per idle session, as SHARDS
# processes whose results are merged exactly. One source address
# has about 28,000 ephemeral ports toward one server port, so the clients
# leave from 127.0.0.2-127.0.0.9 (--source-ips). On exit, however it exits,
# it stops the servers it started.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
out="$(realpath -m -- "${RESULTS_DIR:-$here/../../results/scale}")"
cd "$here/../.."
servers=${SERVERS:-7}
shards=${SHARDS:-3}
mkdir -p "$out"

cargo build --release --quiet
bin=target/release/ftpload
pids=()
stop_servers() {
    ((${#pids[@]})) || return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap stop_servers EXIT
exit_on_signals

for ((i = 0; i < servers; i++)); do
    # Each its own passive range, though idle sessions open no data channel.
    first=$((21000 + i * 100))
    "$bin" serve --reuse-port --port 2300 --passive-ports "$first-$((first + 99))" \
        >"$out/serve-$i.log" 2>&1 &
    pids+=("$!")
done
# Bounded: each server says it is serving within a few seconds, or this stops.
for ((i = 0; i < servers; i++)); do
    for _ in $(seq 50); do
        grep -q '^serving' "$out/serve-$i.log" && break
        sleep 0.1
    done
    grep -q '^serving' "$out/serve-$i.log" || {
        echo "$GEN: server $i did not start: $(cat "$out/serve-$i.log")" >&2
        exit 3
    }
done

FTPLOAD_PASSWORD=ftpload run_ftpload timeout 600 "$bin" run scenarios/idle-50k.toml \
    --local-shards "$shards" --source-ips 127.0.0.2-127.0.0.9 \
    --out "$out/idle-50k.json" | tee "$out/idle-50k.txt"
machine_txt "$bin" "servers: $servers ftpload serve --reuse-port processes" \
    "generator: $shards shard processes (--local-shards)" >"$out/machine.txt"
rm -f "$out"/serve-*.log
