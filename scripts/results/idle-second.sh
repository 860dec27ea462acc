#!/usr/bin/env bash
# Makes results/scale/idle-second.csv: what one second of a run costs the
# generator when its clients do nothing (logged-in sessions, idle), with
# the host's TIME_WAIT table full. That is what watching itself costs: the
# sample clock, the per-second reads (TIME_WAIT count, resident memory) and
# the timeline's interval. About 5 minutes; run as root from anywhere.
#
#   scripts/results/idle-second.sh
#
# Environment:
#   RESULTS_DIR  where to write (default results/scale)
#   BINS         "LABEL=PATH ..." of ftpload binaries to compare side by side
#                (default "ftpload=target/release/ftpload", built here)
#   SESSIONS     idle sessions per run (default "10 1000")
#   TIME_WAIT    client sockets left in TIME_WAIT before each run (default 100000)
#   ROUNDS       runs of each binary and size, interleaved (default 3)
#
# The CPU is the sum over the process's threads of /proc/PID/task/*/schedstat
# (nanoseconds on CPU) over 10 s of the plateau, divided by 10. Each run
# has a network namespace of its own, so its TIME_WAIT table holds what the
# filler left just before it and nothing else (its sockets expire after
# 60 s, longer than a run): TIME_WAIT sockets are not recycled for new
# connections there (tcp_tw_reuse 0), nor capped below 1,000,000. The
# table's size is read from the namespace's /proc/net/sockstat at the start
# and end of each window.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
out="$(realpath -m -- "${RESULTS_DIR:-$here/../../results/scale}")"
cd "$here/../.."
bins=${BINS:-ftpload=target/release/ftpload}
sessions=${SESSIONS:-10 1000}
time_wait=${TIME_WAIT:-100000}
rounds=${ROUNDS:-3}
[[ $EUID -eq 0 ]] || { echo "$GEN: run as root (it makes network namespaces)" >&2; exit 2; }
mkdir -p "$out"
work=$(mktemp -d)
ns=ftpload-idle-$$

cargo build --release --quiet
pids=()
clean_up() {
    if ((${#pids[@]})); then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    pids=()
    ip netns del "$ns" 2>/dev/null || true
}
trap 'clean_up; rm -rf "$work"' EXIT
exit_on_signals
in_ns() { ip netns exec "$ns" "$@"; }

# fill N: leaves N client ends in TIME_WAIT toward 127.0.0.1 (the client
# closes first), over 6 listeners so no one port pair runs out of
# ephemeral ports. Bounded by count and by 120 s.
fill() {
    in_ns python3 - "$1" <<'EOF'
import socket, sys, time
n = int(sys.argv[1])
ls = [socket.create_server(("127.0.0.1", 0), backlog=1024) for _ in range(6)]
addrs = [l.getsockname() for l in ls]
made, end = 0, time.monotonic() + 120
while made < n and time.monotonic() < end:
    # Not create_connection: its name lookup made a fill take a minute.
    for l, a in zip(ls, addrs):
        c = socket.socket()
        c.connect(a)
        s, _ = l.accept()
        c.close()
        s.close()
        made += 1
EOF
}
# shellcheck disable=SC2016 # awk's own $i, through in_ns
tw() { in_ns awk '/^TCP:/ { for (i = 1; i < NF; i++) if ($i == "tw") print $(i + 1) }' /proc/net/sockstat; }
cpu_ns() {
    local s=0 a _
    for t in /proc/"$1"/task/*/schedstat; do
        read -r a _ <"$t" || true
        s=$((s + a))
    done
    echo "$s"
}

# one LABEL BIN SESSIONS ROUND: a run in a fresh namespace; prints its CSV line.
one() {
    local label=$1 bin=$2 n=$3 r=$4 port pid t0 t1 c0 c1
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    in_ns sysctl -q -w net.ipv4.tcp_max_tw_buckets=1000000 net.ipv4.tcp_tw_reuse=0
    # `ip netns exec` execs the command: $! is the process itself.
    ip netns exec "$ns" target/release/ftpload serve --port 0 >"$work/serve.log" 2>&1 &
    pids=("$!")
    for _ in $(seq 50); do
        grep -q '^serving' "$work/serve.log" && break
        sleep 0.1
    done
    port=$(grep -o '127\.0\.0\.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
    [[ -n $port ]] || {
        echo "$GEN: the embedded target did not start: $(cat "$work/serve.log")" >&2
        exit 3
    }
    cat >"$work/idle.toml" <<EOF
name = "idle-second"
[target]
url = "ftp://ftpload:ftpload@127.0.0.1:$port"
[run]
iterations = $n
ramp_up = "3s"
[[group]]
name = "idle"
users = $n
mode = "passive"
ops = ["idle 20s"]
EOF
    fill "$time_wait"
    ip netns exec "$ns" "$bin" run "$work/idle.toml" -q --out "$work/out.json" >"$work/run.log" 2>&1 &
    pid=$!
    sleep 6
    t0=$(tw) c0=$(cpu_ns "$pid")
    sleep 10
    c1=$(cpu_ns "$pid") t1=$(tw)
    wait "$pid" || {
        echo "$GEN: $label run failed: $(cat "$work/run.log")" >&2
        exit 3
    }
    clean_up
    echo "$label,$n,$r,$t0,$t1,$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", (b - a) / 10 / 1e6 }')"
}

echo "binary,sessions,round,time_wait_start,time_wait_end,cpu_ms_per_s" >"$out/idle-second.csv"
for ((r = 1; r <= rounds; r++)); do
    for n in $sessions; do
        for b in $bins; do
            one "${b%%=*}" "${b#*=}" "$n" "$r" | tee -a "$out/idle-second.csv"
        done
    done
done
machine_txt target/release/ftpload "binaries: $bins" >"$out/idle-second-machine.txt"
