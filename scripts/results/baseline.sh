#!/usr/bin/env bash
# Makes results/baseline/: scenarios/active-vs-passive.toml against the
# embedded target and each real server (started through scripts/targets/ftpd,
# default instances), one after the other, then machine.txt and table.md
# (`ftpload report`). About 6 minutes; run as root from anywhere.
#
#   scripts/results/baseline.sh [DURATION]      # default: the scenario's 60s
#
# Environment, for a trial run that leaves the committed results alone:
#   RESULTS_DIR       where to write (default results/baseline)
#   BASELINE_SERVERS  the real servers to run against (default all four:
#                     "vsftpd pure-ftpd proftpd pyftpdlib"; empty: only the
#                     embedded target, and no server is installed or started)
#
# A run that records failures (ftpload exit 1) is kept; any other failure
# stops the generator (see common.sh). On exit, however it exits, it stops
# the servers it started; those already running are left running.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
out="$(realpath -m -- "${RESULTS_DIR:-$here/../../results/baseline}")"
read -r -a servers <<<"${BASELINE_SERVERS-vsftpd pure-ftpd proftpd pyftpdlib}"
duration=${1:-}
cd "$here/../.."
ftpd=scripts/targets/ftpd
mkdir -p "$out"

cargo build --release --quiet
bin=target/release/ftpload
extra=()
[[ -n $duration ]] && extra=(--duration "$duration")

trap stop_started EXIT
exit_on_signals

if ((${#servers[@]})); then
    start_servers "$ftpd" "${servers[@]}"
fi
machine_txt "$bin" "${banners[@]}" >"$out/machine.txt"

run_ftpload "$bin" run scenarios/active-vs-passive.toml --mode passive,epsv,active -q \
    --out "$out/embedded.json" "${extra[@]}"
reports=("$out/embedded.json")
for s in "${servers[@]}"; do
    FTPLOAD_PASSWORD=ftppass run_ftpload "$bin" run scenarios/active-vs-passive.toml -q \
        --target "$("$ftpd" url "$s")" --out "$out/$s.json" "${extra[@]}"
    reports+=("$out/$s.json")
done
"$bin" report "${reports[@]}" >"$out/table.md"
cat "$out/table.md"
