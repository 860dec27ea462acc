#!/usr/bin/env bash
# server-cost.sh: what each server pays for a session and for a data channel
# in each mode, as ftpload's server watch reads it (the result's `server`).
# Makes results/server-cost/ (RESULTS_DIR to write elsewhere).
#
#   scripts/results/server-cost.sh [--rounds R] [--duration D]
#
# Against the embedded target and each real server (vsftpd, pure-ftpd,
# proftpd, pyftpdlib: the harness's default instances, started here when
# not running, and stopped again), per round (--rounds, default 3):
#   login     scenarios/server-cost-login.toml: sessions that log in, NOOP
#             and quit; no data channel
#   passive, epsv, active, eprt
#             scenarios/server-cost.toml with --mode: sessions that log in,
#             download 1 KiB ten times and quit; ten data channels each (the
#             embedded target has no EPRT)
# each for D (default 5s) with 4 clients (pyftpdlib in active and EPRT: 1,
# as pyftpdlib 2.2.0 loses its own connect-backs when several come at once).
# The servers are watched as a run watches them by default: a real server
# by its process tree (found by its listening socket), the embedded target
# by its runtime threads (CPU only: it shares the generator's process).
#
# Writes OUT/runs.csv (every run), OUT/README.md (medians over the rounds,
# by server_cost_table.py beside this script), OUT/machine.txt and, whole,
# round 1's vsftpd passive run (OUT/vsftpd-passive.json); every run's
# result JSON stays under target/server-cost/runs/. About 10 minutes
# with 3 rounds. Needs root: scripts/targets/ftpd install all && fixture
# (done here when missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
exit_on_signals

rounds=3
duration=5s
while (($# > 0)); do
    case $1 in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --duration) duration=${2:?--duration needs a duration}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "$0"; exit 0 ;;
    *) echo "$GEN: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $rounds =~ ^[1-9]$|^10$ ]] || { echo "$GEN: --rounds $rounds: 1 to 10" >&2; exit 2; }

cd "$here/../.."
out="$(realpath -m -- "${RESULTS_DIR:-results/server-cost}")"
runs=target/server-cost/runs
ftpd=scripts/targets/ftpd
servers=(vsftpd pure-ftpd proftpd pyftpdlib)
mkdir -p "$out" "$runs"
rm -f "$runs"/*.json

cargo build --release --quiet
bin=target/release/ftpload

trap stop_started EXIT
start_servers "$ftpd" "${servers[@]}"
machine_txt "$bin" "${banners[@]}" "rounds: $rounds, $duration per run" >"$out/machine.txt"

manifest=$runs/manifest.tsv
: >"$manifest"
for ((round = 1; round <= rounds; round++)); do
    for server in embedded "${servers[@]}"; do
        target=()
        [[ $server == embedded ]] || target=(--target "$("$ftpd" url "$server")")
        for kind in login passive epsv active eprt; do
            [[ $server == embedded && $kind == eprt ]] && continue
            users=4
            [[ $server == pyftpdlib && ($kind == active || $kind == eprt) ]] && users=1
            scenario=scenarios/server-cost.toml mode=$kind
            [[ $kind == login ]] && scenario=scenarios/server-cost-login.toml mode=passive
            json=$runs/$round-$server-$kind.json
            echo "$GEN: round $round, $server, $kind"
            FTPLOAD_PASSWORD=ftppass run_ftpload "$bin" run "$scenario" "${target[@]}" \
                --mode "$mode" --users "$users" --duration "$duration" -q --out "$json" >/dev/null
            printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$server" "$kind" "$users" "$json" >>"$manifest"
        done
    done
done
# One run kept whole beside the table, for its server block and timeline.
cp "$runs/1-vsftpd-passive.json" "$out/vsftpd-passive.json"
python3 "$here/server_cost_table.py" "$manifest" "$out"
echo "$GEN: wrote $out"
