#!/usr/bin/env bash
# slurm-example.sh: the committed example of a sharded run on Slurm, made
# for real on this machine. Makes results/examples/slurm-4-shards/
# (RESULTS_DIR to write elsewhere).
#
#   scripts/results/slurm-example.sh [--shards N] [--duration D]
#
# Starts a single-node Slurm with accounting (deploy/slurm/local-cluster.sh
# start --accounting: slurmctld, slurmd, munge, slurmdbd and a MariaDB of
# its own, all on loopback) and the embedded target alone (`ftpload serve`
# on port 2198, with the scenario's files), then runs
# scenarios/distributed.toml through deploy/slurm/submit.sh as a job array
# of N shards (default 4) and the merge after it (--dependency=afterok),
# and keeps: each shard's result, the merged result (merged.json), the
# shards' and the merge's logs, `sacct` of both jobs (sacct.txt), the
# merged summary (summary.txt) and machine.txt. Stops, on any exit, what it
# started (a cluster already running is used and left running). About 40 s.
#
# Needs root (deploy/slurm/local-cluster.sh) and a release build, made
# here (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/results/common.sh
. scripts/results/common.sh
exit_on_signals

shards=4
duration=10s
while (($# > 0)); do
    case $1 in
    --shards) shards=${2:?--shards needs a number}; shift 2 ;;
    --duration) duration=${2:?--duration needs a duration}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "$0"; exit 0 ;;
    *) echo "$GEN: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
out=${RESULTS_DIR:-results/examples/slurm-$shards-shards}
port=2198
cluster=deploy/slurm/local-cluster.sh

cargo build --release -q
bin=$PWD/target/release/ftpload

started_cluster=0
server=
stop_all() {
    [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    ((started_cluster)) && "$cluster" stop >/dev/null
    return 0
}
trap stop_all EXIT

if ! "$cluster" status | grep -q "slurmctld running"; then
    "$cluster" start --accounting
    started_cluster=1
fi
eval "$("$cluster" env)"
sacct -n >/dev/null 2>&1 || {
    echo "$GEN: the running cluster has no accounting (sacct); stop it and let this script start one with --accounting" >&2
    exit 1
}

"$bin" serve --port "$port" --file 1k.bin=1KiB --file 64k.bin=64KiB >"$out.serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do
    grep -q '^serving' "$out.serve.log" 2>/dev/null && break
    sleep 0.1
done
grep -q '^serving' "$out.serve.log" || {
    echo "$GEN: ftpload serve did not start: $(cat "$out.serve.log")" >&2
    exit 1
}
rm -f "$out.serve.log"

rm -rf "$out"
mkdir -p "$out"
FTPLOAD=$bin FTPLOAD_PASSWORD=ftpload deploy/slurm/submit.sh --shards "$shards" --lead 10 \
    --results "$out" --wait 300 scenarios/distributed.toml \
    --target "ftp://ftpload@127.0.0.1:$port" --duration "$duration" | tee "$out/submit.txt"
jobs=$(awk '/^shards: job/ { a = $3 } /^merge: +job/ { m = $3 } END { print a "," m }' "$out/submit.txt")
sacct -j "$jobs" --format=JobID%-14,JobName%-15,State,ExitCode,Start,End,Elapsed,TotalCPU,MaxRSS >"$out/sacct.txt"
"$bin" report "$out/merged.json" >/dev/null # it reads back
cp "$out"/logs/merge-*.log "$out/summary.txt"
machine_txt "$bin" "slurm: $(sinfo --version)" "shards: $shards, duration $duration" >"$out/machine.txt"
echo "$GEN: wrote $out"
